"""What every long-running command shares: keep going through recoverable errors.

``watch``, ``mqtt`` and ``exporter`` run for months. A recoverable error (any
:class:`~aiobroute.errors.AiobrouteError` except a usage or credential error: a timeout,
``FAIL ER09``, a session being re-established, an unplugged dongle, no meter answering
the scan) never ends them: the reason is logged at most once per period per kind, they
wait (exponential backoff with a cap) and go on. A usage error (bad option values) or
refused credentials end them, since trying again cannot help.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from decimal import Decimal
from typing import Any, TextIO

from aiobroute import columns
from aiobroute.errors import AiobrouteError, AuthenticationError, InvalidArgumentError
from aiobroute.meter import SmartMeter
from aiobroute.models import InstantCurrent
from aiobroute.supervisor import ConnectionState, ReconnectPolicy

__all__ = [
    "READING_EPCS",
    "Backoff",
    "RateLimitedLog",
    "StatusLine",
    "add_service_arguments",
    "describe",
    "interval_seconds",
    "is_recoverable",
    "positive_seconds",
    "read_round",
    "reading_row",
    "run_forever",
    "run_together",
]

_LOGGER = logging.getLogger("aiobroute.cli")

#: One frame per round: power, currents, both cumulative counters.
READING_EPCS = (0xE7, 0xE8, 0xE0, 0xE3)


def is_recoverable(exc: BaseException) -> bool:
    """True for errors a long-running command waits out instead of exiting."""
    if not isinstance(exc, AiobrouteError):
        return False
    return not isinstance(exc, InvalidArgumentError | AuthenticationError)


def describe(exc: BaseException) -> str:
    """One line naming the error (messages never carry secrets; see errors.py)."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class RateLimitedLog:
    """Log a warning at most once per ``period`` seconds per key; count the rest."""

    def __init__(
        self,
        period: float = 60.0,
        *,
        logger: logging.Logger = _LOGGER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.period = period
        self._logger = logger
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def report(self, key: str, message: str) -> bool:
        """Log ``message`` unless ``key`` was logged less than ``period`` ago; True if logged."""
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self.period:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1
            return False
        skipped = self._suppressed.pop(key, 0)
        suffix = f" ({skipped} similar messages suppressed)" if skipped else ""
        self._logger.warning("%s%s", message, suffix)
        self._last[key] = now
        return True

    def reset(self, key: str) -> None:
        """Forget ``key`` (after a recovery the next failure is logged at once)."""
        self._last.pop(key, None)
        self._suppressed.pop(key, None)


class Backoff:
    """Growing delays between attempts (the library's :class:`ReconnectPolicy` rule)."""

    def __init__(self, cap: float) -> None:
        self.policy = ReconnectPolicy(initial=min(1.0, cap), factor=2.0, cap=cap, jitter=0.1)
        self.attempt = 0

    def next_delay(self) -> float:
        """The delay before the next attempt (grows until the cap)."""
        delay = self.policy.delay(self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from the shortest delay (after a success)."""
        self.attempt = 0


class StatusLine:
    """One line on stderr when the service starts and each time its state changes."""

    def __init__(self, name: str, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.name = name
        self._stream = stream
        self.quiet = quiet
        self.state: str | None = None

    def __call__(self, state: str, detail: str = "") -> None:
        """Print ``state`` (with ``detail``) if it differs from the last one printed."""
        if state == self.state:
            return
        self.state = state
        if self.quiet:
            return
        stream = self._stream or sys.stderr
        print(f"aiobroute {self.name}: {state}" + (f" ({detail})" if detail else ""), file=stream)
        stream.flush()


def add_service_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by the long-running commands."""
    parser.add_argument(
        "--retry-max",
        type=positive_seconds,
        default=60.0,
        metavar="SECONDS",
        help="longest wait between attempts to reconnect to the dongle, meter or broker "
        "(default 60)",
    )


def _float_seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None


def positive_seconds(text: str) -> float:
    """An argparse type: a finite number of seconds above 0."""
    value = _float_seconds(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def interval_seconds(text: str) -> float:
    """An argparse type: a number of seconds above 0 and below a day."""
    value = _float_seconds(text)
    if not 0 < value < 86400:
        raise argparse.ArgumentTypeError(f"must be more than 0 and less than a day, got {text}")
    return value


def _number(value: object) -> Decimal | int | None:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return value
    return None


def reading_row(values: Mapping[int, object], when: str) -> dict[str, object]:
    """A ``get(*READING_EPCS)`` result as a row of :data:`columns.WATCH_COLUMNS`."""
    current = values.get(0xE8)
    if not isinstance(current, InstantCurrent):
        current = InstantCurrent(None, None)
    return {
        columns.TIME: when,
        columns.POWER_W: _number(values.get(0xE7)),
        columns.CURRENT_R_A: current.r_amperes,
        columns.CURRENT_T_A: current.t_amperes,
        columns.BOUGHT_KWH: _number(values.get(0xE0)),
        columns.SOLD_KWH: _number(values.get(0xE3)),
    }


async def run_forever(
    connect: Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]],
    body: Callable[[SmartMeter], Awaitable[None]],
    *,
    retry_max: float,
    status: StatusLine,
    log: RateLimitedLog | None = None,
) -> None:
    """Connect and run ``body`` with the meter; on a recoverable error wait and do it again.

    ``body`` returns when it is done (``--count``), and so does this. The meter's own
    supervisor rides through session loss and replugs while ``body`` runs; when it gives
    up (the meter closes) or connecting fails, this backs off and starts over.

    Raises:
        AiobrouteError: an error that trying again cannot fix (credentials, usage).
    """
    log = log or RateLimitedLog()
    backoff = Backoff(retry_max)
    status("connecting")  # not again on each retry: "waiting" stays until it works
    while True:
        try:
            async with connect() as meter:
                backoff.reset()
                log.reset("connect")
                status("connected", f"meter {meter.ipaddr or '?'}")
                await body(meter)
                return
        except Exception as exc:
            if not is_recoverable(exc):
                raise
            delay = backoff.next_delay()
            status("waiting", "the dongle or the meter cannot be reached; retrying")
            # (the next success prints "connected" again)
            log.report(
                "connect", f"cannot reach the meter: {describe(exc)}; retrying in {delay:.0f} s"
            )
            await asyncio.sleep(delay)


async def read_round(
    meter: SmartMeter,
    epcs: tuple[int, ...],
    *,
    log: RateLimitedLog,
    status: StatusLine,
    backoff: Backoff,
) -> dict[int, object] | None:
    """One ``get``; None (logged, rate-limited) after a recoverable error.

    After a failure it waits ``backoff``'s next delay before returning, so failures that
    come at once (a session being re-established) never make a busy loop.

    Raises:
        AiobrouteError: not recoverable, or the meter closed (its supervisor gave up):
            :func:`run_forever` then connects again.
    """
    try:
        values = await meter.get(*epcs)
    except Exception as exc:
        if not is_recoverable(exc) or meter.state is ConnectionState.CLOSED:
            raise
        status("degraded", "no reading; the session is being re-established")
        log.report("read", f"no reading this round: {describe(exc)}")
        await asyncio.sleep(backoff.next_delay())
        return None
    backoff.reset()
    log.reset("read")
    status("ok", "readings flow")
    return values


async def run_together(*coros: Coroutine[Any, Any, None]) -> None:
    """Run ``coros`` as tasks until the first one ends; then stop the others and wait.

    The first one's exception (if any) is raised as is, not wrapped in a group. When the
    caller is cancelled (SIGTERM, Ctrl-C), every task is cancelled and waited for, so
    each can say goodbye (``offline``, the meter session's end) before this returns.
    """
    tasks = [asyncio.create_task(coro) for coro in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
    for task in tasks:
        if task in done and not task.cancelled():
            error = task.exception()
            if error is not None:
                raise error
