"""The commands with J11 modules: simulated, over a pty with the dialect detected, served."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import os
import re
import signal
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from aiobroute.cli import main
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, JST, SimClock, Simulator
from aiobroute.testing._j11module import j11_channel
from tests.cli.conftest import SimulatorHook as Hook

START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)


def table(text: str) -> dict[str, str]:
    rows = [re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in text.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) == 2}


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIOBROUTE_RBID", DEFAULT_RBID)
    monkeypatch.setenv("AIOBROUTE_PASSWORD", DEFAULT_PASSWORD)
    monkeypatch.delenv("AIOBROUTE_PORT", raising=False)


def test_scan_lists_the_meter_in_j11_channel_numbers(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", "--simulate", "--model", "bp35c1_j11"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    header, *lines = out.splitlines()
    assert header.split() == ["channel", "pan_id", "mac", "lqi", "rssi_dbm", "pair_id"]
    pan = hook.sim.module.pan
    (row,) = [line.split() for line in lines]
    assert row[:3] == [str(j11_channel(pan.channel)), f"{pan.pan_id:04X}", pan.mac]
    assert hook.sim.is_j11
    # Listed, not joined: no PANA was started.
    assert not any(line.startswith("0x0056") for line in hook.sim.commands_received)


def test_info_names_the_j11_module(hook: Hook, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["info", "--simulate", "--model", "BP35C2-J11-T01"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows = table(out)
    assert rows["module family"] == "J11"
    assert rows["module version"] == "1.3.1"
    assert rows["meter address"] == hook.sim.meter_address


@pytest.mark.usefixtures("credentials")
def test_an_unknown_model_lists_the_j11_names(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["read", "--port", "/dev/null", "--model", "bp35c9_j11"])
    err = capsys.readouterr().err
    assert code == 2
    for name in ("bp35c1_j11", "bp35c2_j11", "rs_wsuha_j11", "bp35c0_j11", "j11"):
        assert name in err


@pytest.mark.pty
@pytest.mark.usefixtures("credentials")
@pytest.mark.parametrize("model", ["RS-WSUHA-J11", "BP35C2"])
async def test_read_over_a_pty_detects_the_dialect(
    model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(model, seed=1, timing="instant", clock=SimClock(START, speed=1e-9))
    async with sim.pty() as path:
        code = await asyncio.to_thread(main, ["read", "--port", path, "-v"])
    out, err = capsys.readouterr()
    assert code == 0
    assert f"dialect probe: {'j11' if sim.is_j11 else 'skstack'}" in err
    rows = table(out)
    assert rows["instantaneous power"] == f"{sim.meter.instant_power_watts(START)} W"
    unit = sim.meter.config.kwh_per_count
    assert rows["cumulative bought"] == f"{sim.meter.cumulative_raw(START) * unit} kWh"
    assert sim.flash_writes == 0


@pytest.mark.pty
@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
@pytest.mark.usefixtures("credentials")
async def test_simulate_serves_a_j11_model_that_read_detects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    link = tmp_path / "ttyJ11"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiobroute",
        "simulate",
        "--model",
        "bp35c2_j11",
        "--timing",
        "instant",
        "--link",
        str(link),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            banner = (await process.stdout.readline()).decode()
        assert banner == f"Simulated BP35C2-J11-T01 on {link}\n"
        code = await asyncio.to_thread(main, ["read", "--port", str(link), "--format", "json"])
        out, err = capsys.readouterr()
        assert (code, err) == (0, "")
        assert '"power_w"' in out
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(20):
            await process.stdout.read()
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_watch_and_history_read_a_j11_module(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["watch", "--simulate", "--model", "bp35c0_j11", "--count", "2", "--interval", "0"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["power_w"] for line in lines] == [hook.truth()["power_w"]] * 2
    code = main(["history", "--simulate", "--model", "bp35c1_j11", "--days", "1"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 28  # the complete half hours of today at 14:26
    meter = hook.sims[-1].meter
    end = dt.datetime.fromisoformat(rows[-1]["slot_start"]) + dt.timedelta(minutes=30)
    unit = meter.config.kwh_per_count
    assert Decimal(rows[-1]["bought_kwh"]) == meter.cumulative_raw(end) * unit
    assert all(sim.is_j11 for sim in hook.sims)
