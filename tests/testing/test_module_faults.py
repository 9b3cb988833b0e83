"""Radio timing in simulated time, ARIB accounting, pushes, sessions and injected faults."""

from __future__ import annotations

import asyncio
import contextlib

import attrs
import pytest

from aiobroute.skstack import Event, LineParser, PanDescriptor, RxUdp
from aiobroute.skstack._wire import link_local_from_mac
from aiobroute.testing import (
    FaultPlan,
    MeterConfig,
    ModulePreset,
    PanConfig,
    RadioConfig,
    SimClock,
    SimulatedModule,
    Simulator,
    Timing,
)
from tests.testing._host import CRLF, GET_E7, Host, lines, sendto, setup_commands
from tests.testing._host import running as host_running

QUIET_A1 = attrs.evolve(ModulePreset.BP35A1, sendto_lone_crlf=0.0)


def running(
    model: ModulePreset | str = QUIET_A1, **options: object
) -> contextlib.AbstractAsyncContextManager[tuple[Simulator, Host]]:
    """The shared running simulator, echo off; a BP35A1 without the lone CRLF by default."""
    return host_running(model, echo=False, **options)


async def setup(sim: Simulator, host: Host, *, password: str | None = None) -> None:
    for command in setup_commands(sim, password=password):
        await host.send(command.encode() + CRLF)
        await host.until(b"OK\r\n")


async def join(sim: Simulator, host: Host) -> None:
    await setup(sim, host)
    await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
    await host.until(b"EVENT 25")
    await host.until(b"\x01\x02\x88\x01\r\n")  # startup INF (BP35A1: binary)
    assert sim.session_active


def frozen_clock() -> SimClock:
    """A clock that (practically) only moves when the test advances it."""
    return SimClock(speed=1e-6)


async def pump(sim: Simulator, host: Host, marker: bytes, *, step: float, limit: float) -> float:
    """Advance simulated time by ``step`` until ``marker`` is printed; return the time taken."""
    start = sim.clock.monotonic()
    while marker not in host.buf:
        assert sim.clock.monotonic() - start < limit, f"{marker!r} never came"
        sim.clock.advance(step)
        for _ in range(8):
            await asyncio.sleep(0)
    return sim.clock.monotonic() - start


def nums(events: list[Event]) -> list[int]:
    return [event.num for event in events]


# ------------------------------------------------------------------ timing


async def test_scan_takes_the_formula_time_in_simulated_seconds() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKSCAN 2 FFFFFFFF 6\r\n")
        # EVENT 20 after the first channel (the PAN is on 0x21), EVENT 22 after all 28.
        first = await pump(sim, host, b"EVENT 20", step=0.005, limit=5)
        assert 0.0096 * 65 <= first <= 0.0096 * 65 + 0.02
        total = first + await pump(sim, host, b"EVENT 22", step=0.01, limit=30)
        assert 28 * 0.0096 * 65 <= total <= 28 * 0.0096 * 65 + 0.05
        await host.until(b"EVENT 22")
        await host.until(CRLF)
        await host.send(b"SKSCAN 2 00000006 4\r\n")  # channels 0x22, 0x23 only: no beacon
        await pump(sim, host, b"OK\r\n", step=0.001, limit=1)
        host.buf.clear()
        elapsed = await pump(sim, host, b"EVENT 22", step=0.005, limit=5)
        assert 2 * 0.0096 * 17 <= elapsed <= 2 * 0.0096 * 17 + 0.01
        assert b"EPANDESC" not in host.buf


async def test_short_scans_hear_no_beacon() -> None:
    async with running(radio=RadioConfig(beacon_min_duration=5)) as (_sim, host):
        await host.send(b"SKSCAN 2 FFFFFFFF 4\r\n")
        out = await host.until(b"EVENT 22")
        assert b"EVENT 20" not in out
        await host.until(CRLF)
        await host.send(b"SKSCAN 2 FFFFFFFF 5\r\n")
        out = await host.until(b"EVENT 22")
        assert b"EVENT 20" in out


async def test_join_and_answer_latency_are_realistic() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await setup_frozen(sim, host, password=sim.password)
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        first_21 = await pump(sim, host, b"EVENT 21", step=0.01, limit=1)
        assert first_21 <= 0.15
        joined = await pump(sim, host, b"EVENT 25", step=0.05, limit=60)
        assert 1.0 <= first_21 + joined <= 10.0
        await pump(sim, host, b"\x01\x02\x88\x01\r\n", step=0.05, limit=5)
        host.buf.clear()
        await sendto(sim, host)
        sent = await pump(sim, host, b"OK\r\n", step=0.005, limit=1)
        assert sent <= 0.15  # EVENT 21 then OK within ~100 ms
        answered = await pump(sim, host, b"ERXUDP", step=0.02, limit=10)
        assert 1.0 <= answered <= 3.1


