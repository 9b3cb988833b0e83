"""The recorder: pushes, live reads and gap backfill from a SmartMeter into a RecordStore."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

import attrs

from aiobroute._tasks import cancel_and_wait
from aiobroute._time import JST
from aiobroute.errors import (
    AiobrouteError,
    ClientClosedError,
    InvalidArgumentError,
    MeterError,
    ServiceNotAvailableError,
)
from aiobroute.models import InstantCurrent, TimedEnergy
from aiobroute.recorder._files import RecordDatabaseError
from aiobroute.recorder._model import (
    MeterAttributes,
    MeterRecord,
    PutResult,
    Sample,
    SlotValue,
    Source,
)
from aiobroute.recorder._store import RecordStore
from aiobroute.supervisor import ConnectionState

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter
    from aiobroute.models import Notification

__all__ = ["BackfillReport", "MeterClock", "Recorder", "RecorderStatus"]

_LOGGER = logging.getLogger("aiobroute.recorder")
_HALF_HOUR = dt.timedelta(minutes=30)
_DAY_SLOTS = 48
#: E5 accepts 0..99: the furthest a meter can answer.
MAX_HISTORY_DAYS = 99
#: A "no data" answer for a reading younger than this may still be filled by the meter.
_FINAL_AGE = dt.timedelta(hours=2)
_EC_COUNT = 12
_UP = (ConnectionState.READY, ConnectionState.RATE_LIMITED)


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


class _MeterNow:
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
        elif not self.backfills and self.state in _UP:
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


class _MidnightPassedError(Exception):
    """The meter's date changed during a day read: its "day N" is ambiguous."""


def _floor(when: dt.datetime) -> dt.datetime:
    when = when.astimezone(JST)
    return when.replace(minute=when.minute - when.minute % 30, second=0, microsecond=0)


def _midnight(date: dt.date) -> dt.datetime:
    return dt.datetime(date.year, date.month, date.day, tzinfo=JST)


def meter_key(manufacturer_code: int | None, serial_number: str | None, address: str) -> str:
    """The identity of a meter: ``MMMMMM-SERIAL``, or ``addr-ADDRESS`` without 8A/8D."""
    serial = "".join(
        c for c in (serial_number or "") if c.isascii() and (c.isalnum() or c in "-_.")
    )
    if manufacturer_code is not None and serial:
        return f"{manufacturer_code:06X}-{serial}"
    return f"addr-{address}"


