"""Defects of the command line that the bridges' work fixed, each pinned by a test."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from aiobroute import columns
from aiobroute.cli import main
from aiobroute.errors import (
    CommandError,
    ReconnectingError,
    ResponseTimeoutError,
)
from aiobroute.meter import SmartMeter
from aiobroute.testing import JST, Simulator

Hook = Any
HALF_HOUR = dt.timedelta(minutes=30)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- A: midnight


def test_history_days_across_the_meters_midnight_reads_consecutive_dates(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    """The meter's date changes after the first day's answer: no day skipped, no day-long slot."""
    hook.start = dt.datetime(2026, 5, 20, 23, 59, 50, tzinfo=JST)

    def midnight_after_the_first_answer(sim: Simulator) -> None:
        original = sim.meter.history_raw
        calls = 0

        def history_raw(day: int, *, reverse: bool = False, at: Any = None) -> Any:
            nonlocal calls
            result = original(day, reverse=reverse, at=at)
            calls += 1
            if calls == 1:
                sim.clock.advance(60)  # 00:00:50 on the 21st
            return result

        sim.meter.history_raw = history_raw  # type: ignore[method-assign]

    hook.on_start = midnight_after_the_first_answer
    code, out, err = run(["history", "--simulate", "--days", "2"], capsys)
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    meter = hook.sim.meter
    first = dt.datetime(2026, 5, 19, 0, 0, tzinfo=JST)
    # The dates pinned at the start: the 19th and the 20th; the 20th's 23:30 slot ends
    # on the 21st, which was not asked for.
    assert [dt.datetime.fromisoformat(r["slot_start"]) for r in rows] == [
        first + HALF_HOUR * index for index in range(95)
    ]
    for row in rows:
        start = dt.datetime.fromisoformat(row["slot_start"])
        used = meter.cumulative_raw(start + HALF_HOUR) - meter.cumulative_raw(start)
        assert Decimal(row["bought_usage_kwh"]) == hook.kwh(used), row  # half an hour's
        assert Decimal(row["bought_kwh"]) == hook.kwh(meter.cumulative_raw(start + HALF_HOUR))


# --------------------------------------------------------------------------- C: transient errors


@pytest.mark.parametrize(
    "error",
    [
        CommandError(9, "SKSENDTO 1 FE80:...", "UDP send failed"),
        ResponseTimeoutError("the meter did not answer"),
        ReconnectingError("the connection to the meter is being re-established"),
    ],
    ids=["FAIL-ER09", "timeout", "reconnecting"],
)
def test_watch_keeps_going_after_one_transient_error(
    error: Exception,
    hook: Hook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    original = SmartMeter.get
    calls = 0

    async def get(self: SmartMeter, *epcs: int) -> dict[int, object]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise error
        return await original(self, *epcs)

    monkeypatch.setattr(SmartMeter, "get", get)
    argv = ["watch", "--simulate", "--count", "3", "--interval", "0", "--format", "jsonl"]
    argv += ["--retry-max", "0.05"]
    code, out, err = run(argv, capsys)
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == 3
    assert all(row["power_w"] == hook.truth()["power_w"] for row in rows)
    assert "no reading this round" in err
    assert type(error).__name__ in err


def test_watch_still_stops_on_refused_credentials(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI sends sim.password; the simulated meter keeps the one it was built with.
    hook.on_start = lambda sim: setattr(sim, "password", "WRONGPASS123")
    code, _, err = run(["watch", "--simulate", "--count", "1"], capsys)
    assert code == 4  # not retried forever: trying again cannot fix a wrong password
    assert "PANA authentication was refused" in err


# --------------------------------------------------------------------------- outputs


def test_csv_outputs_share_one_convention_with_lf_endings(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["history", "--simulate", "--days", "1"], capsys)
    assert code == 0
    assert "\r" not in out
    assert out.splitlines()[0] == ",".join(columns.HISTORY_COLUMNS)
    code, out, _ = run(["watch", "--simulate", "--count", "1", "--format", "csv"], capsys)
    assert code == 0
    assert "\r" not in out
    assert out.splitlines()[0] == ",".join(columns.WATCH_COLUMNS)
    code, out, _ = run(["read", "--simulate", "--format", "json"], capsys)
    assert set(columns.WATCH_COLUMNS) <= set(json.loads(out))


def test_simulated_times_come_from_the_simulated_clock(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    hook.start = dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=JST)  # far from the host's time
    code, out, _ = run(["watch", "--simulate", "--count", "1", "--format", "jsonl"], capsys)
    assert code == 0
    assert json.loads(out)["time"] == "2031-01-02T03:04:05+09:00"


def test_history_hours_on_a_meter_without_ec_points_to_troubleshooting(
    hook: Hook, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiobroute.errors import ServiceNotAvailableError

    async def refused(self: SmartMeter, end: dt.datetime, count: int = 12) -> list[object]:
        raise ServiceNotAvailableError("Get_SNA for 0xEC", epc=0xEC, stage="get")

    monkeypatch.setattr(SmartMeter, "history_30min", refused)
    code, out, err = run(["history", "--simulate", "--hours", "2"], capsys)
    assert (code, out) == (1, "")
    assert "use --days instead" in err
    assert "troubleshooting" in err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- messages


def test_permission_denied_on_the_port_points_to_the_dialout_group() -> None:
    from aiobroute import cli
    from aiobroute.errors import TransportError

    error = TransportError("cannot open /dev/ttyUSB0: SerialException")
    error.__cause__ = PermissionError(13, "Permission denied", "/dev/ttyUSB0")
    explained = cli._explain(error)
    assert explained.code == 3
    assert "dialout" in str(explained)
    assert str(explained).endswith("troubleshooting/#permission-denied-on-the-port")


def test_a_port_with_nothing_behind_it_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    from aiobroute import cli
    from aiobroute.errors import CommandTimeoutError

    explained = cli._explain(CommandTimeoutError("SKVER got no answer within 2.0 s"))
    assert explained.code == 3
    assert "nothing behind it" in str(explained)
    assert str(explained).endswith("#the-dongle-does-not-answer")


@pytest.mark.parametrize("kind", ["fifo", "symlink", "directory"])
def test_watch_output_is_only_ever_a_regular_file(
    kind: str, hook: Hook, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "power.csv"
    elsewhere = tmp_path / "precious.txt"
    elsewhere.write_text("keep me\n", encoding="utf-8")
    if kind == "fifo":
        os.mkfifo(target)  # opened plainly, it would block until a reader comes
    elif kind == "symlink":
        target.symlink_to(elsewhere)
    else:
        target.mkdir()
    code, out, err = run(["watch", "--simulate", "--count", "1", "--output", str(target)], capsys)
    assert (code, out) == (1, "")
    assert "cannot use" in err
    assert hook.sims == []  # refused before connecting
    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"


@pytest.mark.parametrize(
    ("argv", "module", "extra"),
    [
        (["mqtt", "--simulate", "--broker", "localhost"], "aiomqtt", "aiobroute[mqtt]"),
        (
            ["exporter", "--simulate", "--listen", "127.0.0.1:0"],
            "prometheus_client",
            "aiobroute[prometheus]",
        ),
    ],
)
def test_a_missing_extra_is_one_clear_line(  # noqa: PLR0917 - fixtures
    argv: list[str],
    module: str,
    extra: str,
    hook: Hook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    code, out, err = run(argv, capsys)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: aiobroute {argv[0]} needs ")
    assert f"pip install '{extra}'" in err
    assert err.count("\n") == 1
    assert hook.sims == []  # nothing was started


def test_history_of_a_meter_without_the_reverse_direction_leaves_sold_empty(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    from aiobroute.testing import MeterConfig

    hook.meter = MeterConfig(reverse_direction=False)
    code, out, err = run(["history", "--simulate", "--days", "1"], capsys)
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 28
    assert all(row["sold_kwh"] == row["sold_usage_kwh"] == "" for row in rows)
    assert all(Decimal(row["bought_usage_kwh"]) >= 0 for row in rows)