async def test_wrong_password_gives_event_24_after_tens_of_seconds() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await setup_frozen(sim, host, password="WRONGPASSWRD")
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        elapsed = await pump(sim, host, b"EVENT 24", step=0.1, limit=120)
        assert 20.0 <= elapsed <= 40.0
        assert b"EVENT 25" not in host.buf
        assert b"ERXUDP" in host.buf  # the PANA exchange started
        assert sim.session is None


async def setup_frozen(sim: Simulator, host: Host, *, password: str) -> None:
    for command in ("SKSREG SFE 0", *setup_commands(sim, password=password)):
        await host.send(command.encode() + CRLF)
        await pump(sim, host, b"OK\r\n", step=0.01, limit=1)
        host.buf.clear()


async def test_wrong_channel_gives_event_24_after_the_retransmissions() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await setup_frozen(sim, host, password=sim.password)
        await host.send(b"SKSREG S2 22\r\n")
        await pump(sim, host, b"OK\r\n", step=0.01, limit=1)
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        elapsed = await pump(sim, host, b"EVENT 24", step=0.1, limit=120)
        assert 37.0 <= elapsed <= 40.0
        assert host.buf.count(b" 01\r\n") == 6  # EVENT 21 ... 01 per attempt


@pytest.mark.parametrize("password", ["WRONGPASSWRD", None])
async def test_wrong_credentials_instant(password: str | None) -> None:
    rbid = None if password else "FFEEDDCCBBAA99887766554433221100"
    async with running() as (sim, host):
        await setup(sim, host, password=password)
        if rbid:
            await host.send(f"SKSETRBID {rbid}\r\n".encode())
            await host.until(b"OK\r\n")
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        await host.until(b"EVENT 24")
        assert sim.session is None
        assert sim.payloads_to_meter == []


# ------------------------------------------------------------ meter side


async def test_pushes_every_half_hour_and_infc_res_reaches_the_meter() -> None:
    async with running(meter=MeterConfig(notify_with_infc=True)) as (sim, host):
        await join(sim, host)
        assert sim.clock.now().minute == 26
        sim.clock.advance(4 * 60 + 1)
        out = await host.until(CRLF)
        rx = [m for m in LineParser().feed(out) if isinstance(m, RxUdp)]
        assert len(rx) == 1
        infc = rx[0].data
        assert infc[4:11] == bytes.fromhex("02880105FF0174")  # INFC 028801 -> 05FF01
        assert infc[12] == 0xEA
        answer = infc[:4] + bytes.fromhex("05FF010288017A") + bytes([infc[11], 0xEA, 0])
        if infc[11] == 2:
            answer += bytes([0xEB, 0])
        await sendto(sim, host, answer)
        await host.until(b"OK\r\n")
        assert sim.meter.infc_res_received == 1
        sim.clock.advance(30 * 60)
        await host.until(CRLF)
        assert sim.frames_from_meter == 3  # startup INF and two pushes


async def test_session_lifetime_expires_and_reauthenticates() -> None:
    async with running() as (sim, host):
        await host.send(b"SKSREG S16 3C\r\n")
        await host.until(b"OK\r\n")
        await join(sim, host)
        before = len(sim.events)
        sim.clock.advance(60)
        await host.until(b"EVENT 25")
        assert nums(sim.events[before:])[0] == 0x29
        assert nums(sim.events[before:])[-1] == 0x25
        assert sim.session_active


async def test_session_expires_for_good_without_auto_reauth() -> None:
    async with running() as (sim, host):
        for command in (b"SKSREG S16 3C\r\n", b"SKSREG S17 0\r\n"):
            await host.send(command)
            await host.until(b"OK\r\n")
        await join(sim, host)
        sim.clock.advance(60)
        await host.until(b"EVENT 29")
        assert sim.session is None


# ----------------------------------------------------------- runtime faults


@pytest.mark.parametrize(
    ("reauth", "announce", "expected_first", "expected_last", "alive"),
    [
        (True, True, 0x29, 0x25, True),
        (True, False, 0x21, 0x25, True),
        (False, True, 0x29, 0x24, False),
    ],
)
async def test_inject_session_expiry(
    reauth: bool, announce: bool, expected_first: int, expected_last: int, alive: bool
) -> None:
    async with running() as (sim, host):
        await join(sim, host)
        before = len(sim.events)
        assert sim.inject_session_expiry(reauth=reauth, announce=announce)
        assert not sim.session_active
        await host.until(b"EVENT 2" + (b"5" if alive else b"4"))
        seen = nums(sim.events[before:])
        assert seen[0] == expected_first
        assert seen[-1] == expected_last
        assert (0x29 in seen) == announce
        assert sim.session_active == alive
        await host.idle()
        await sendto(sim, host)
        out = await host.until(b"\r\n" if alive else b"FAIL ER10\r\n")
        assert (b"FAIL" in out) != alive


