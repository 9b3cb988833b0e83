"""examples/history_backfill.py against the simulator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import stat
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


class Backfill:
    """The example, its output file under ``tmp_path``, and the simulated meter."""

    def __init__(self, example: ModuleType, target: Path, simulated: Simulated) -> None:
        self.example = example
        self.target = target
        self.simulated = simulated

    def run(self, days: int) -> int:
        """``history_backfill --days DAYS --output TARGET`` against the simulator."""
        argv = ["--days", str(days), "--output", str(self.target)]
        result = self.example.main(argv, connect=self.simulated)
        assert isinstance(result, int)
        return result


@pytest.fixture
def backfill(
    load_example: Callable[[str], ModuleType], simulated: Simulated, tmp_path: Path
) -> Backfill:
    return Backfill(load_example("history_backfill"), tmp_path / "history.csv", simulated)


def check_against_meter(rows: list[dict[str, str]], simulated: Simulated, digits: int) -> None:
    meter = simulated.sim.meter
    for row in rows:
        end = dt.datetime.fromisoformat(row["slot_start"]) + HALF_HOUR
        for direction, reverse in (("bought", False), ("sold", True)):
            raw = meter.cumulative_raw(end, reverse=reverse)
            used = (raw - meter.cumulative_raw(end - HALF_HOUR, reverse=reverse)) % 10**digits
            assert Decimal(row[f"{direction}_kwh"]) == simulated.kwh(raw), row
            assert Decimal(row[f"{direction}_usage_kwh"]) == simulated.kwh(used), row


def test_backfill_matches_the_meter_and_only_adds_new_half_hours(
    backfill: Backfill, simulated: Simulated, capsys: pytest.CaptureFixture[str]
) -> None:
    target = backfill.target
    assert backfill.run(2) == 0
    first = read_rows(target)
    # Yesterday 00:00 .. today 13:30 (14:26 now): every half hour whose both ends are known.
    assert target.read_bytes().startswith(b"slot_start,bought_kwh,sold_kwh,")
    assert b"\r" not in target.read_bytes()
    times = [dt.datetime.fromisoformat(r["slot_start"]) for r in first]
    assert times[0] == dt.datetime(2026, 5, 19, 0, 0, tzinfo=JST)
    assert times[-1] == dt.datetime(2026, 5, 20, 13, 30, tzinfo=JST)
    assert all(b - a == HALF_HOUR for a, b in itertools.pairwise(times))
    assert len(first) == 47 + 29
    check_against_meter(first, simulated, digits=6)

    assert backfill.run(3) == 0
    second = read_rows(target)
    assert len(second) == len(first) + 48  # the day before: 00:00 .. 23:30
    assert second[-len(first) :] == first  # what was there is kept as it was
    starts = [r["slot_start"] for r in second]
    assert starts == sorted(set(starts))  # sorted, unique
    check_against_meter(second, simulated, digits=6)

    assert backfill.run(3) == 0
    assert read_rows(target) == second
    assert capsys.readouterr().err.splitlines()[-1].endswith(": 0 new half hours")


def test_usage_survives_the_counter_rollover(backfill: Backfill, simulated: Simulated) -> None:
    # The 6-digit counter (0.1 kWh) is 2 kWh short of wrapping at midnight; by 14:26 it has.
    simulated.start = dt.datetime(2026, 5, 20, 0, 0, tzinfo=JST)
    simulated.advance = 14 * 3600 + 26 * 60
    simulated.meter = MeterConfig(digits=6, initial_normal_raw=10**6 - 20)
    assert backfill.run(1) == 0
    rows = read_rows(backfill.target)
    cumulative = [Decimal(r["bought_kwh"]) for r in rows]
    assert any(after < before for before, after in itertools.pairwise(cumulative))
    assert all(Decimal(r["bought_usage_kwh"]) >= 0 for r in rows)
    check_against_meter(rows, simulated, digits=6)


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_the_output_is_never_anything_but_a_regular_file(
    kind: str,
    backfill: Backfill,
    simulated: Simulated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = backfill.target
    elsewhere = tmp_path / "precious.txt"
    elsewhere.write_text("keep me\n", encoding="utf-8")
    if kind == "fifo":
        os.mkfifo(target)  # opening it for reading would block without a writer
    elif kind == "symlink":
        target.symlink_to(elsewhere)
    else:
        target.mkdir()
    assert backfill.run(1) == 1
    err = capsys.readouterr().err
    assert "not a regular file" in err
    assert simulated.sims == []  # refused before reading the meter
    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"
    assert target.is_symlink() == (kind == "symlink")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "precious.txt"]


def test_a_file_with_other_columns_is_left_alone(
    backfill: Backfill, capsys: pytest.CaptureFixture[str]
) -> None:
    target = backfill.target
    target.write_text("time,kwh,usage_kwh\n2026-05-19T00:30:00+09:00,1.0,0.1\n", "utf-8")
    assert backfill.run(1) == 1
    assert "other columns" in capsys.readouterr().err
    assert target.read_text("utf-8").startswith("time,kwh,usage_kwh\n")


def test_a_replaced_file_keeps_its_permissions(backfill: Backfill) -> None:
    target = backfill.target
    target.write_text(",".join(backfill.example.COLUMNS) + "\n", encoding="utf-8")
    target.chmod(0o640)
    assert backfill.run(1) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert len(read_rows(target)) == 28
