"""Typed property values of the smart meter (0x0288) and the node profile (0x0EF0).

Every class is a small immutable value class validated in its constructor: a value
that exists can always be encoded. Constructor mistakes raise
:class:`~aiobroute.errors.InvalidArgumentError`. Date-times are naive: they are the
meter's local wall time, and the layer above attaches the time zone.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from aiobroute._frozen import Frozen
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
# checks shared by the classes below (each raises InvalidArgumentError naming the field)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_in(name: str, value: Any, low: int, high: int) -> Any:
    if not _is_int(value) or not low <= value <= high:
        raise InvalidArgumentError(f"{name} must be an int {low}..{high}, got {value!r}")
    return value


def _raw_counter(name: str, value: Any) -> Any:
    return value if value is None else _int_in(name, value, 0, MAX_RAW_COUNTER)


def _bytes_of(name: str, value: object, length: int) -> Any:
    if isinstance(value, bytearray | memoryview):
        value = bytes(value)
    if not isinstance(value, bytes) or len(value) != length:
        raise InvalidArgumentError(f"{name} must be {length} bytes")
    return value


def _check_naive(name: str, value: object, *, seconds: bool) -> Any:
    if value is None:
        return value
    if not isinstance(value, dt.datetime):
        raise InvalidArgumentError(f"{name} must be a datetime or None, got {value!r}")
    if value.tzinfo is not None:
        raise InvalidArgumentError(f"{name} must be naive (the meter's local time), got {value}")
    if value.microsecond:
        raise InvalidArgumentError(f"{name} cannot carry microseconds, got {value}")
    if not seconds and value.second:
        raise InvalidArgumentError(f"{name} has no seconds field; got {value}")
    return value


# ---------------------------------------------------------------------------------------
# superclass and node profile values


class StandardVersion(Frozen):
    """EPC 0x82 of a device object: the Appendix release it follows.

    On the wire: ``00 00 <letter> <revision>``; the two reserved leading bytes are
    ignored when decoding.

    Attributes:
        release: the release letter, upper case (``"F"``, ``"R"``...). Release A is
            sent as lower-case ``a`` on the wire and is reported here as ``"A"``.
        revision: the revision number within the release.
    """

    __slots__ = ("release", "revision")
    release: str
    revision: int

    def __init__(self, release: str, revision: int) -> None:
        if not isinstance(release, str) or len(release) != 1 or not "A" <= release <= "Z":
            raise InvalidArgumentError(f"release must be one letter A-Z, got {release!r}")
        self._set("release", release)
        self._set("revision", _int_in("revision", revision, 0, 0xFF))


class NodeVersion(Frozen):
    """EPC 0x82 of the node profile: ECHONET Lite version and message formats.

    On the wire: major, minor, formats bitmap, then a reserved byte (ignored).

    Attributes:
        major: major version number (``1``).
        minor: minor version number (``13`` for version 1.13).
        message_formats: the supported message formats bitmap (bit 0 = format 1,
            bit 1 = format 2; the exact bitmap semantics are unconfirmed).
    """

    __slots__ = ("major", "message_formats", "minor")
    major: int
    minor: int
    message_formats: int

    def __init__(self, major: int, minor: int, message_formats: int = 0x01) -> None:
        self._set("major", _int_in("major", major, 0, 0xFF))
        self._set("minor", _int_in("minor", minor, 0, 0xFF))
        self._set("message_formats", _int_in("message_formats", message_formats, 0, 0xFF))

    @property
    def supports_format1(self) -> bool:
        """True if the node announces the specified message format (format 1)."""
        return bool(self.message_formats & 0x01)

    @property
    def supports_format2(self) -> bool:
        """True if the node announces the arbitrary message format (format 2)."""
        return bool(self.message_formats & 0x02)


class IdentificationNumber(Frozen):
    """EPC 0x83: identification number (17 bytes, first byte ``0xFE``).

    Attributes:
        manufacturer_code: the 24-bit ECHONET manufacturer code (bytes 1-3).
        unique_id: the 13 bytes the maker chose (bytes 4-16).
    """

    __slots__ = ("manufacturer_code", "unique_id")
    manufacturer_code: int
    unique_id: bytes

    def __init__(self, manufacturer_code: int, unique_id: bytes | bytearray | memoryview) -> None:
        code = _int_in("manufacturer_code", manufacturer_code, 0, 0xFFFFFF)
        self._set("manufacturer_code", code)
        self._set("unique_id", _bytes_of("unique_id", unique_id, 13))


class InstallationLocation(Frozen):
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

    __slots__ = ("position", "raw")
    raw: int
    position: bytes | None

    def __init__(self, raw: int, position: bytes | bytearray | memoryview | None = None) -> None:
        if isinstance(position, bytearray | memoryview):
            position = bytes(position)
        self._set("raw", _int_in("raw", raw, 0, 0xFF))
        self._set("position", position)
        if raw == 0x01:
            if not isinstance(position, bytes) or len(position) != 16:
                raise InvalidArgumentError("installation location 0x01 needs 16 position bytes")
        elif position is not None:
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


class RouteBId(Frozen):
    """EPC 0xC0: the route B identification number (16 bytes, Release R meters).

    The number can be the B-route authentication ID, so its free area never shows in
    ``repr()``.

    Attributes:
        manufacturer_code: the 24-bit manufacturer code (bytes 1-3).
        auth_id: the 12-byte free area (bytes 4-15).
    """

    __slots__ = ("auth_id", "manufacturer_code")
    manufacturer_code: int
    auth_id: bytes

    def __init__(self, manufacturer_code: int, auth_id: bytes | bytearray | memoryview) -> None:
        code = _int_in("manufacturer_code", manufacturer_code, 0, 0xFFFFFF)
        self._set("manufacturer_code", code)
        self._set("auth_id", _bytes_of("auth_id", auth_id, 12))

    def __repr__(self) -> str:
        return f"RouteBId(manufacturer_code={self.manufacturer_code!r}, auth_id=<redacted>)"


# ---------------------------------------------------------------------------------------
# measurement values of the smart meter class


def _current(name: str, value: object) -> Any:
    if value is None:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidArgumentError(f"{name} must be a finite Decimal or None")
    tenths = value * 10
    if tenths != tenths.to_integral_value():
        raise InvalidArgumentError(f"{name} must be a multiple of 0.1 A, got {value}")
    if not -32767 <= tenths <= 32765:
        raise InvalidArgumentError(f"{name} must be -3276.7..3276.5 A, got {value}")
    return value


class InstantaneousCurrents(Frozen):
    """EPC 0xE8: instantaneous currents of the R and T phases, in amperes (0.1 A steps).

    A phase is None when the meter reports no data (not measured, overflow or
    underflow). On single-phase two-wire service the T phase is always None.

    Attributes:
        r_phase_amperes: R phase current.
        t_phase_amperes: T phase current.
    """

    __slots__ = ("r_phase_amperes", "t_phase_amperes")
    r_phase_amperes: Decimal | None
    t_phase_amperes: Decimal | None

    def __init__(self, r_phase_amperes: object, t_phase_amperes: object) -> None:
        self._set("r_phase_amperes", _current("r_phase_amperes", r_phase_amperes))
        self._set("t_phase_amperes", _current("t_phase_amperes", t_phase_amperes))


class CumulativeEnergyAtTime(Frozen):
    """EPC 0xEA / 0xEB: the cumulative energy counter at the last fixed time (:00/:30).

    Attributes:
        measured_at: when the value was taken (meter's local time), None if not set.
        raw: the raw counter (scale with :func:`energy_kwh`), None when not measured.
    """

    __slots__ = ("measured_at", "raw")
    measured_at: dt.datetime | None
    raw: int | None

    def __init__(self, measured_at: dt.datetime | None, raw: int | None) -> None:
        self._set("measured_at", _check_naive("measured_at", measured_at, seconds=True))
        self._set("raw", _raw_counter("raw", raw))


class OneMinuteEnergy(Frozen):
    """EPC 0xD0: cumulative energy of both directions, measured every minute (Release R).

    Attributes:
        measured_at: when the values were taken (meter's local time), None if not set.
        normal_raw: raw counter of normal direction (import), None when not measured.
        reverse_raw: raw counter of reverse direction (export), None when not measured.
    """

    __slots__ = ("measured_at", "normal_raw", "reverse_raw")
    measured_at: dt.datetime | None
    normal_raw: int | None
    reverse_raw: int | None

    def __init__(
        self, measured_at: dt.datetime | None, normal_raw: int | None, reverse_raw: int | None
    ) -> None:
        self._set("measured_at", _check_naive("measured_at", measured_at, seconds=True))
        self._set("normal_raw", _raw_counter("normal_raw", normal_raw))
        self._set("reverse_raw", _raw_counter("reverse_raw", reverse_raw))


def _check_counters(values: Iterable[Any]) -> None:
    for item in values:
        if item is not None and (not _is_int(item) or not 0 <= item <= MAX_RAW_COUNTER):
            raise InvalidArgumentError(f"raw counter must be 0..{MAX_RAW_COUNTER} or None")


class DayHistory(Frozen):
    """EPC 0xE2 / 0xE4: historical data 1, the counter every 30 minutes of one day.

    Attributes:
        day: how many days ago (0 = today, as set through 0xE5), None for the
            "not set" default ``0x00FF``.
        raw_values: 48 raw counters at 00:00, 00:30, ..., 23:30 of that day. These
            are cumulative readings, not interval usage; None where there is no data
            (future slots of today).
    """

    __slots__ = ("day", "raw_values")
    day: int | None
    raw_values: tuple[int | None, ...]

    def __init__(
        self, day: int | None, raw_values: tuple[int | None, ...] | list[int | None]
    ) -> None:
        values = tuple(raw_values) if isinstance(raw_values, list) else raw_values
        if day is not None and (not _is_int(day) or not 0 <= day <= 99):
            raise InvalidArgumentError(f"day must be 0..99 or None, got {day!r}")
        if not isinstance(values, tuple) or len(values) != _SLOTS_PER_DAY:
            raise InvalidArgumentError(f"historical data 1 holds exactly {_SLOTS_PER_DAY} values")
        _check_counters(values)
        self._set("day", day)
        self._set("raw_values", values)


def _to_pairs(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(tuple(p) if isinstance(p, list) else p for p in value)
    return value


class IntervalHistory(Frozen):
    """EPC 0xEC (30-minute steps) / 0xEE (1-minute steps): historical data 2 and 3.

    Attributes:
        newest_at: the date-time of the first pair (meter's local time), None if the
            selector was never set.
        raw_pairs: (normal, reverse) raw counters; the first pair is at ``newest_at``
            and each later pair one step (30 min for EC, 1 min for EE) earlier.
            None where there is no data.
    """

    __slots__ = ("newest_at", "raw_pairs")
    newest_at: dt.datetime | None
    raw_pairs: tuple[tuple[int | None, int | None], ...]

    def __init__(
        self,
        newest_at: dt.datetime | None,
        raw_pairs: tuple[tuple[int | None, int | None], ...] | list[tuple[int | None, int | None]],
    ) -> None:
        pairs = _to_pairs(raw_pairs)
        newest_at = _check_naive("newest_at", newest_at, seconds=False)
        if not isinstance(pairs, tuple) or not 1 <= len(pairs) <= _MAX_HISTORY_PAIRS:
            raise InvalidArgumentError(
                f"history holds 1..{_MAX_HISTORY_PAIRS} (normal, reverse) pairs"
            )
        for pair in pairs:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise InvalidArgumentError("each history entry is a (normal, reverse) pair")
            _check_counters(pair)
        self._set("newest_at", newest_at)
        self._set("raw_pairs", pairs)


class HistoryTarget(Frozen):
    """EPC 0xED / 0xEF: which date-time and how many pairs EC / EE report.

    For ED the minute must be 0 or 30 and ``count`` 1-12; for EF any minute and
    ``count`` 1-10 (checked when encoding).

    Attributes:
        newest_at: the newest date-time to report (meter's local time), None for the
            "not set" default.
        count: how many pairs to report, going back in time.
    """

    __slots__ = ("count", "newest_at")
    newest_at: dt.datetime | None
    count: int

    def __init__(self, newest_at: dt.datetime | None, count: int = 1) -> None:
        self._set("newest_at", _check_naive("newest_at", newest_at, seconds=False))
        self._set("count", _int_in("count", count, 1, _MAX_HISTORY_PAIRS))