async def test_sending_during_reauthentication_is_refused() -> None:
    sim = Simulator(timing="instant", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        sim.module.timing = Timing.realistic()
        sim.inject_session_expiry()
        host.buf.clear()
        await sendto(sim, host)
        await pump(sim, host, b"FAIL ER10\r\n", step=0.01, limit=1)
        await pump(sim, host, b"EVENT 25", step=0.05, limit=30)
        assert sim.session_active


async def test_inject_termination() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        assert sim.inject_termination()
        out = await host.until(b"EVENT 26")
        assert b" 02CC 02CC " in out
        assert sim.session is None
        assert not sim.inject_termination()


async def test_inject_tx_limit_blocks_sending_until_released() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        sim.inject_tx_limit(60)
        await host.expect(lines(f"EVENT 32 {sim.module_address}"))
        await host.send(b"SKSREG SFB\r\n")
        await host.expect(lines("ESREG 1", "OK"))
        await sendto(sim, host)
        await host.expect(lines("FAIL ER10"))
        sent = sim.frames_to_meter
        sim.clock.advance(60)
        await host.expect(lines(f"EVENT 33 {sim.module_address}"))
        await sendto(sim, host)
        await host.until(b"OK\r\n")
        assert sim.frames_to_meter == sent + 1


async def test_airtime_per_frame_follows_the_bit_rate() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        before = sim.airtime_ms
        await sendto(sim, host)
        await host.until(b"OK\r\n")
        assert sim.airtime_ms - before == pytest.approx((len(GET_E7) + 60) * 8 / 100)


async def test_arib_budget_from_airtime_and_sfd() -> None:
    radio = RadioConfig(tx_budget_s=0.05, tx_window_s=600)
    async with running(radio=radio) as (sim, host):
        await join(sim, host)
        sends = 0
        while b"EVENT 32" not in host.buf:
            await sendto(sim, host)
            await host.until(b"OK\r\n")
            sends += 1
            assert sends < 20
        await host.idle()
        assert sim.airtime_ms > 50
        await host.send(b"SKSREG SFD\r\n")
        assert isinstance(sim.module, SimulatedModule)
        await host.expect(lines(f"ESREG {int(sim.module.airtime_ms):016X}", "OK"))
        await sendto(sim, host)
        await host.expect(lines("FAIL ER10"))
        sim.clock.advance(600)
        await host.until(b"EVENT 33")


async def test_silent_meter() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        sim.set_silent(True)
        await sendto(sim, host)
        await host.expect(lines(f"EVENT 21 {sim.meter_address} 00", "OK"))
        assert await host.idle() == b""
        assert sim.payloads_to_meter == []
        await host.send(b"SKTERM\r\n")
        await host.until(b"EVENT 28")
        sim.set_silent(False)
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        await host.until(b"EVENT 25")


async def test_inject_reset_powers_the_module_back_to_defaults() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        sim.inject_reset()
        assert sim.session is None
        await host.send(b"SKSREG S2\r\n")
        await host.expect(lines("SKSREG S2", "ESREG 21", "OK"))  # echo is back on


async def test_no_beacon_and_neighbour_pan() -> None:
    async with running(faults=FaultPlan(no_beacon=True)) as (_sim, host):
        await host.send(b"SKSCAN 2 FFFFFFFF 6\r\n")
        assert b"EVENT 20" not in await host.until(b"EVENT 22")
    async with running(faults=FaultPlan(neighbour_pan=True)) as (sim, host):
        await host.send(b"SKSCAN 2 FFFFFFFF 6\r\n")
        out = await host.until(b"EVENT 22")
        pans = [m for m in LineParser().feed(out + CRLF) if isinstance(m, PanDescriptor)]
        assert len(pans) == 2
        ours, theirs = sorted(pans, key=lambda pan: pan.pair_id != sim.rbid[-8:])
        assert ours.pair_id == sim.rbid[-8:]
        assert theirs.lqi > ours.lqi
        neighbour = PanConfig.NEIGHBOUR
        await setup(sim, host)
        for command in (f"SKSREG S2 {neighbour.channel:02X}", f"SKSREG S3 {neighbour.pan_id:04X}"):
            await host.send(command.encode() + CRLF)
            await host.until(b"OK\r\n")
        await host.send(f"SKJOIN {link_local_from_mac(theirs.addr)}\r\n".encode())
        await host.until(b"EVENT 24")
        assert sim.session is None


@pytest.mark.parametrize(
    ("plan", "answers"),
    [
        (FaultPlan(drop_reply=1.0), 0),
        (FaultPlan(duplicate_reply=1.0), 2),
        (FaultPlan(), 1),
    ],
)
async def test_reply_faults(plan: FaultPlan, answers: int) -> None:
    async with running(faults=plan) as (sim, host):
        await join(sim, host)
        await sendto(sim, host)
        await host.until(b"OK\r\n")
        out = await host.idle()
        assert out.count(b"ERXUDP") == answers
        assert sim.frames_from_meter == 1 + answers


async def test_delayed_replies_come_later() -> None:
    async with running(faults=FaultPlan(delay_reply=1.0, delay_reply_s=(10.0, 10.0))) as (
        sim,
        host,
    ):
        await join(sim, host)
        await sendto(sim, host)
        await host.until(b"OK\r\n")
        assert b"ERXUDP" not in await host.idle()
        sim.clock.advance(10)
        await host.until(b"ERXUDP")


async def script(seed: int, module_seed: int = 0) -> bytes:
    plan = FaultPlan(seed=seed, garbage=0.3, garble=0.2, drop_reply=0.3, duplicate_reply=0.3)
    async with running(faults=plan, seed=module_seed) as (sim, host):
        for command in (*setup_commands(sim), f"SKJOIN {sim.meter_address}"):
            await host.send(command.encode() + CRLF)
            await host.idle()
        for _ in range(10):
            await sendto(sim, host)
            await host.idle()
        return sim.output


async def test_fault_plan_is_deterministic_by_seed() -> None:
    first = await script(7)
    assert first == await script(7)
    assert first != await script(8)
    assert first != await script(7, module_seed=1)


async def test_garbage_and_garbled_lines_reach_the_host() -> None:
    async with running(faults=FaultPlan(garbage=1.0)) as (sim, host):
        await host.send(b"SKVER\r\n")
        await host.until(b"OK\r\n")
        messages = LineParser().feed(sim.output)
        kinds = [type(m).__name__ for m in messages]
        assert kinds.count("Unrecognized") >= 3  # one junk line before each write
        assert {"Version", "Ok"} <= set(kinds)
    sim = Simulator(timing="instant", faults=FaultPlan(garble=1.0))
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKVER\r\n")
        for _ in range(3):  # echo, EVER, OK: damaged, but line ends are kept
            await host.until(b"\r\n")
        assert b"EVER 1.2.10\r\n" not in sim.output


async def test_async_lines_land_between_an_echo_and_its_answer() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock())
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKVER\r\n")
        await host.until(b"SKVER\r\n")  # echoed at once; the answer needs 5 ms
        sim.inject_tx_limit(1)
        await pump(sim, host, b"OK\r\n", step=0.001, limit=1)
        messages = LineParser().feed(bytes(host.buf))
        assert [type(m).__name__ for m in messages] == ["Event", "Version", "Ok"]


