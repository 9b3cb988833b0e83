"""One CSV convention (aiobroute.columns) shared by ``history``, ``watch`` and the examples.

The same simulated meter is read by the command and by the example; their files must have
the same header, LF line endings, and the same row for the same half hour; the recorder's
``export`` writes the same rows from its database.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from aiobroute import cli, columns
from aiobroute.recorder import Recorder, RecordStore
from aiobroute.testing import SimClock, Simulator

Simulated = Any  # the conftest's SimulatedMeters


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def same_meter(monkeypatch: pytest.MonkeyPatch, simulated: Simulated) -> Simulated:
    """``--simulate`` builds the same simulator as the examples' ``connect``."""

    def make(model: str) -> Simulator:
        del model
        return Simulator(
            "BP35A1",
            seed=1,
            timing="instant",
            clock=SimClock(simulated.start, speed=1e-9),
            meter=simulated.meter,
        )

    monkeypatch.setattr(cli, "_make_simulator", make)
    return simulated


def test_history_and_the_backfill_example_write_the_same_rows(
    load_example: Callable[[str], ModuleType],
    same_meter: Simulated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["history", "--simulate", "--days", "2"]) == 0
    command = capsys.readouterr().out
    target = tmp_path / "history.csv"
    example = load_example("history_backfill")
    assert example.main(["--days", "2", "--output", str(target)], connect=same_meter) == 0
    written = target.read_text(encoding="utf-8")
    for text in (command, written):
        assert "\r" not in text
        assert text.splitlines()[0] == ",".join(columns.HISTORY_COLUMNS)
    assert rows_of(written) == rows_of(command)  # same slots, same values
    assert len(rows_of(command)) == 48 + 28


def test_watch_and_the_watch_example_share_the_columns(
    load_example: Callable[[str], ModuleType],
    same_meter: Simulated,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(["watch", "--simulate", "--count", "2", "--interval", "0", "--format", "csv"]) == 0
    )
    command = capsys.readouterr().out
    target = tmp_path / "power.csv"
    example = load_example("watch_csv")
    argv = ["--count", "2", "--interval", "0", "--output", str(target)]
    assert example.main(argv, connect=same_meter) == 0
    written = target.read_text(encoding="utf-8")
    for text in (command, written):
        assert "\r" not in text
        assert text.splitlines()[0] == ",".join(columns.WATCH_COLUMNS)
    assert rows_of(written) == rows_of(command)  # a frozen clock: identical readings


def test_watch_jsonl_and_read_json_use_the_same_keys(
    same_meter: Simulated, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert cli.main(["watch", "--simulate", "--count", "1", "--format", "jsonl"]) == 0
    watched = json.loads(capsys.readouterr().out)
    assert tuple(watched) == columns.WATCH_COLUMNS
    assert cli.main(["read", "--simulate", "--format", "json"]) == 0
    read = json.loads(capsys.readouterr().out)
    assert {key: read[key] for key in columns.WATCH_COLUMNS} == watched
    assert set(read) - set(watched) == {
        "fixed_bought_at",
        "fixed_bought_kwh",
        "fixed_sold_at",
        "fixed_sold_kwh",
    }


def test_export_writes_the_rows_of_history(
    same_meter: Simulated, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["history", "--simulate", "--days", "2"]) == 0
    history = rows_of(capsys.readouterr().out)
    database = tmp_path / "record.db"

    async def record() -> None:
        sim = cli._make_simulator("BP35A1")
        async with RecordStore.open(database) as store, sim.smart_meter() as meter:
            recorder = Recorder(meter, store, clock=sim.clock, backfill_days=1)
            await recorder.identify()
            await recorder.backfill()

    asyncio.run(record())
    assert cli.main(["export", "--db", str(database)]) == 0
    text = capsys.readouterr().out
    assert "\r" not in text
    assert text.splitlines()[0] == ",".join(columns.HISTORY_COLUMNS)
    exported = {row[columns.SLOT_START]: row for row in rows_of(text)}
    # The same half hours, the same counters and usage (the first exported slot has no
    # previous reading in the database, so its usage is left empty: skip it).
    common = [row for row in history if row[columns.SLOT_START] in exported][1:]
    assert len(common) >= 40
    for row in common:
        assert exported[row[columns.SLOT_START]] == row
