"""The ``aiobroute`` command: read, watch, history, scan, info, simulate.

Credentials come from ``AIOBROUTE_RBID`` / ``AIOBROUTE_PASSWORD`` or a prompt; with
``--simulate`` every command runs against the built-in simulated dongle and meter.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import datetime as dt
import getpass
import io
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import Any, TextIO

from aiobroute._log import TRACE
from aiobroute._time import now_jst
from aiobroute._version import __version__
from aiobroute.errors import (
    AiobrouteError,
    AiobrouteTimeoutError,
    AuthenticationError,
    InvalidArgumentError,
    JoinError,
    ScanError,
    TransportError,
)
from aiobroute.meter import SmartMeter
from aiobroute.models import InstantCurrent, IntervalEnergy, TimedEnergy
from aiobroute.skstack import ModuleFamily, PanDescriptor
from aiobroute.skstack.client import SkStackClient
from aiobroute.transport import ByteStream, open_port

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

_SNAPSHOT_EPCS = (0xE7, 0xE8, 0xE0, 0xE3, 0xEA, 0xEB)


class CliError(Exception):
    """A failure worth one line: what failed, the likely cause, what to try."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------- parsing


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
    watch.add_argument("--interval", type=float, default=10.0, help="seconds between reads")
    watch.add_argument("--format", choices=("table", "jsonl", "csv"), default=None)
    watch.add_argument("--output", help="append to this file instead of stdout")
    watch.add_argument("--count", type=int, default=None, help="stop after this many reads")

    history = sub.add_parser("history", parents=[common], help="half-hourly history as CSV/JSON")
    group = history.add_mutually_exclusive_group()
    group.add_argument("--days", type=int, default=None, help="the last N days (1-100)")
    group.add_argument("--hours", type=int, default=None, help="the last N hours (1-6, 0xEC)")
    history.add_argument("--reverse", action="store_true", help="energy sold (export)")
    history.add_argument("--format", choices=("csv", "json"), default="csv")

    sub.add_parser("scan", parents=[common], help="list the PANs (meters) in range")
    sub.add_parser("info", parents=[common], help="module and meter information")

    simulate = sub.add_parser(
        "simulate", help="serve the simulated dongle on a pseudo-terminal until Ctrl-C"
    )
    simulate.add_argument("args", nargs=argparse.REMAINDER, help="options of the simulator")
    return parser


# ---------------------------------------------------------------------------- helpers


def _setup_logging(verbose: int) -> None:
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    if verbose >= 3:
        level = TRACE
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


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


@contextlib.asynccontextmanager
async def _meter(args: argparse.Namespace, **options: Any) -> AsyncIterator[SmartMeter]:
    family = None if args.simulate else _family(args.model)
    if args.simulate:
        async with _simulator(args) as (stream, rbid, password):
            meter = SmartMeter(
                stream,
                rbid=rbid,
                password=password,
                cache_path=args.cache,
                min_interval=0.0,
                **options,
            )
            async with meter:
                yield meter
        return
    if not args.port:
        raise CliError("no port: pass --port /dev/ttyUSB0 (or set AIOBROUTE_PORT)", EXIT_USAGE)
    rbid, password = _credentials(args)
    meter = SmartMeter(
        args.port, rbid=rbid, password=password, family=family, cache_path=args.cache, **options
    )
    async with meter:
        yield meter


@contextlib.asynccontextmanager
async def _simulator(
    args: argparse.Namespace,
) -> AsyncIterator[tuple[ByteStream, str, str]]:
    from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator

    model = (args.model or "BP35A1").upper().replace("-", "_")
    try:
        sim = Simulator(model, seed=1, timing="realistic", speed=200.0)
    except (KeyError, ValueError) as exc:
        raise CliError(f"unknown simulated --model {args.model!r}", EXIT_USAGE) from exc
    async with sim.memory() as stream:
        yield stream, DEFAULT_RBID, DEFAULT_PASSWORD


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


