"""Fixtures of the example tests: load a script from examples/, connect it to a simulator."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.util
import sys
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from aiobroute import SmartMeter
from aiobroute.testing import JST, MeterConfig, SimClock, Simulator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Simulated seconds per real second: time stands still (the ground truth stays valid).
FROZEN = 1e-9
START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)


@pytest.fixture
def load_example(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], ModuleType]:
    """Import ``examples/<name>.py`` as a module (examples are scripts, not a package)."""

    def load(name: str) -> ModuleType:
        spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        monkeypatch.setitem(sys.modules, spec.name, module)
        spec.loader.exec_module(module)
        return module

    return load


class SimulatedMeters:
    """A ``connect`` callable for the examples: a SmartMeter on a frozen-clock simulator.

    Each call builds a new simulator (inside the example's event loop) with the same
    seed and start, so several runs see the same meter; ``sim`` is the last one.
    """

    def __init__(self) -> None:
        self.sims: list[Simulator] = []
        self.start = START
        self.meter: MeterConfig | None = None
        self.advance = 0.0  # simulated seconds to jump before connecting

    @contextlib.asynccontextmanager
    async def __call__(self) -> AsyncIterator[SmartMeter]:
        sim = Simulator(
            "BP35A1",
            seed=1,
            timing="instant",
            clock=SimClock(self.start, speed=FROZEN),
            meter=self.meter,
        )
        self.sims.append(sim)
        if self.advance:
            sim.clock.advance(self.advance)
        async with (
            sim.memory() as stream,
            SmartMeter(stream, rbid=sim.rbid, password=sim.password, min_interval=0) as meter,
        ):
            yield meter

    @property
    def sim(self) -> Simulator:
        return self.sims[-1]

    def kwh(self, raw: int | None) -> Decimal | None:
        """A raw counter in kWh, as the meter's coefficient and unit say."""
        return None if raw is None else raw * self.sim.meter.config.kwh_per_count

    def truth(self, at: dt.datetime | None = None) -> dict[str, object]:
        """The readings the simulated meter's model gives at ``at`` (default: the start)."""
        at = at or self.start
        meter = self.sim.meter
        r_phase, t_phase = meter.instant_current_deciamperes(at)
        fixed_at, fixed_raw = meter.fixed_time_reading(at)
        return {
            "power_w": meter.instant_power_watts(at),
            "current_r_a": Decimal(r_phase) / 10,
            "current_t_a": None if t_phase is None else Decimal(t_phase) / 10,
            "bought_kwh": self.kwh(meter.cumulative_raw(at)),
            "sold_kwh": self.kwh(meter.cumulative_raw(at, reverse=True)),
            "fixed_time": fixed_at,
            "fixed_bought_kwh": self.kwh(fixed_raw),
        }


@pytest.fixture
def simulated() -> SimulatedMeters:
    """SmartMeters on a simulator whose clock stands still at 2026-05-20 14:26 JST."""
    return SimulatedMeters()
