"""Fixtures of the command-line tests: the ``--simulate`` simulator under the test's control."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

import pytest

from aiobroute import cli
from aiobroute.testing import JST, MeterConfig, SimClock, Simulator

#: Simulated seconds per real second: time stands still (the ground truth stays valid).
FROZEN = 1e-9
START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)


class SimulatorHook:
    """Replaces ``cli._make_simulator``; remembers every simulator it built."""

    def __init__(self) -> None:
        self.sims: list[Simulator] = []
        self.models: list[str] = []
        self.model: str | None = None
        self.start = START
        self.meter: MeterConfig | None = None
        self.options: dict[str, object] = {}
        self.on_start: Callable[[Simulator], None] | None = None

    def __call__(self, model: str) -> Simulator:
        self.models.append(model)
        sim = Simulator(
            self.model or model,
            seed=1,
            timing="instant",
            clock=SimClock(self.start, speed=FROZEN),
            meter=self.meter,
            **self.options,  # type: ignore[arg-type]
        )
        self.sims.append(sim)
        if self.on_start is not None:
            self.on_start(sim)
        return sim

    @property
    def sim(self) -> Simulator:
        assert len(self.sims) == 1, self.sims
        return self.sims[0]

    def kwh(self, raw: int | None) -> Decimal | None:
        """A raw counter in kWh, as the meter's coefficient and unit say."""
        return None if raw is None else raw * self.sim.meter.config.kwh_per_count

    def truth(self, at: dt.datetime | None = None) -> dict[str, object]:
        """What the CLI's snapshot must say, from the simulated meter's own model."""
        at = at or self.start
        meter = self.sim.meter
        r_phase, t_phase = meter.instant_current_deciamperes(at)
        fixed_at, fixed_raw = meter.fixed_time_reading(at)
        fixed_reverse_at, fixed_reverse_raw = meter.fixed_time_reading(at, reverse=True)
        return {
            "power_w": meter.instant_power_watts(at),
            "current_r_a": Decimal(r_phase) / 10,
            "current_t_a": None if t_phase is None else Decimal(t_phase) / 10,
            "bought_kwh": self.kwh(meter.cumulative_raw(at)),
            "sold_kwh": self.kwh(meter.cumulative_raw(at, reverse=True)),
            "fixed_bought_at": fixed_at,
            "fixed_bought_kwh": self.kwh(fixed_raw),
            "fixed_sold_at": fixed_reverse_at,
            "fixed_sold_kwh": self.kwh(fixed_reverse_raw),
        }


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> SimulatorHook:
    """``--simulate`` runs against a frozen-clock simulator the test can inspect."""
    simulator_hook = SimulatorHook()
    monkeypatch.setattr(cli, "_make_simulator", simulator_hook)
    return simulator_hook
