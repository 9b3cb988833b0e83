"""examples/watch_csv.py against the simulator."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aiobroute.echonet import Esv, Frame

Simulated = Any  # the conftest's SimulatedMeters


def test_rows_match_the_meter_and_runs_append(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example("watch_csv")
    target = tmp_path / "power.csv"
    argv = ["--count", "3", "--interval", "0", "--output", str(target)]
    assert example.main(argv, connect=simulated) == 0
    assert example.main(argv, connect=simulated) == 0
    assert capsys.readouterr().err.count("wrote 3 rows") == 2
    with target.open(encoding="utf-8", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    assert tuple(header) == example.COLUMNS
    assert len(rows) == 6  # the second run appended, without a second header
    expected = simulated.truth()
    for row in rows:
        record = dict(zip(header, row, strict=True))
        assert record["time"].startswith("2026-05-20T14:26")
        assert int(record["power_w"]) == expected["power_w"]
        assert Decimal(record["current_r_a"]) == expected["current_r_a"]
        assert Decimal(record["current_t_a"]) == expected["current_t_a"]
        assert Decimal(record["bought_kwh"]) == expected["bought_kwh"]
        assert Decimal(record["sold_kwh"]) == expected["sold_kwh"]
    # One frame per row: the four properties are read together.
    frames = [Frame.decode(payload) for payload in simulated.sim.payloads_to_meter]
    reads = [f for f in frames if f.esv is Esv.GET and 0xE7 in f.epcs]
    assert [sorted(f.epcs) for f in reads] == [[0xE0, 0xE3, 0xE7, 0xE8]] * 3


def test_simulate_flag_uses_the_builtin_simulator(
    load_example: Callable[[str], ModuleType], tmp_path: Path
) -> None:
    example = load_example("watch_csv")
    target = tmp_path / "power.csv"
    argv = ["--simulate", "--count", "2", "--interval", "0", "--output", str(target)]
    assert example.main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 2
    assert all(int(row["power_w"]) > 0 for row in rows)
