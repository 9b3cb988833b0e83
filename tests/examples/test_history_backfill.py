"""examples/history_backfill.py against the simulator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aiobroute.testing import JST, MeterConfig

Simulated = Any  # the conftest's SimulatedMeters

HALF_HOUR = dt.timedelta(minutes=30)


def read_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def check_against_meter(rows: list[dict[str, str]], simulated: Simulated, digits: int) -> None:
    meter = simulated.sim.meter
    for row in rows:
        end = dt.datetime.fromisoformat(row["time"])
        raw = meter.cumulative_raw(end)
        used = (raw - meter.cumulative_raw(end - HALF_HOUR)) % 10**digits
        assert Decimal(row["kwh"]) == simulated.kwh(raw), row
        assert Decimal(row["usage_kwh"]) == simulated.kwh(used), row


def test_backfill_matches_the_meter_and_only_adds_new_half_hours(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example("history_backfill")
    target = tmp_path / "history.csv"
    assert example.main(["--days", "2", "--output", str(target)], connect=simulated) == 0
    first = read_rows(target)
    # Yesterday 00:30 .. today 14:00 (14:26 now): every half hour whose both ends are known.
    times = [dt.datetime.fromisoformat(r["time"]) for r in first]
    assert times[0] == dt.datetime(2026, 5, 19, 0, 30, tzinfo=JST)
    assert times[-1] == dt.datetime(2026, 5, 20, 14, 0, tzinfo=JST)
    assert all(b - a == HALF_HOUR for a, b in itertools.pairwise(times))
    assert len(first) == 47 + 29
    check_against_meter(first, simulated, digits=6)

    assert example.main(["--days", "3", "--output", str(target)], connect=simulated) == 0
    second = read_rows(target)
    assert len(second) == len(first) + 48  # the day before: 00:30 .. 23:30 and 00:00
    assert second[-len(first) :] == first  # what was there is kept as it was
    assert [r["time"] for r in second] == sorted({r["time"] for r in second})  # sorted, unique
    check_against_meter(second, simulated, digits=6)

    assert example.main(["--days", "3", "--output", str(target)], connect=simulated) == 0
    assert read_rows(target) == second
    assert capsys.readouterr().err.splitlines()[-1].endswith(": 0 new half hours")


def test_usage_survives_the_counter_rollover(
    load_example: Callable[[str], ModuleType], simulated: Simulated, tmp_path: Path
) -> None:
    # The 6-digit counter (0.1 kWh) is 2 kWh short of wrapping at midnight; by 14:26 it has.
    simulated.start = dt.datetime(2026, 5, 20, 0, 0, tzinfo=JST)
    simulated.advance = 14 * 3600 + 26 * 60
    simulated.meter = MeterConfig(digits=6, initial_normal_raw=10**6 - 20)
    example = load_example("history_backfill")
    target = tmp_path / "history.csv"
    assert example.main(["--days", "1", "--output", str(target)], connect=simulated) == 0
    rows = read_rows(target)
    cumulative = [Decimal(r["kwh"]) for r in rows]
    assert any(after < before for before, after in itertools.pairwise(cumulative))
    assert all(Decimal(r["usage_kwh"]) >= 0 for r in rows)
    check_against_meter(rows, simulated, digits=6)
