"""Recovery and robustness defects found by outside testing, each against the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import attrs
import pytest

from aiobroute import (
    ClientClosedError,
    CommandError,
    MeterError,
    ReconnectingError,
    ResponseTimeoutError,
    UsageError,
)
from aiobroute._time import now_jst
from aiobroute.echonet import CONTROLLER, SMART_METER, Esv, Frame, Property
from aiobroute.j11.client import J11Timeouts
from aiobroute.meter import MeterTimeouts
from aiobroute.skstack import RxUdp
from aiobroute.skstack._wire import encode
from aiobroute.skstack.client import SkTimeouts
from aiobroute.supervisor import ConnectionState, ReconnectPolicy, WatchdogSettings
from aiobroute.testing import (
    FaultKind,
    FaultPlan,
    J11Faults,
    RadioConfig,
    ScheduledFault,
    SimClock,
    SimulatedJ11Module,
    SimulatedModule,
    Simulator,
)
from aiobroute.transport import MemoryStream
from tests.meter._sim import (
    FROZEN,
    assert_no_leaks,
    assert_reads_truth,
    joins,
    make_meter,
    make_sim,
    record_states,
    running,
    wait_for,
)

QUICK_SK = SkTimeouts(
    command=0.3, reset_settle=0.0, scan_margin=2.0, join=3.0, send=0.3, send_event_grace=0.3
)
#: The J11 counterpart: a hung module is noticed within a request's budget.
QUICK_J11 = J11Timeouts(
    command=0.3, boot=0.3, scan_margin=2.0, join=3.0, send=0.3, busy_retry=0.0, start_retry=0.0
)


# ----------------------------------------------------------------- 1: a hung module


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_hung_module_is_probed_rejoined_and_reopened(
    caplog: pytest.LogCaptureFixture, model: str
) -> None:
    # The module's firmware hangs 10 s into the session and comes back 60 s later.
    plan = FaultPlan(scheduled=(ScheduledFault(kind=FaultKind.HANG, at_s=10, duration_s=60),))
    sim = make_sim(model, faults=plan)
    states: list[ConnectionState] = []
    # push_grace=None: only the failed requests can reveal the hang.
    watchdog = WatchdogSettings(timeouts_before_probe=2, push_grace=None, probe_timeout=0.6)
    timeouts = MeterTimeouts(attempt=0.3, single=0.8, sequence=2.0, instance_list=0.3)
    caplog.set_level(logging.INFO, logger="aiobroute.meter")
    async with running(
        sim, sk_timeouts=QUICK_SK, j11_timeouts=QUICK_J11, timeouts=timeouts, watchdog=watchdog
    ) as meter:
        recorder = asyncio.create_task(record_states(meter, states))
        await assert_reads_truth(sim, meter)
        first_link = meter.link
        sim.clock.advance(10)
        await wait_for(lambda: sim.module.hung)
        for _ in range(2):  # SKSENDTO gets no status line: both requests fail
            with pytest.raises((ResponseTimeoutError, ReconnectingError)):
                await meter.instant_power()
        await wait_for(lambda: ConnectionState.RECONNECTING in states)
        # Probe, then rejoin on the same link, then reopen the port.
        await wait_for(lambda: "reopening the port" in caplog.text)
        assert caplog.text.index("probing the meter") < caplog.text.index("reopening the port")
        sim.clock.advance(60)  # the module answers again
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
        assert meter.reconnects >= 1
        assert meter.link is not first_link  # the port was reopened
        assert meter.link is not None
        assert meter.link.dialect == ("j11" if sim.is_j11 else "skstack")
    await recorder
    assert_no_leaks()


async def test_a_send_cut_short_by_the_request_budget_counts_toward_the_probe(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The module's own send timeout (2 s) is longer than the request's budget (0.8 s):
    # the request gives up while SKSENDTO still waits for its status line. That failure
    # must count toward the probe like any other.
    sim = make_sim()
    slow_sk = attrs.evolve(QUICK_SK, command=2.0, send=2.0)
    watchdog = WatchdogSettings(timeouts_before_probe=2, push_grace=None, probe_timeout=0.6)
    timeouts = MeterTimeouts(attempt=0.3, single=0.8, sequence=2.0, instance_list=0.3)
    caplog.set_level(logging.INFO, logger="aiobroute.meter")
    states: list[ConnectionState] = []
    async with running(sim, sk_timeouts=slow_sk, timeouts=timeouts, watchdog=watchdog) as meter:
        recorder = asyncio.create_task(record_states(meter, states))
        await assert_reads_truth(sim, meter)
        sim.set_hung(True)
        for _ in range(2):
            with pytest.raises((ResponseTimeoutError, ReconnectingError)):
                await meter.instant_power()
        await wait_for(lambda: "probing the meter" in caplog.text)
        await wait_for(lambda: ConnectionState.RECONNECTING in states, timeout=15)
        sim.set_hung(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=30)
        await assert_reads_truth(sim, meter)
    await recorder
    assert_no_leaks()


async def test_reconnect_delays_stay_short_while_the_module_is_hung(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim()
    # Without local_cap the fifth attempt would wait 0.05 * 4**4 = 12.8 s.
    policy = ReconnectPolicy(initial=0.05, factor=4.0, cap=300.0, jitter=0.0, local_cap=0.1)
    watchdog = WatchdogSettings(timeouts_before_probe=1, push_grace=None, probe_timeout=0.6)
    timeouts = MeterTimeouts(attempt=0.3, single=0.8, sequence=2.0, instance_list=0.3)
    caplog.set_level(logging.INFO, logger="aiobroute.meter")

    def delays() -> list[float]:
        return [
            float(r.args[0])  # type: ignore[index, arg-type]
            for r in caplog.records
            if r.msg.startswith("retrying in")
        ]

    async with running(
        sim, sk_timeouts=QUICK_SK, timeouts=timeouts, watchdog=watchdog, reconnect=policy
    ) as meter:
        sim.set_hung(True)
        with pytest.raises((ResponseTimeoutError, ReconnectingError)):
            await meter.instant_power()
        await wait_for(lambda: len(delays()) >= 5, timeout=10)
        sim.set_hung(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
    # Capped by local_cap: not 0.2, 0.8, 3.2, 12.8 ... as the backoff alone would wait.
    assert delays() == pytest.approx([0.1] * len(delays()))
    assert_no_leaks()


async def test_failed_transmissions_count_toward_the_probe() -> None:
    # Without a neighbour cache, each send to a silent meter ends in EVENT 21 01.
    sim = make_sim(radio=RadioConfig(neighbor_cache=False))
    states: list[ConnectionState] = []
    watchdog = WatchdogSettings(timeouts_before_probe=2, push_grace=None, probe_timeout=0.6)
    timeouts = MeterTimeouts(attempt=0.3, single=0.8, sequence=2.0, instance_list=0.3)
    async with running(sim, timeouts=timeouts, watchdog=watchdog) as meter:
        recorder = asyncio.create_task(record_states(meter, states))
        sim.set_silent(True)
        for _ in range(2):
            with pytest.raises((ResponseTimeoutError, ReconnectingError)):
                await meter.instant_power()
        await wait_for(lambda: ConnectionState.RECONNECTING in states)
        sim.set_silent(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
    await recorder
    assert any(e.num == 0x21 and e.param == 1 for e in sim.events)
    assert_no_leaks()


async def test_j11_no_ack_is_sent_again() -> None:
    # A J11 module reports "no ACK from the meter" (status 5): the frame is sent again.
    sim = make_sim("RS-WSUHA-J11", j11_faults=J11Faults(no_ack_first=2))
    async with running(sim) as meter:
        await assert_reads_truth(sim, meter)
        module = sim.module
        assert isinstance(module, SimulatedJ11Module)
        refused = [r for r in module.responses if getattr(r, "outcome", None) == 5]
        assert len(refused) == 2
    assert_no_leaks()


async def test_silent_j11_module_is_reopened_in_the_remembered_dialect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The J11 module itself stops answering (not even a status): the port is reopened,
    # and once the module answers again the remembered dialect works without a probe.
    sim = make_sim("BP35C2-J11-T01")
    watchdog = WatchdogSettings(timeouts_before_probe=2, push_grace=None, probe_timeout=0.6)
    timeouts = MeterTimeouts(attempt=0.3, single=0.8, sequence=2.0, instance_list=0.3)
    caplog.set_level(logging.INFO, logger="aiobroute")
    async with running(sim, j11_timeouts=QUICK_J11, timeouts=timeouts, watchdog=watchdog) as meter:
        await assert_reads_truth(sim, meter)
        assert "dialect probe: j11" in caplog.text  # the first connection detected it
        caplog.clear()
        sim.set_hung(True)
        for _ in range(2):
            with pytest.raises((ResponseTimeoutError, ReconnectingError)):
                await meter.instant_power()
        await wait_for(lambda: "reopening the port" in caplog.text, timeout=10)
        # While it is silent, the remembered dialect fails and only SKSTACK is probed.
        await wait_for(lambda: "does not answer as j11" in caplog.text, timeout=10)
        sim.set_hung(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=15)
        await assert_reads_truth(sim, meter)
        assert meter.link is not None
        assert meter.link.dialect == "j11"
        assert "dialect probe: j11" not in caplog.text  # reopened as J11 directly
    assert sim.flash_writes == 0
    assert_no_leaks()


# ------------------------------------------------------ 2: a transient FAIL ER09


class DamagingUart:
    """The host end of the simulator's pipe, damaging the next ``damage`` SKSENDTO lines.

    A damaged line never reaches the module, which answers ``FAIL ER09`` (UART input
    error) as a real module does.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.damage = 0
        self.damaged = 0

    @property
    def _inner(self) -> MemoryStream:
        return self.sim.host_stream()

    @property
    def name(self) -> str:
        return "damaging-uart"

    @property
    def closed(self) -> bool:
        return self._inner.closed

    async def read(self) -> bytes:
        return await self._inner.read()

    async def write(self, data: bytes) -> None:
        if self.damage and data.startswith(b"SKSENDTO"):
            self.damage -= 1
            self.damaged += 1
            self.sim.inject_garbage(b"FAIL ER09\r\n")
            return
        await self._inner.write(data)

    async def close(self) -> None:
        await self._inner.close()


