"""J11Link against the simulated J11 modules (aiobroute.testing), over memory streams."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
from collections.abc import AsyncIterator

import pytest

from aiobroute.errors import (
    AuthenticationError,
    JoinTimeoutError,
    PortClosedError,
    TransmitLimitError,
)
from aiobroute.j11 import ActiveScan, StartRouteB
from aiobroute.j11.client import J11Timeouts
from aiobroute.j11.link import J11Link
from aiobroute.link import (
    DIALECT_J11,
    LinkEvent,
    LinkLost,
    MeterPan,
    ProbeTimings,
    ReauthenticationFailed,
    SendVerdict,
    SessionEnded,
    SessionEndReason,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
    probe_dialect,
)
from aiobroute.testing import (
    DEFAULT_PASSWORD,
    DEFAULT_RBID,
    FaultKind,
    FaultPlan,
    J11Faults,
    ScheduledFault,
    SimClock,
    SimulatedJ11Module,
    Simulator,
)
from aiobroute.testing._clock import JST
from tests.link._recorder import Recorder, get_e7, sim_linked, watts_of
from tests.link._recorder import pump as pump_events

FAST = J11Timeouts(command=2.0, boot=2.0, scan_margin=2.0, join=5.0, send=2.0, busy_retry=0.0)
START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)
MODELS = ["BP35C0-J11", "BP35C1-J11-T01", "BP35C2-J11-T01", "RS-WSUHA-J11"]


def make_sim(model: str = "RS-WSUHA-J11", **kwargs: object) -> Simulator:
    clock = SimClock(START, speed=1e-9)  # moves only when a test advances it
    return Simulator(model, seed=3, timing="instant", clock=clock, **kwargs)  # type: ignore[arg-type]


def j11(sim: Simulator) -> SimulatedJ11Module:
    module = sim.module
    assert isinstance(module, SimulatedJ11Module)
    return module


@contextlib.asynccontextmanager
async def linked(
    sim: Simulator, *, connect: bool = True
) -> AsyncIterator[tuple[J11Link, Recorder]]:
    make = functools.partial(J11Link, timeouts=FAST)
    async with sim_linked(sim, make, connect=connect) as linked_pair:
        yield linked_pair


def truth_pan(sim: Simulator) -> MeterPan:
    module = j11(sim)
    return MeterPan(
        dialect=DIALECT_J11,
        channel=module.meter_channel,
        pan_id=module.pan.pan_id,
        mac=module.pan.mac,
    )


async def pump(sim: Simulator, recorder: Recorder, count: int, *, step: float = 1.0) -> None:
    """Advance simulated time until ``count`` events were recorded (at most 900 steps)."""
    await pump_events(sim, recorder, count, step=step, steps=900)


def scans(sim: Simulator) -> int:
    return sum(isinstance(r, ActiveScan) for r in j11(sim).requests_received)


# ------------------------------------------------------------------ pairing and data


@pytest.mark.parametrize("model", MODELS)
async def test_pairing_and_get_e7_compared_with_the_meter(model: str) -> None:
    sim = make_sim(model)
    async with linked(sim, connect=False) as (link, recorder):
        identity = link.identity
        assert identity is not None
        major, minor, revision = j11(sim).preset.version
        assert identity.version == f"{major}.{minor}.{revision}"
        assert identity.mac == j11(sim).mac
        pan = await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(6,))
        assert (pan.dialect, pan.channel, pan.pan_id, pan.mac) == (
            DIALECT_J11,
            j11(sim).meter_channel,
            j11(sim).pan.pan_id,
            j11(sim).pan.mac,
        )
        assert link.meter_address == sim.meter_address
        assert link.session_active
        assert sim.session_active
        assert await link.send(get_e7(0x1234).encode()) is SendVerdict.SENT
        answer = await recorder.answer(0x1234)
        assert watts_of(answer) == sim.meter.instant_power_watts()
        assert sim.payloads_to_meter[-1] == get_e7(0x1234).encode()
        datagram = next(d for d in recorder.datagrams if d.payload[2:4] == b"\x12\x34")
        assert datagram.source == sim.meter_address
        assert datagram.secured is True
    assert recorder.events == []
    assert sim.flash_writes == 0
    assert scans(sim) == 1


async def test_the_instance_list_multicast_reaches_the_listener() -> None:
    sim = make_sim()
    async with linked(sim) as (_link, recorder):
        announcement = await recorder.wait(
            lambda: next((d for d in recorder.datagrams if d.multicast), None)
        )
        assert b"\x0e\xf0\x01" in announcement.payload
        assert announcement.source == sim.meter_address


async def test_a_remembered_pan_is_joined_without_a_scan() -> None:
    sim = make_sim("BP35C1-J11-T01")
    async with linked(sim, connect=False) as (link, recorder):
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
        await link.send(get_e7(4).encode())
        assert watts_of(await recorder.answer(4)) == sim.meter.instant_power_watts()
    assert scans(sim) == 0


async def test_wrong_password_is_an_authentication_error() -> None:
    sim = make_sim()
    async with linked(sim, connect=False) as (link, _recorder):
        with pytest.raises(AuthenticationError):
            await link.connect(rbid=DEFAULT_RBID, password="0123456789AC", pan=truth_pan(sim))
        assert not link.session_active


async def test_route_b_failures_are_retried() -> None:
    sim = make_sim(j11_faults=J11Faults(route_b_failures=2))
    async with linked(sim) as (link, _recorder):
        assert link.session_active
    assert sum(isinstance(r, StartRouteB) for r in j11(sim).requests_received) == 3


async def test_a_meter_that_never_answers_pana_is_a_join_timeout() -> None:
    sim = make_sim(j11_faults=J11Faults(pana_no_answer=True))
    async with linked(sim, connect=False) as (link, _recorder):
        with pytest.raises(JoinTimeoutError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))


async def test_no_ack_is_a_verdict_not_an_error() -> None:
    sim = make_sim(j11_faults=J11Faults(no_ack_first=1))
    async with linked(sim) as (link, recorder):
        assert await link.send(get_e7(1).encode()) is SendVerdict.NO_ACK
        assert await link.send(get_e7(2).encode()) is SendVerdict.SENT
        assert watts_of(await recorder.answer(2)) == sim.meter.instant_power_watts()


# ------------------------------------------------------------------ session events


EXPECTED: dict[FaultKind, list[LinkEvent]] = {
    FaultKind.SESSION_EXPIRY: [SessionReauthenticated(source="0x6028 result 01")],
    FaultKind.REAUTH: [SessionReauthenticated(source="0x6028 result 01")],
    FaultKind.SESSION_EXPIRY_FAIL: [ReauthenticationFailed(source="0x6028 result 03")],
    FaultKind.TERMINATION: [
        SessionEnded(source="0x601A state 04", reason=SessionEndReason.BY_METER)
    ],
    FaultKind.RESET: [SessionEnded(source="0x6019", reason=SessionEndReason.MODULE_RESTARTED)],
}
ACTIVE_AFTER = {
    FaultKind.SESSION_EXPIRY: True,
    FaultKind.REAUTH: True,
    FaultKind.SESSION_EXPIRY_FAIL: False,
    FaultKind.TERMINATION: False,
    FaultKind.RESET: False,
}


@pytest.mark.parametrize("kind", list(EXPECTED), ids=lambda k: k.value)
async def test_each_fault_of_the_plan_gives_its_session_event(kind: FaultKind) -> None:
    fault = ScheduledFault(kind=kind, after_frames=1)
    sim = make_sim(faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())  # the first datagram to the meter sets it off
        await pump(sim, recorder, len(EXPECTED[kind]))
        for _ in range(20):
            await asyncio.sleep(0)
        assert recorder.events == EXPECTED[kind]
        assert link.session_active is ACTIVE_AFTER[kind]


async def test_a_mac_disconnect_ends_the_session() -> None:
    sim = make_sim()
    async with linked(sim) as (link, recorder):
        assert j11(sim).inject_disconnect()
        assert await recorder.event_count(1) == [
            SessionEnded(source="0x601A state 03", reason=SessionEndReason.MAC_DISCONNECTED)
        ]
        assert not link.session_active
        await link.rejoin()
        await link.send(get_e7(6).encode())
        assert watts_of(await recorder.answer(6)) == sim.meter.instant_power_watts()


async def test_the_transmit_limit_of_the_plan() -> None:
    fault = ScheduledFault(kind=FaultKind.TX_LIMIT, after_frames=1, duration_s=60.0)
    sim = make_sim(faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())
        for _ in range(20):
            await asyncio.sleep(0)
        with pytest.raises(TransmitLimitError):
            await link.send(get_e7(2).encode())
        assert link.tx_limited
        sim.clock.advance(61.0)
        assert await link.send(get_e7(3).encode()) is SendVerdict.SENT
        assert recorder.events == [
            TransmitLimitStarted(source="0x2008 status 2"),
            TransmitLimitReleased(source="transmit status 0"),
        ]


async def test_unplugging_gives_link_lost() -> None:
    fault = ScheduledFault(kind=FaultKind.UNPLUG, after_frames=1)
    sim = make_sim(faults=FaultPlan(scheduled=(fault,)))
    async with linked(sim) as (link, recorder):
        await link.send(get_e7(1).encode())
        (event,) = await recorder.event_count(1)
        assert isinstance(event, LinkLost)
        with pytest.raises(PortClosedError):
            await link.send(get_e7(2).encode())


async def test_rejoin_after_the_meter_ended_the_session() -> None:
    sim = make_sim("BP35C2-J11-T01")
    async with linked(sim) as (link, recorder):
        assert sim.inject_termination()
        await recorder.event_count(1)
        resets = j11(sim).resets
        await link.rejoin()
        assert j11(sim).resets == resets  # route B was still operating: only PANA again
        assert link.session_active
        assert sim.session_active
        await link.send(get_e7(9).encode())
        assert watts_of(await recorder.answer(9)) == sim.meter.instant_power_watts()
        assert len(recorder.events) == 1
    assert scans(sim) == 1


async def test_terminate_ends_the_session_on_the_module() -> None:
    sim = make_sim()
    async with linked(sim) as (link, recorder):
        await link.terminate()
        assert not link.session_active
        assert not sim.session_active
        for _ in range(20):
            await asyncio.sleep(0)
        assert recorder.events == []


# ------------------------------------------------------------------ the probe


@pytest.mark.parametrize("model", MODELS)
async def test_the_probe_recognises_every_j11_preset(model: str) -> None:
    sim = make_sim(model)
    async with sim.memory() as stream:
        timings = ProbeTimings(listen=0.0, settle=0.0, skstack=0.05, j11=2.0)
        assert await probe_dialect(stream, timings=timings) == DIALECT_J11
        link = J11Link(stream, timeouts=FAST)
        recorder = Recorder()
        link.set_listener(recorder)
        try:
            await link.open()
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=truth_pan(sim))
            await link.send(get_e7(2).encode())
            assert watts_of(await recorder.answer(2)) == sim.meter.instant_power_watts()
        finally:
            await link.close()