async def test_skrejoin_reauthenticates_and_the_meter_announces_itself_again() -> None:
    async with running() as (sim, host):
        await join(sim, host)
        session_id = sim.session.session_id if sim.session else None
        await host.send(b"SKREJOIN\r\n")
        await host.expect(lines("OK"))
        await host.until(b"EVENT 25")
        await host.until(b"\x01\x02\x88\x01\r\n")
        assert sim.session_active
        assert sim.session is not None
        assert sim.session.session_id == session_id  # same PANA session, re-authenticated
        assert sim.frames_from_meter == 2


async def test_scan_mode_3_has_no_pair_id_and_skping_answers() -> None:
    async with running() as (sim, host):
        await host.send(b"SKSCAN 3 FFFFFFFF 6\r\n")
        out = await host.until(b"EVENT 22")
        pans = [m for m in LineParser().feed(out + CRLF) if isinstance(m, PanDescriptor)]
        assert len(pans) == 1
        assert pans[0].pair_id is None
        await setup(sim, host)
        await host.send(f"SKPING {sim.meter_address}\r\n".encode())
        await host.expect(lines("OK", f"EPONG {sim.meter_address}"))


async def test_tx_limit_refusal_can_be_an_event() -> None:
    preset = attrs.evolve(ModulePreset.BP35A1, tx_limited_send="event", sendto_lone_crlf=0.0)
    async with running(model=preset) as (sim, host):
        await join(sim, host)
        sim.inject_tx_limit(10)
        await host.until(b"EVENT 32")
        await host.until(CRLF)
        await sendto(sim, host)
        await host.expect(lines(f"EVENT 21 {sim.meter_address} 01", "OK"))
        assert sim.payloads_to_meter == []


async def test_slow_factor_stretches_scans() -> None:
    sim = Simulator(timing="realistic", clock=frozen_clock(), faults=FaultPlan(slow_factor=3.0))
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKSCAN 2 00000001 2\r\n")
        await pump(sim, host, b"OK\r\n", step=0.001, limit=1)
        elapsed = await pump(sim, host, b"EVENT 22", step=0.001, limit=5)
        assert 3 * 0.0096 * 5 <= elapsed <= 3 * 0.0096 * 5 + 0.002
