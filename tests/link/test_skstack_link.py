"""SkStackLink over the simulated SKSTACK modules: the MeterLink contract, end to end."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator

import pytest

from aiobroute.errors import (
    ClientClosedError,
    InvalidArgumentError,
    PortClosedError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.link import (
    LinkEvent,
    LinkLost,
    MeterLink,
    MeterPan,
    ReauthenticationFailed,
    SendVerdict,
    SessionEnded,
    SessionEndReason,
    SessionExpired,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
)
from aiobroute.skstack import SkStackLink
from aiobroute.skstack.client import SkTimeouts
from aiobroute.testing import (
    DEFAULT_PASSWORD,
    DEFAULT_RBID,
    FaultKind,
    FaultPlan,
    ScheduledFault,
    Simulator,
)
from aiobroute.testing._clock import JST, SimClock
from aiobroute.transport import memory_pipe
from tests.link._recorder import Recorder, get_e7, pump, sim_linked, watts_of

FAST = SkTimeouts(
    command=2.0, reset_settle=0.0, scan_margin=2.0, join=5.0, send=2.0, send_event_grace=0.5
)
START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)
MODELS = {"BP35A1": "BP35A1", "RL7023_IPS": "BP35A1", "BP35C2": "BP35C2", "RL7023_DSS": "BP35C2"}


def make_sim(model: str = "BP35C2", **kwargs: object) -> Simulator:
    clock = SimClock(START, speed=1e-9)  # moves only when a test advances it
    return Simulator(model, seed=2, timing="instant", clock=clock, **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def linked(
    sim: Simulator, *, connect: bool = True
) -> AsyncIterator[tuple[SkStackLink, Recorder]]:
    make = functools.partial(SkStackLink, timeouts=FAST)
    async with sim_linked(sim, make, connect=connect) as linked_pair:
        yield linked_pair


def active(link: MeterLink) -> bool:
    """The link's session flag (a call, so a type checker does not narrow it)."""
    return link.session_active


def truth_pan(sim: Simulator) -> MeterPan:
    pan = sim.module.pan
    return MeterPan(dialect="skstack", channel=pan.channel, pan_id=pan.pan_id, mac=pan.mac)


# ------------------------------------------------------------------ connect and exchange


@pytest.mark.parametrize("model", list(MODELS))
async def test_scan_join_and_get_e7_through_the_listener(model: str) -> None:
    sim = make_sim(model)
    async with linked(sim, connect=False) as (link, recorder):
        identity = link.identity
        assert identity is not None
        assert identity.dialect == link.dialect == "skstack"
        assert identity.family == MODELS[model]
        assert (link.pan, link.meter_address) == (None, None)
        assert not active(link)
        pan = await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(6,))
        assert (pan.channel, pan.pan_id, pan.mac) == (
            sim.module.pan.channel,
            sim.module.pan.pan_id,
            sim.module.pan.mac,
        )
        assert pan.pair_id == DEFAULT_RBID[-8:]
        assert link.pan == pan
        assert link.meter_address == sim.meter_address
        assert link.session_active
        verdict = await link.send(get_e7(0x4242).encode())
        assert verdict is SendVerdict.SENT
        answer = await recorder.answer(0x4242)
        assert watts_of(answer) == sim.meter.instant_power_watts()
        datagram = next(d for d in recorder.datagrams if d.payload[2:4] == b"\x42\x42")
        assert datagram.source == sim.meter_address
        assert datagram.source_port == 3610
        assert datagram.secured is True
        assert datagram.multicast is False
    # Delivered synchronously by the client's reader, not through another task.
    assert set(recorder.in_reader_task) == {"aiobroute-sk-reader"}
    # Joining is not a session event; nothing else happened.
    assert recorder.events == []
    assert sim.flash_writes == 0
    assert any(c.startswith("SKSCAN") for c in sim.commands_received)


async def test_a_remembered_pan_is_joined_without_a_scan() -> None:
    sim = make_sim("BP35A1")
    async with linked(sim, connect=False) as (link, recorder):
        pan = await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
        assert pan.mac == sim.module.pan.mac
        assert link.meter_address == sim.meter_address
        await link.send(get_e7(7).encode())
        assert watts_of(await recorder.answer(7)) == sim.meter.instant_power_watts()
    assert not any(c.startswith("SKSCAN") for c in sim.commands_received)


async def test_the_meter_announcement_after_the_join_reaches_the_listener() -> None:
    sim = make_sim("BP35C2")
    async with linked(sim) as (_link, recorder):
        instance_list = await recorder.wait(
            lambda: next((d for d in recorder.datagrams if b"\x0e\xf0\x01" in d.payload), None)
        )
        assert instance_list.source == sim.meter_address


