"""The benchmark scripts run end to end in their ``--quick`` configuration.

Each script runs as a subprocess (as a user would run it), prints its table and writes
its JSON to a temporary path. Only behaviour is checked (exit status, table, JSON shape,
frame counts, zero wrong values), never a timing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.benchmarks._run import load, run_script


def row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The one row with ``key``."""
    matches = [r for r in rows if r["key"] == key]
    assert len(matches) == 1, key
    return matches[0]


@pytest.mark.pty
def test_compare_quick(tmp_path: Path) -> None:
    """compare.py measures both libraries; frame counts and scans are as designed."""
    output = tmp_path / "compare.json"
    done = run_script("compare.py", output)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "cold start -> first E7, pacing off [sim s]" in done.stdout
    assert "start timeline" in done.stdout
    data = load(output)
    rows = data["presets"]["BP35C2"]["rows"]
    peer = importlib.util.find_spec("momonga") is not None
    # Both libraries read E7, E8, E0 and E3 in one frame and a day of history in two.
    snapshot = row(rows, "frames-snapshot")
    assert snapshot["aiobroute_median"] == 1
    assert row(rows, "frames-history")["aiobroute_median"] == 2
    assert snapshot["momonga_median"] == (1 if peer else None)
    # A warm start joins from the cache file: no scan; a cold start scans.
    assert row(rows, "warm-off-scans")["aiobroute_median"] == 0
    assert row(rows, "cold-off-scans")["aiobroute_median"] >= 1
    verdicts = {r["verdict"] for r in rows if r.get("target_max_ratio") is not None}
    assert verdicts <= {"PASS", "MISS", "n/a"}
    assert data["presets"]["BP35C2"]["errors"]["ours"] == []


@pytest.mark.pty
def test_compare_uart_quick(tmp_path: Path) -> None:
    """compare.py --uart: readings over a paced UART, RSS and import times, both libraries."""
    output = tmp_path / "compare-uart.json"
    done = run_script("compare.py", output, "--uart")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "BP35C2, UART mode" in done.stdout
    data = load(output)
    assert data["benchmark"] == "compare-uart"
    assert data["options"]["latency_ms"] == 16.0
    assert data["options"]["meter_latency_ms"] == 50.0
    rows = data["presets"]["BP35C2"]["rows"]
    assert data["presets"]["BP35C2"]["errors"]["ours"] == []
    peer = importlib.util.find_spec("momonga") is not None
    for key in ("uart-cpu-per-reading", "uart-rss", "import-top", "import-importtime"):
        assert row(rows, key)["aiobroute_median"] is not None, key
        assert (row(rows, key)["momonga_median"] is not None) == peer, key
    # The module's output really came in USB packets: several per reading (echo, OK,
    # EVENT 21 and a long ERXUDP line, at most 62 data bytes each).
    assert row(rows, "uart-packets-per-reading")["aiobroute_median"] >= 3
    # The floor (a bare asyncio reader's CPU for as many packets) was measured.
    floor = row(rows, "uart-floor-per-reading")
    assert floor["aiobroute_median"] > 0
    assert floor["momonga_median"] is None


def test_recovery_quick(tmp_path: Path) -> None:
    """recovery.py gets back to a correct reading after every fault."""
    output = tmp_path / "recovery.json"
    done = run_script("recovery.py", output)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "time to the next good reading" in done.stdout
    rows = load(output)["models"]["BP35C2"]["rows"]
    keys = {r["key"] for r in rows}
    assert {"cold", "warm", "expiry-reauth", "termination", "unplug", "hang", "loss-20"} <= keys
    for result in rows:
        assert result["recovered"] == result["runs"], result["key"]
        assert result["wrong_values"] == 0, result["key"]
        assert result["unhandled"] == 0, result["key"]


def test_soak_quick(tmp_path: Path) -> None:
    """soak.py sees no wrong value, no unhandled exception, no leftover task."""
    output = tmp_path / "soak.json"
    done = run_script("soak.py", output)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "verdict: PASS" in done.stdout
    data = load(output)
    assert data["verdict"] == "PASS"
    (result,) = data["results"]
    assert result["requests"] == 120
    assert result["successes"] + sum(result["typed_failures"].values()) == 120
    assert result["wrong_values"] == 0
    assert result["unhandled"] == 0
    assert result["leftover_tasks"] == []
    # The scheduled faults happened: expiry, termination, ARIB limit.
    assert {"29", "26", "32"} <= set(result["events"])
