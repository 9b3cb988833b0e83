"""The ``aiobroute`` command: read, watch, history, scan, info, simulate.

Credentials come from ``AIOBROUTE_RBID`` / ``AIOBROUTE_PASSWORD`` or a prompt; with
``--simulate`` every command runs against the built-in simulated dongle and meter.

Exit codes: 0 success, 1 other errors, 2 usage (bad option, missing credentials or
port), 3 the port cannot be used, 4 PANA authentication refused, 5 no meter found,
6 timeout, 130 interrupted (Ctrl-C), 141 the output pipe was closed (`| head`),
143 terminated (SIGTERM).

Testing hook: ``--simulate`` builds its simulator with :func:`_make_simulator`, looked up
at run time, so a test can replace it (``monkeypatch.setattr(cli, "_make_simulator",
factory)``) with a factory returning a :class:`~aiobroute.testing.Simulator` of its own
(seed, frozen clock, faults) and compare the output with that simulator's ground truth.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import errno
import getpass
import importlib
import io
import itertools
import json
import logging
import os
import signal
import stat
import sys
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from aiobroute import columns
from aiobroute._log import TRACE
from aiobroute._time import JST, now_jst
from aiobroute._version import __version__
from aiobroute.cli._service import (
    Backoff,
    RateLimitedLog,
    StatusLine,
    add_service_arguments,
    read_round,
    reading_row,
    run_forever,
)
from aiobroute.echonet import manufacturer_name
from aiobroute.errors import (
    AiobrouteError,
    AiobrouteTimeoutError,
    AuthenticationError,
    CommandTimeoutError,
    InvalidArgumentError,
    ScanError,
    ServiceNotAvailableError,
    TransportError,
)
from aiobroute.meter import SmartMeter
from aiobroute.models import TimedEnergy
from aiobroute.skstack import ModuleFamily, PanDescriptor
from aiobroute.skstack.client import SkStackClient
from aiobroute.supervisor import ReconnectPolicy
from aiobroute.transport import ByteStream, open_port

if TYPE_CHECKING:
    from aiobroute.testing import Simulator

__all__ = ["main"]

_LOGGER = logging.getLogger("aiobroute.cli")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PORT = 3
EXIT_AUTH = 4
EXIT_NO_PAN = 5
EXIT_TIMEOUT = 6
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141

#: What ``read`` asks for (one frame): power, currents, both counters, both fixed-time.
_SNAPSHOT_EPCS = (0xE7, 0xE8, 0xE0, 0xE3, 0xEA, 0xEB)
#: What each ``watch`` round asks for (one frame).
_WATCH_EPCS = (0xE7, 0xE8, 0xE0, 0xE3)


class CliError(Exception):
    """A failure worth one line: what failed, the likely cause, what to try."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------- parsing


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--port",
        default=os.environ.get("AIOBROUTE_PORT"),
        help="device path or URL of the Wi-SUN dongle (/dev/ttyUSB0, socket://host:port); "
        "default $AIOBROUTE_PORT",
    )
    common.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulated dongle and meter (no hardware needed)",
    )
    common.add_argument(
        "--model",
        help="module model or family: bp35a1, rl7023_ips, bp35c2, rl7023_dss (forces the "
        "dialect; with --simulate it picks the simulated module)",
    )
    common.add_argument("--cache", help="JSON file remembering the PAN between runs")
    common.add_argument(
        "--password",
        help="B-route password (insecure: visible to other users; prefer $AIOBROUTE_PASSWORD)",
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v info logs, -vv debug + tracebacks"
    )

    parser = argparse.ArgumentParser(
        prog="aiobroute",
        description="Read a Japanese smart electricity meter over the Wi-SUN B route.",
    )
    parser.add_argument("--version", action="version", version=f"aiobroute {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    read = sub.add_parser("read", parents=[common], help="print one snapshot of the readings")
    read.add_argument("--format", choices=("table", "json"), default="table")

    watch = sub.add_parser("watch", parents=[common], help="print readings until Ctrl-C")
    watch.add_argument("--interval", type=_seconds, default=10.0, help="seconds between reads")
    watch.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default=None,
        help="default: table on a terminal, JSON lines otherwise",
    )
    watch.add_argument("--output", help="append to this file instead of stdout")
    watch.add_argument(
        "--count", type=_int_range(1, 2**31), default=None, help="stop after this many reads"
    )
    add_service_arguments(watch)

    history = sub.add_parser("history", parents=[common], help="half-hourly history as CSV/JSON")
    group = history.add_mutually_exclusive_group()
    group.add_argument(
        "--days", type=_int_range(1, 100), default=None, help="the last N days (1-100, E2/E4)"
    )
    group.add_argument(
        "--hours", type=_int_range(1, 6), default=None, help="the last N hours (1-6, EC)"
    )
    history.add_argument(
        "--reverse",
        action="store_true",
        help="deprecated, ignored: rows always carry bought and sold columns",
    )
    history.add_argument("--format", choices=("csv", "json"), default="csv")

    sub.add_parser("scan", parents=[common], help="list the PANs (meters) in range")
    sub.add_parser("info", parents=[common], help="module and meter information")

    for name, (module_name, summary) in _MODULE_COMMANDS.items():
        command = sub.add_parser(name, parents=[common], help=summary)
        importlib.import_module(module_name).add_arguments(command)

    simulate = sub.add_parser(
        "simulate", help="serve the simulated dongle on a pseudo-terminal until Ctrl-C"
    )
    simulate.add_argument(
        "args", nargs=argparse.REMAINDER, help="options of python -m aiobroute.testing"
    )
    return parser


