"""``aiobroute export``: rows from a record database (no port, no credentials needed).

Half-hourly (or ``--hourly``) rows in the column scheme of :mod:`aiobroute.columns` as
CSV or JSON, Home Assistant long-term statistics (``--format ha-statistics``), the list
of missing half hours (``--gaps``), or the instantaneous samples (``--samples``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING, Any, TextIO

from aiobroute._time import JST
from aiobroute.columns import (
    BOUGHT_KWH,
    CURRENT_R_A,
    CURRENT_T_A,
    HISTORY_COLUMNS,
    POWER_W,
    SLOT_START,
    SOLD_KWH,
    TIME,
    WATCH_COLUMNS,
    csv_writer,
)

if TYPE_CHECKING:
    from aiobroute.recorder import RecordStore

__all__ = ["NEEDS_CREDENTIALS", "add_arguments", "run"]

#: ``export`` reads a file: the command line must not ask for B-route credentials.
NEEDS_CREDENTIALS = False
#: The default Home Assistant statistic ids (external statistics, no entity needed).
BOUGHT_STATISTIC = "aiobroute:energy_bought"
SOLD_STATISTIC = "aiobroute:energy_sold"
#: The default ``start`` format of ``ha-statistics`` (the import integration's default).
HA_TIME_FORMAT = "%d.%m.%Y %H:%M"


def _when(text: str) -> dt.datetime:
    """A date (its midnight) or a date and time; Japan time unless an offset is given."""
    try:
        if len(text) == 10:
            value = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    return value.replace(tzinfo=JST) if value.tzinfo is None else value.astimezone(JST)


def _until(text: str) -> dt.datetime:
    """``--to``: a date includes that whole day; a date and time is the exclusive end."""
    value = _when(text)
    return value + dt.timedelta(days=1) if len(text) == 10 else value


def _time_format(text: str) -> str:
    """A strftime format that tells the half hours of a year apart (else rows collide)."""
    first = dt.datetime(2026, 1, 1, 0, 0)
    stamps = {
        (first + dt.timedelta(minutes=30 * step)).strftime(text)
        for step in (0, 1, 48, 48 * 31, 48 * 364)
    }
    if len(stamps) < 5 or any(not stamp or "\n" in stamp or "\r" in stamp for stamp in stamps):
        raise argparse.ArgumentTypeError(
            f"{text!r} does not tell the half hours apart (needs the date, hour and minute, "
            "on one line)"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aiobroute export``."""
    parser.add_argument("--db", required=True, help="the database written by `aiobroute record`")
    parser.add_argument(
        "--format", choices=("csv", "json", "ha-statistics"), default="csv", help="default: csv"
    )
    parser.add_argument(
        "--from", dest="since", type=_when, default=None, help="first slot (YYYY-MM-DD[THH:MM])"
    )
    parser.add_argument(
        "--to",
        dest="until",
        type=_until,
        default=None,
        help="last day (YYYY-MM-DD, included) or the end instant (YYYY-MM-DDTHH:MM, excluded)",
    )
    parser.add_argument("--hourly", action="store_true", help="hourly rows instead of half-hourly")
    parser.add_argument("--gaps", action="store_true", help="list the missing half hours instead")
    parser.add_argument(
        "--samples",
        action="store_true",
        help="the instantaneous samples of `record --interval` instead (watch's columns)",
    )
    parser.add_argument("--meter", help="the meter's key (default: the one seen last)")
    parser.add_argument("--statistic-id-bought", default=BOUGHT_STATISTIC, metavar="ID")
    parser.add_argument("--statistic-id-sold", default=SOLD_STATISTIC, metavar="ID")
    parser.add_argument(
        "--time-format",
        type=_time_format,
        default=HA_TIME_FORMAT,
        help="strftime format of ha-statistics' start column (default: %(default)s, Japan time)",
    )


