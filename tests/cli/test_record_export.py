"""``aiobroute export`` (and ``record``'s refusals) in-process, on a database the recorder
filled from the simulator."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import itertools
import json
import os
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from aiobroute import cli
from aiobroute.columns import HISTORY_COLUMNS, WATCH_COLUMNS
from aiobroute.recorder import Recorder, RecordStore, Sample
from aiobroute.testing import JST, MeterConfig, SimClock, Simulator

START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)
HALF_HOUR = dt.timedelta(minutes=30)
HOUR = dt.timedelta(hours=1)


def fill(db: Path) -> Simulator:
    """Two days and a bit of readings, with a counter that wraps (6 digits) on the last."""
    config = MeterConfig(seed=2, pv_export=True, initial_normal_raw=10**6 - 40, digits=6)
    sim = Simulator(
        "BP35C2", seed=1, timing="instant", clock=SimClock(START, speed=1e-9), meter=config
    )

    async def run() -> None:
        sim.clock.advance(12 * 3600)  # 2026-05-21 02:26: the counter wrapped after 14:26
        async with RecordStore.open(db) as store, sim.smart_meter() as meter:
            recorder = Recorder(meter, store, clock=sim.clock, backfill_days=2)
            await recorder.backfill()
            [record] = await store.meters()
            meter_id = await store.meter_id(record, sim.clock.now())
            for minutes in (0, 1, 2):
                at = sim.clock.now().replace(second=0) + dt.timedelta(minutes=minutes)
                r_phase, t_phase = sim.meter.instant_current_deciamperes(at)
                await store.put_sample(
                    meter_id,
                    Sample(
                        at,
                        sim.meter.instant_power_watts(at),
                        Decimal(r_phase) / 10,
                        None if t_phase is None else Decimal(t_phase) / 10,
                    ),
                )

    asyncio.run(run())
    return sim


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Simulator]:
    db = tmp_path_factory.mktemp("export") / "record.db"
    return db, fill(db)


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["export", *args])
    out, err = capsys.readouterr()
    return code, out, err


def kwh(sim: Simulator, at: dt.datetime, *, reverse: bool = False) -> Decimal:
    return sim.meter.cumulative_kwh(at, reverse=reverse)


def test_csv_rows_are_the_meters_readings_and_usage(
    filled: tuple[Path, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    db, sim = filled
    code, out, err = export(capsys, "--db", str(db))
    assert (code, err) == (0, "")
    assert out.startswith(",".join(HISTORY_COLUMNS) + "\n")
    assert "\r" not in out
    rows = list(csv.DictReader(io.StringIO(out)))
    starts = [dt.datetime.fromisoformat(r["slot_start"]) for r in rows]
    first_reading = dt.datetime(2026, 5, 19, tzinfo=JST)
    assert starts[0] == first_reading - HALF_HOUR
    assert starts[-1] == dt.datetime(2026, 5, 21, 1, 30, tzinfo=JST)
    assert all(b - a == HALF_HOUR for a, b in itertools.pairwise(starts))
    assert rows[0]["bought_usage_kwh"] == ""  # no reading before the first
    wrapped = 0
    for row, start in zip(rows[1:], starts[1:], strict=True):
        end = start + HALF_HOUR
        assert Decimal(row["bought_kwh"]) == kwh(sim, end)
        assert Decimal(row["sold_kwh"]) == kwh(sim, end, reverse=True)
        raw = (sim.meter.cumulative_raw(end) - sim.meter.cumulative_raw(start)) % 10**6
        assert Decimal(row["bought_usage_kwh"]) == raw * Decimal("0.1")
        wrapped += kwh(sim, end) < kwh(sim, start)
    assert wrapped == 1  # the counter wrapped once, and usage stayed right


def test_hourly_sums_equal_the_half_hours_and_json_matches_csv(
    filled: tuple[Path, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    db, _ = filled
    _, halves_csv, _ = export(capsys, "--db", str(db), "--from", "2026-05-19", "--to", "2026-05-19")
    halves = {r["slot_start"]: r for r in csv.DictReader(io.StringIO(halves_csv))}
    assert len(halves) == 48
    code, hourly_json, _ = export(
        capsys, "--db", str(db), "--hourly", "--format", "json", "--from", "2026-05-19",
        "--to", "2026-05-19",
    )  # fmt: skip
    assert code == 0
    hours = json.loads(hourly_json)
    assert len(hours) == 24
    for hour in hours:
        start = dt.datetime.fromisoformat(hour["slot_start"])
        assert start.minute == 0
        first = halves[start.isoformat()]
        second = halves[(start + HALF_HOUR).isoformat()]
        for column in ("bought_usage_kwh", "sold_usage_kwh"):
            assert Decimal(hour[column]) == Decimal(first[column]) + Decimal(second[column])
        assert hour["bought_kwh"] == second["bought_kwh"]


def test_ha_statistics_are_hourly_top_of_hour_and_continuous(
    filled: tuple[Path, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    db, sim = filled
    code, out, _ = export(
        capsys, "--db", str(db), "--format", "ha-statistics",
        "--statistic-id-bought", "sensor.grid_in", "--time-format", "%Y-%m-%d %H:%M",
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["statistic_id", "start", "unit", "state", "sum"]
    assert {r["statistic_id"] for r in rows} == {"sensor.grid_in", "aiobroute:energy_sold"}
    bought = [r for r in rows if r["statistic_id"] == "sensor.grid_in"]
    starts = [
        dt.datetime.strptime(r["start"], "%Y-%m-%d %H:%M").replace(tzinfo=JST) for r in bought
    ]
    assert all(s.minute == 0 for s in starts)
    assert all(b - a == HOUR for a, b in itertools.pairwise(starts))
    assert bought[0]["sum"] == "0"
    for row, start in zip(bought, starts, strict=True):
        assert Decimal(row["state"]) == kwh(sim, start + HOUR)
        assert row["unit"] == "kWh"
    used = sum(
        ((sim.meter.cumulative_raw(b + HOUR) - sim.meter.cumulative_raw(a + HOUR)) % 10**6)
        for a, b in itertools.pairwise(starts)
    )
    assert Decimal(bought[-1]["sum"]) == used * Decimal("0.1")


def test_gaps_are_listed_with_their_reason(
    tmp_path: Path, filled: tuple[Path, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "holes.db"
    db.write_bytes(filled[0].read_bytes())
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM readings WHERE at = '2026-05-19T10:00:00+09:00'")
    conn.execute("UPDATE readings SET bought_kwh = NULL WHERE at = '2026-05-19T11:30:00+09:00'")
    conn.commit()
    conn.close()
    code, out, _ = export(capsys, "--db", str(db), "--gaps")
    assert code == 0
    assert out.splitlines() == [
        "slot_start,reason,directions",
        "2026-05-19T09:30:00+09:00,missing,bought+sold",
        "2026-05-19T11:00:00+09:00,no_data,bought",
    ]
    code, out, err = export(capsys, "--db", str(db), "--gaps", "--format", "ha-statistics")
    assert code == 2
    assert "--gaps" in err


@pytest.mark.parametrize("bad", ["%", "%Q", "", "%H:%M", "%Y-%m-%d", "%d.%m.%Y\n%H:%M"])
def test_a_time_format_that_merges_half_hours_is_refused(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Checked before the database is opened: rows with equal start times would be useless.
    argv = ["--db", str(tmp_path / "none.db"), "--format", "ha-statistics", "--time-format", bad]
    with pytest.raises(SystemExit) as exit_info:
        export(capsys, *argv)
    assert exit_info.value.code == 2
    assert "does not tell the half hours apart" in capsys.readouterr().err


def test_export_needs_no_port_nor_credentials(
    filled: tuple[Path, Simulator],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIOBROUTE_PORT", "/dev/ttyUSB0")
    monkeypatch.delenv("AIOBROUTE_RBID", raising=False)
    monkeypatch.delenv("AIOBROUTE_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    code, out, err = export(capsys, "--db", str(filled[0]), "--from", "2026-05-21T00:00")
    assert (code, err) == (0, "")
    assert [line[:16] for line in out.splitlines()[1:]] == [
        "2026-05-21T00:00",
        "2026-05-21T00:30",
        "2026-05-21T01:00",
        "2026-05-21T01:30",
    ]


def test_bad_database_paths_are_refused_quickly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for command in ("export", "record"):
        code = cli.main([command, "--simulate", "--db", str(fifo)])
        _, err = capsys.readouterr()
        assert code == 2
        assert "FIFO" in err
    mine = tmp_path / "mine.txt"
    mine.write_text("keep me\n")
    assert cli.main(["record", "--simulate", "--db", str(mine)]) == 2
    assert "not an SQLite database" in capsys.readouterr().err
    assert mine.read_text() == "keep me\n"
    assert cli.main(["export", "--db", str(tmp_path / "none.db")]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_samples_come_out_in_watchs_columns(
    filled: tuple[Path, Simulator], capsys: pytest.CaptureFixture[str]
) -> None:
    db, sim = filled
    code, out, _ = export(capsys, "--db", str(db), "--samples")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert tuple(rows[0]) == WATCH_COLUMNS
    assert len(rows) == 3
    for row in rows:
        at = dt.datetime.fromisoformat(row["time"])
        assert int(row["power_w"]) == sim.meter.instant_power_watts(at)
        assert (row["bought_kwh"], row["sold_kwh"]) == ("", "")
    code, _, err = export(capsys, "--db", str(db), "--samples", "--gaps")
    assert code == 2
    assert "exclude" in err
