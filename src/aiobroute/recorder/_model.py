"""The record database's values: meters, scalings, readings, samples, write results.

Also the text forms they are stored in: instants as ISO 8601 text with ``+09:00`` (so
the ``sqlite3`` shell sorts and compares them as text), energy as exact decimal text.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TypeVar

import attrs

from aiobroute._time import JST
from aiobroute.recorder._files import RecordDatabaseError

__all__ = [
    "MeterAttributes",
    "MeterRecord",
    "PutResult",
    "Reading",
    "Sample",
    "SlotValue",
    "Source",
]

_V = TypeVar("_V")


class Source(enum.Enum):
    """Where a stored value came from."""

    PUSH = "push"  #: the meter's 30-minute EA/EB notification
    HISTORY = "history"  #: a backfill from E2/E4 or EC
    LIVE = "live"  #: a Get of EA/EB by the recorder


@attrs.frozen
class MeterRecord:
    """A meter known to the database.

    Attributes:
        key: its identity: ``MMMMMM-SERIAL`` (manufacturer code 0x8A in hex and serial
            number 0x8D), or ``addr-<IPv6 address>`` when the meter has neither.
        manufacturer_code: 0x8A, or None.
        serial_number: 0x8D, or None.
        address: the meter's link-local address when last seen.
        reverse: the meter measures energy sold (E3/E4/EB).
        history_days: how many days back the meter answered E2/E4 (None: not learnt).
    """

    key: str
    manufacturer_code: int | None = None
    serial_number: str | None = None
    address: str | None = None
    reverse: bool = True
    history_days: int | None = None


@attrs.frozen
class MeterAttributes:
    """The scaling of a meter's counters when they were read.

    Attributes:
        coefficient: D3 (1 when absent).
        unit_kwh: E1 as kWh per count.
        digits: D7, the counters' effective digits (None when unknown).
        read_at: when these were read (meter time).
    """

    coefficient: int
    unit_kwh: Decimal
    digits: int | None
    read_at: dt.datetime

    @property
    def kwh_per_count(self) -> Decimal:
        """kWh of one count of the raw counter."""
        return self.unit_kwh * self.coefficient

    @property
    def modulus_kwh(self) -> Decimal | None:
        """The kWh at which the counter wraps to 0 (None when D7 is unknown)."""
        return None if self.digits is None else self.kwh_per_count * 10**self.digits

    def same_scale(self, other: MeterAttributes) -> bool:
        """True when both describe the same scaling (the read time aside)."""
        return (self.coefficient, self.unit_kwh, self.digits) == (
            other.coefficient,
            other.unit_kwh,
            other.digits,
        )


@attrs.frozen
class SlotValue:
    """One cumulative value to store: the reading at ``at`` of one direction.

    Attributes:
        at: the instant of the reading (a :00 or :30 of the meter's clock).
        reverse: energy sold (True) or bought (False).
        kwh: the cumulative kWh, or None when the meter has no data for that instant.
    """

    at: dt.datetime
    reverse: bool
    kwh: Decimal | None


@attrs.frozen
class Reading:
    """A stored half-hourly reading: both cumulative counters at ``at``.

    A value is None with a source when the meter said "no data", and None without a
    source when it was never read.
    """

    at: dt.datetime
    bought_kwh: Decimal | None
    sold_kwh: Decimal | None
    bought_source: Source | None
    sold_source: Source | None
    attributes: MeterAttributes


@attrs.frozen
class Sample:
    """An instantaneous sample (E7, E8) taken at ``at`` (meter time)."""

    at: dt.datetime
    power_w: int | None
    current_r_a: Decimal | None
    current_t_a: Decimal | None


@attrs.frozen
class PutResult:
    """What a write changed.

    Attributes:
        filled: instants that got a value they did not have.
        no_data: instants that got a "no data" mark they did not have.
        conflicts: values that differed from what was stored (kept as stored; logged).
    """

    filled: frozenset[dt.datetime]
    no_data: frozenset[dt.datetime]
    conflicts: int


def to_iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=JST)
    return when.astimezone(JST).isoformat(timespec="seconds")


def from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(JST)


def _stored(
    text: str | None,
    convert: Callable[[str], _V],
    refused: type[Exception] | tuple[type[Exception], ...],
    what: str,
) -> _V | None:
    """A stored text column as a value (None stays None); corrupt text is a typed error."""
    if text is None:
        return None
    try:
        return convert(text)
    except refused:
        raise RecordDatabaseError(f"corrupt {what} {text[:20]!r} in the database") from None


def stored_decimal(text: str | None) -> Decimal | None:
    return _stored(text, Decimal, InvalidOperation, "energy value")


def stored_source(text: str | None) -> Source | None:
    return _stored(text, Source, ValueError, "source")
