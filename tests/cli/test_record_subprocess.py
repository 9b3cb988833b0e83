"""``aiobroute record`` as a user runs it: kill -9 at random moments never corrupts the
database, and the next start fills what the killed run missed."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from aiobroute.cli.record import SIMULATED_EPOCH
from aiobroute.testing import JST, MeterConfig, SimClock, SimulatedMeter

TIMEOUT = 20.0
HALF_HOUR = dt.timedelta(minutes=30)


def record(db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [
            sys.executable,
            "-m",
            "aiobroute",
            "record",
            "--simulate",
            "--db",
            str(db),
            "--backfill-days",
            "2",  # yesterday stays inside the window even if midnight passes
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def integrity(db: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT at, bought_kwh, sold_kwh FROM readings ORDER BY at").fetchall()
    finally:
        conn.close()


def wait_for_line(child: subprocess.Popen[str], start: str, part: str) -> list[str]:
    assert child.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        line = child.stderr.readline()
        assert line, f"record ended early: {lines}"
        lines.append(line)
        if line.startswith(start) and part in line:
            return lines
    raise AssertionError(f"no {start!r} line with {part!r} in {lines}")


def test_kill_9_never_corrupts_and_the_restart_fills_the_gap(tmp_path: Path) -> None:
    db = tmp_path / "record.db"
    rng = random.Random(20261129)
    for _ in range(3):
        child = record(db)
        time.sleep(rng.uniform(0.3, 1.5))  # somewhere in start-up, backfill or recording
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=TIMEOUT)
        assert child.returncode == -signal.SIGKILL
        if db.exists() and db.stat().st_size:
            integrity(db)
    # Whatever the killed runs stored, yesterday's 10:00 .. 12:00 goes missing (as if a
    # killed run had never got it): the next start must fill it from the meter.
    yesterday = (dt.datetime.now(JST) - dt.timedelta(days=1)).date().isoformat()
    holes = {f"{yesterday}T{hh}:00+09:00" for hh in ("10:00", "10:30", "11:00", "11:30", "12:00")}
    if db.exists() and db.stat().st_size:
        conn = sqlite3.connect(db)
        conn.executemany("DELETE FROM readings WHERE at = ?", [(at,) for at in holes])
        conn.commit()
        conn.close()
    child = record(db)
    # A backfill ends with a status line: "ready: ... 0 gaps left ...".
    lines = wait_for_line(child, "ready: ", " 0 gaps left")
    filled = int(lines[-1].split(" gaps filled")[0].rsplit(" ", 1)[1])
    assert filled >= len(holes)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 143
    tail = err.splitlines()
    assert tail[-2].startswith("stopped: ")
    assert tail[-1] == "terminated"
    assert "Traceback" not in "".join(lines) + err
    rows = integrity(db)
    assert holes <= {at for at, _, _ in rows}
    instants = [dt.datetime.fromisoformat(at) for at, _, _ in rows]
    last = instants[-1]
    first = dt.datetime.combine(last.date() - dt.timedelta(days=1), dt.time(), tzinfo=JST)
    window = [at for at in instants if at >= first]
    assert window[0] == first
    assert all(b - a == HALF_HOUR for a, b in itertools.pairwise(window))
    # Every value is the simulated household's (the same in every run).
    truth = SimulatedMeter(SimClock(SIMULATED_EPOCH), MeterConfig())
    for at, bought, sold in rows:
        when = dt.datetime.fromisoformat(at)
        assert Decimal(bought) == truth.cumulative_kwh(when), at
        assert Decimal(sold) == truth.cumulative_kwh(when, reverse=True), at
    assert os.stat(db).st_mode & 0o777 == 0o600