async def test_transient_fail_er09_is_retried() -> None:
    sim = make_sim()
    uart = DamagingUart(sim)
    async with sim.memory():

        async def reopen() -> DamagingUart:
            return uart

        async with make_meter(reopen, retries=2) as meter:
            uart.damage = 1
            assert await meter.instant_power() == sim.meter.instant_power_watts()
            assert uart.damaged == 1
            uart.damage = 1
            values = await meter.get(0xE7, 0xE0)
            assert values[0xE7] == sim.meter.instant_power_watts()
            assert uart.damaged == 2
            assert meter.state is ConnectionState.READY
            uart.damage = 3  # every attempt (retries=2) damaged: the module's error, typed
            with pytest.raises(CommandError) as info:
                await meter.instant_power()
            assert info.value.transient
            assert uart.damaged == 5
            assert await meter.instant_power() == sim.meter.instant_power_watts()
    assert_no_leaks()


# ------------------------------------------------ 3: a timeout is not a refusal


async def test_a_timed_out_batch_does_not_shrink_later_gets() -> None:
    sim = make_sim()
    watchdog = WatchdogSettings(timeouts_before_probe=10, push_grace=None)
    timeouts = MeterTimeouts(attempt=0.2, single=0.5, sequence=0.6, instance_list=0.3)
    async with running(sim, timeouts=timeouts, watchdog=watchdog) as meter:
        sim.set_silent(True)  # a radio fade
        for _ in range(2):
            with pytest.raises(ResponseTimeoutError):
                await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
        sim.set_silent(False)
        before = sim.frames_to_meter
        values = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
        assert sim.frames_to_meter - before == 1  # still one frame for four EPCs
        assert set(values) == {0xE7, 0xE8, 0xE0, 0xE3}


