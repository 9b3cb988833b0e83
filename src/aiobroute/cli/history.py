"""``aiobroute history``: the half-hourly history of both directions as CSV or JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import itertools
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import TextIO

from aiobroute import columns
from aiobroute._time import JST
from aiobroute.cli import (
    EXIT_ERROR,
    EXIT_OK,
    CliError,
    _json_default,
    _meter,
    _now,
    _progress,
    _progress_done,
    _see,
)
from aiobroute.errors import ServiceNotAvailableError
from aiobroute.meter import SmartMeter
from aiobroute.models import TimedEnergy

__all__ = ["run"]


async def run(args: argparse.Namespace, out: TextIO) -> int:
    if args.reverse:
        print(
            "notice: --reverse is deprecated and ignored: every row has bought and sold columns",
            file=sys.stderr,
        )
    async with _meter(args) as meter:
        if args.hours is not None:
            rows = await _recent_rows(args, meter, args.hours)
        else:
            rows = await _day_rows(args, meter, args.days or 1)
    if args.format == "json":
        out.write(json.dumps(rows, default=_json_default, indent=1) + "\n")
    else:
        buffer = io.StringIO()
        writer = columns.csv_writer(buffer)
        writer.writerow(columns.HISTORY_COLUMNS)
        for row in rows:
            writer.writerow(["" if row[k] is None else row[k] for k in columns.HISTORY_COLUMNS])
        out.write(buffer.getvalue())
    return EXIT_OK


def _history_rows(
    starts: Sequence[dt.datetime],
    bought: Sequence[Decimal | None],
    sold: Sequence[Decimal | None],
    bought_usage: Sequence[Decimal | None],
    sold_usage: Sequence[Decimal | None],
) -> list[dict[str, object]]:
    """Rows of :data:`columns.HISTORY_COLUMNS` (cumulative at the end of each slot)."""
    return [
        {
            columns.SLOT_START: start.isoformat(),
            columns.BOUGHT_KWH: bought[index],
            columns.SOLD_KWH: sold[index],
            columns.BOUGHT_USAGE_KWH: bought_usage[index],
            columns.SOLD_USAGE_KWH: sold_usage[index],
        }
        for index, start in enumerate(starts)
    ]


async def _recent_rows(
    args: argparse.Namespace, meter: SmartMeter, hours: int
) -> list[dict[str, object]]:
    """EC: the last ``hours`` hours of complete half hours, both directions, oldest first.

    The meter gives at most 12 readings, so ``--hours 6`` has 11 rows.
    """
    try:
        entries = await meter.history_30min(_now(args, meter), count=min(12, hours * 2 + 1))
    except ServiceNotAvailableError as exc:
        raise CliError(
            "this meter does not keep the 30-minute history of both directions (0xEC, "
            "release H and later); use --days instead." + _see("history-hours-is-refused"),
            EXIT_ERROR,
        ) from exc
    modulus: Decimal | None = None

    async def usage(before: Decimal | None, after: Decimal | None) -> Decimal | None:
        nonlocal modulus
        if before is None or after is None:
            return None
        if after >= before:
            return after - before
        if modulus is None:  # a counter wrapped: its size comes from D7 x D3 x E1
            info = await meter.info()
            if info.digits is None:
                return None
            modulus = Decimal(10) ** info.digits * (info.coefficient or 1) * info.unit_kwh
        return after - before + modulus

    pairs = list(itertools.pairwise(entries))
    return _history_rows(
        [before.timestamp for before, _ in pairs],
        [after.normal_kwh for _, after in pairs],
        [after.reverse_kwh for _, after in pairs],
        [await usage(b.normal_kwh, a.normal_kwh) for b, a in pairs],
        [await usage(b.reverse_kwh, a.reverse_kwh) for b, a in pairs],
    )


async def _day_rows(
    args: argparse.Namespace, meter: SmartMeter, days: int
) -> list[dict[str, object]]:
    """E2/E4 of ``days`` consecutive dates ending with the meter's date at the start.

    The dates are fixed when the run starts, so a run that crosses the meter's midnight
    still reads consecutive days. Slots whose end has not come yet are left out.
    """
    today = _now(args, meter).date()
    dates = [today - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]
    bought: list[TimedEnergy] = []
    sold: list[TimedEnergy] | None = []
    for index, date in enumerate(dates):
        _progress(f"fetching day {index + 1}/{days}")
        bought += await _one_day(args, meter, date, reverse=False)
        if sold is not None:
            try:
                sold += await _one_day(args, meter, date, reverse=True)
            except ServiceNotAvailableError:  # a meter without the reverse direction
                sold = None
    _progress_done()
    now = _now(args, meter)
    complete = [i for i in range(len(bought) - 1) if bought[i + 1].timestamp <= now]
    bought_usage = meter.usage(bought)
    sold_usage = meter.usage(sold) if sold else []
    none = [None] * len(bought)
    return _history_rows(
        [bought[i].timestamp for i in complete],
        [bought[i + 1].kwh for i in complete],
        [sold[i + 1].kwh for i in complete] if sold else none,
        [bought_usage[i] for i in complete],
        [sold_usage[i] for i in complete] if sold else none,
    )


async def _one_day(
    args: argparse.Namespace, meter: SmartMeter, date: dt.date, *, reverse: bool
) -> list[TimedEnergy]:
    """The 48 readings of ``date``, asked again if the meter's midnight passed meanwhile."""
    for _ in range(3):
        day = (_now(args, meter).date() - date).days
        if day > 99:
            raise CliError(
                f"the meter's midnight passed during the run and {date} is no longer in its "
                "100-day history; ask for fewer --days",
                EXIT_ERROR,
            )
        entries = await meter.history(day, reverse=reverse)
        if (_now(args, meter).date() - date).days == day:
            midnight = dt.datetime.combine(date, dt.time(0, 0), tzinfo=JST)
            return [
                TimedEnergy(midnight + dt.timedelta(minutes=30 * slot), entry.kwh, entry.raw)
                for slot, entry in enumerate(entries)
            ]
    raise CliError(f"the meter's date kept changing while reading {date}; try again", EXIT_ERROR)