def _snapshot(values: dict[int, object]) -> dict[str, object]:
    current = values.get(0xE8)
    fixed = values.get(0xEA)
    fixed_rev = values.get(0xEB)
    power = values.get(0xE7)
    return {
        "time": now_jst().isoformat(timespec="seconds"),
        "instant_power_w": power if isinstance(power, int) else None,
        "current_r_a": current.r_amperes if isinstance(current, InstantCurrent) else None,
        "current_t_a": current.t_amperes if isinstance(current, InstantCurrent) else None,
        "energy_normal_kwh": values.get(0xE0),
        "energy_reverse_kwh": values.get(0xE3),
        "fixed_time": fixed.timestamp.isoformat() if isinstance(fixed, TimedEnergy) else None,
        "fixed_time_normal_kwh": fixed.kwh if isinstance(fixed, TimedEnergy) else None,
        "fixed_time_reverse_kwh": fixed_rev.kwh if isinstance(fixed_rev, TimedEnergy) else None,
    }


def _table(snapshot: dict[str, object]) -> str:
    def kwh(key: str) -> str:
        value = snapshot[key]
        return _fmt_kwh(value if isinstance(value, Decimal) else None)

    def amps(key: str) -> str:
        value = snapshot[key]
        return _fmt_amps(value if isinstance(value, Decimal) else None)

    power = snapshot["instant_power_w"]
    rows = [
        ("instantaneous power", "no data" if power is None else f"{power} W"),
        ("current R / T", f"{amps('current_r_a')} / {amps('current_t_a')}"),
        ("cumulative bought", kwh("energy_normal_kwh")),
        ("cumulative sold", kwh("energy_reverse_kwh")),
        ("fixed-time bought", f"{kwh('fixed_time_normal_kwh')} at {snapshot['fixed_time']}"),
        ("fixed-time sold", kwh("fixed_time_reverse_kwh")),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


# ---------------------------------------------------------------------------- commands


async def _cmd_read(args: argparse.Namespace, out: TextIO) -> int:
    async with _meter(args) as meter:
        snapshot = _snapshot(await meter.get(*_SNAPSHOT_EPCS))
    if args.format == "json":
        out.write(json.dumps(snapshot, default=_json_default) + "\n")
    else:
        out.write(_table(snapshot) + "\n")
    return EXIT_OK


async def _cmd_watch(args: argparse.Namespace, out: TextIO) -> int:
    fmt = args.format or ("table" if out.isatty() and not args.output else "jsonl")
    sink: TextIO = out
    handle: TextIO | None = None
    if args.output:
        handle = open(args.output, "a", encoding="utf-8", newline="")  # noqa: SIM115, ASYNC230
        sink = handle
    try:
        async with _meter(args) as meter:
            pushes = asyncio.create_task(_print_pushes(meter, sink, fmt))
            try:
                await _watch_loop(meter, args, sink, fmt)
            finally:
                pushes.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pushes
    finally:
        if handle is not None:
            handle.close()
    return EXIT_OK


async def _watch_loop(meter: SmartMeter, args: argparse.Namespace, sink: TextIO, fmt: str) -> None:
    writer = csv.writer(sink) if fmt == "csv" else None
    reads = 0
    while args.count is None or reads < args.count:
        started = time.monotonic()
        snapshot = _snapshot(await meter.get(0xE7, 0xE8, 0xE0, 0xE3))
        reads += 1
        if writer is not None:
            if reads == 1 and (not sink.seekable() or sink.tell() == 0):
                writer.writerow(["time", *(k for k in snapshot if k != "time")])
            writer.writerow([snapshot["time"], *(v for k, v in snapshot.items() if k != "time")])
        elif fmt == "jsonl":
            sink.write(json.dumps(snapshot, default=_json_default) + "\n")
        else:
            sink.write("\x1b[2J\x1b[H" if sink.isatty() else "\n")
            sink.write(_table(snapshot) + "\n")
        sink.flush()
        if args.count is not None and reads >= args.count:
            break
        await asyncio.sleep(max(0.0, args.interval - (time.monotonic() - started)))


async def _print_pushes(meter: SmartMeter, sink: TextIO, fmt: str) -> None:
    async for note in meter.notifications():
        for epc, value in note.values.items():
            if isinstance(value, TimedEnergy) and epc in (0xEA, 0xEB):
                record = {
                    "push": "sold" if epc == 0xEB else "bought",
                    "time": value.timestamp.isoformat(),
                    "kwh": value.kwh,
                }
                if fmt == "table":
                    sink.write(
                        f"push: {record['push']} {_fmt_kwh(value.kwh)} at {record['time']}\n"
                    )
                else:
                    sink.write(json.dumps(record, default=_json_default) + "\n")
                sink.flush()


async def _cmd_history(args: argparse.Namespace, out: TextIO) -> int:
    rows: list[dict[str, object]] = []
    async with _meter(args) as meter:
        if args.hours is not None:
            if not 1 <= args.hours <= 6:
                raise CliError("--hours must be 1..6 (the meter keeps 12 half-hours)", EXIT_USAGE)
            entries: list[IntervalEnergy] = await meter.history_30min(
                meter.meter_now(), count=args.hours * 2
            )
            rows = [
                {
                    "time": e.timestamp.isoformat(),
                    "normal_kwh": e.normal_kwh,
                    "reverse_kwh": e.reverse_kwh,
                }
                for e in entries
            ]
        else:
            days = args.days or 1
            if not 1 <= days <= 100:
                raise CliError("--days must be 1..100 (the meter keeps 100 days)", EXIT_USAGE)
            for index, day in enumerate(range(days - 1, -1, -1)):
                if days > 1:
                    print(f"\rfetching day {index + 1}/{days}", end="", file=sys.stderr)
                day_entries = await meter.history(day, reverse=args.reverse)
                usage = meter.usage(day_entries)
                for slot, entry in enumerate(day_entries):
                    rows.append(
                        {
                            "time": entry.timestamp.isoformat(),
                            "kwh": entry.kwh,
                            "usage_kwh": usage[slot] if slot < len(usage) else None,
                        }
                    )
            if days > 1:
                print(file=sys.stderr)
    if args.format == "json":
        out.write(json.dumps(rows, default=_json_default, indent=1) + "\n")
    elif rows:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
        out.write(buffer.getvalue())
    return EXIT_OK


async def _cmd_scan(args: argparse.Namespace, out: TextIO) -> int:
    async with contextlib.AsyncExitStack() as stack:
        if args.simulate:
            stream, _, _ = await stack.enter_async_context(_simulator(args))
        else:
            if not args.port:
                raise CliError("no port: pass --port /dev/ttyUSB0", EXIT_USAGE)
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
        print(f"\rscan finished in {time.monotonic() - started:.1f} s", file=sys.stderr)
    _print_pans(pans, out)
    return EXIT_OK if pans else EXIT_NO_PAN


async def _tick(started: float) -> None:
    while True:
        print(f"\rscanning... {time.monotonic() - started:5.1f} s", end="", file=sys.stderr)
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
        ("manufacturer code", f"{info.manufacturer_code:06X}" if info.manufacturer_code else "-"),
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


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], Any]] = {
    "read": _cmd_read,
    "watch": _cmd_watch,
    "history": _cmd_history,
    "scan": _cmd_scan,
    "info": _cmd_info,
}


