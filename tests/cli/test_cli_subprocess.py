"""The command as a user runs it: ``python -m aiobroute ...`` in a child process."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID

TIMEOUT = 20.0


def aiobroute(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "aiobroute", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_readme_first_command_prints_a_plausible_table() -> None:
    child = aiobroute("read", "--simulate")
    out, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 0, err
    assert err == ""
    rows = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    power = re.fullmatch(r"(-?\d+) W", rows["instantaneous power"])
    assert power is not None
    assert 0 < int(power[1]) < 20_000  # a household without PV draws power at any hour
    bought = Decimal(rows["cumulative bought"].removesuffix(" kWh"))
    assert bought > 0
    fixed, _, stamp = rows["fixed-time bought"].partition(" at ")
    assert Decimal(fixed.removesuffix(" kWh")) <= bought
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:(00|30):00\+09:00", stamp)
    assert re.fullmatch(r"[\d.]+ A / [\d.]+ A", rows["current R / T"])


def test_ctrl_c_during_watch_exits_130_without_traceback() -> None:
    child = aiobroute("watch", "--simulate", "--interval", "0.2")
    assert child.stdout is not None
    first = child.stdout.readline()  # a reading arrived: connected and watching
    assert first.startswith('{"time": ')
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 130
    assert err.strip() == "interrupted"


def test_sigterm_during_watch_ends_the_session_cleanly() -> None:
    child = aiobroute("watch", "--simulate", "--interval", "0.2", "-v")
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first.startswith('{"time": ')
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 143
    assert err.rstrip().endswith("terminated")
    assert "Traceback" not in err
    assert "connection state: ready -> closed" in err  # the session was closed, not killed


def read_until(fd: int, marker: bytes, deadline: float) -> bytes:
    data = b""
    while marker not in data:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {marker!r} in {data!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            data += os.read(fd, 4096)
    return data


@pytest.mark.pty
def test_simulate_serves_a_tty_until_ctrl_c() -> None:
    child = aiobroute("simulate", "--model", "BP35C2", "--timing", "instant", "--seed", "3")
    assert child.stdout is not None
    banner = [child.stdout.readline() for _ in range(4)]
    match = re.fullmatch(r"Simulated BP35C2 on (\S+)\n", banner[0])
    assert match is not None, banner
    assert banner[1] == f"B-route ID: {DEFAULT_RBID}\n"
    assert banner[2].split() == ["Password:", DEFAULT_PASSWORD]
    assert banner[3] == "Press Ctrl-C to stop.\n"
    fd = os.open(match[1], os.O_RDWR | os.O_NOCTTY)
    try:
        os.write(fd, b"SKVER\r\n")
        answer = read_until(fd, b"OK\r\n", time.monotonic() + TIMEOUT)
    finally:
        os.close(fd)
    assert b"EVER 1.5.2\r\n" in answer
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 0
    assert out == "Stopped.\n"
    assert err == ""


def test_simulate_rejects_unknown_options_of_the_simulator() -> None:
    child = aiobroute("simulate", "--model", "NOPE")
    _, err = child.communicate(timeout=TIMEOUT)
    assert child.returncode == 2
    assert "unknown module model 'NOPE'" in err


def test_a_closed_output_pipe_ends_the_command_quietly() -> None:
    # `aiobroute watch --format csv | head -2`: the reader goes away after two lines.
    child = aiobroute("watch", "--simulate", "--interval", "0.05", "--format", "csv")
    assert child.stdout is not None
    assert child.stderr is not None
    header = child.stdout.readline()
    assert header.startswith("time,power_w,")
    child.stdout.close()  # what `head` does once it has its lines
    child.wait(timeout=TIMEOUT)
    err = child.stderr.read()
    child.stderr.close()
    assert child.returncode == 141, err
    assert "Traceback" not in err
    assert "BrokenPipeError" not in err
    assert "error:" not in err