# -------------------------------------------------- 4: concurrent connect() calls


async def test_concurrent_connects_share_one_connection() -> None:
    sim = make_sim()
    async with sim.memory():

        async def reopen() -> MemoryStream:
            return sim.host_stream()

        meter = make_meter(reopen)
        try:
            await asyncio.gather(meter.connect(), meter.connect())
            assert meter.state is ConnectionState.READY
            assert joins(sim) == 1
            await assert_reads_truth(sim, meter)
            await meter.connect()  # a no-op once connected
            assert joins(sim) == 1
        finally:
            await meter.close()
    assert_no_leaks()


# ------------------------------------------------------ 5: another event loop


async def test_use_from_another_event_loop_fails_at_once() -> None:
    sim = make_sim()
    async with running(sim) as meter:

        def in_another_loop(use: Callable[[], Awaitable[object]]) -> BaseException | None:
            async def run() -> None:
                await use()

            try:
                asyncio.run(run())
            except BaseException as exc:
                return exc
            return None

        for use in (
            meter.instant_power,
            lambda: anext(meter.notifications()),
            lambda: anext(meter.states()),
            meter.close,
        ):
            error = await asyncio.to_thread(in_another_loop, use)
            assert isinstance(error, UsageError)
            assert isinstance(error, RuntimeError)
            assert "another event loop" in str(error)
        await assert_reads_truth(sim, meter)  # still fine in its own loop
    assert_no_leaks()


