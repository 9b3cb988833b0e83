"""Append a row of readings to a CSV file every few seconds, until Ctrl-C.

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/watch_csv.py --port /dev/ttyUSB0 --interval 60 --output power.csv
    python examples/watch_csv.py --simulate --interval 1 --count 5 --output power.csv

Each round reads power, both currents and both counters in a single ECHONET Lite
frame (``SmartMeter.get``). The header is written when the file is new or empty, so
runs can append to the same file. ``main()`` takes an optional ``connect`` callable
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

from aiobroute import AiobrouteError, InstantCurrent, SmartMeter

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]

COLUMNS = ("time", "power_w", "current_r_a", "current_t_a", "bought_kwh", "sold_kwh")


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
    with output.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if handle.tell() == 0:
            writer.writerow(COLUMNS)
        while count is None or rows < count:
            if rows:
                await asyncio.sleep(interval)
            values = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
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
    """Connect and watch."""
    async with connect() as meter:
        return await watch(meter, output, interval=interval, count=count)


def main(argv: Sequence[str] | None = None, *, connect: MeterFactory | None = None) -> int:
    """Watch the meter into a CSV file; returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    try:
        rows = asyncio.run(run(connect, args.output, args.interval, args.count))
    except KeyboardInterrupt:
        print(f"stopped; the rows so far are in {args.output}", file=sys.stderr)
        return 0
    except AiobrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {rows} rows to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
