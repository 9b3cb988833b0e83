"""``aiobroute <command> --simulate`` in-process, its output checked against the ground truth.

The ``hook`` fixture (conftest) replaces the CLI's simulator factory with one whose clock
stands still, so what the command prints must equal what the simulated meter's model
says at the clock's start.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import logging
import re
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aiobroute.cli import main
from aiobroute.echonet import Esv, Frame
from aiobroute.testing import JST, FaultPlan, MeterConfig, Simulator

#: The conftest's SimulatorHook (conftest modules cannot be imported in importlib mode).
Hook = Any

START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)


def table(text: str) -> dict[str, str]:
    """``name  value`` lines (two spaces or more between) as a dict."""
    rows = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in text.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2}


def number(text: str, unit: str) -> Decimal:
    value, _, suffix = text.partition(" ")
    assert suffix == unit, text
    return Decimal(value)


def decimal_or_none(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def is_watch_get(payload: bytes) -> bool:
    frame = Frame.decode(payload)
    return frame.esv is Esv.GET and 0xE7 in frame.epcs


async def watch_gets_reach(sim: Simulator, count: int) -> None:
    # Polls the simulator's record of what reached the meter; it has no event for it.
    while sum(map(is_watch_get, sim.payloads_to_meter)) < count:  # noqa: ASYNC110
        await asyncio.sleep(0.002)


# --------------------------------------------------------------------------- read


@pytest.mark.parametrize("model", ["BP35A1", "RL7023_DSS", "rs_wsuha_j11", "BP35C2-J11-T01"])
def test_read_table_matches_ground_truth(
    model: str, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["read", "--simulate", "--model", model], capsys)
    assert (code, err) == (0, "")
    assert hook.models == [model]
    expected = hook.truth()
    rows = table(out)
    assert set(rows) == {
        "instantaneous power",
        "current R / T",
        "cumulative bought",
        "cumulative sold",
        "fixed-time bought",
        "fixed-time sold",
    }
    assert rows["instantaneous power"] == f"{expected['power_w']} W"
    r_text, t_text = rows["current R / T"].split(" / ")
    assert number(r_text, "A") == expected["current_r_a"]
    assert number(t_text, "A") == expected["current_t_a"]
    assert number(rows["cumulative bought"], "kWh") == expected["bought_kwh"]
    assert number(rows["cumulative sold"], "kWh") == expected["sold_kwh"]
    bought, _, stamp = rows["fixed-time bought"].partition(" at ")
    assert number(bought, "kWh") == expected["fixed_bought_kwh"]
    assert dt.datetime.fromisoformat(stamp) == expected["fixed_bought_at"]
    sold, _, sold_stamp = rows["fixed-time sold"].partition(" at ")
    assert number(sold, "kWh") == expected["fixed_sold_kwh"]
    assert dt.datetime.fromisoformat(sold_stamp) == expected["fixed_sold_at"]


def test_read_json_of_an_exporting_meter(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.start = dt.datetime(2026, 5, 20, 12, 10, tzinfo=JST)
    hook.meter = MeterConfig(pv_export=True, initial_reverse_raw=1234, unit_code=0x02)
    code, out, _ = run(["read", "--simulate", "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    expected = hook.truth()
    assert data["power_w"] == expected["power_w"] < 0  # exporting at noon
    for key in (
        "current_r_a",
        "current_t_a",
        "bought_kwh",
        "sold_kwh",
        "fixed_bought_kwh",
        "fixed_sold_kwh",
    ):
        assert decimal_or_none(data[key]) == expected[key], key
    assert Decimal(data["sold_kwh"]) == Decimal("12.34")  # 1234 counts of 0.01 kWh
    assert dt.datetime.fromisoformat(data["fixed_bought_at"]) == expected["fixed_bought_at"]
    # The time is the meter's (the simulated clock), not the host's.
    assert dt.datetime.fromisoformat(data["time"]).date() == hook.start.date()


def test_read_two_wire_meter_has_no_t_phase(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.meter = MeterConfig(single_phase_two_wire=True)
    code, out, _ = run(["read", "--simulate"], capsys)
    assert code == 0
    r_text, t_text = table(out)["current R / T"].split(" / ")
    assert number(r_text, "A") == hook.truth()["current_r_a"]
    assert t_text == "-"


# --------------------------------------------------------------------------- watch


def test_watch_count_prints_json_lines_by_default(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["watch", "--simulate", "--count", "3", "--interval", "0"], capsys)
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == 3  # not a terminal: JSON lines, one per read
    expected = hook.truth()
    for record in lines:
        assert set(record) == {
            "time",
            "power_w",
            "current_r_a",
            "current_t_a",
            "bought_kwh",
            "sold_kwh",
        }
        assert record["power_w"] == expected["power_w"]
        for key in ("current_r_a", "current_t_a", "bought_kwh", "sold_kwh"):
            assert decimal_or_none(record[key]) == expected[key]
        assert record["time"].startswith("2026-05-20T14:26")
    gets = sum(map(is_watch_get, hook.sim.payloads_to_meter))
    assert gets == 3  # one frame per read


def test_watch_csv_file_appends_under_one_header(
    hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "power.csv"
    argv = ["watch", "--simulate", "--count", "2", "--interval", "0", "--format", "csv"]
    assert run([*argv, "--output", str(target)], capsys) == (0, "", "")
    assert run([*argv, "--output", str(target)], capsys) == (0, "", "")
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 4  # a second run appends, without a second header
    for sim, pair in zip(hook.sims, (rows[:2], rows[2:]), strict=True):
        hook.sims = [sim]
        expected = hook.truth()
        for row in pair:
            assert int(row["power_w"]) == expected["power_w"]
            assert Decimal(row["current_r_a"]) == expected["current_r_a"]
            assert Decimal(row["bought_kwh"]) == expected["bought_kwh"]
            assert Decimal(row["sold_kwh"]) == expected["sold_kwh"]


def test_watch_csv_on_stdout_has_a_header(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["watch", "--simulate", "--count", "1", "--interval", "0", "--format", "csv"], capsys
    )
    assert code == 0
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert int(row["power_w"]) == hook.truth()["power_w"]


def test_watch_jsonl_file_gets_the_half_hour_push(
    hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks: list[asyncio.Task[None]] = []

    def cross_the_half_hour(sim: Simulator) -> None:
        async def advance() -> None:
            await watch_gets_reach(sim, 1)
            sim.clock.advance(240)  # 14:26 -> 14:30: the meter pushes EA/EB

        tasks.append(asyncio.get_running_loop().create_task(advance()))

    hook.on_start = cross_the_half_hour
    target = tmp_path / "power.jsonl"
    argv = ["watch", "--simulate", "--count", "2", "--interval", "1", "--format", "jsonl"]
    code, out, _ = run([*argv, "--output", str(target)], capsys)
    assert (code, out) == (0, "")
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    readings = [r for r in records if "push" not in r]
    pushes = {("sold" if "sold_kwh" in r else "bought"): r for r in records if "push" in r}
    assert readings[0]["power_w"] == hook.truth()["power_w"]
    later = hook.truth(START + dt.timedelta(seconds=240))
    assert readings[1]["power_w"] == later["power_w"]
    half_hour = dt.datetime(2026, 5, 20, 14, 30, tzinfo=JST)
    assert set(pushes) == {"bought", "sold"}
    for name, reverse in (("bought", False), ("sold", True)):
        assert dt.datetime.fromisoformat(pushes[name]["time"]) == half_hour
        raw = hook.sim.meter.cumulative_raw(half_hour, reverse=reverse)
        assert Decimal(pushes[name][f"{name}_kwh"]) == hook.kwh(raw)


def test_watch_ctrl_c_exits_130_cleanly(
    hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks: list[asyncio.Task[None]] = []

    def interrupt_after_a_row(sim: Simulator) -> None:
        async def press_ctrl_c() -> None:
            await watch_gets_reach(sim, 2)
            signal.raise_signal(signal.SIGINT)

        tasks.append(asyncio.get_running_loop().create_task(press_ctrl_c()))

    hook.on_start = interrupt_after_a_row
    target = tmp_path / "power.csv"
    argv = ["watch", "--simulate", "--interval", "0", "--format", "csv", "--output", str(target)]
    code, out, err = run(argv, capsys)
    assert code == 130
    assert out == ""
    assert err.strip() == "interrupted"
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows
    assert all(row["power_w"] == str(hook.truth()["power_w"]) for row in rows)
    assert "SKTERM" in hook.sim.commands_received  # the session was ended on the way out


# --------------------------------------------------------------------------- history


def test_history_days_matches_the_meter_across_midnight(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    hook.meter = MeterConfig(pv_export=True, initial_reverse_raw=5000)
    code, out, err = run(["history", "--simulate", "--days", "3"], capsys)
    assert (code, err) == (0, "")
    assert out.startswith("slot_start,bought_kwh,sold_kwh,bought_usage_kwh,sold_usage_kwh\n")
    rows = list(csv.DictReader(io.StringIO(out)))
    meter = hook.sim.meter
    first = dt.datetime.combine(START.date() - dt.timedelta(days=2), dt.time(0), tzinfo=JST)
    half_hour = dt.timedelta(minutes=30)
    # Complete slots only: the last one is 13:30-14:00 (14:26 now).
    assert len(rows) == 48 * 2 + 28
    for index, row in enumerate(rows):
        start = first + index * half_hour
        assert dt.datetime.fromisoformat(row["slot_start"]) == start
        for direction, reverse in (("bought", False), ("sold", True)):
            before = meter.cumulative_raw(start, reverse=reverse)
            after = meter.cumulative_raw(start + half_hour, reverse=reverse)
            assert Decimal(row[f"{direction}_kwh"]) == hook.kwh(after)  # at the end
            assert Decimal(row[f"{direction}_usage_kwh"]) == hook.kwh(after - before)
    midnight = next(r for r in rows if r["slot_start"].startswith("2026-05-18T23:30"))
    assert Decimal(midnight["bought_usage_kwh"]) > 0  # usage crosses midnight


def test_history_reverse_is_a_deprecated_no_op(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["history", "--simulate", "--days", "1", "--reverse"], capsys)
    assert code == 0
    assert err.count("\n") == 1
    assert "deprecated" in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert set(rows[0]) == {
        "slot_start",
        "bought_kwh",
        "sold_kwh",
        "bought_usage_kwh",
        "sold_usage_kwh",
    }


def test_history_hours_json_has_both_directions(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    hook.meter = MeterConfig(pv_export=True)
    code, out, _ = run(["history", "--simulate", "--hours", "3", "--format", "json"], capsys)
    assert code == 0
    entries = json.loads(out)
    half_hour = dt.timedelta(minutes=30)
    last = dt.datetime(2026, 5, 20, 13, 30, tzinfo=JST)  # 13:30-14:00: the newest complete
    expected_starts = [last - half_hour * i for i in range(5, -1, -1)]
    assert [dt.datetime.fromisoformat(e["slot_start"]) for e in entries] == expected_starts
    meter = hook.sim.meter
    for entry, start in zip(entries, expected_starts, strict=True):
        end = start + half_hour
        assert Decimal(entry["bought_kwh"]) == hook.kwh(meter.cumulative_raw(end))
        assert Decimal(entry["sold_kwh"]) == hook.kwh(meter.cumulative_raw(end, reverse=True))
        used = meter.cumulative_raw(end) - meter.cumulative_raw(start)
        assert Decimal(entry["bought_usage_kwh"]) == hook.kwh(used)


@pytest.mark.parametrize("option", [["--hours", "7"], ["--days", "0"], ["--days", "101"]])
def test_history_range_is_checked_before_connecting(
    option: list[str], hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["history", "--simulate", *option])
    assert exc_info.value.code == 2
    assert "must be" in capsys.readouterr().err
    assert hook.sims == []


# --------------------------------------------------------------------------- scan, info


def test_scan_lists_the_meter_pan(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["scan", "--simulate", "--model", "BP35C2"], capsys)
    assert (code, err) == (0, "")
    header, *lines = out.splitlines()
    assert header.split() == ["channel", "pan_id", "mac", "lqi", "rssi_dbm", "pair_id"]
    pan = hook.sim.module.pan
    assert (
        [line.split() for line in lines]
        == [
            [
                f"{pan.channel:02X}",
                f"{pan.pan_id:04X}",
                pan.mac,
                str(pan.lqi),
                f"{0.275 * pan.lqi - 104.27:.1f}",  # RSSI estimated from the LQI
                hook.sim.rbid[-8:],
            ]
        ]
    )
    assert not any(line.startswith("SKJOIN") for line in hook.sim.commands_received)


def test_scan_without_a_meter_exits_5(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.options = {"faults": FaultPlan(no_beacon=True)}
    code, out, err = run(["scan", "--simulate"], capsys)
    assert code == 5
    assert len(out.splitlines()) == 1  # the header only
    assert "no PAN found" in err


def test_info_reports_module_and_meter(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.meter = MeterConfig(
        release="R",
        serial="SN0042",
        manufacturer_code=0x000008,
        coefficient=2,
        unit_code=0x02,
        digits=7,
    )
    code, out, err = run(["info", "--simulate", "--model", "rl7023-dss"], capsys)
    assert (code, err) == (0, "")
    rows = table(out)
    sim = hook.sim
    assert rows["module family"] == "BP35C2"
    assert rows["module version"] == sim.preset.version
    assert rows["module app version"] == "-"  # the DSS has no SKAPPVER
    assert rows["meter address"] == sim.meter_address
    assert rows["manufacturer"] == "Daikin Industries (000008)"
    assert rows["serial number"] == "SN0042"
    assert rows["release"] == "R"
    assert rows["fault"] == "no fault"
    assert rows["coefficient"] == "2"
    assert number(rows["unit"], "kWh") == Decimal("0.01")
    assert rows["effective digits"] == "7"
    assert rows["get map"].split() == [f"{e:02X}" for e in sim.meter.get_property_map()]
    assert rows["set map"].split() == [f"{e:02X}" for e in sim.meter.set_property_map()]


# --------------------------------------------------------------------------- errors


def test_no_pan_is_one_line_exit_5(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    hook.options = {"faults": FaultPlan(no_beacon=True)}
    code, out, err = run(["read", "--simulate"], capsys)
    assert code == 5
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("error: no smart meter answered the scan")
    assert "Traceback" not in err


def test_unknown_simulated_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["read", "--simulate", "--model", "BP99"], capsys)
    assert code == 2
    assert out == ""
    assert "unknown simulated --model 'BP99'" in err


def test_verbose_logs_and_debug_tracebacks(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("aiobroute")
    handlers, level = list(logger.handlers), logger.level
    code, _, err = run(["read", "--simulate", "-v"], capsys)
    assert code == 0
    assert "INFO aiobroute.meter: meter ready" in err
    assert "DEBUG" not in err
    hook.options = {"faults": FaultPlan(no_beacon=True)}
    hook.sims.clear()
    code, _, err = run(["read", "--simulate", "-vv"], capsys)
    assert code == 5
    assert "DEBUG" in err
    assert "Traceback" in err
    assert "ScanError" in err
    assert err.splitlines()[-1].startswith("error: no smart meter answered")
    # Each run removes what it installed: main() can be called again.
    assert (logger.handlers, logger.level) == (handlers, level)


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc_info:
        main(["--version"])
    assert exc_info.value.code == 0
    assert re.fullmatch(r"aiobroute \d+\.\d+\S*\n", capsys.readouterr().out)


def test_unwritable_output_fails_before_connecting(
    hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "power.csv"
    code, out, err = run(["watch", "--simulate", "--output", str(target)], capsys)
    assert code == 1
    assert out == ""
    assert err == f"error: cannot use {target}: No such file or directory\n"
    assert hook.sims == []


def test_watch_keeps_going_when_the_meter_ends_the_session(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    tasks: list[asyncio.Task[None]] = []

    def end_the_session(sim: Simulator) -> None:
        async def terminate() -> None:
            await watch_gets_reach(sim, 1)
            sim.inject_termination()  # EVENT 26: the supervisor rejoins

        tasks.append(asyncio.get_running_loop().create_task(terminate()))

    hook.on_start = end_the_session
    argv = ["watch", "--simulate", "--count", "3", "--interval", "0.05", "--format", "jsonl"]
    code, out, err = run(argv, capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    assert all(r["power_w"] == hook.truth()["power_w"] for r in rows)
    joins = [c for c in hook.sim.commands_received if c.startswith("SKJOIN")]
    assert len(joins) == 2  # joined again after EVENT 26, and the watch went on