# -------------------------------------------- 9: the clock with a warm cache


async def test_warm_cache_still_reads_the_meters_clock(tmp_path: Path) -> None:
    cache = tmp_path / "pan.json"
    # The meter's clock is five hours behind the host's.
    skewed = (now_jst() - dt.timedelta(hours=5)).replace(second=0, microsecond=0)
    sim = Simulator("BP35A1", seed=3, timing="instant", clock=SimClock(skewed, speed=FROZEN))
    async with running(sim, cache_path=cache):
        pass
    before = len(sim.payloads_to_meter)
    async with running(sim, cache_path=cache) as meter:
        # Cheaply: the warm connect sent one Get, of the clock only.
        sent = [Frame.decode(p) for p in sim.payloads_to_meter[before:]]
        assert [(f.esv, sorted(f.epcs)) for f in sent] == [(Esv.GET, [0x97, 0x98])]
        drift = abs(meter.meter_now() - sim.clock.now())
        assert drift < dt.timedelta(minutes=2)  # the meter's clock, not the host's
        entries = await meter.history(1)
        assert entries[0].timestamp.date() == sim.clock.now().date() - dt.timedelta(days=1)
        assert [e.raw for e in entries] == list(sim.meter.history_raw(1))
    assert_no_leaks()


# ------------------------------------------- 10: malformed coefficient or clock


class TamperedMeter:
    """The simulated meter, with some properties of its Get answers replaced."""

    def __init__(self, inner: object, edts: Mapping[int, bytes]) -> None:
        self.inner = inner
        self.edts = dict(edts)

    def handle_payload(self, payload: bytes) -> list[bytes]:
        replies = self.inner.handle_payload(payload)  # type: ignore[attr-defined]
        return [self._tamper(reply) for reply in replies]

    def _tamper(self, payload: bytes) -> bytes:
        frame = Frame.decode(payload)
        if frame.esv not in (Esv.GET_RES, Esv.GET_SNA):
            return payload
        props = tuple(
            Property(p.epc, self.edts[p.epc]) if p.epc in self.edts and p.edt else p
            for p in frame.properties
        )
        return Frame(frame.tid, frame.seoj, frame.deoj, frame.esv, props).encode()

    def startup_frames(self) -> list[bytes]:
        return self.inner.startup_frames()  # type: ignore[attr-defined,no-any-return]

    def next_push_time(self, after: dt.datetime) -> dt.datetime:
        return self.inner.next_push_time(after)  # type: ignore[attr-defined,no-any-return]

    def push_frames(self, at: dt.datetime) -> list[bytes]:
        return self.inner.push_frames(at)  # type: ignore[attr-defined,no-any-return]


def tampered_sim(edts: Mapping[int, bytes]) -> Simulator:
    sim = make_sim()
    sim.module.meter = TamperedMeter(sim.meter, edts)
    return sim


@pytest.mark.parametrize(
    "edt",
    [b"\x00\x00\x01", b"\x00\x00\x00\x00\x0a", b"\x00\x00\x00\x00", b"\x00\x0f\x42\x40"],
    ids=["3-bytes", "5-bytes", "zero", "1000000"],
)
async def test_malformed_coefficient_is_refused(edt: bytes) -> None:
    sim = tampered_sim({0xD3: edt})
    with pytest.raises(MeterError) as info:
        async with running(sim):
            pass
    assert info.value.epc == 0xD3
    assert "coefficient" in str(info.value)
    assert_no_leaks()


