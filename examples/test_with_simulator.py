"""Testing your own code against aiobroute's simulator (run it with pytest).

The simulated dongle and meter answer like real ones; the simulator also tells what the
right answer is (its "ground truth"), so a test can compare exactly. A frozen simulated
clock keeps the household's load still while the test compares; ``advance`` moves it.

The tests are coroutines: they need pytest-asyncio (``pip install pytest-asyncio``) and
are marked ``@pytest.mark.asyncio``, so they run in any project as they are (with
``asyncio_mode = "auto"`` in your pytest settings the markers may be left out).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from aiobroute import SmartMeter
from aiobroute.testing import FaultPlan, MeterConfig, SimClock, Simulator


async def daily_report(meter: SmartMeter) -> dict[str, Decimal | int | None]:
    """The code under test: what a HEMS app might compute."""
    values = await meter.get(0xE7, 0xE0)
    yesterday = meter.usage(await meter.history(day=1))
    return {
        "power_w": values[0xE7],  # type: ignore[dict-item]
        "total_kwh": values[0xE0],  # type: ignore[dict-item]
        "yesterday_kwh": sum((u for u in yesterday if u is not None), Decimal(0)),
    }


@pytest.mark.asyncio
async def test_daily_report_matches_the_meter() -> None:
    clock = SimClock(speed=1e-9)  # simulated time stands still unless advanced
    sim = Simulator("BP35C2", seed=1, timing="instant", clock=clock)
    async with sim.smart_meter() as meter:
        report = await daily_report(meter)
        assert report["power_w"] == sim.meter.instant_power_watts()
        assert report["total_kwh"] == sim.meter.cumulative_kwh()
        slots = sim.meter.history_raw(1)
        unit = sim.meter.config.kwh_per_count
        assert report["yesterday_kwh"] == (slots[-1] - slots[0]) * unit  # type: ignore[operator]

        clock.advance(30 * 60)  # half an hour later the counter has moved on
        assert await meter.cumulative_energy() == sim.meter.cumulative_kwh()


@pytest.mark.asyncio
async def test_report_survives_a_flaky_radio() -> None:
    sim = Simulator(
        "BP35A1",
        seed=2,
        timing="instant",
        clock=SimClock(speed=1e-9),
        meter=MeterConfig(pv_export=True),
        faults=FaultPlan(seed=3, drop_reply=0.2),  # one answer in five is lost
    )
    async with sim.smart_meter(retries=8) as meter:
        report = await daily_report(meter)
        assert report["power_w"] == sim.meter.instant_power_watts()