# ---------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _logging(verbose: int) -> Iterator[None]:
    """Send aiobroute's logs to stderr for one run (removed afterwards: main() re-enters)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    if verbose >= 3:
        level = TRACE
    logger = logging.getLogger("aiobroute")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _progress(text: str) -> None:
    """Progress on stderr, only for a person watching a terminal."""
    if sys.stderr.isatty():
        print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)


def _progress_done(text: str | None = None) -> None:
    if sys.stderr.isatty():
        print(f"\r{text}\x1b[K" if text else "\r\x1b[K", file=sys.stderr, flush=True)


def _family(model: str | None) -> ModuleFamily | None:
    if model is None:
        return None
    name = model.lower().replace("-", "_")
    if name in ("bp35a1", "rl7023_ips", "a1"):
        return ModuleFamily.BP35A1
    if name in ("bp35c0", "bp35c2", "rl7023_dss", "rs_wsuha_p", "c2"):
        return ModuleFamily.BP35C2
    raise CliError(
        f"unknown --model {model!r}: use bp35a1, rl7023_ips, bp35c2, rs_wsuha_p or rl7023_dss",
        EXIT_USAGE,
    )


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    rbid = os.environ.get("AIOBROUTE_RBID")
    password = os.environ.get("AIOBROUTE_PASSWORD")
    if args.password:
        print(
            "warning: a password on the command line is visible to other users; "
            "prefer AIOBROUTE_PASSWORD",
            file=sys.stderr,
        )
        password = args.password
    if not rbid or not password:
        if not sys.stdin.isatty():
            raise CliError(
                "no B-route credentials: set AIOBROUTE_RBID and AIOBROUTE_PASSWORD "
                "(or run on a terminal to be asked)",
                EXIT_USAGE,
            )
        rbid = rbid or input("B-route ID: ").strip()
        password = password or getpass.getpass("B-route password: ").strip()
    return rbid, password


def _make_simulator(model: str) -> Simulator:
    """Build the simulator behind ``--simulate`` (a test hook: tests replace this function).

    Called inside the command's event loop with the ``--model`` value (``"BP35A1"`` when
    none was given). The simulated meter accepts ``sim.rbid`` / ``sim.password``.
    """
    from aiobroute.testing import SimClock, Simulator

    # The simulated household lives in the present, 200 times faster than real time.
    clock = SimClock(now_jst().replace(microsecond=0), speed=200.0)
    return Simulator(model, seed=1, timing="realistic", clock=clock)


@contextlib.asynccontextmanager
async def _simulator(args: argparse.Namespace) -> AsyncIterator[tuple[ByteStream, str, str]]:
    try:
        sim = _make_simulator(args.model or "BP35A1")
    except (KeyError, ValueError) as exc:
        raise CliError(
            f"unknown simulated --model {args.model!r}: use BP35A1, RL7023_IPS, BP35C2, "
            "RS-WSUHA-P or RL7023_DSS",
            EXIT_USAGE,
        ) from exc
    if sim.is_j11:
        raise CliError(
            f"--model {args.model}: the meter cannot be read over a J11 module yet; "
            "'aiobroute simulate --model ...' serves it on a pty",
            EXIT_USAGE,
        )
    # With --simulate, times come from the simulated meter's clock (it may run faster).
    args.sim_clock = sim.clock.now
    async with sim.memory() as stream:
        yield stream, sim.rbid, sim.password


def _now(args: argparse.Namespace, meter: SmartMeter) -> dt.datetime:
    """The meter's wall time: the simulated clock with --simulate, else ``meter_now()``."""
    clock: Callable[[], dt.datetime] | None = getattr(args, "sim_clock", None)
    return clock() if clock is not None else meter.meter_now()