async def test_a_pan_of_another_dialect_or_bad_credentials_are_refused_before_sending() -> None:
    sim = make_sim("BP35C2")
    async with linked(sim, connect=False) as (link, _recorder):
        sent = list(sim.commands_received)
        j11_pan = MeterPan(dialect="j11", channel=15, pan_id=0x4B2D, mac="001234FFFE56789A")
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=j11_pan)
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid="short", password=DEFAULT_PASSWORD)
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, channels=(4,))
        assert sim.commands_received == sent


async def test_send_before_joining_is_a_session_error() -> None:
    async with linked(make_sim(), connect=False) as (link, _recorder):
        with pytest.raises(SessionError):
            await link.send(b"\x10\x81")
        with pytest.raises(SessionError):
            await link.rejoin()


def test_meter_pan_validates_its_fields() -> None:
    with pytest.raises(InvalidArgumentError):
        MeterPan(dialect="skstack", channel=0x21, pan_id=0x10000, mac="001234FFFE56789A")
    with pytest.raises(InvalidArgumentError):
        MeterPan(dialect="skstack", channel=0x21, pan_id=1, mac="0012")
    assert MeterPan(dialect="j11", channel=4, pan_id=1, mac="001234fffe56789a").mac == (
        "001234FFFE56789A"
    )


# ------------------------------------------------------------------ session events


EXPECTED: dict[FaultKind, list[LinkEvent]] = {
    FaultKind.SESSION_EXPIRY: [
        SessionExpired(source="EVENT 29"),
        SessionReauthenticated(source="EVENT 25"),
    ],
    FaultKind.SESSION_EXPIRY_FAIL: [
        SessionExpired(source="EVENT 29"),
        ReauthenticationFailed(source="EVENT 24"),
    ],
    FaultKind.REAUTH: [SessionReauthenticated(source="EVENT 25")],
    FaultKind.TERMINATION: [SessionEnded(source="EVENT 26", reason=SessionEndReason.BY_METER)],
    FaultKind.TX_LIMIT: [
        TransmitLimitStarted(source="EVENT 32"),
        TransmitLimitReleased(source="EVENT 33"),
    ],
}
ACTIVE_AFTER = {
    FaultKind.SESSION_EXPIRY: True,
    FaultKind.SESSION_EXPIRY_FAIL: False,
    FaultKind.REAUTH: True,
    FaultKind.TERMINATION: False,
    FaultKind.TX_LIMIT: True,
}


@pytest.mark.parametrize("model", ["BP35A1", "BP35C2"])
@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda k: k.value)
async def test_each_fault_of_the_plan_gives_its_session_event(model: str, kind: FaultKind) -> None:
    fault = ScheduledFault(kind=kind, after_frames=1, duration_s=30.0)
    sim = make_sim(model, faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())  # the first datagram to the meter sets it off
        await pump(sim, recorder, len(EXPECTED[kind]))
        for _ in range(20):
            await asyncio.sleep(0)
        assert recorder.events == EXPECTED[kind]
        assert link.session_active is ACTIVE_AFTER[kind]
        assert not link.tx_limited


async def test_sending_during_the_transmit_limit_is_refused() -> None:
    fault = ScheduledFault(kind=FaultKind.TX_LIMIT, after_frames=1, duration_s=60.0)
    sim = make_sim("BP35A1", faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())
        await recorder.event_count(1)
        assert link.tx_limited
        with pytest.raises(TransmitLimitError):
            await link.send(get_e7(2).encode())
        assert await link.refresh_tx_limit() is True  # the module (register SFB) agrees
        await pump(sim, recorder, 2)
        assert await link.send(get_e7(3).encode()) is SendVerdict.SENT
        assert recorder.events == EXPECTED[FaultKind.TX_LIMIT]  # no duplicate from SFB


async def test_a_lost_release_is_found_in_register_sfb() -> None:
    sim = make_sim("BP35A1")
    async with linked(sim) as (link, recorder):
        # An EVENT 32 whose EVENT 33 never comes: the module is not limited at all.
        sim.inject_garbage(f"EVENT 32 {sim.module_address}\r\n".encode())
        await recorder.event_count(1)
        assert link.tx_limited
        assert await link.refresh_tx_limit() is False
        assert recorder.events == [
            TransmitLimitStarted(source="EVENT 32"),
            TransmitLimitReleased(source="register SFB"),
        ]
        assert await link.send(get_e7(4).encode()) is SendVerdict.SENT


