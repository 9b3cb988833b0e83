"""Helpers shared by the meter tests: a simulator on a frozen clock and a fast meter.

Imported as ``tests.meter._sim`` (pytest puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

from aiobroute import SmartMeter
from aiobroute.j11.client import J11Timeouts
from aiobroute.link import ProbeTimings
from aiobroute.meter import MeterTimeouts
from aiobroute.skstack.client import SkTimeouts
from aiobroute.supervisor import ConnectionState, ReconnectPolicy, WatchdogSettings
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator
from aiobroute.testing._clock import JST, SimClock

FROZEN = 1e-9
FAST_SK = SkTimeouts(
    command=1.0, reset_settle=0.0, scan_margin=2.0, join=3.0, send=1.0, send_event_grace=0.3
)
FAST_J11 = J11Timeouts(
    command=1.0, boot=1.0, scan_margin=2.0, join=3.0, send=1.0, busy_retry=0.0, start_retry=0.0
)
#: The dialect probe without its listening pauses (the simulators answer at once).
PROBE = ProbeTimings(listen=0.0, settle=0.0, skstack=0.5, j11=0.5)
FAST = MeterTimeouts(attempt=0.3, single=2.0, sequence=4.0, instance_list=0.3)
POLICY = ReconnectPolicy(initial=0.05, factor=1.5, cap=0.2, jitter=0.1)
WATCHDOG = WatchdogSettings(
    timeouts_before_probe=1, push_grace=None, probe_timeout=0.6, reauth_timeout=1.0
)
START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)


def make_sim(model: str = "BP35A1", **kwargs: object) -> Simulator:
    return Simulator(model, seed=3, timing="instant", clock=SimClock(START, speed=FROZEN), **kwargs)  # type: ignore[arg-type]


def make_meter(port: object, **options: object) -> SmartMeter:
    settings: dict[str, object] = {
        "min_interval": 0.0,
        "timeouts": FAST,
        "sk_timeouts": FAST_SK,
        "j11_timeouts": FAST_J11,
        "probe_timings": PROBE,
        "reconnect": POLICY,
        "watchdog": WATCHDOG,
        "retries": 3,
    }
    password = str(options.pop("password", DEFAULT_PASSWORD))
    settings.update(options)
    return SmartMeter(port, rbid=DEFAULT_RBID, password=password, **settings)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(sim: Simulator, **options: object) -> AsyncIterator[SmartMeter]:
    async with sim.memory():

        async def reopen() -> object:
            return sim.host_stream()

        async with make_meter(reopen, **options) as meter:
            yield meter


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    # Polls state owned by the code under test; an Event would need a hook in it.
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def record_states(meter: SmartMeter, into: list[ConnectionState]) -> None:
    async for state in meter.states():
        into.append(state)  # noqa: PERF401 - observed while the iteration runs


def joins(sim: Simulator) -> int:
    """PANA joins the module was asked for (SKJOIN, or J11 start PANA 0x0056)."""
    return sum(1 for line in sim.commands_received if line.startswith(("SKJOIN", "0x0056 ")))


def scans(sim: Simulator) -> int:
    """Active scans the module was asked for (SKSCAN, or J11 active scan 0x0051)."""
    return sum(1 for line in sim.commands_received if line.startswith(("SKSCAN", "0x0051 ")))


async def assert_reads_truth(sim: Simulator, meter: SmartMeter) -> None:
    assert await meter.instant_power() == sim.meter.instant_power_watts()
    raw = sim.meter.cumulative_raw()
    assert await meter.cumulative_energy() == raw * sim.meter.config.kwh_per_count


def assert_no_leaks() -> None:
    current = asyncio.current_task()
    leftovers = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    assert leftovers == []