def _stamp(args: argparse.Namespace, meter: SmartMeter) -> str:
    return _now(args, meter).isoformat(timespec="seconds")


@contextlib.asynccontextmanager
async def _meter(args: argparse.Namespace, **options: Any) -> AsyncIterator[SmartMeter]:
    """The connected meter of ``args``; ``options`` go to :class:`SmartMeter`."""
    if args.simulate:
        async with _simulator(args) as (stream, rbid, password):
            options.setdefault("min_interval", 0.0)
            meter = SmartMeter(
                stream, rbid=rbid, password=password, cache_path=args.cache, **options
            )
            async with meter:
                yield meter
        return
    family = _family(args.model)
    if not args.port:
        raise CliError("no port: pass --port /dev/ttyUSB0 (or set AIOBROUTE_PORT)", EXIT_USAGE)
    rbid, password = args.credentials or _credentials(args)
    meter = SmartMeter(
        args.port, rbid=rbid, password=password, family=family, cache_path=args.cache, **options
    )
    async with meter:
        yield meter


def _service_meter(
    args: argparse.Namespace,
) -> Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]:
    """How a long-running command connects: reconnect forever, waits capped at --retry-max."""
    policy = ReconnectPolicy(initial=min(1.0, args.retry_max), cap=args.retry_max)
    return lambda: _meter(args, reconnect=policy)


def _fmt_kwh(value: Decimal | None) -> str:
    return "no data" if value is None else f"{value} kWh"


def _fmt_amps(value: Decimal | None) -> str:
    return "-" if value is None else f"{value} A"


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return str(value)


#: Keys of the fixed-time readings in ``read`` (0xEA bought, 0xEB sold): when and how much.
_FIXED_KEYS = ("fixed_bought_at", "fixed_bought_kwh", "fixed_sold_at", "fixed_sold_kwh")


def _snapshot(values: dict[int, object], when: str) -> dict[str, object]:
    """Readings keyed by :mod:`aiobroute.columns` names; None where the meter had no data."""
    snapshot = reading_row(values, when)
    if 0xEA in values or 0xEB in values:
        for epc, (at_key, kwh_key) in ((0xEA, _FIXED_KEYS[:2]), (0xEB, _FIXED_KEYS[2:])):
            fixed = values.get(epc)
            timed = fixed if isinstance(fixed, TimedEnergy) else None
            snapshot[at_key] = timed.timestamp.isoformat() if timed else None
            snapshot[kwh_key] = timed.kwh if timed else None
    return snapshot


