"""Backfill a CSV file with the meter's half-hourly history (up to 100 days).

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/history_backfill.py --port /dev/ttyUSB0 --days 30 --output history.csv
    python examples/history_backfill.py --simulate --days 7 --output history.csv

Rows follow ``aiobroute.columns``, like ``aiobroute history``: ``slot_start`` is the
start of the half hour, ``bought_kwh`` / ``sold_kwh`` the cumulative counters at its
end, ``bought_usage_kwh`` / ``sold_usage_kwh`` the energy within it (counter rollover
taken into account). The dates are fixed when the run starts, so a run that crosses
the meter's midnight still reads consecutive days. Rows already in the file are kept;
running the script again (daily, from cron) only adds what is new, so the file grows
without gaps as long as it runs at least every 100 days.

The output is replaced atomically, and only if it is a regular file of yours (or does
not exist yet): a device node, a FIFO, a symlink or someone else's file is refused, never
opened. ``main()`` takes an optional ``connect`` callable (see ``read_meter.py``) so a
test can run it against a simulator of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import functools
import io
import itertools
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from aiobroute import AiobrouteError, ServiceNotAvailableError, SmartMeter, TimedEnergy
from aiobroute.columns import (
    HISTORY_COLUMNS,
    SLOT_START,
    csv_writer,
)

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]

COLUMNS = HISTORY_COLUMNS


class UnsafeOutputError(Exception):
    """The output path is not a regular file of ours: it is left alone."""


async def one_day(meter: SmartMeter, date: dt.date, *, reverse: bool) -> list[TimedEnergy]:
    """The 48 readings of ``date`` (asked again if the meter's midnight passed meanwhile)."""
    for _ in range(3):
        day = (meter.meter_now().date() - date).days
        readings = await meter.history(day, reverse=reverse)
        if (meter.meter_now().date() - date).days == day:
            return readings
    raise AiobrouteError(f"the meter's date kept changing while reading {date}")


async def fetch(meter: SmartMeter, days: int) -> list[dict[str, str]]:
    """Complete half hours of the last ``days`` days (today included), oldest first."""
    today = meter.meter_now().date()
    bought: list[TimedEnergy] = []
    sold: list[TimedEnergy] | None = []
    for back in range(days - 1, -1, -1):  # oldest first: the readings follow each other
        date = today - dt.timedelta(days=back)
        bought += await one_day(meter, date, reverse=False)
        if sold is not None:
            try:
                sold += await one_day(meter, date, reverse=True)
            except ServiceNotAvailableError:  # a meter without the reverse direction
                sold = None
        print(f"fetched {date:%Y-%m-%d}", file=sys.stderr)
    bought_usage = meter.usage(bought)  # usage[i]: between readings i and i + 1
    sold_usage = meter.usage(sold) if sold else [None] * len(bought_usage)
    rows = []
    for index, (start, end) in enumerate(itertools.pairwise(bought)):
        if end.kwh is None or bought_usage[index] is None:
            continue  # not over yet, or no data
        sold_end = sold[index + 1].kwh if sold else None
        values = (end.kwh, sold_end, bought_usage[index], sold_usage[index])
        row = {SLOT_START: start.timestamp.isoformat()}
        for key, value in zip(COLUMNS[1:], values, strict=True):
            row[key] = "" if value is None else str(value)
        rows.append(row)
    return rows


def _check_ours(info: os.stat_result, output: Path) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise UnsafeOutputError(f"{output} is not a regular file; refusing to touch it")
    if info.st_uid != os.geteuid():
        raise UnsafeOutputError(f"{output} belongs to another user; refusing to replace it")


def read_existing(output: Path) -> tuple[list[dict[str, str]], int | None]:
    """The rows already in ``output`` and its permission bits (None: there is no file)."""
    try:
        info = os.lstat(output)
    except FileNotFoundError:
        return [], None
    _check_ours(info, output)
    # O_NOFOLLOW and O_NONBLOCK: a path swapped for a symlink or a FIFO since the check
    # fails (or returns) at once instead of following it or blocking.
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(output, flags)
    with open(fd, encoding="utf-8", newline="") as handle:
        _check_ours(os.fstat(handle.fileno()), output)
        text = handle.read()
    reader = csv.DictReader(io.StringIO(text))
    if text and tuple(reader.fieldnames or ()) != COLUMNS:
        raise UnsafeOutputError(
            f"{output} has other columns ({', '.join(reader.fieldnames or ())}); "
            "write to a new file"
        )
    return list(reader), stat.S_IMODE(info.st_mode)


def merge(output: Path, rows: list[dict[str, str]]) -> int:
    """Add the rows that are not in the file yet, keep it sorted; returns how many."""
    existing, mode = read_existing(output)
    known = {row[SLOT_START]: row for row in existing}
    new = {row[SLOT_START]: row for row in rows if row[SLOT_START] not in known}
    if not new:
        return 0
    merged = sorted({**known, **new}.values(), key=lambda row: row[SLOT_START])
    if mode is None:  # a new file: the usual permissions (umask applies)
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    # A new temporary file next to the output (O_EXCL), then an atomic rename over it:
    # a reader never sees half a file, and nothing is written through the old path.
    fd, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), mode)
            writer = csv_writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows([row[key] for key in COLUMNS] for row in merged)
        os.replace(temporary, output)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return len(new)


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
    parser.add_argument("--output", type=Path, default=Path("history.csv"), help="CSV file")
    parser.add_argument("--days", type=int, default=7, choices=range(1, 101), metavar="1-100")
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


async def run(connect: MeterFactory, days: int) -> list[dict[str, str]]:
    """Connect and fetch."""
    async with connect() as meter:
        return await fetch(meter, days)


def main(argv: Sequence[str] | None = None, *, connect: MeterFactory | None = None) -> int:
    """Backfill the CSV file; returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    try:
        read_existing(args.output)  # a bad output path fails before the meter is read
        rows = asyncio.run(run(connect, args.days))
        added = merge(args.output, rows)
    except (AiobrouteError, UnsafeOutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.output}: {added} new half hours", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