def _explain(exc: BaseException) -> CliError:
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, AuthenticationError):
        return CliError(
            "joining the meter failed: PANA authentication was refused. Likely cause: a wrong "
            "B-route ID or password, or a B route not yet activated. Check the credentials "
            "sent by the grid company.",
            EXIT_AUTH,
        )
    if isinstance(exc, ScanError):
        return CliError(
            "no smart meter answered the scan. Likely cause: the dongle is too far from the "
            "meter or the B route is not activated. Move the dongle closer and try again.",
            EXIT_NO_PAN,
        )
    if isinstance(exc, TransportError):
        return CliError(
            f"cannot use the port: {exc}. Check the --port path, that the dongle is plugged "
            "in, and that no other program uses it.",
            EXIT_PORT,
        )
    if isinstance(exc, AiobrouteTimeoutError):
        return CliError(
            f"timed out: {exc}. The radio link may be weak; try again, or move the dongle.",
            EXIT_TIMEOUT,
        )
    if isinstance(exc, JoinError | InvalidArgumentError | AiobrouteError):
        return CliError(f"{type(exc).__name__}: {exc}")
    return CliError(f"unexpected error: {type(exc).__name__}: {exc}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:
        # Everything after "simulate" belongs to the simulator's own parser.
        from aiobroute.testing.__main__ import main as simulate_main

        return simulate_main(argv[1:])
    args = _parser().parse_args(argv)
    _setup_logging(args.verbose)
    command = _COMMANDS[args.command]
    try:
        return int(asyncio.run(command(args, sys.stdout)))
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        error = _explain(exc)
        if args.verbose >= 2:
            _LOGGER.exception("%s failed", args.command)
        print(f"error: {error}", file=sys.stderr)
        return error.code
