"""Typed property values of the smart meter (0x0288) and the node profile (0x0EF0).

Every class is a frozen, slotted attrs class validated in its constructor: a value
that exists can always be encoded. Constructor mistakes raise
:class:`~aiobroute.errors.InvalidArgumentError`. Date-times are naive: they are the
meter's local wall time, and the layer above attaches the time zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from aiobroute.errors import InvalidArgumentError

__all__ = [
    "MAX_RAW_COUNTER",
    "CumulativeEnergyAtTime",
    "DayHistory",
    "EnergyUnit",
    "FaultStatus",
    "HistoryTarget",
    "IdentificationNumber",
    "InstallationLocation",
    "InstantaneousCurrents",
    "IntervalHistory",
    "LocationCode",
    "NodeVersion",
    "OneMinuteEnergy",
    "OperationStatus",
    "RouteBId",
    "StandardVersion",
]

#: Largest raw value of a cumulative energy counter (E0, E3, E2, ...): 8 decimal digits.
MAX_RAW_COUNTER = 99_999_999

#: Number of half-hour slots in one day of historical data 1 (E2/E4).
_SLOTS_PER_DAY = 48
#: Most (normal, reverse) pairs one historical data 2/3 value carries (EC: 12, EE: 10).
_MAX_HISTORY_PAIRS = 12

_ENERGY_MULTIPLIERS: dict[int, Decimal] = {
    0x00: Decimal("1"),
    0x01: Decimal("0.1"),
    0x02: Decimal("0.01"),
    0x03: Decimal("0.001"),
    0x04: Decimal("0.0001"),
    0x0A: Decimal("10"),
    0x0B: Decimal("100"),
    0x0C: Decimal("1000"),
    0x0D: Decimal("10000"),
}


class OperationStatus(enum.IntEnum):
    """EPC 0x80, operation status (on the node profile: booting/running or not)."""

    ON = 0x30
    OFF = 0x31


class FaultStatus(enum.IntEnum):
    """EPC 0x88, fault status."""

    FAULT = 0x41
    NO_FAULT = 0x42


class LocationCode(enum.IntEnum):
    """The location codes of EPC 0x81 (bits 6-3 of the one-byte form)."""

    LIVING_ROOM = 1
    DINING_ROOM = 2
    KITCHEN = 3
    BATHROOM = 4
    TOILET = 5
    WASHROOM = 6
    CORRIDOR = 7
    ROOM = 8
    STAIRWAY = 9
    ENTRANCE = 10
    STOREROOM = 11
    GARDEN = 12
    GARAGE = 13
    VERANDA = 14
    OTHER = 15


class EnergyUnit(enum.IntEnum):
    """EPC 0xE1, the unit of the cumulative energy counters (kWh per count).

    Member names spell the multiplier: ``KWH_0_01`` means 0.01 kWh per count.
    """

    KWH_1 = 0x00
    KWH_0_1 = 0x01
    KWH_0_01 = 0x02
    KWH_0_001 = 0x03
    KWH_0_0001 = 0x04
    KWH_10 = 0x0A
    KWH_100 = 0x0B
    KWH_1000 = 0x0C
    KWH_10000 = 0x0D

    @property
    def multiplier(self) -> Decimal:
        """The kWh one count stands for, as an exact :class:`~decimal.Decimal`."""
        return _ENERGY_MULTIPLIERS[self.value]


# ---------------------------------------------------------------------------------------
# validators shared by the classes below


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _int_range(low: int, high: int) -> _Validator:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if not _is_int(value) or not low <= value <= high:
            raise InvalidArgumentError(
                f"{attribute.name} must be an int {low}..{high}, got {value!r}"
            )

    return check


def _optional_int_range(low: int, high: int) -> _Validator:
    inner = _int_range(low, high)

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            inner(instance, attribute, value)

    return check


def _bytes_of(length: int) -> _Validator:
    def check(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, bytes) or len(value) != length:
            raise InvalidArgumentError(f"{attribute.name} must be {length} bytes")

    return check


def _check_naive(name: str, value: object, *, seconds: bool) -> None:
    if value is None:
        return
    if not isinstance(value, dt.datetime):
        raise InvalidArgumentError(f"{name} must be a datetime or None, got {value!r}")
    if value.tzinfo is not None:
        raise InvalidArgumentError(f"{name} must be naive (the meter's local time), got {value}")
    if value.microsecond:
        raise InvalidArgumentError(f"{name} cannot carry microseconds, got {value}")
    if not seconds and value.second:
        raise InvalidArgumentError(f"{name} has no seconds field; got {value}")


def _datetime_with_seconds(
    _instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    _check_naive(attribute.name, value, seconds=True)


def _datetime_to_minute(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _check_naive(attribute.name, value, seconds=False)


def _to_bytes(value: object) -> object:
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return value


def _to_optional_bytes(value: object) -> object:
    return None if value is None else _to_bytes(value)


def _to_decimal(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    return value


# ---------------------------------------------------------------------------------------
# superclass and node profile values


@attrs.frozen
class StandardVersion:
    """EPC 0x82 of a device object: the Appendix release it follows.

    On the wire: ``00 00 <letter> <revision>``; the two reserved leading bytes are
    ignored when decoding.

    Attributes:
        release: the release letter, upper case (``"F"``, ``"R"``...). Release A is
            sent as lower-case ``a`` on the wire and is reported here as ``"A"``.
        revision: the revision number within the release.
    """

    release: str = attrs.field()
    revision: int = attrs.field(validator=_int_range(0, 0xFF))

    @release.validator
    def _check_release(self, _attribute: attrs.Attribute[str], value: object) -> None:
        if not isinstance(value, str) or len(value) != 1 or not "A" <= value <= "Z":
            raise InvalidArgumentError(f"release must be one letter A-Z, got {value!r}")


@attrs.frozen
class NodeVersion:
    """EPC 0x82 of the node profile: ECHONET Lite version and message formats.

    On the wire: major, minor, formats bitmap, then a reserved byte (ignored).

    Attributes:
        major: major version number (``1``).
        minor: minor version number (``13`` for version 1.13).
        message_formats: the supported message formats bitmap (bit 0 = format 1,
            bit 1 = format 2; the exact bitmap semantics are unconfirmed).
    """

    major: int = attrs.field(validator=_int_range(0, 0xFF))
    minor: int = attrs.field(validator=_int_range(0, 0xFF))
    message_formats: int = attrs.field(default=0x01, validator=_int_range(0, 0xFF))

    @property
    def supports_format1(self) -> bool:
        """True if the node announces the specified message format (format 1)."""
        return bool(self.message_formats & 0x01)

    @property
    def supports_format2(self) -> bool:
        """True if the node announces the arbitrary message format (format 2)."""
        return bool(self.message_formats & 0x02)


@attrs.frozen
class IdentificationNumber:
    """EPC 0x83: identification number (17 bytes, first byte ``0xFE``).

    Attributes:
        manufacturer_code: the 24-bit ECHONET manufacturer code (bytes 1-3).
        unique_id: the 13 bytes the maker chose (bytes 4-16).
    """

    manufacturer_code: int = attrs.field(validator=_int_range(0, 0xFFFFFF))
    unique_id: bytes = attrs.field(converter=_to_bytes, validator=_bytes_of(13))


@attrs.frozen
class InstallationLocation:
    """EPC 0x81: where the device is installed.

    The one-byte form packs a :class:`LocationCode` (bits 6-3) and a number 0-7
    (bits 2-0); ``0x00`` means not set, ``0xFF`` indeterminate, ``0x80``-``0xFE``
    user-defined. ``0x01`` introduces the 17-byte form whose 16 further bytes are
    position information. Build values with :meth:`at`, :meth:`not_set`,
    :meth:`indeterminate` or :meth:`with_position`.

    Attributes:
        raw: the first byte as sent.
        position: the 16 bytes of position information, only when ``raw`` is 0x01.
    """

    raw: int = attrs.field(validator=_int_range(0, 0xFF))
    position: bytes | None = attrs.field(default=None, converter=_to_optional_bytes)

    def __attrs_post_init__(self) -> None:
        if self.raw == 0x01:
            if not isinstance(self.position, bytes) or len(self.position) != 16:
                raise InvalidArgumentError("installation location 0x01 needs 16 position bytes")
        elif self.position is not None:
            raise InvalidArgumentError("position information goes with raw 0x01 only")

    @classmethod
    def at(cls, location: LocationCode | int, number: int = 0) -> InstallationLocation:
        """A location code and a number 0-7, e.g. ``at(LocationCode.GARDEN, 1)`` (0x61)."""
        if not _is_int(location) or not 1 <= location <= 15:
            raise InvalidArgumentError(f"location code must be 1..15, got {location!r}")
        if not _is_int(number) or not 0 <= number <= 7:
            raise InvalidArgumentError(f"location number must be 0..7, got {number!r}")
        return cls((int(location) << 3) | number)

    @classmethod
    def not_set(cls) -> InstallationLocation:
        """The "not set" value, ``0x00``."""
        return cls(0x00)

    @classmethod
    def indeterminate(cls) -> InstallationLocation:
        """The "location indeterminate" value, ``0xFF``."""
        return cls(0xFF)

    @classmethod
    def with_position(cls, position: bytes) -> InstallationLocation:
        """The 17-byte form: ``0x01`` followed by 16 bytes of position information."""
        return cls(0x01, position)

    @property
    def code(self) -> LocationCode | None:
        """The location code, or None for the special and user-defined values."""
        if self.raw & 0x80 or not self.raw >> 3:
            return None
        return LocationCode(self.raw >> 3)

    @property
    def number(self) -> int | None:
        """The number 0-7 that goes with :attr:`code`, or None when there is no code."""
        return None if self.code is None else self.raw & 0x07

    @property
    def is_set(self) -> bool:
        """False only for the "not set" value ``0x00``."""
        return self.raw != 0x00

    @property
    def is_indeterminate(self) -> bool:
        """True for ``0xFF``, location indeterminate."""
        return self.raw == 0xFF

    @property
    def is_user_defined(self) -> bool:
        """True for the user-defined range ``0x80``-``0xFE``."""
        return 0x80 <= self.raw <= 0xFE


def _redacted(_value: bytes) -> str:
    return "<redacted>"


@attrs.frozen
class RouteBId:
    """EPC 0xC0: the route B identification number (16 bytes, Release R meters).

    The number can be the B-route authentication ID, so its free area never shows in
    ``repr()``.

    Attributes:
        manufacturer_code: the 24-bit manufacturer code (bytes 1-3).
        auth_id: the 12-byte free area (bytes 4-15).
    """

    manufacturer_code: int = attrs.field(validator=_int_range(0, 0xFFFFFF))
    auth_id: bytes = attrs.field(converter=_to_bytes, validator=_bytes_of(12), repr=_redacted)


# ---------------------------------------------------------------------------------------
# measurement values of the smart meter class


def _check_current(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidArgumentError(f"{attribute.name} must be a finite Decimal or None")
    tenths = value * 10
    if tenths != tenths.to_integral_value():
        raise InvalidArgumentError(f"{attribute.name} must be a multiple of 0.1 A, got {value}")
    if not -32767 <= tenths <= 32765:
        raise InvalidArgumentError(f"{attribute.name} must be -3276.7..3276.5 A, got {value}")


@attrs.frozen
class InstantaneousCurrents:
    """EPC 0xE8: instantaneous currents of the R and T phases, in amperes (0.1 A steps).

    A phase is None when the meter reports no data (not measured, overflow or
    underflow). On single-phase two-wire service the T phase is always None.

    Attributes:
        r_phase_amperes: R phase current.
        t_phase_amperes: T phase current.
    """

    r_phase_amperes: Decimal | None = attrs.field(converter=_to_decimal, validator=_check_current)
    t_phase_amperes: Decimal | None = attrs.field(converter=_to_decimal, validator=_check_current)


_raw_counter = _optional_int_range(0, MAX_RAW_COUNTER)


@attrs.frozen
class CumulativeEnergyAtTime:
    """EPC 0xEA / 0xEB: the cumulative energy counter at the last fixed time (:00/:30).

    Attributes:
        measured_at: when the value was taken (meter's local time), None if not set.
        raw: the raw counter (scale with :func:`energy_kwh`), None when not measured.
    """

    measured_at: dt.datetime | None = attrs.field(validator=_datetime_with_seconds)
    raw: int | None = attrs.field(validator=_raw_counter)


@attrs.frozen
class OneMinuteEnergy:
    """EPC 0xD0: cumulative energy of both directions, measured every minute (Release R).

    Attributes:
        measured_at: when the values were taken (meter's local time), None if not set.
        normal_raw: raw counter of normal direction (import), None when not measured.
        reverse_raw: raw counter of reverse direction (export), None when not measured.
    """

    measured_at: dt.datetime | None = attrs.field(validator=_datetime_with_seconds)
    normal_raw: int | None = attrs.field(validator=_raw_counter)
    reverse_raw: int | None = attrs.field(validator=_raw_counter)


def _check_day(_instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and (not _is_int(value) or not 0 <= value <= 99):
        raise InvalidArgumentError(f"{attribute.name} must be 0..99 or None, got {value!r}")


def _check_slots(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or len(value) != _SLOTS_PER_DAY:
        raise InvalidArgumentError(f"historical data 1 holds exactly {_SLOTS_PER_DAY} values")
    for item in value:
        if item is not None and (not _is_int(item) or not 0 <= item <= MAX_RAW_COUNTER):
            raise InvalidArgumentError(f"raw counter must be 0..{MAX_RAW_COUNTER} or None")


def _to_tuple(value: object) -> object:
    if isinstance(value, list):
        return tuple(value)
    return value


@attrs.frozen
class DayHistory:
    """EPC 0xE2 / 0xE4: historical data 1, the counter every 30 minutes of one day.

    Attributes:
        day: how many days ago (0 = today, as set through 0xE5), None for the
            "not set" default ``0x00FF``.
        raw_values: 48 raw counters at 00:00, 00:30, ..., 23:30 of that day. These
            are cumulative readings, not interval usage; None where there is no data
            (future slots of today).
    """

    day: int | None = attrs.field(validator=_check_day)
    raw_values: tuple[int | None, ...] = attrs.field(converter=_to_tuple, validator=_check_slots)


def _check_pairs(_instance: object, _attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, tuple) or not 1 <= len(value) <= _MAX_HISTORY_PAIRS:
        raise InvalidArgumentError(f"history holds 1..{_MAX_HISTORY_PAIRS} (normal, reverse) pairs")
    for pair in value:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InvalidArgumentError("each history entry is a (normal, reverse) pair")
        for item in pair:
            if item is not None and (not _is_int(item) or not 0 <= item <= MAX_RAW_COUNTER):
                raise InvalidArgumentError(f"raw counter must be 0..{MAX_RAW_COUNTER} or None")


def _to_pairs(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(tuple(p) if isinstance(p, list) else p for p in value)
    return value


@attrs.frozen
class IntervalHistory:
    """EPC 0xEC (30-minute steps) / 0xEE (1-minute steps): historical data 2 and 3.

    Attributes:
        newest_at: the date-time of the first pair (meter's local time), None if the
            selector was never set.
        raw_pairs: (normal, reverse) raw counters; the first pair is at ``newest_at``
            and each later pair one step (30 min for EC, 1 min for EE) earlier.
            None where there is no data.
    """

    newest_at: dt.datetime | None = attrs.field(validator=_datetime_to_minute)
    raw_pairs: tuple[tuple[int | None, int | None], ...] = attrs.field(
        converter=_to_pairs, validator=_check_pairs
    )


@attrs.frozen
class HistoryTarget:
    """EPC 0xED / 0xEF: which date-time and how many pairs EC / EE report.

    For ED the minute must be 0 or 30 and ``count`` 1-12; for EF any minute and
    ``count`` 1-10 (checked when encoding).

    Attributes:
        newest_at: the newest date-time to report (meter's local time), None for the
            "not set" default.
        count: how many pairs to report, going back in time.
    """

    newest_at: dt.datetime | None = attrs.field(validator=_datetime_to_minute)
    count: int = attrs.field(default=1, validator=_int_range(1, _MAX_HISTORY_PAIRS))
