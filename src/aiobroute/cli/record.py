"""``aiobroute record``: keep a complete half-hourly record in an SQLite database.

Runs until Ctrl-C or SIGTERM; a one-line status goes to stderr (rewritten in place on a
terminal, one line per change otherwise). ``--simulate`` records the built-in simulated
meter, whose household is the same in every run (so a restarted recorder sees the same
past), living in the present 200 times faster than real time.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, TextIO

from aiobroute._time import now_jst
from aiobroute.cli._service import positive_seconds

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter
    from aiobroute.recorder import MeterClock, RecorderStatus
    from aiobroute.testing import Simulator

__all__ = ["add_arguments", "run"]

#: The simulated meter's counters read their initial values at this instant, in every run.
SIMULATED_EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=9)))
#: Simulated seconds per real second of ``record --simulate``.
SIMULATED_SPEED = 200.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aiobroute record``."""
    from aiobroute.cli import _int_range

    parser.add_argument("--db", required=True, help="SQLite database file (created if missing)")
    parser.add_argument(
        "--interval",
        type=positive_seconds,
        default=None,
        help="also store instantaneous power and currents (E7/E8) every S seconds",
    )
    parser.add_argument(
        "--backfill-days",
        type=_int_range(0, 99),
        default=None,
        help="fill gaps at most N days before today (default: as far back as the meter answers)",
    )


def _make_simulator(model: str) -> Simulator:
    """The simulator of ``record --simulate`` (a test hook, like ``cli._make_simulator``).

    The counters are anchored at :data:`SIMULATED_EPOCH`, so every run sees the same
    readings for the same instants; the clock starts at the present.
    """
    from aiobroute.testing import SimClock, Simulator

    clock = SimClock(SIMULATED_EPOCH, speed=SIMULATED_SPEED)
    clock.advance((now_jst().replace(microsecond=0) - SIMULATED_EPOCH).total_seconds())
    return Simulator(model, seed=1, timing="realistic", clock=clock)


@contextlib.asynccontextmanager
async def _connect(args: argparse.Namespace) -> AsyncIterator[tuple[SmartMeter, MeterClock | None]]:
    from aiobroute import cli

    if not args.simulate:
        async with cli._meter(args) as meter:
            yield meter, None
        return
    try:
        sim = _make_simulator(args.model or "BP35A1")
    except (KeyError, ValueError) as exc:
        raise cli.CliError(
            f"unknown simulated --model {args.model!r}: use BP35A1, RL7023_IPS, BP35C2, "
            "RS-WSUHA-P or RL7023_DSS",
            cli.EXIT_USAGE,
        ) from exc
    async with sim.smart_meter(cache_path=args.cache) as meter:
        yield meter, sim.clock


class _StatusLine:
    """The status on stderr: rewritten in place on a terminal, else one line per change."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = stream.isatty()
        self._last = ""
        self._backfilling = False

    def __call__(self, status: RecorderStatus) -> None:
        text = status.line()
        if text == self._last:
            return
        if self._tty:
            print(f"\r{text}\x1b[K", end="", file=self._stream, flush=True)
        elif not (status.backfilling and self._backfilling):
            # Off a terminal, a backfill gives one line when it starts and one when it ends.
            print(text, file=self._stream, flush=True)
        self._last = text
        self._backfilling = status.backfilling

    def close(self, status: RecorderStatus) -> None:
        text = "stopped: " + status.line().partition(": ")[2]
        if self._tty:
            text = f"\r{text}\x1b[K"
        print(text, file=self._stream, flush=True)


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Record until interrupted (SIGTERM and Ctrl-C end it cleanly)."""
    from aiobroute import cli
    from aiobroute.recorder import RecordDatabaseError, Recorder, RecordStore

    del out  # the record goes to the database; the status to stderr
    try:
        store = await RecordStore.open(args.db)  # a bad path fails before connecting
    except RecordDatabaseError as exc:
        raise cli.CliError(f"cannot use --db: {exc}", cli.EXIT_USAGE) from None
    status_line = _StatusLine(sys.stderr)
    recorder: Recorder | None = None
    try:
        async with _connect(args) as (meter, clock):
            recorder = Recorder(
                meter,
                store,
                interval=args.interval,
                backfill_days=args.backfill_days,
                clock=clock,
                on_status=status_line,
            )
            await recorder.run()
    finally:
        if recorder is not None:
            status_line.close(recorder.status)
        await store.close()
    return cli.EXIT_OK  # pragma: no cover - run() only ends by raising
