"""What the recorder reports and relies on: its status, backfill reports, the meter's
clock and identity, and the half-hour arithmetic of the meter's time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Protocol

import attrs

from aiobroute._time import JST
from aiobroute.supervisor import ConnectionState

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter

__all__ = ["BackfillReport", "MeterClock", "RecorderStatus", "meter_key"]

HALF_HOUR = dt.timedelta(minutes=30)
#: E5 accepts 0..99: the furthest a meter can answer.
MAX_HISTORY_DAYS = 99
UP_STATES = (ConnectionState.READY, ConnectionState.RATE_LIMITED)


class MeterClock(Protocol):
    """The meter's wall clock as the recorder sees it.

    The default follows :meth:`SmartMeter.meter_now` and sleeps with :func:`asyncio.sleep`;
    tests pass the simulator's :class:`~aiobroute.testing.SimClock`, whose time can run
    fast or jump.
    """

    def now(self) -> dt.datetime:
        """The meter's current time (timezone-aware)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class MeterNow:
    def __init__(self, meter: SmartMeter) -> None:
        self._meter = meter

    def now(self) -> dt.datetime:
        return self._meter.meter_now()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


@attrs.frozen
class RecorderStatus:
    """What the recorder has done since it started (for a status line).

    Attributes:
        slots_recorded: readings stored by this run (pushes, live reads and backfill).
        gaps_filled: of those, readings that came from the meter's history (backfill).
        gaps_left: readings still missing in the backfill window after the last pass.
        no_data: readings in the window for which the meter has no data.
        conflicts: values that differed from what was stored (kept; logged).
        last_reading: the newest reading instant stored by this run.
        backfilling: a backfill pass is running.
        backfills: backfill passes completed.
        state: the meter's connection state.
    """

    slots_recorded: int = 0
    gaps_filled: int = 0
    gaps_left: int = 0
    no_data: int = 0
    conflicts: int = 0
    last_reading: dt.datetime | None = None
    backfilling: bool = False
    backfills: int = 0
    state: ConnectionState = ConnectionState.READY

    def line(self) -> str:
        """The status as one line of text."""
        last = f", last {self.last_reading:%Y-%m-%d %H:%M}" if self.last_reading else ""
        if self.backfilling:
            activity = "backfilling"
        elif not self.backfills and self.state in UP_STATES:
            activity = "starting"
        else:
            activity = self.state.value
        return (
            f"{activity}: {self.slots_recorded} slots recorded, {self.gaps_filled} gaps "
            f"filled, {self.gaps_left} gaps left, {self.no_data} without data{last}"
        )


@attrs.frozen
class BackfillReport:
    """The outcome of one backfill pass.

    Attributes:
        filled: readings stored by the pass.
        no_data: readings the meter answered "no data" for (final ones are stored as such).
        missing: readings still missing in the window afterwards.
        frames: ECHONET Lite requests sent by the pass.
        complete: the pass went through the whole window (False: interrupted by a lost
            connection; it runs again after the reconnect).
    """

    filled: int
    no_data: int
    missing: int
    frames: int
    complete: bool


def floor_slot(when: dt.datetime) -> dt.datetime:
    when = when.astimezone(JST)
    return when.replace(minute=when.minute - when.minute % 30, second=0, microsecond=0)


def midnight(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, tzinfo=JST)


def meter_key(manufacturer_code: int | None, serial_number: str | None, address: str) -> str:
    """The identity of a meter: ``MMMMMM-SERIAL``, or ``addr-ADDRESS`` without 8A/8D."""
    serial = "".join(
        c for c in (serial_number or "") if c.isascii() and (c.isalnum() or c in "-_.")
    )
    if manufacturer_code is not None and serial:
        return f"{manufacturer_code:06X}-{serial}"
    return f"addr-{address}"
