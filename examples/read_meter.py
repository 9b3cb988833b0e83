"""Read the smart meter once: power, currents, cumulative energy.

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/read_meter.py --port /dev/ttyUSB0 --cache pan.json
    python examples/read_meter.py --simulate        # no hardware: the built-in simulator

``main()`` takes an optional ``connect`` callable returning a not-yet-entered
:class:`~aiobroute.SmartMeter` (or any async context manager yielding one), so a test can
run the example against a simulator of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import NamedTuple

from aiobroute import AiobrouteError, ServiceNotAvailableError, SmartMeter

#: Returns an async context manager that connects and yields a SmartMeter.
MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]


class Reading(NamedTuple):
    """One reading of the meter (None where the meter has no data)."""

    power_w: int | None
    current_r_a: Decimal | None
    current_t_a: Decimal | None
    bought_kwh: Decimal | None
    sold_kwh: Decimal | None
    fixed_time: dt.datetime
    fixed_bought_kwh: Decimal | None


async def read_once(meter: SmartMeter) -> Reading:
    """Read power (E7), currents (E8), energy bought (E0) and sold (E3), last :00/:30 (EA)."""
    power = await meter.instant_power()
    current = await meter.instant_current()
    bought = await meter.cumulative_energy()
    try:
        sold = await meter.cumulative_energy(reverse=True)
    except ServiceNotAvailableError:  # a meter that does not measure export
        sold = None
    fixed = await meter.fixed_time_energy()
    return Reading(
        power, current.r_amperes, current.t_amperes, bought, sold, fixed.timestamp, fixed.kwh
    )


def format_reading(reading: Reading) -> str:
    """Render a reading as aligned ``name: value unit`` lines."""

    def show(value: object, unit: str) -> str:
        return "no data" if value is None else f"{value} {unit}"

    lines = [
        ("power", show(reading.power_w, "W")),
        ("current R", show(reading.current_r_a, "A")),
        ("current T", show(reading.current_t_a, "A")),
        ("bought", show(reading.bought_kwh, "kWh")),
        ("sold", show(reading.sold_kwh, "kWh")),
        (f"bought at {reading.fixed_time:%H:%M}", show(reading.fixed_bought_kwh, "kWh")),
    ]
    return "\n".join(f"{name + ':':<17}{value}" for name, value in lines)


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


async def run(connect: MeterFactory) -> Reading:
    """Connect, read once, disconnect."""
    async with connect() as meter:
        return await read_once(meter)


def main(argv: Sequence[str] | None = None, *, connect: MeterFactory | None = None) -> int:
    """Print one reading; returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    try:
        reading = asyncio.run(run(connect))
    except AiobrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(format_reading(reading))
    return 0


if __name__ == "__main__":
    sys.exit(main())
