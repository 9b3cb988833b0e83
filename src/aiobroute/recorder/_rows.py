"""Rows for export: half-hourly or hourly usage, Home Assistant statistics, gaps."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from decimal import Decimal

import attrs

from aiobroute.recorder._model import MeterAttributes, Reading

__all__ = [
    "Gap",
    "GapReason",
    "StatisticRow",
    "UsageRow",
    "find_gaps",
    "statistic_rows",
    "usage_rows",
]

HALF_HOUR = dt.timedelta(minutes=30)
HOUR = dt.timedelta(hours=1)


@attrs.frozen
class UsageRow:
    """One half-hourly (or hourly) row, in the column scheme of :mod:`aiobroute.columns`.

    Attributes:
        slot_start: the start of the slot ``[slot_start, slot_start + step)``.
        bought_kwh: the cumulative energy bought at the END of the slot.
        sold_kwh: the cumulative energy sold at the END of the slot.
        bought_usage_kwh: the energy bought within the slot (counter rollover handled).
        sold_usage_kwh: the energy sold within the slot.

    None means "no data": the meter had none, it was never read, or the two readings
    have different scalings (the meter's attributes changed in between).
    """

    slot_start: dt.datetime
    bought_kwh: Decimal | None
    sold_kwh: Decimal | None
    bought_usage_kwh: Decimal | None
    sold_usage_kwh: Decimal | None


@attrs.frozen
class StatisticRow:
    """One row of Home Assistant long-term statistics (hourly, top of the hour).

    Attributes:
        statistic_id: the statistic (``sensor.…`` or ``domain:name``).
        start: the start of the hour.
        unit: ``kWh``.
        state: the cumulative counter at the end of the hour.
        sum: the energy accumulated from the first row's end to this row's end.
    """

    statistic_id: str
    start: dt.datetime
    unit: str
    state: Decimal
    sum: Decimal


class GapReason(enum.Enum):
    """Why a reading is absent."""

    MISSING = "missing"  #: never read (the recorder was not running and no backfill got it)
    NO_DATA = "no_data"  #: the meter answered "no data" (0xFFFFFFFE)


@attrs.frozen
class Gap:
    """A half hour whose end reading is absent (the export row has empty counters).

    Attributes:
        slot_start: the start of the half hour; the reading at ``slot_start + 30 min``
            is the one missing.
        reason: missing or "no data" (MISSING wins when the directions differ).
        bought: the bought reading is absent.
        sold: the sold reading is absent.
    """

    slot_start: dt.datetime
    reason: GapReason
    bought: bool
    sold: bool


def _delta(
    before: Decimal | None,
    after: Decimal | None,
    scale_before: MeterAttributes,
    scale_after: MeterAttributes,
) -> Decimal | None:
    """The energy between two cumulative readings, across one counter rollover."""
    if before is None or after is None or not scale_before.same_scale(scale_after):
        return None
    delta = after - before
    if delta >= 0:
        return delta
    modulus = scale_after.modulus_kwh
    if modulus is None:
        return None  # without D7 a wrap cannot be told from a reset
    delta %= modulus  # Decimal's % keeps the dividend's sign: -9 % 100 == -9
    return delta + modulus if delta < 0 else delta


def _grid(first: dt.datetime, last: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    out = []
    at = first
    while at <= last:
        out.append(at)
        at += step
    return out


def _floor(when: dt.datetime, step: dt.timedelta) -> dt.datetime:
    minutes = int(step.total_seconds() // 60)
    minute = (when.hour * 60 + when.minute) // minutes * minutes
    return when.replace(hour=minute // 60, minute=minute % 60, second=0, microsecond=0)


def _ceil(when: dt.datetime, step: dt.timedelta) -> dt.datetime:
    floor = _floor(when, step)
    return floor if floor == when else floor + step


def usage_rows(
    readings: Sequence[Reading],
    *,
    hourly: bool = False,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[UsageRow]:
    """Half-hourly (or hourly) rows from stored readings, one per slot without holes.

    Rows cover every slot whose end reading lies between the first and the last stored
    reading (clipped to slots starting in ``[since, until)``); slots without data have
    empty cells. Hourly rows start at the top of the hour.
    """
    by_time = {r.at: r for r in readings}
    if not by_time:
        return []
    step = HOUR if hourly else HALF_HOUR
    first_end = _ceil(min(by_time), step)
    last_end = _floor(max(by_time), step)
    rows = []
    for end in _grid(first_end, last_end, step):
        start = end - step
        if (since is not None and start < since) or (until is not None and start >= until):
            continue
        after = by_time.get(end)
        before = by_time.get(start)
        rows.append(
            UsageRow(
                slot_start=start,
                bought_kwh=after.bought_kwh if after else None,
                sold_kwh=after.sold_kwh if after else None,
                bought_usage_kwh=(
                    _delta(before.bought_kwh, after.bought_kwh, before.attributes, after.attributes)
                    if before and after
                    else None
                ),
                sold_usage_kwh=(
                    _delta(before.sold_kwh, after.sold_kwh, before.attributes, after.attributes)
                    if before and after
                    else None
                ),
            )
        )
    return rows


def statistic_rows(
    readings: Sequence[Reading],
    *,
    bought_id: str,
    sold_id: str | None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[StatisticRow]:
    """Hourly Home Assistant statistics: ``state`` is the counter at the hour's end and
    ``sum`` the energy since the first row (0 on the first row), rollover-aware.

    Hours without an end reading are left out; the ``sum`` after such a hole still
    counts the energy used during it (it follows the counter, not the hourly usage).
    Readings with another scaling restart nothing: the energy across a scaling change
    is unknown, so the sum carries on from the new counter without it.
    """
    rows: list[StatisticRow] = []
    ends = sorted(
        (r for r in readings if r.at.minute == 0 and r.at.second == 0), key=lambda r: r.at
    )
    for statistic_id, reverse in ((bought_id, False), (sold_id, True)):
        if statistic_id is None:
            continue
        total = Decimal(0)
        previous: Reading | None = None
        for reading in ends:
            start = reading.at - HOUR
            if (since is not None and start < since) or (until is not None and start >= until):
                continue
            value = reading.sold_kwh if reverse else reading.bought_kwh
            if value is None:
                continue
            if previous is not None:
                before = previous.sold_kwh if reverse else previous.bought_kwh
                total += _delta(before, value, previous.attributes, reading.attributes) or Decimal(
                    0
                )
            previous = reading
            rows.append(StatisticRow(statistic_id, start, "kWh", value, total))
    return rows


def find_gaps(
    readings: Sequence[Reading],
    *,
    reverse: bool = True,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Gap]:
    """The half hours whose end reading is absent, between the first and last reading
    (or within ``[since, until)`` by slot start). ``reverse``: the meter measures energy
    sold, so a missing sold value is a gap too."""
    by_time = {r.at: r for r in readings}
    if not by_time and (since is None or until is None):
        return []
    first_end = _ceil(since, HALF_HOUR) + HALF_HOUR if since is not None else min(by_time)
    last_end = _floor(until, HALF_HOUR) if until is not None else max(by_time)
    gaps = []
    for end in _grid(first_end, last_end, HALF_HOUR):
        reading = by_time.get(end)
        bought = reading is None or reading.bought_kwh is None
        sold = reverse and (reading is None or reading.sold_kwh is None)
        if not bought and not sold:
            continue
        missing = reading is None or (bought and reading.bought_source is None)
        missing = missing or (sold and reading is not None and reading.sold_source is None)
        gaps.append(
            Gap(end - HALF_HOUR, GapReason.MISSING if missing else GapReason.NO_DATA, bought, sold)
        )
    return gaps
