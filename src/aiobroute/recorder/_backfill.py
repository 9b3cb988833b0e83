"""Backfill planning: which readings of the window are missing, and reading them from
the meter's history with E2/E4 per day or EC, whichever takes fewer frames."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from aiobroute.errors import MeterError, ServiceNotAvailableError
from aiobroute.models import TimedEnergy
from aiobroute.recorder._model import PutResult, SlotValue, Source
from aiobroute.recorder._status import (
    HALF_HOUR,
    MAX_HISTORY_DAYS,
    MeterClock,
    floor_slot,
    midnight,
)
from aiobroute.recorder._store import RecordStore

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter

__all__: list[str] = []

_LOGGER = logging.getLogger("aiobroute.recorder")
_DAY_SLOTS = 48
#: A "no data" answer for a reading younger than this may still be filled by the meter.
_FINAL_AGE = dt.timedelta(hours=2)
_EC_COUNT = 12


class _MidnightPassedError(Exception):
    """The meter's date changed during a day read: its "day N" is ambiguous."""


class _Backfill:
    """The backfill planning and history reads of :class:`Recorder` (a mixin: the state
    it uses is the recorder's)."""

    meter: SmartMeter
    store: RecordStore
    clock: MeterClock
    backfill_days: int | None
    _meter_id: int | None
    _key: str | None
    _reverse: bool
    _use_ec: bool
    _history_days: int | None
    _last_date: dt.date | None
    _backfill_lock: asyncio.Lock

    if TYPE_CHECKING:

        async def _put(self, source: Source, values: Sequence[SlotValue]) -> PutResult: ...

    def _window_days(self) -> int:
        days = MAX_HISTORY_DAYS if self._history_days is None else self._history_days
        if self.backfill_days is not None:
            days = min(days, self.backfill_days)
        return days

    async def _needed(
        self, now: dt.datetime
    ) -> tuple[dt.datetime, dt.datetime, dict[dt.datetime, tuple[bool, bool]]]:
        """The window and, for each instant in it, which directions are still needed."""
        meter_id = self._meter_id
        if meter_id is None:  # pragma: no cover - identified before
            raise RuntimeError("not identified")
        latest = floor_slot(now)
        start = midnight(now.date() - dt.timedelta(days=self._window_days()))
        known = await self.store.known(meter_id, start, latest)
        needed: dict[dt.datetime, tuple[bool, bool]] = {}
        at = start
        while at <= latest:
            bought, sold = known.get(at, (False, False))
            need = (not bought, self._reverse and not sold)
            if any(need):
                needed[at] = need
            at += HALF_HOUR
        return start, latest, needed

    async def _count_gaps(self) -> tuple[int, int]:
        now = self.clock.now()
        start, latest, needed = await self._needed(now)
        missing = len(needed)
        readings = await self.store.readings(self._key or "", start, latest)
        without = sum(
            1
            for r in readings
            if (r.bought_kwh is None and r.bought_source is not None)
            or (self._reverse and r.sold_kwh is None and r.sold_source is not None)
        )
        return missing, without

    async def _backfill_pass(self, filled: int, no_data: int) -> tuple[int, int]:
        now = self.clock.now()
        _, _, needed = await self._needed(now)
        today = now.date()
        if self._last_date is not None and self._last_date != today:
            _LOGGER.info("the meter's day changed to %s", today)
        self._last_date = today
        for day in range(self._window_days() + 1):
            date = today - dt.timedelta(days=day)
            base = midnight(date)
            wanted = {
                base + HALF_HOUR * slot: needed[base + HALF_HOUR * slot]
                for slot in range(_DAY_SLOTS)
                if base + HALF_HOUR * slot in needed
            }
            if not wanted:
                continue
            try:
                values = await self._read_day(day, date, wanted)
            except ServiceNotAvailableError as exc:
                if day == 0:
                    raise
                _LOGGER.info("the meter has no history %d days back (%s)", day, exc)
                await self._learn_reach(day - 1)
                break
            final_before = self.clock.now() - _FINAL_AGE
            keep = [v for v in values if v.kwh is not None or v.at < final_before]
            result = await self._put(Source.HISTORY, keep)
            filled += len(result.filled)
            no_data += sum(1 for v in values if v.kwh is None)
            if day > 0 and values and all(v.kwh is None for v in values) and len(wanted) == 48:
                # A whole past day without data: the meter's history ends before it.
                _LOGGER.info("the meter's history ends %d days back", day - 1)
                await self._learn_reach(day - 1)
                break
        return filled, no_data

    async def _learn_reach(self, days: int) -> None:
        if self._meter_id is not None and days >= 0:
            self._history_days = days
            await self.store.set_history_days(self._meter_id, days)

    async def _read_day(
        self, day: int, date: dt.date, wanted: dict[dt.datetime, tuple[bool, bool]]
    ) -> list[SlotValue]:
        """Read the wanted readings of one day with E2/E4 or EC, whichever is cheaper."""
        bought = sorted(at for at, need in wanted.items() if need[0])
        sold = sorted(at for at, need in wanted.items() if need[1])
        windows = _ec_windows(sorted(wanted, reverse=True))
        e2_frames = 3 if bought and sold else 2
        if self._use_ec and 2 * len(windows) < e2_frames:
            try:
                return await self._read_ec(windows, wanted)
            except (ServiceNotAvailableError, MeterError) as exc:
                _LOGGER.info("EC history unusable (%s); using E2/E4 from now on", exc)
                self._use_ec = False
        before = self.clock.now().date()
        both = await self._read_both(day) if bought and sold else None
        values: list[SlotValue] = []
        for reverse, instants in ((False, bought), (True, sold)):
            if not instants:
                continue
            entries = both[reverse] if both else await self.meter.history(day, reverse=reverse)
            values += _day_values(entries, date, set(instants), reverse=reverse)
        if self.clock.now().date() != before or before - dt.timedelta(days=day) != date:
            raise _MidnightPassedError
        return values

    async def _read_both(self, day: int) -> tuple[list[TimedEnergy], list[TimedEnergy]] | None:
        """E5 once, then E2 and E4: three requests instead of four.

        Each answer carries the day it is for; None (read them one by one instead) when
        they do not both say ``day``, as when another caller set E5 in between.
        """
        await self.meter.set(0xE5, day)
        got = await self.meter.get(0xE2, 0xE4)  # two frames: large values go alone
        expected = self.meter.meter_now().date() - dt.timedelta(days=day)
        answers = []
        for epc in (0xE2, 0xE4):
            entries = got.get(epc)
            if not (
                isinstance(entries, list)
                and len(entries) == _DAY_SLOTS
                and all(isinstance(entry, TimedEnergy) for entry in entries)
                and entries[0].timestamp.date() == expected
            ):
                _LOGGER.info("E2/E4 did not both answer day %d; reading them one by one", day)
                return None
            answers.append(entries)
        return answers[0], answers[1]

    async def _read_ec(
        self,
        windows: list[tuple[dt.datetime, int]],
        wanted: dict[dt.datetime, tuple[bool, bool]],
    ) -> list[SlotValue]:
        values = []
        for end, count in windows:
            for entry in await self.meter.history_30min(end, count):
                need = wanted.get(entry.timestamp)
                if need is None:
                    continue
                if need[0]:
                    values.append(SlotValue(entry.timestamp, False, entry.normal_kwh))
                if need[1]:
                    values.append(SlotValue(entry.timestamp, True, entry.reverse_kwh))
        return values


def _ec_windows(instants: Sequence[dt.datetime]) -> list[tuple[dt.datetime, int]]:
    """Group instants (newest first) into EC requests of up to 12 half hours each."""
    windows = []
    index = 0
    while index < len(instants):
        end = instants[index]
        oldest = end - HALF_HOUR * (_EC_COUNT - 1)
        last = index
        while last + 1 < len(instants) and instants[last + 1] >= oldest:
            last += 1
        count = int((end - instants[last]) / HALF_HOUR) + 1
        windows.append((end, count))
        index = last + 1
    return windows


def _day_values(
    entries: Iterable[TimedEnergy], date: dt.date, instants: set[dt.datetime], *, reverse: bool
) -> list[SlotValue]:
    base = midnight(date)
    values = []
    for slot, entry in enumerate(entries):
        at = base + HALF_HOUR * slot
        if at in instants:
            kwh: Decimal | None = entry.kwh
            values.append(SlotValue(at, reverse, kwh))
    return values