def _table(snapshot: dict[str, object]) -> str:
    def kwh(key: str) -> str:
        value = snapshot.get(key)
        return _fmt_kwh(value if isinstance(value, Decimal) else None)

    def amps(key: str) -> str:
        value = snapshot.get(key)
        return _fmt_amps(value if isinstance(value, Decimal) else None)

    def at(key: str) -> str:
        stamp = snapshot.get(key)
        return f" at {stamp}" if stamp else ""

    power = snapshot[columns.POWER_W]
    rows = [
        ("instantaneous power", "no data" if power is None else f"{power} W"),
        ("current R / T", f"{amps(columns.CURRENT_R_A)} / {amps(columns.CURRENT_T_A)}"),
        ("cumulative bought", kwh(columns.BOUGHT_KWH)),
        ("cumulative sold", kwh(columns.SOLD_KWH)),
    ]
    if "fixed_bought_at" in snapshot:
        rows += [
            ("fixed-time bought", kwh("fixed_bought_kwh") + at("fixed_bought_at")),
            ("fixed-time sold", kwh("fixed_sold_kwh") + at("fixed_sold_at")),
        ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


# ---------------------------------------------------------------------------- commands


async def _cmd_read(args: argparse.Namespace, out: TextIO) -> int:
    async with _meter(args) as meter:
        snapshot = _snapshot(await meter.get(*_SNAPSHOT_EPCS), _stamp(args, meter))
    if args.format == "json":
        out.write(json.dumps(snapshot, default=_json_default) + "\n")
    else:
        out.write(_table(snapshot) + "\n")
    return EXIT_OK


async def _cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    fmt = args.format or ("table" if out.isatty() and not args.output else "jsonl")
    async with contextlib.AsyncExitStack() as stack:
        sink = out
        if args.output:
            # Opened before connecting: a bad path fails at once, not after the scan.
            sink = stack.enter_context(_open_for_append(args.output))
        writer = columns.csv_writer(sink) if fmt == "csv" else None
        if writer is not None and _needs_header(sink):
            writer.writerow(columns.WATCH_COLUMNS)
            sink.flush()
        reads = 0
        # watch's stdout is its data: the status line only with -v.
        status = StatusLine("watch", quiet=not _LOGGER.isEnabledFor(logging.INFO))

        async def body(meter: SmartMeter) -> None:
            nonlocal reads
            pushes = asyncio.create_task(_print_pushes(meter, sink, fmt))
            try:
                reads = await _watch_loop(meter, args, sink, fmt, reads, status=status)
            finally:
                pushes.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pushes

        await run_forever(_service_meter(args), body, retry_max=args.retry_max, status=status)
    return EXIT_OK


def _open_for_append(path: str) -> TextIO:
    """Open a regular file of ours (or a new one) for appending, without blocking.

    A FIFO, a device node, a symlink or another user's file is refused: opening a FIFO
    would block until a reader comes, and the others are not ours to write.
    """
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # a symlink; a FIFO without a reader
            raise CliError(f"cannot use {path}: not a regular file") from exc
        raise
    info = os.fstat(fd)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = "not a regular file"
    elif info.st_uid != os.geteuid():
        problem = "it belongs to another user"
    if problem is not None:
        os.close(fd)
        raise CliError(f"cannot use {path}: {problem}")
    os.set_blocking(fd, True)
    return open(fd, "a", encoding="utf-8", newline="")


def _needs_header(sink: TextIO) -> bool:
    """A CSV header goes at the top of a new or empty file, and on pipes and terminals."""
    try:
        return not sink.seekable() or sink.tell() == 0
    except (OSError, ValueError):
        return True


async def _watch_loop(
    meter: SmartMeter,
    args: argparse.Namespace,
    sink: TextIO,
    fmt: str,
    reads: int,
    *,
    status: StatusLine,
) -> int:
    """Print a reading every ``--interval`` seconds; returns after ``--count`` readings."""
    log = RateLimitedLog()
    backoff = Backoff(args.retry_max)
    writer = columns.csv_writer(sink) if fmt == "csv" else None
    while args.count is None or reads < args.count:
        started = time.monotonic()
        values = await read_round(meter, _WATCH_EPCS, log=log, status=status, backoff=backoff)
        if values is not None:
            snapshot = _snapshot(values, _stamp(args, meter))
            reads += 1
            if writer is not None:
                writer.writerow(
                    ["" if snapshot[k] is None else snapshot[k] for k in columns.WATCH_COLUMNS]
                )
            elif fmt == "jsonl":
                sink.write(json.dumps(snapshot, default=_json_default) + "\n")
            else:
                sink.write("\x1b[2J\x1b[H" if sink.isatty() else "\n")
                sink.write(f"{snapshot[columns.TIME]}\n{_table(snapshot)}\n")
            sink.flush()
            if args.count is not None and reads >= args.count:
                break
        await asyncio.sleep(max(0.0, args.interval - (time.monotonic() - started)))
    return reads


async def _print_pushes(meter: SmartMeter, sink: TextIO, fmt: str) -> None:
    """The meter's 30-minute push, as extra lines (not in CSV, whose columns are fixed)."""
    if fmt == "csv":
        return
    async for note in meter.notifications():
        for epc, value in note.values.items():
            if isinstance(value, TimedEnergy) and epc in (0xEA, 0xEB):
                key = columns.SOLD_KWH if epc == 0xEB else columns.BOUGHT_KWH
                record = {
                    "push": "fixed_time",
                    columns.TIME: value.timestamp.isoformat(),
                    key: value.kwh,
                }
                if fmt == "table":
                    direction = "sold" if epc == 0xEB else "bought"
                    sink.write(
                        f"push: {direction} {_fmt_kwh(value.kwh)} at {record[columns.TIME]}\n"
                    )
                else:
                    sink.write(json.dumps(record, default=_json_default) + "\n")
                sink.flush()


async def _cmd_history(args: argparse.Namespace, out: TextIO) -> int:
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


async def _cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    async with contextlib.AsyncExitStack() as stack:
        if args.simulate:
            stream, _, _ = await stack.enter_async_context(_simulator(args))
        else:
            if not args.port:
                raise CliError(
                    "no port: pass --port /dev/ttyUSB0 (or set AIOBROUTE_PORT)", EXIT_USAGE
                )
            stream = await open_port(args.port)
        sk = await stack.enter_async_context(SkStackClient(stream, family=_family(args.model)))
        await sk.initialize()
        started = time.monotonic()
        ticker = asyncio.create_task(_tick(started))
        try:
            pans = await sk.scan(stop_when_found=False, durations=(4, 5, 6))
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        _progress_done(f"scan finished in {time.monotonic() - started:.1f} s")
    _print_pans(pans, out)
    if not pans:
        print(
            "no PAN found: move the dongle closer to the meter, check the B-route activation",
            file=sys.stderr,
        )
    return EXIT_OK if pans else EXIT_NO_PAN


async def _tick(started: float) -> None:
    while True:
        _progress(f"scanning... {time.monotonic() - started:5.1f} s")
        await asyncio.sleep(0.5)


def _print_pans(pans: Sequence[PanDescriptor], out: TextIO) -> None:
    out.write("channel  pan_id  mac               lqi  rssi_dbm  pair_id\n")
    for pan in sorted(pans, key=lambda p: p.lqi, reverse=True):
        out.write(
            f"{pan.channel:02X}       {pan.pan_id:04X}    {pan.addr}  {pan.lqi:3d}  "
            f"{pan.rssi_dbm:8.1f}  {pan.pair_id or '-'}\n"
        )


async def _cmd_info(args: argparse.Namespace, out: TextIO) -> int:
    async with _meter(args) as meter:
        info = await meter.info()
        module = meter.sk.module_info
    rows: list[tuple[str, object]] = []
    if module is not None:
        rows += [
            ("module family", module.family.name),
            ("module version", module.version),
            ("module app version", module.app_version or "-"),
        ]
    rows += [
        ("meter address", info.ipaddr),
        ("manufacturer", _maker(info.manufacturer_code)),
        ("serial number", info.serial_number or "-"),
        ("release", info.release or "-"),
        ("fault", {True: "fault", False: "no fault", None: "-"}[info.fault]),
        ("coefficient", info.coefficient),
        ("unit", f"{info.unit_kwh} kWh"),
        ("effective digits", info.digits if info.digits is not None else "-"),
        ("get map", " ".join(f"{e:02X}" for e in sorted(info.get_map))),
        ("set map", " ".join(f"{e:02X}" for e in sorted(info.set_map))),
        ("announce map", " ".join(f"{e:02X}" for e in sorted(info.announcement_map))),
    ]
    width = max(len(name) for name, _ in rows)
    out.write("\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n")
    return EXIT_OK


def _maker(code: int | None) -> str:
    """``Toshiba (000016)``; an unknown code as hex alone; ``-`` when the meter did not say."""
    if code is None:
        return "-"
    name = manufacturer_name(code)
    return name if name == f"{code:06X}" else f"{name} ({code:06X})"


def _cmd_simulate(argv: list[str]) -> int:
    from aiobroute.testing.__main__ import main as simulate_main

    return simulate_main(argv)


#: Subcommands that live in a module of their own: name -> (module, one-line help).
#: Each module defines ``add_arguments(parser)`` and ``async def run(args, out) -> int``;
#: it is imported only when the parser is built, and should import optional
#: dependencies (aiomqtt, prometheus_client, sqlite3) lazily inside ``run``.
_MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "mqtt": ("aiobroute.cli.mqtt", "publish to Home Assistant over MQTT until stopped"),
    "exporter": ("aiobroute.cli.exporter", "serve Prometheus metrics until stopped"),
    "record": ("aiobroute.cli.record", "keep a complete half-hourly record in SQLite"),
    "export": ("aiobroute.cli.export", "export a record database (CSV, JSON, Home Assistant)"),
}