class Recorder:
    """Keeps a complete half-hourly record of a connected :class:`~aiobroute.SmartMeter`.

    :meth:`run` (until cancelled) stores every 30-minute push (0xEA/0xEB), reads the
    fixed-time values itself when a push is late, optionally samples the instantaneous
    power and currents (0xE7/0xE8) every ``interval`` seconds, and fills gaps from the
    meter's history: at start, after every reconnect and after the meter's midnight (and
    whenever the newest half hour is still missing), with E2/E4 per day or EC/ED where
    that takes fewer frames. Values are idempotent: a reading is stored once; a differing
    value is logged and the first one kept.

    Args:
        meter: a connected meter (``async with SmartMeter(...) as meter``).
        store: an open :class:`RecordStore`.
        interval: seconds between instantaneous samples (None: none).
        backfill_days: how many days before today to backfill (0-99; None: as far back
            as the meter answers).
        clock: the meter's clock (default: :meth:`SmartMeter.meter_now` and real sleeps).
        settle: seconds after a :00/:30 to wait for the push before reading it.
        on_status: called with a :class:`RecorderStatus` after every change.
    """

    def __init__(
        self,
        meter: SmartMeter,
        store: RecordStore,
        *,
        interval: float | None = None,
        backfill_days: int | None = None,
        clock: MeterClock | None = None,
        settle: float = 90.0,
        on_status: Callable[[RecorderStatus], None] | None = None,
    ) -> None:
        if interval is not None and not interval > 0:
            raise InvalidArgumentError("interval must be > 0 seconds (or None)")
        if backfill_days is not None and (
            isinstance(backfill_days, bool) or not 0 <= backfill_days <= MAX_HISTORY_DAYS
        ):
            raise InvalidArgumentError(f"backfill_days must be 0..{MAX_HISTORY_DAYS}")
        if not settle >= 0:
            raise InvalidArgumentError("settle must be >= 0 seconds")
        self.meter = meter
        self.store = store
        self.interval = interval
        self.backfill_days = backfill_days
        self.clock: MeterClock = clock or _MeterNow(meter)
        self.settle = settle
        self.on_status = on_status
        self._status = RecorderStatus(state=meter.state)
        self._meter_id: int | None = None
        self._attributes_id = 0
        self._key: str | None = None
        self._reverse = True
        self._use_ec = True
        self._history_days: int | None = None
        self._kick = asyncio.Event()
        self._recheck = False
        self._backfill_lock = asyncio.Lock()
        self._last_date: dt.date | None = None

    def __repr__(self) -> str:
        return f"<Recorder {self._key or '?'} {self._status.line()!r}>"

    @property
    def status(self) -> RecorderStatus:
        """The current counters."""
        return self._status

    @property
    def meter_key(self) -> str | None:
        """The meter's identity in the store (known once :meth:`run` identified it)."""
        return self._key

    def _update(self, **changes: object) -> None:
        self._status = attrs.evolve(self._status, **changes)  # type: ignore[arg-type]
        if self.on_status is not None:
            try:
                self.on_status(self._status)
            except Exception:
                _LOGGER.exception("the status callback failed")

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        """Record until cancelled.

        Raises:
            ClientClosedError: the meter was closed (its reconnect policy gave up).
            RecordDatabaseError: the database failed.
        """
        notes = self.meter.notifications()  # subscribed now: no push is missed
        states = self.meter.states()
        tasks = [
            asyncio.create_task(self._consume_pushes(notes), name="aiobroute-record-push"),
            asyncio.create_task(self._watch_states(states), name="aiobroute-record-states"),
            asyncio.create_task(self._schedule(), name="aiobroute-record-schedule"),
        ]
        if self.interval is not None:
            tasks.append(asyncio.create_task(self._sample(), name="aiobroute-record-sample"))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raise the first failure
            raise ClientClosedError("the meter was closed")
        finally:
            await cancel_and_wait(tasks)
            await notes.aclose()  # type: ignore[attr-defined]
            await states.aclose()  # type: ignore[attr-defined]

    async def identify(self) -> str:
        """Read the meter's identity and scaling (one Get) and register them; returns the key.

        A change of the coefficient, unit or digits since the last run is logged as a
        warning and recorded; readings keep the scaling they were taken with.
        """
        info = await self.meter.info()
        key = meter_key(info.manufacturer_code, info.serial_number, info.ipaddr)
        self._reverse = not info.get_map or bool({0xE3, 0xE4} & info.get_map)
        self._use_ec = not info.get_map or 0xEC in info.get_map
        now = self.clock.now()
        record = MeterRecord(
            key, info.manufacturer_code, info.serial_number, info.ipaddr, self._reverse
        )
        meter_id = await self.store.meter_id(record, now)
        attributes = MeterAttributes(info.coefficient, info.unit_kwh, info.digits, now)
        self._attributes_id, changed = await self.store.attributes(meter_id, attributes)
        if changed:
            _LOGGER.warning(
                "the meter's scaling changed (now coefficient %d, unit %s kWh, %s digits); "
                "readings from now on are kept apart from the earlier ones",
                info.coefficient,
                info.unit_kwh,
                info.digits,
            )
        self._history_days = await self.store.history_days(meter_id)
        self._meter_id = meter_id
        self._key = key
        return key

    async def _consume_pushes(self, notes: AsyncIterator[Notification]) -> None:
        async for note in notes:
            values = []
            for epc in (0xEA, 0xEB):
                value = note.values.get(epc)
                if not isinstance(value, TimedEnergy) or value.kwh is None:
                    continue
                if value.timestamp != _floor(value.timestamp):
                    _LOGGER.warning("ignoring a push not at :00/:30 (%s)", value.timestamp)
                    continue
                values.append(SlotValue(value.timestamp, epc == 0xEB, value.kwh))
            if values and self._meter_id is not None:
                await self._put(Source.PUSH, values)

    async def _watch_states(self, states: AsyncIterator[ConnectionState]) -> None:
        previous: ConnectionState | None = None
        async for state in states:
            if state is ConnectionState.CLOSED:
                return
            if state in _UP and previous is not None and previous not in _UP:
                _LOGGER.info("the meter is back (%s); backfilling", previous.value)
                self._recheck = True
                self._kick.set()
            previous = state
            self._update(state=state)

    async def _schedule(self) -> None:
        """Identify, backfill, then wake after every :00/:30 (plus ``settle``)."""
        while self._meter_id is None:
            try:
                await self.identify()
            except RecordDatabaseError:
                raise
            except (AiobrouteError, TimeoutError) as exc:
                _LOGGER.warning("cannot identify the meter yet (%s); retrying", exc)
                await self._wait(self.clock.now() + dt.timedelta(seconds=60))
        self._kick.set()
        while True:
            if self._kick.is_set():
                self._kick.clear()
                await self._safe_backfill()
            now = self.clock.now()
            due = _floor(now) + _HALF_HOUR
            if await self._wait(due + dt.timedelta(seconds=self.settle)):
                continue  # kicked (reconnect)
            await self._read_latest()
            self._kick.set()

    async def _sleep_until(self, deadline: dt.datetime) -> None:
        # The delay is measured when the sleep starts, not when it was scheduled.
        await self.clock.sleep(max(0.0, (deadline - self.clock.now()).total_seconds()))

    async def _wait(self, deadline: dt.datetime) -> bool:
        """Sleep on the meter's clock until ``deadline``; True when kicked before."""
        sleeper = asyncio.ensure_future(self._sleep_until(deadline))
        kicked = asyncio.ensure_future(self._kick.wait())
        try:
            await asyncio.wait((sleeper, kicked), return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel_and_wait((sleeper, kicked))
        return self._kick.is_set()

    async def _safe_backfill(self) -> None:
        try:
            if self._recheck:
                self._recheck = False
                await self.identify()
            await self.backfill()
        except RecordDatabaseError:
            raise
        except (AiobrouteError, TimeoutError) as exc:
            _LOGGER.warning("backfill interrupted: %s", exc)
            self._update(backfilling=False)

    async def _read_latest(self) -> None:
        """Read EA/EB when the push of the last :00/:30 did not arrive."""
        meter_id = self._meter_id
        if meter_id is None or self.meter.state not in _UP:
            return
        latest = _floor(self.clock.now())
        known = (await self.store.known(meter_id, latest, latest)).get(latest, (False, False))
        if known[0] and (known[1] or not self._reverse):
            return
        try:
            values = (
                await self.meter.get(0xEA, 0xEB) if self._reverse else await self.meter.get(0xEA)
            )
        except (AiobrouteError, TimeoutError) as exc:
            _LOGGER.info("no live read of the last half hour: %s", exc)
            return
        found = [
            SlotValue(value.timestamp, epc == 0xEB, value.kwh)
            for epc, value in values.items()
            if isinstance(value, TimedEnergy)
            and value.kwh is not None
            and value.timestamp == _floor(value.timestamp)
        ]
        if found:
            await self._put(Source.LIVE, found)

    async def _sample(self) -> None:
        interval = self.interval or 60.0
        while True:
            started = self.clock.now()
            if self._meter_id is not None and self.meter.state in _UP:
                try:
                    values = await self.meter.get(0xE7, 0xE8)
                except (AiobrouteError, TimeoutError) as exc:
                    _LOGGER.info("no instantaneous sample: %s", exc)
                else:
                    power = values.get(0xE7)
                    current = values.get(0xE8)
                    amps = current if isinstance(current, InstantCurrent) else None
                    await self.store.put_sample(
                        self._meter_id,
                        Sample(
                            self.clock.now().replace(microsecond=0),
                            power if isinstance(power, int) else None,
                            amps.r_amperes if amps else None,
                            amps.t_amperes if amps else None,
                        ),
                    )
            await self._sleep_until(started + dt.timedelta(seconds=interval))

    async def _put(self, source: Source, values: Sequence[SlotValue]) -> PutResult:
        if self._meter_id is None:  # pragma: no cover - callers check
            raise RuntimeError("not identified")
        result = await self.store.put(
            self._meter_id, self._attributes_id, source, values, self.clock.now()
        )
        if result.filled or result.conflicts:
            status = self._status
            last = max(result.filled, default=None)
            if status.last_reading is not None and (last is None or last < status.last_reading):
                last = status.last_reading
            self._update(
                slots_recorded=status.slots_recorded + len(result.filled),
                gaps_filled=status.gaps_filled
                + (len(result.filled) if source is Source.HISTORY else 0),
                conflicts=status.conflicts + result.conflicts,
                last_reading=last,
            )
        return result

    # ------------------------------------------------------------------ backfill

    async def backfill(self) -> BackfillReport:
        """Fill the missing readings of the backfill window from the meter's history.

        Runs one pass (again, from a fresh plan, if the meter's midnight passes during a
        day read). Slots the meter answers "no data" for are stored as such once they are
        older than two hours, and never asked again.

        Raises:
            AiobrouteError: the connection failed during the pass (what was read is kept).
        """
        if self._meter_id is None:
            await self.identify()
        async with self._backfill_lock:
            self._update(backfilling=True)
            frames_before = self.meter.frames_sent
            filled = no_data = 0
            try:
                for _ in range(3):
                    try:
                        filled, no_data = await self._backfill_pass(filled, no_data)
                        break
                    except _MidnightPassedError:
                        _LOGGER.info("the meter's midnight passed during a history read; again")
                missing, without = await self._count_gaps()
            finally:
                self._update(backfilling=False)
            self._update(gaps_left=missing, no_data=without, backfills=self._status.backfills + 1)
            return BackfillReport(
                filled, no_data, missing, self.meter.frames_sent - frames_before, True
            )

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
        latest = _floor(now)
        start = _midnight(now.date() - dt.timedelta(days=self._window_days()))
        known = await self.store.known(meter_id, start, latest)
        needed: dict[dt.datetime, tuple[bool, bool]] = {}
        at = start
        while at <= latest:
            bought, sold = known.get(at, (False, False))
            need = (not bought, self._reverse and not sold)
            if any(need):
                needed[at] = need
            at += _HALF_HOUR
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
            base = _midnight(date)
            wanted = {
                base + _HALF_HOUR * slot: needed[base + _HALF_HOUR * slot]
                for slot in range(_DAY_SLOTS)
                if base + _HALF_HOUR * slot in needed
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
        oldest = end - _HALF_HOUR * (_EC_COUNT - 1)
        last = index
        while last + 1 < len(instants) and instants[last + 1] >= oldest:
            last += 1
        count = int((end - instants[last]) / _HALF_HOUR) + 1
        windows.append((end, count))
        index = last + 1
    return windows


def _day_values(
    entries: Iterable[TimedEnergy], date: dt.date, instants: set[dt.datetime], *, reverse: bool
) -> list[SlotValue]:
    base = _midnight(date)
    values = []
    for slot, entry in enumerate(entries):
        at = base + _HALF_HOUR * slot
        if at in instants:
            kwh: Decimal | None = entry.kwh
            values.append(SlotValue(at, reverse, kwh))
    return values
