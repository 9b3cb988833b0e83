"""Backfill a CSV file with the meter's half-hourly history (up to 100 days).

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/history_backfill.py --port /dev/ttyUSB0 --days 30 --output history.csv
    python examples/history_backfill.py --simulate --days 7 --output history.csv

Each row is one half hour: ``time`` is when it ended, ``kwh`` the cumulative energy
bought then, ``usage_kwh`` the energy used during that half hour (with counter
rollover taken into account). Rows already in the file are kept; running the script
again (daily, from cron) only adds what is new, so the file grows without gaps as long
as it runs at least every 100 days. ``main()`` takes an optional ``connect`` callable
(see ``read_meter.py``) so a test can run it against a simulator of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiobroute import AiobrouteError, SmartMeter, TimedEnergy

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]

COLUMNS = ("time", "kwh", "usage_kwh")


async def fetch(meter: SmartMeter, days: int) -> list[dict[str, str]]:
    """Half-hour rows of the last ``days`` days (today included), oldest first."""
    readings: list[TimedEnergy] = []
    for day in range(days - 1, -1, -1):  # oldest first: the readings follow each other
        day_readings = await meter.history(day)
        print(f"fetched {day_readings[0].timestamp:%Y-%m-%d}", file=sys.stderr)
        readings += day_readings
    now = meter.meter_now()
    readings = [r for r in readings if r.timestamp <= now]  # today's future slots
    usage = meter.usage(readings)  # usage[i]: between readings i and i + 1
    rows = []
    for reading, used in zip(readings[1:], usage, strict=True):
        if reading.kwh is not None and used is not None:
            rows.append(
                {
                    "time": reading.timestamp.isoformat(),
                    "kwh": str(reading.kwh),
                    "usage_kwh": str(used),
                }
            )
    return rows


def merge(output: Path, rows: list[dict[str, str]]) -> int:
    """Add the rows that are not in the file yet, keep it sorted; returns how many."""
    known: dict[str, dict[str, str]] = {}
    if output.exists():
        with output.open(encoding="utf-8", newline="") as handle:
            known = {row["time"]: row for row in csv.DictReader(handle)}
    new = {row["time"]: row for row in rows if row["time"] not in known}
    if not new:
        return 0
    merged = sorted({**known, **new}.values(), key=lambda row: row["time"])
    temporary = output.with_name(output.name + ".tmp")
    with temporary.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(merged)
    temporary.replace(output)  # atomic: a reader never sees half a file
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
        rows = asyncio.run(run(connect, args.days))
    except AiobrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    added = merge(args.output, rows)
    print(f"{args.output}: {added} new half hours", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
