"""``aiobroute read --port <tty>`` against the simulator served on a pseudo-terminal.

The simulator runs in the test's event loop; the command runs in a worker thread (it
calls ``asyncio.run`` itself), exactly as a user's shell would run it against a dongle.
Credentials come from the environment.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re
import sys
from decimal import Decimal

import pytest

from aiobroute.cli import main
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, JST, SimClock, Simulator

pytestmark = pytest.mark.pty

START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)
WRONG_PASSWORD = "WRONGPASS999"


def make_sim() -> Simulator:
    return Simulator("BP35C2", seed=1, timing="instant", clock=SimClock(START, speed=1e-9))


def table(text: str) -> dict[str, str]:
    rows = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in text.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBROUTE_RBID", DEFAULT_RBID)
    monkeypatch.setenv("AIOBROUTE_PASSWORD", DEFAULT_PASSWORD)
    monkeypatch.delenv("AIOBROUTE_PORT", raising=False)


@pytest.mark.usefixtures("credentials")
async def test_read_over_a_pty_matches_ground_truth(capsys: pytest.CaptureFixture[str]) -> None:
    sim = make_sim()
    async with sim.pty() as path:
        code = await asyncio.to_thread(main, ["read", "--port", path])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows = table(out)
    meter = sim.meter
    unit = meter.config.kwh_per_count
    assert rows["instantaneous power"] == f"{meter.instant_power_watts(START)} W"
    r_phase, t_phase = meter.instant_current_deciamperes(START)
    amperes = [Decimal(part.removesuffix(" A")) for part in rows["current R / T"].split(" / ")]
    assert amperes == [Decimal(r_phase) / 10, Decimal(t_phase or 0) / 10]
    assert Decimal(rows["cumulative bought"].split()[0]) == meter.cumulative_raw(START) * unit
    assert sim.flash_writes == 0
    assert sim.commands_received[-1].startswith("SKTERM")  # ended the session on the way out


@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("verbose", [[], ["-vvv"]])
async def test_wrong_password_is_one_line_and_never_printed(
    verbose: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIOBROUTE_PASSWORD", WRONG_PASSWORD)
    sim = make_sim()
    async with sim.pty() as path:
        code = await asyncio.to_thread(main, ["read", "--port", path, *verbose])
    out, err = capsys.readouterr()
    assert code == 4
    assert out == ""
    last = err.splitlines()[-1]
    assert last.startswith("error: joining the meter failed")
    assert "password" in last
    assert any(line.startswith("SKSETPWD") for line in sim.commands_received)
    for secret in (WRONG_PASSWORD, DEFAULT_RBID):
        assert secret not in out + err
    if verbose:
        assert "Traceback" in err
        assert "TRACE" in err  # raw lines were logged, with the secrets masked
    else:
        assert err.count("\n") == 1
        assert "Traceback" not in err


async def test_blanks_around_the_credentials_are_not_sent(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # As an environment file edited on Windows (CRLF) or a pasted value gives them.
    monkeypatch.setenv("AIOBROUTE_RBID", f" {DEFAULT_RBID}\r")
    monkeypatch.setenv("AIOBROUTE_PASSWORD", f"{DEFAULT_PASSWORD} \r\n")
    sim = make_sim()
    async with sim.pty() as path:
        monkeypatch.setenv("AIOBROUTE_PORT", f"{path}\r")
        code = await asyncio.to_thread(main, ["read", "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    assert json.loads(out)["power_w"] is not None
    assert f"SKSETPWD C {DEFAULT_PASSWORD}" in sim.commands_received
    assert f"SKSETRBID {DEFAULT_RBID}" in sim.commands_received


@pytest.mark.usefixtures("credentials")
def test_missing_port_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["read", "--port", "/nonexistent/ttyUSB9"])
    out, err = capsys.readouterr()
    assert code == 3
    assert out == ""
    assert err.startswith("error: cannot use the port")
    assert "/nonexistent/ttyUSB9" in err
    assert err.count("\n") == 1


@pytest.mark.usefixtures("credentials")
def test_no_port_at_all_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["read"])
    assert code == 2
    assert "no port: pass --port" in capsys.readouterr().err


def test_no_credentials_without_a_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AIOBROUTE_RBID", raising=False)
    monkeypatch.delenv("AIOBROUTE_PASSWORD", raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: never prompt
    code = main(["read", "--port", "/dev/ttyUSB0"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert "AIOBROUTE_RBID" in err
    assert "AIOBROUTE_PASSWORD" in err
    assert err.count("\n") == 1


def test_password_option_warns_and_is_used(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIOBROUTE_RBID", DEFAULT_RBID)
    monkeypatch.delenv("AIOBROUTE_PASSWORD", raising=False)
    code = main(["read", "--port", "/nonexistent/tty", "--password", WRONG_PASSWORD])
    out, err = capsys.readouterr()
    assert code == 3  # got past the credentials to the port
    assert "warning: a password on the command line is visible" in err
    assert WRONG_PASSWORD not in out + err


@pytest.mark.usefixtures("credentials")
async def test_every_subcommand_over_a_pty(capsys: pytest.CaptureFixture[str]) -> None:
    sim = make_sim()
    meter = sim.meter
    unit = meter.config.kwh_per_count
    async with sim.pty() as path:
        code = await asyncio.to_thread(
            main, ["watch", "--port", path, "--count", "2", "--interval", "0", "--format", "jsonl"]
        )
        out, err = capsys.readouterr()
        assert (code, err) == (0, "")
        lines = [json.loads(line) for line in out.splitlines()]
        assert [row["power_w"] for row in lines] == [meter.instant_power_watts()] * 2
        assert {Decimal(row["bought_kwh"]) for row in lines} == {meter.cumulative_raw() * unit}

        code = await asyncio.to_thread(main, ["history", "--port", path, "--days", "2"])
        out, err = capsys.readouterr()
        assert code == 0
        rows = list(csv.DictReader(io.StringIO(out)))
        yesterday = [r for r in rows if r["slot_start"].startswith("2026-05-19")]
        raws = meter.history_raw(1)
        assert [Decimal(r["bought_kwh"]) for r in yesterday] == [
            raw * unit for raw in raws[1:] + meter.history_raw(0)[:1] if raw is not None
        ]

        code = await asyncio.to_thread(main, ["scan", "--port", path])
        out, _ = capsys.readouterr()
        assert code == 0
        pan = sim.module.pan
        assert f"{pan.pan_id:04X}" in out
        assert pan.mac in out

        code = await asyncio.to_thread(main, ["info", "--port", path])
        out, _ = capsys.readouterr()
        assert code == 0
        info = table(out)
        assert info["serial number"] == meter.config.serial
        assert info["module family"] == "BP35C2"
    assert sim.flash_writes == 0