def _needs_credentials(name: str) -> bool:
    """Whether a command talks to a meter (a module may say ``NEEDS_CREDENTIALS = False``)."""
    if name == "scan":
        return False
    if name in _MODULE_COMMANDS:
        module = importlib.import_module(_MODULE_COMMANDS[name][0])
        return bool(getattr(module, "NEEDS_CREDENTIALS", True))
    return True


def _command(name: str) -> Callable[[argparse.Namespace, TextIO], Any]:
    if name in _MODULE_COMMANDS:
        run: Callable[[argparse.Namespace, TextIO], Any] = importlib.import_module(
            _MODULE_COMMANDS[name][0]
        ).run
        return run
    return _COMMANDS[name]


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], Any]] = {
    "read": _cmd_read,
    "watch": _cmd_watch,
    "history": _cmd_history,
    "scan": _cmd_scan,
    "info": _cmd_info,
}


#: Where each message's troubleshooting row is (docs/guides/troubleshooting.md).
_TROUBLESHOOTING = "https://aiobroute.readthedocs.io/en/latest/guides/troubleshooting/"


def _see(anchor: str) -> str:
    return f" See {_TROUBLESHOOTING}#{anchor}"


def _permission_denied(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, PermissionError) or getattr(cause, "errno", None) == errno.EACCES:
            return True
        cause = cause.__cause__
    return "Permission denied" in str(exc)