async def test_unplugging_gives_link_lost_and_fails_calls() -> None:
    fault = ScheduledFault(kind=FaultKind.UNPLUG, after_frames=1)
    sim = make_sim("BP35C2", faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())
        (event,) = await recorder.event_count(1)
        assert isinstance(event, LinkLost)
        assert link.closed
        assert not link.session_active
        with pytest.raises(PortClosedError):
            await link.send(get_e7(2).encode())
    assert len(recorder.events) == 1  # LinkLost is the last event; close() adds none


async def test_rejoin_after_the_meter_ended_the_session() -> None:
    sim = make_sim("BP35C2")
    async with linked(sim) as (link, recorder):
        assert sim.inject_termination()
        await recorder.event_count(1)
        assert not active(link)
        pan = await link.rejoin()
        assert pan == link.pan
        assert link.session_active
        assert sim.session_active
        await link.send(get_e7(9).encode())
        assert watts_of(await recorder.answer(9)) == sim.meter.instant_power_watts()
        # The rejoin's own PANA result is the call's outcome, not an event.
        assert [type(e) for e in recorder.events] == [SessionEnded]
    assert sum(c.startswith("SKSCAN") for c in sim.commands_received) == 1
    assert sum(c.startswith("SKJOIN") for c in sim.commands_received) == 2


async def test_terminate_ends_the_session_without_an_event() -> None:
    sim = make_sim("BP35A1")
    async with linked(sim) as (link, recorder):
        await link.terminate()
        assert not link.session_active
        assert not sim.session_active
        await link.terminate()  # no session: not an error
        for _ in range(20):
            await asyncio.sleep(0)
        assert recorder.events == []


# ------------------------------------------------------------------ robustness


async def test_close_wakes_a_waiting_join() -> None:
    sim = make_sim("BP35C2", faults=FaultPlan(silent=True))
    async with linked(sim, connect=False) as (link, _recorder):
        task = asyncio.create_task(
            link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
        )
        for _ in range(200):  # the simulated module answers at once
            await asyncio.sleep(0)
            if any(c.startswith("SKJOIN") for c in sim.commands_received):
                break
        assert any(c.startswith("SKJOIN") for c in sim.commands_received)
        assert not task.done()
        await link.close()
        with pytest.raises(ClientClosedError):
            await task
        assert link.closed


async def test_a_failing_listener_does_not_stop_the_reader(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Faulty(Recorder):
        def datagram_received(self, datagram: object) -> None:
            raise RuntimeError("listener bug")

    sim = make_sim("BP35A1")
    async with linked(sim) as (link, _recorder):
        faulty = Faulty()
        link.set_listener(faulty)
        await link.send(get_e7(1).encode())
        assert sim.inject_termination()
        await faulty.event_count(1)  # the reader is still alive after the listener failed
    assert "listener failed" in caplog.text


async def test_secrets_stay_out_of_logs_and_repr(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)
    sim = make_sim("BP35C2")
    async with linked(sim) as (link, _recorder):
        await link.send(get_e7(1).encode())
        text = repr(link) + caplog.text
    assert DEFAULT_PASSWORD not in text
    assert DEFAULT_RBID not in text


async def test_transmit_time_follows_the_module() -> None:
    sim = make_sim("BP35A1")
    async with linked(sim) as (link, _recorder):
        before = await link.transmit_time_ms()
        assert before is not None
        await link.send(get_e7(1).encode())
        after = await link.transmit_time_ms()
        assert after is not None
        assert after > before


async def test_skstack_link_satisfies_meter_link() -> None:
    host, _device = memory_pipe()
    link: MeterLink = SkStackLink(host)  # mypy checks the structural match
    assert isinstance(link, MeterLink)
    await link.close()
    assert link.closed


async def test_bad_payloads_are_refused_before_sending() -> None:
    sim = make_sim("BP35C2")
    async with linked(sim) as (link, _recorder):
        sent = list(sim.commands_received)
        for payload, port in ((b"", 3610), (b"x" * 1233, 3610), (b"\x10\x81", 0)):
            with pytest.raises(InvalidArgumentError):
                await link.send(payload, port=port)
        assert sim.commands_received == sent


async def test_a_cancelled_join_propagates_and_leaves_the_link_usable() -> None:
    sim = make_sim("BP35A1", faults=FaultPlan(silent=True))
    async with linked(sim, connect=False) as (link, recorder):
        task = asyncio.create_task(
            link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
        )
        for _ in range(200):
            await asyncio.sleep(0)
            if any(c.startswith("SKJOIN") for c in sim.commands_received):
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        sim.set_silent(False)
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
        await link.send(get_e7(4).encode())
        assert watts_of(await recorder.answer(4)) == sim.meter.instant_power_watts()
