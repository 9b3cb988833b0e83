"""``aiobroute watch``: print readings every ``--interval`` seconds until Ctrl-C.

The output (a table, JSON lines or CSV) goes to stdout or is appended to ``--output``;
the meter's 30-minute pushes become extra lines (not in CSV).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import logging
import os
import stat
import time
from typing import TextIO

from aiobroute import columns
from aiobroute.cli import _LOGGER, EXIT_OK, CliError, _json_default, _service_meter, _stamp
from aiobroute.cli._service import Backoff, RateLimitedLog, StatusLine, read_round, run_forever
from aiobroute.cli.read import _fmt_kwh, _snapshot, _table
from aiobroute.meter import SmartMeter
from aiobroute.models import TimedEnergy

__all__ = ["run"]


#: What each ``watch`` round asks for (one frame).
_WATCH_EPCS = (0xE7, 0xE8, 0xE0, 0xE3)


async def run(args: argparse.Namespace, out: TextIO) -> int:
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