def _explain(exc: BaseException) -> CliError:
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, AuthenticationError):
        return CliError(
            "joining the meter failed: PANA authentication was refused. Likely cause: a wrong "
            "B-route ID or password, or a B route not yet activated. Check the credentials "
            "sent by the grid company." + _see("pana-authentication-was-refused"),
            EXIT_AUTH,
        )
    if isinstance(exc, ScanError) and not isinstance(exc, AiobrouteTimeoutError):
        return CliError(
            "no smart meter answered the scan. Likely cause: the dongle is too far from the "
            "meter or the B route is not activated. Move the dongle closer and try again."
            + _see("no-smart-meter-answered-the-scan"),
            EXIT_NO_PAN,
        )
    if isinstance(exc, TransportError) and _permission_denied(exc):
        return CliError(
            f"cannot use the port: {exc}. Permission denied: add your user to the group that "
            "owns the device (usually dialout: sudo usermod -aG dialout $USER, then log in "
            "again)." + _see("permission-denied-on-the-port"),
            EXIT_PORT,
        )
    if isinstance(exc, TransportError):
        return CliError(
            f"cannot use the port: {exc}. Check the --port path, that the dongle is plugged "
            "in, and that no other program uses it." + _see("cannot-use-the-port"),
            EXIT_PORT,
        )
    if isinstance(exc, CommandTimeoutError):
        return CliError(
            f"the dongle does not answer: {exc}. Check that --port is the Wi-SUN dongle (not "
            "another serial port with nothing behind it), that it runs at 115200 baud, and "
            "unplug and replug it." + _see("the-dongle-does-not-answer"),
            EXIT_PORT,
        )
    if isinstance(exc, AiobrouteTimeoutError):
        return CliError(
            f"timed out: {exc}. The radio link may be weak; try again, or move the dongle."
            + _see("timed-out"),
            EXIT_TIMEOUT,
        )
    if isinstance(exc, InvalidArgumentError):
        return CliError(str(exc), EXIT_USAGE)
    if isinstance(exc, AiobrouteError):
        return CliError(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError) and exc.filename is not None:
        return CliError(f"cannot use {exc.filename}: {exc.strerror or exc}")
    return CliError(f"unexpected error: {type(exc).__name__}: {exc}")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class _TerminatedError(Exception):
    """SIGTERM arrived; the command was cancelled and cleaned up."""


async def _until_terminated(coro: Coroutine[Any, Any, int]) -> int:
    """Run ``coro``; on SIGTERM cancel it (so sessions end cleanly) and raise _TerminatedError."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
        return await task
    try:
        code = await task
    except asyncio.CancelledError:
        if terminated:
            raise _TerminatedError from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    if terminated:
        raise _TerminatedError
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Each call runs its own event loop (``asyncio.run``), so it cannot be called from a
    running loop's thread.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["simulate"]:
        # Everything after "simulate" belongs to the simulator's own parser.
        return _cmd_simulate(arguments[1:])
    args = _parser().parse_args(arguments)
    command = _command(args.command)
    with _logging(args.verbose):
        args.credentials = None
        try:
            if _needs_credentials(args.command) and not args.simulate and args.port:
                # Asked before the event loop starts, so Ctrl-C at the prompt just works.
                args.credentials = _credentials(args)
            return int(asyncio.run(_until_terminated(command(args, sys.stdout))))
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except _TerminatedError:
            print("terminated", file=sys.stderr)
            return EXIT_TERMINATED
        except BrokenPipeError:
            # The reader went away (`aiobroute export ... | head`): stop quietly, as other
            # command-line tools do, and keep the interpreter from complaining at exit.
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        except Exception as exc:
            error = _explain(exc)
            if args.verbose >= 2:
                _LOGGER.exception("%s failed", args.command)
            print(f"error: {error}", file=sys.stderr)
            return error.code
