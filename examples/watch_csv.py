"""Append a row of readings to a CSV file every few seconds, until Ctrl-C.

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/watch_csv.py --port /dev/ttyUSB0 --interval 60 --output power.csv
    python examples/watch_csv.py --simulate --interval 1 --count 5 --output power.csv

Each round reads power, both currents and both counters in a single ECHONET Lite
frame (``SmartMeter.get``). The columns are those of ``aiobroute watch --format csv``
(``aiobroute.columns``), with LF line endings. The header is written when the file is
new or empty, so runs can append to the same file.

It runs for months: a recoverable error (a timeout, ``FAIL ER09``, the session being
re-established after an unplug) costs one row, with a warning at most once a minute;
only refused credentials or bad options stop it. SIGTERM (``systemctl stop``) and
Ctrl-C end the meter session before exiting. For a service, ``aiobroute watch`` does the
same (see the service guide). ``main()`` takes an optional ``connect`` callable (see
``read_meter.py``) so a test can run it against a simulator of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from aiobroute import (
    AiobrouteError,
    AuthenticationError,
    InstantCurrent,
    InvalidArgumentError,
    SmartMeter,
)
from aiobroute.columns import WATCH_COLUMNS, csv_writer

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]
T = TypeVar("T")

COLUMNS = WATCH_COLUMNS


def recoverable(error: BaseException) -> bool:
    """Errors worth waiting out: every aiobroute error but bad credentials or arguments."""
    return isinstance(error, AiobrouteError) and not isinstance(
        error, AuthenticationError | InvalidArgumentError
    )


class Warnings:
    """Print a warning at most once per ``period`` seconds (a dead link is not log spam)."""

    def __init__(self, period: float = 60.0) -> None:
        self.period = period
        self.last = -period

    def __call__(self, text: str) -> None:
        if time.monotonic() - self.last >= self.period:
            self.last = time.monotonic()
            print(f"warning: {text}", file=sys.stderr)


async def until_sigterm(coro: Coroutine[Any, Any, T]) -> T | None:
    """Run ``coro``; SIGTERM cancels it (its ``async with`` blocks clean up): None then."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        if task.cancelled():
            return None  # stopped by SIGTERM
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def row_of(meter: SmartMeter, values: dict[int, object]) -> list[object]:
    """One CSV row from a ``get(0xE7, 0xE8, 0xE0, 0xE3)`` result (empty cells: no data)."""
    current = values.get(0xE8)
    r_phase = current.r_amperes if isinstance(current, InstantCurrent) else None
    t_phase = current.t_amperes if isinstance(current, InstantCurrent) else None
    return [
        meter.meter_now().isoformat(timespec="seconds"),
        values.get(0xE7),
        r_phase,
        t_phase,
        values.get(0xE0),
        values.get(0xE3),
    ]


async def watch(
    meter: SmartMeter, output: Path, *, interval: float, count: int | None = None
) -> int:
    """Append a row every ``interval`` seconds (``count`` rows, or forever); returns rows."""
    rows = 0
    warn = Warnings()
    with output.open("a", encoding="utf-8", newline="") as handle:
        writer = csv_writer(handle)
        if handle.tell() == 0:
            writer.writerow(COLUMNS)
        while count is None or rows < count:
            if rows:
                await asyncio.sleep(interval)
            try:
                values = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
            except AiobrouteError as error:
                if not recoverable(error):
                    raise
                warn(f"no reading this round: {type(error).__name__}: {error}")
                await asyncio.sleep(interval)
                continue
            writer.writerow(row_of(meter, values))
            handle.flush()  # a reader (or a crash) sees every complete row
            rows += 1
    return rows


def simulated_meter() -> contextlib.AbstractAsyncContextManager[SmartMeter]:
    """A SmartMeter connected to aiobroute's simulated dongle and meter (no hardware)."""
    from aiobroute.testing import Simulator

    return Simulator("BP35C2", timing="instant").smart_meter()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", default=os.environ.get("AIOBROUTE_PORT"), help="dongle path")
    parser.add_argument("--cache", help="JSON file remembering the PAN (skips the scan)")
    parser.add_argument("--simulate", action="store_true", help="use the built-in simulator")
    parser.add_argument("--output", type=Path, default=Path("power.csv"), help="CSV file")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rows")
    parser.add_argument("--count", type=int, help="stop after this many rows")
    return parser.parse_args(argv)


def meter_factory(args: argparse.Namespace) -> MeterFactory:
    """How to reach the meter: the simulator, or --port with the environment's credentials."""
    if args.simulate:
        return simulated_meter
    rbid, password = os.environ.get("AIOBROUTE_RBID"), os.environ.get("AIOBROUTE_PASSWORD")
    if not (args.port and rbid and password):
        print(
            "error: give --port (or --simulate) and set AIOBROUTE_RBID and AIOBROUTE_PASSWORD",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return functools.partial(
        SmartMeter, args.port, rbid=rbid, password=password, cache_path=args.cache
    )


async def run(connect: MeterFactory, output: Path, interval: float, count: int | None) -> int:
    """Connect and watch; if the dongle or the meter cannot be reached, wait and try again."""
    warn = Warnings()
    delay = 1.0
    while True:
        try:
            async with connect() as meter:
                return await watch(meter, output, interval=interval, count=count)
        except AiobrouteError as error:
            if not recoverable(error):
                raise
            warn(f"cannot reach the meter: {error}; trying again in {delay:.0f} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 300.0)


def main(argv: Sequence[str] | None = None, *, connect: MeterFactory | None = None) -> int:
    """Watch the meter into a CSV file; returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    try:
        rows = asyncio.run(until_sigterm(run(connect, args.output, args.interval, args.count)))
    except KeyboardInterrupt:
        rows = None
    except AiobrouteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if rows is None:
        print(f"stopped; the rows so far are in {args.output}", file=sys.stderr)
        return 0
    print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
