"""The Simulator facade: presets, attaching in memory, unplugging, scheduled faults, cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import random

import attrs
import pytest

from aiobroute.errors import PortClosedError
from aiobroute.skstack import ModuleFamily
from aiobroute.testing import (
    DEFAULT_PASSWORD,
    DEFAULT_RBID,
    FaultKind,
    FaultPlan,
    ModulePreset,
    ScheduledFault,
    SimClock,
    Simulator,
    Timing,
)
from tests.testing._host import CRLF, GET_E7, Host, sendto, setup_commands


async def join(sim: Simulator, host: Host) -> None:
    for command in ("SKSREG SFE 0", *setup_commands(sim), f"SKJOIN {sim.meter_address}"):
        await host.send(command.encode() + CRLF)
        await host.until(b"OK\r\n")
    await host.until(b"EVENT 25")


async def send(sim: Simulator, host: Host) -> None:
    await sendto(sim, host)
    await host.until(b"OK\r\n")


def test_presets_and_names() -> None:
    assert ModulePreset.by_name("bp35a1") is ModulePreset.BP35A1
    assert ModulePreset.by_name("RL7023-IPS") is ModulePreset.RL7023_IPS
    assert ModulePreset.by_name("rs_wsuha_p") is ModulePreset.RS_WSUHA_P
    assert ModulePreset.by_name("RL7023_DSS").family is ModuleFamily.BP35C2
    assert ModulePreset.RL7023_IPS.family is ModuleFamily.BP35A1
    assert ModulePreset.BP35C2.einfo_field5 == "0"
    assert ModulePreset.BP35A1.einfo_field5 == "FFFE"
    with pytest.raises(ValueError, match="unknown module model"):
        ModulePreset.by_name("XBee")
    with pytest.raises(ValueError, match="between 0 and 1"):
        attrs.evolve(ModulePreset.BP35A1, sendto_lone_crlf=2.0)
    with pytest.raises(ValueError, match="unknown module model"):
        Simulator("nope")
    with pytest.raises(ValueError, match="timing"):
        Timing.named("slow")
    assert Timing.instant().scan_slot_s == 0
    assert Timing.realistic().response_s == (1.0, 3.0)


def test_fault_plan_parse() -> None:
    plan = FaultPlan.parse(["drop=0.1,delay=0.2,seed=3", "no-beacon,expiry@600,tx-limit@#20+300"])
    assert plan.drop_reply == 0.1
    assert plan.delay_reply == 0.2
    assert plan.seed == 3
    assert plan.no_beacon
    assert plan.scheduled == (
        ScheduledFault(kind=FaultKind.SESSION_EXPIRY, at_s=600.0),
        ScheduledFault(kind=FaultKind.TX_LIMIT, after_frames=20, duration_s=300.0),
    )
    for bad in ("drop=2", "frobnicate", "what=1", "boom@3"):
        with pytest.raises(ValueError):
            FaultPlan.parse(bad)
    with pytest.raises(ValueError, match="exactly one"):
        ScheduledFault(kind=FaultKind.RESET)
    with pytest.raises(ValueError, match="duration"):
        ScheduledFault(kind=FaultKind.TX_LIMIT, at_s=1)


async def test_defaults_and_ground_truth() -> None:
    sim = Simulator(timing="instant")
    assert (sim.rbid, sim.password) == (DEFAULT_RBID, DEFAULT_PASSWORD)
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        await send(sim, host)
        await host.until(b"\r\n")
        assert sim.commands_received[0] == "SKSREG SFE 0"
        assert sim.commands_received[-1].startswith("SKSENDTO 1 ")
        assert sim.payloads_to_meter == [GET_E7]
        assert sim.frames_to_meter == 1
        assert sim.frames_from_meter == 2
        assert sim.airtime_ms > 0
        assert sim.session is not None
        assert sim.session.paa == sim.meter_address
        assert [event.num for event in sim.events][-2:] == [0x25, 0x21]
        assert sim.output.startswith(b"SKSREG SFE 0\r\nOK\r\n")
        with pytest.raises(RuntimeError, match="already serving"):
            async with sim.memory():
                pass
        with pytest.raises(RuntimeError, match="pty"):
            _ = sim.tty_path
    assert sim.frames_to_meter == 1  # ground truth outlives the context


async def test_no_task_is_left_behind() -> None:
    before = asyncio.all_tasks()
    sim = Simulator(timing="realistic", speed=1.0)
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKSCAN 2 FFFFFFFF E\r\n")  # a scan of several minutes
        await host.send(f"SKSETRBID {sim.rbid}\r\n".encode())
        await host.until(b"SKSETRBID")
        sim.inject_tx_limit(3600)
    assert asyncio.all_tasks() == before


async def test_unplug_and_replug_in_memory() -> None:
    sim = Simulator(timing="instant")
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"WOPT 01\r")
        await host.until(b"OK\r")
        await join(sim, host)
        sim.unplug()
        assert not sim.plugged
        await host.wait_closed()
        with pytest.raises(PortClosedError):
            await stream.write(b"SKVER\r\n")
        with pytest.raises(PortClosedError):
            sim.host_stream()
        assert sim.session is None
        sim.replug()
        again = Host(sim.host_stream())
        await again.send(b"SKVER\r\n")
        assert await again.until(b"OK\r\n") == b"SKVER\r\nEVER 1.2.10\r\nOK\r\n"  # echo on again
        await again.send(b"ROPT\r")
        assert (await again.until(b"\r")).endswith(b"ROPT\r")
        assert (await again.until(b"\r")) == b"OK 01\r"  # flash kept across power-off


async def test_scheduled_faults_by_frames_and_time() -> None:
    plan = FaultPlan(
        scheduled=(
            ScheduledFault(kind=FaultKind.SESSION_EXPIRY, after_frames=1),
            ScheduledFault(kind=FaultKind.TERMINATION, at_s=100),
            ScheduledFault(kind=FaultKind.UNPLUG, at_s=200, duration_s=10),
        )
    )
    sim = Simulator(timing="instant", faults=plan, clock=SimClock(speed=1e-6))
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        await send(sim, host)
        await host.until(b"EVENT 29")
        await host.until(b"EVENT 25")
        sim.clock.advance(100)
        await host.until(b"EVENT 26")
        assert sim.session is None
        sim.clock.advance(100)
        await host.wait_closed()
        sim.clock.advance(10)
        for _ in range(10):
            await asyncio.sleep(0)
        assert sim.plugged
        again = Host(sim.host_stream())
        await again.send(b"SKVER\r\n")
        await again.until(b"OK\r\n")


@pytest.mark.parametrize(
    ("kind", "marker"),
    [
        (FaultKind.REAUTH, b"EVENT 25"),
        (FaultKind.SESSION_EXPIRY_FAIL, b"EVENT 24"),
    ],
)
async def test_other_scheduled_kinds(kind: FaultKind, marker: bytes) -> None:
    plan = FaultPlan(scheduled=(ScheduledFault(kind=kind, at_s=50),))
    sim = Simulator(timing="instant", faults=plan, clock=SimClock(speed=1e-6))
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        host.buf.clear()
        sim.clock.advance(50)
        await host.until(marker)


def planned_garbage(seed: int) -> bytes:
    """The line a GARBAGE fault of a plan with this seed writes first (1-24 random bytes).

    Nothing else draws from the plan's generator when no random rate is set.
    """
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 24))) + CRLF


async def test_scheduled_garbage_line() -> None:
    plan = FaultPlan(seed=11, scheduled=(ScheduledFault(kind=FaultKind.GARBAGE, at_s=50),))
    garbage = planned_garbage(11)
    sim = Simulator(timing="instant", faults=plan, clock=SimClock(speed=1e-6))
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        assert garbage not in sim.output  # the marker can only come from the fault
        sim.clock.advance(50)
        await host.until(garbage)
        assert sim.output.count(garbage) == 1


async def test_scheduled_reset_silence_and_tx_limit() -> None:
    plan = FaultPlan(
        scheduled=(
            ScheduledFault(kind=FaultKind.SILENT, at_s=10, duration_s=10),
            ScheduledFault(kind=FaultKind.TX_LIMIT, at_s=30, duration_s=5),
            ScheduledFault(kind=FaultKind.RESET, at_s=40),
        )
    )
    sim = Simulator(timing="instant", faults=plan, clock=SimClock(speed=1e-6))
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        sim.clock.advance(10)
        for _ in range(10):
            await asyncio.sleep(0)
        silent: bool = sim.module.silent  # read again: the fault plan changes it
        assert silent
        sim.clock.advance(10)
        for _ in range(10):
            await asyncio.sleep(0)
        silent = sim.module.silent
        assert not silent
        sim.clock.advance(10)
        await host.until(b"EVENT 32")
        sim.clock.advance(5)
        await host.until(b"EVENT 33")
        sim.clock.advance(5)
        for _ in range(10):
            await asyncio.sleep(0)
        assert sim.module.resets == 1
        assert sim.session is None


async def test_simulators_can_share_a_clock() -> None:
    clock = SimClock(speed=1e-6)
    first = Simulator("BP35A1", timing="instant", clock=clock)
    second = Simulator("BP35C2", timing="instant", clock=clock)
    assert first.clock is second.clock
    async with first.memory() as a, second.memory() as b:
        await a.write(b"SKVER\r\n")
        await b.write(b"SKVER\r\n")
        async with contextlib.AsyncExitStack():
            host_a, host_b = Host(a), Host(b)
            assert b"EVER 1.2.10" in await host_a.until(b"OK\r\n")
            assert b"EVER 1.5.2" in await host_b.until(b"OK\r\n")


async def test_scheduled_hang_silences_the_module_until_it_ends() -> None:
    plan = FaultPlan.parse("hang@10+30")
    assert plan.scheduled == (ScheduledFault(kind=FaultKind.HANG, at_s=10, duration_s=30),)
    sim = Simulator(timing="instant", faults=plan, clock=SimClock(speed=1e-6))
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        sim.clock.advance(10)
        for _ in range(10):
            await asyncio.sleep(0)
        assert sim.module.hung
        written = len(sim.output)
        await host.send(b"SKVER\r\n")
        await sendto(sim, host)
        for _ in range(10):
            await asyncio.sleep(0)
        assert len(sim.output) == written  # nothing at all: no echo, OK, EVENT or ERXUDP
        assert sim.frames_to_meter == 0  # the hung module sent nothing either
        sim.clock.advance(30)
        for _ in range(10):
            await asyncio.sleep(0)
        hung: bool = sim.module.hung  # read again: the fault plan changes it
        assert not hung
        host.buf.clear()
        await host.send(b"\r\nSKVER\r\n")
        assert b"EVER 1.2.10" in await host.until(b"OK\r\n")
        assert sim.session_active  # the radio side survived the hang


async def test_host_reopening_the_memory_port_keeps_the_module_state() -> None:
    sim = Simulator(timing="instant")
    async with sim.memory() as stream:
        host = Host(stream)
        await join(sim, host)
        await stream.close()  # the host closes its end, as a client closing the port
        again = sim.host_stream()
        assert again is not stream
        assert not again.closed
        assert sim.session_active  # no power cycle: the session is still up
        reopened = Host(again)
        await reopened.send(b"SKVER\r\n")
        answer = await reopened.until(b"OK\r\n")
        assert answer.endswith(b"EVER 1.2.10\r\nOK\r\n")
        assert b"SKVER" not in answer  # echo is still off: the registers were kept
        assert sim.host_stream() is again