def _cell(value: object) -> str:
    return "" if value is None else str(value)


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Write the rows to ``out``."""
    from aiobroute import cli
    from aiobroute.recorder import RecordDatabaseError, RecordStore

    if args.gaps and args.samples:
        raise cli.CliError("--gaps and --samples exclude each other", cli.EXIT_USAGE)
    if (args.gaps or args.samples) and args.format == "ha-statistics":
        raise cli.CliError(
            "--gaps and --samples write rows: use --format csv or json", cli.EXIT_USAGE
        )
    until = args.until
    try:
        async with RecordStore.open(args.db, readonly=True) as store:
            await _export(store, args, until, out)
    except RecordDatabaseError as exc:
        raise cli.CliError(f"cannot use --db: {exc}", cli.EXIT_USAGE) from None
    return cli.EXIT_OK


async def _export(
    store: RecordStore, args: argparse.Namespace, until: dt.datetime | None, out: TextIO
) -> None:
    from aiobroute import cli
    from aiobroute.recorder import find_gaps, statistic_rows, usage_rows

    meters = await store.meters()
    if args.meter is not None:
        meters = [m for m in meters if m.key == args.meter]
        if not meters:
            raise cli.CliError(f"no meter {args.meter!r} in the database", cli.EXIT_USAGE)
    if not meters:
        raise cli.CliError("the database has no meter yet: run `aiobroute record` first")
    meter = meters[0]
    records: list[dict[str, Any]]
    if args.samples:
        samples = await store.samples(meter.key, args.since, until)
        records = [
            {
                TIME: sample.at.isoformat(),
                POWER_W: sample.power_w,
                CURRENT_R_A: sample.current_r_a,
                CURRENT_T_A: sample.current_t_a,
                BOUGHT_KWH: None,
                SOLD_KWH: None,
            }
            for sample in samples
            if until is None or sample.at < until
        ]
        _write(records, WATCH_COLUMNS, args.format, out)
        return
    step = dt.timedelta(hours=1 if args.hourly or args.format == "ha-statistics" else 0.5)
    since = args.since
    readings = await store.readings(
        meter.key,
        None if since is None else since - step,
        None if until is None else until,
    )
    if args.gaps:
        gaps = find_gaps(readings, reverse=meter.reverse, since=since, until=until)
        records = [
            {
                SLOT_START: gap.slot_start.isoformat(),
                "reason": gap.reason.value,
                "directions": "+".join(
                    name for name, absent in (("bought", gap.bought), ("sold", gap.sold)) if absent
                ),
            }
            for gap in gaps
        ]
        _write(records, (SLOT_START, "reason", "directions"), args.format, out)
        return
    if args.format == "ha-statistics":
        stats = statistic_rows(
            readings,
            bought_id=args.statistic_id_bought,
            sold_id=args.statistic_id_sold if meter.reverse else None,
            since=since,
            until=until,
        )
        writer = csv_writer(out)
        writer.writerow(("statistic_id", "start", "unit", "state", "sum"))
        for stat in stats:
            writer.writerow(
                (
                    stat.statistic_id,
                    stat.start.strftime(args.time_format),
                    stat.unit,
                    stat.state,
                    stat.sum,
                )
            )
        return
    rows = usage_rows(readings, hourly=args.hourly, since=since, until=until)
    records = [
        {
            SLOT_START: row.slot_start.isoformat(),
            "bought_kwh": row.bought_kwh,
            "sold_kwh": row.sold_kwh,
            "bought_usage_kwh": row.bought_usage_kwh,
            "sold_usage_kwh": row.sold_usage_kwh,
        }
        for row in rows
    ]
    _write(records, HISTORY_COLUMNS, args.format, out)


def _write(records: list[dict[str, Any]], columns: tuple[str, ...], fmt: str, out: TextIO) -> None:
    from aiobroute.cli import _json_default

    if fmt == "json":
        out.write(json.dumps(records, default=_json_default, indent=1) + "\n")
        return
    writer = csv_writer(out)
    writer.writerow(columns)
    for record in records:
        writer.writerow([_cell(record[column]) for column in columns])