async def test_absurd_meter_date_is_ignored_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = tampered_sim({0x98: b"\x00\x01\x01\x01"})  # 0001-01-01
    with caplog.at_level(logging.WARNING, logger="aiobroute.meter"):
        async with running(sim) as meter:
            today = now_jst().date()
            entries = await meter.history(1)
            assert entries[0].timestamp.date() in (
                today - dt.timedelta(days=1),
                now_jst().date() - dt.timedelta(days=1),  # midnight passed meanwhile
            )
            assert abs(meter.meter_now() - now_jst()) < dt.timedelta(minutes=1)
    assert any("implausible clock" in r.getMessage() for r in caplog.records)
    assert_no_leaks()


# ------------------------------------------------ 13: iterators nobody reads


def erxudp_lines(sim: Simulator, payloads: list[bytes]) -> bytes:
    """ERXUDP lines of the meter sending ``payloads`` to us, as the module prints them."""
    lines = []
    for data in payloads:
        assert isinstance(sim.module, SimulatedModule)
        rx = RxUdp(
            sender=sim.meter_address,
            dest=sim.module_address,
            rport=3610,
            lport=3610,
            sender_lla=sim.module.pan.mac,
            secured=True,
            data=data,
            hex_payload=sim.module.hex_payload,
        )
        lines.append(encode(rx))
    return b"".join(lines)


def inf_lines(sim: Simulator, count: int) -> bytes:
    """``count`` ERXUDP lines of the meter pushing 0xE7 (INF)."""
    return erxudp_lines(
        sim,
        [
            Frame(
                index + 1,
                SMART_METER,
                CONTROLLER,
                Esv.INF,
                (Property(0xE7, b"\x00\x00\x01\x00"),),
            ).encode()
            for index in range(count)
        ],
    )


async def test_warnings_about_bad_frames_are_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim()
    async with running(sim) as meter:
        with caplog.at_level(logging.WARNING, logger="aiobroute.meter"):
            sim.inject_garbage(erxudp_lines(sim, [b"\x10\x81\x00"] * 200))  # truncated frames
            await assert_reads_truth(sim, meter)  # the frames were all handled before
        bad = [r for r in caplog.records if "malformed ECHONET frame" in r.getMessage()]
        assert len(bad) == 1
    assert_no_leaks()


async def test_unread_iterators_are_dropped_and_overflow_is_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = make_sim()
    pushes = 1100  # beyond the 1,024 items an iterator keeps
    async with running(sim) as meter:
        kept = meter.notifications()  # referenced but never read: overflows
        forgotten = [meter.notifications(), meter.states()]  # dropped unread
        del forgotten
        gc.collect()
        reader = meter.notifications()
        with caplog.at_level(logging.WARNING, logger="aiobroute.meter"):
            async with asyncio.timeout(10):
                for _ in range(pushes // 100):  # in bursts the reader keeps up with
                    sim.inject_garbage(inf_lines(sim, 100))
                    for _ in range(100):
                        note = await anext(reader)
                        assert note.values[0xE7] == 256
        overflow = [r for r in caplog.records if "not keeping up" in r.getMessage()]
        # One warning, for `kept` only: the forgotten iterators hold nothing any more,
        # and the 76 drops of `kept` are reported once, not once each.
        assert len(overflow) == 1
        assert (await anext(kept)).values[0xE7] == 256
    assert_no_leaks()


# ------------------------------------------ d: the reconnect policy gives up


async def test_reconnect_policy_exhaustion_closes_the_meter_cleanly() -> None:
    sim = make_sim()
    policy = ReconnectPolicy(initial=0.01, factor=1.0, cap=0.01, jitter=0.0, max_attempts=2)
    states: list[ConnectionState] = []
    async with sim.memory():

        async def reopen() -> MemoryStream:
            return sim.host_stream()

        meter = make_meter(reopen, reconnect=policy)
        await meter.connect()
        recorder = asyncio.create_task(record_states(meter, states))
        await asyncio.sleep(0)
        sim.unplug()  # for good
        async with asyncio.timeout(10):
            await recorder  # the iteration ends when the meter closes
        assert states[-1] is ConnectionState.CLOSED
        assert ConnectionState.RECONNECTING in states
        assert meter.state is ConnectionState.CLOSED
        with pytest.raises(ClientClosedError):
            await meter.instant_power()
        with pytest.raises(ClientClosedError):
            await meter.connect()
        await meter.close()  # idempotent after giving up
    assert_no_leaks()
