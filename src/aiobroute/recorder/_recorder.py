"""The recorder: pushes, live reads and gap backfill from a SmartMeter into a RecordStore.

This module holds the run loop; the backfill planning is in :mod:`._backfill`, the status
and the meter's clock in :mod:`._status`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from aiobroute._checks import check_seconds
from aiobroute._tasks import cancel_and_wait
from aiobroute.errors import (
    AiobrouteError,
    ClientClosedError,
    InvalidArgumentError,
)
from aiobroute.models import InstantCurrent, TimedEnergy
from aiobroute.recorder._backfill import _Backfill, _MidnightPassedError
from aiobroute.recorder._files import RecordDatabaseError
from aiobroute.recorder._model import (
    MeterAttributes,
    MeterRecord,
    PutResult,
    Sample,
    SlotValue,
    Source,
)
from aiobroute.recorder._status import (
    HALF_HOUR,
    MAX_HISTORY_DAYS,
    UP_STATES,
    BackfillReport,
    MeterClock,
    MeterNow,
    RecorderStatus,
    floor_slot,
    meter_key,
)
from aiobroute.recorder._store import RecordStore
from aiobroute.supervisor import ConnectionState

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter
    from aiobroute.models import Notification

__all__ = ["Recorder"]

_LOGGER = logging.getLogger("aiobroute.recorder")


class Recorder(_Backfill):
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
        if interval is not None:
            interval = check_seconds("interval", interval, positive=True)
        if backfill_days is not None and (
            isinstance(backfill_days, bool) or not 0 <= backfill_days <= MAX_HISTORY_DAYS
        ):
            raise InvalidArgumentError(f"backfill_days must be 0..{MAX_HISTORY_DAYS}")
        settle = check_seconds("settle", settle)
        self.meter = meter
        self.store = store
        self.interval = interval
        self.backfill_days = backfill_days
        self.clock: MeterClock = clock or MeterNow(meter)
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
                if value.timestamp != floor_slot(value.timestamp):
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
            if state in UP_STATES and previous is not None and previous not in UP_STATES:
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
            due = floor_slot(now) + HALF_HOUR
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
        if meter_id is None or self.meter.state not in UP_STATES:
            return
        latest = floor_slot(self.clock.now())
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
            and value.timestamp == floor_slot(value.timestamp)
        ]
        if found:
            await self._put(Source.LIVE, found)

    async def _sample(self) -> None:
        interval = self.interval or 60.0
        while True:
            started = self.clock.now()
            if self._meter_id is not None and self.meter.state in UP_STATES:
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
