"""Property value codecs keyed by (class, EPC), property maps and energy arithmetic.

Sans-I/O: every function maps bytes to typed values or back. Decoding an EDT that
does not fit its property raises :class:`~aiobroute.errors.PropertyDecodeError`;
encoding a value that cannot be sent raises
:class:`~aiobroute.errors.InvalidArgumentError`. An unknown (class, EPC) pair decodes
to its raw bytes.

Decoders return *raw* counters; :func:`energy_kwh` scales them. Date-times are naive
(the meter's local wall time); the layer above attaches the time zone.

Typical use::

    value = decode_property(0x0288, 0xE7, edt)          # -> int | None (watts)
    watts = MeterProperties.INSTANT_POWER.decode(edt)   # same, statically typed
    edt = encode_property(0x0288, 0xE5, 1)              # b"\\x01"
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, ClassVar, Generic, TypeVar

from aiobroute._frozen import Frozen
from aiobroute.echonet._energy import (
    MAX_COEFFICIENT,
    UNIT_MULTIPLIERS,
    counter_delta,
    energy_kwh,
    unit_multiplier,
)
from aiobroute.echonet._propmap import _decode as _decode_map_raw
from aiobroute.echonet._propmap import _MapError, decode_property_map, encode_property_map
from aiobroute.echonet._types import Eoj
from aiobroute.echonet._values import (
    MAX_RAW_COUNTER,
    CumulativeEnergyAtTime,
    DayHistory,
    EnergyUnit,
    FaultStatus,
    HistoryTarget,
    IdentificationNumber,
    InstallationLocation,
    InstantaneousCurrents,
    IntervalHistory,
    LocationCode,
    NodeVersion,
    OneMinuteEnergy,
    OperationStatus,
    RouteBId,
    StandardVersion,
)
from aiobroute.errors import InvalidArgumentError, PropertyDecodeError

__all__ = [
    "CONTROLLER_CLASS",
    "MAX_COEFFICIENT",
    "MAX_RAW_COUNTER",
    "METER_CLASS",
    "NODE_PROFILE_CLASS",
    "UNIT_MULTIPLIERS",
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
    "MeterProperties",
    "NodeProfileProperties",
    "NodeVersion",
    "OneMinuteEnergy",
    "OperationStatus",
    "PropertyCodec",
    "RouteBId",
    "StandardVersion",
    "codec_for",
    "counter_delta",
    "decode_property",
    "decode_property_map",
    "encode_property",
    "encode_property_map",
    "energy_kwh",
    "property_name",
    "registered_properties",
    "unit_multiplier",
]

#: The low-voltage smart electric energy meter class.
METER_CLASS = 0x0288
#: The node profile class.
NODE_PROFILE_CLASS = 0x0EF0
#: The controller class (our own object, 0x05FF01); only the superclass applies.
CONTROLLER_CLASS = 0x05FF

T = TypeVar("T")
_E = TypeVar("_E", bound=enum.IntEnum)

_NOT_MEASURED_U32 = 0xFFFFFFFE
_NO_DATA_I32 = frozenset({0x7FFFFFFE, 0x7FFFFFFF, -0x80000000})
_NOT_MEASURED_I32 = 0x7FFFFFFE
_NO_DATA_I16 = frozenset({0x7FFE, 0x7FFF, -0x8000})
_NOT_MEASURED_I16 = 0x7FFE
_DEFAULT_DAY = 0x00FF
_MAX_EC_PAIRS = 12
_MAX_EE_PAIRS = 10


class _EdtError(Exception):
    """Internal: why an EDT does not decode; turned into PropertyDecodeError."""


# ---------------------------------------------------------------------------------------
# the codec object


class PropertyCodec(Frozen, Generic[T]):
    """Encoder and decoder of one property of one class.

    Attributes:
        class_id: the 16-bit class (``0x0288``, ``0x0EF0``...).
        epc: the property code.
        name: a short English name, for logs and messages.
        decoder: EDT -> value; raises an internal error on bad input.
        encoder: value -> EDT; raises InvalidArgumentError on bad input.
        secret: the EDT may hold a credential (route B ID): error messages omit it.
    """

    __slots__ = ("class_id", "decoder", "encoder", "epc", "name", "secret")
    class_id: int
    epc: int
    name: str
    decoder: Callable[[bytes], T]
    encoder: Callable[[Any], bytes]
    secret: bool

    def __init__(  # noqa: PLR0917 - positional as before
        self,
        class_id: int,
        epc: int,
        name: str,
        decoder: Callable[[bytes], T],
        encoder: Callable[[Any], bytes],
        secret: bool = False,
    ) -> None:
        self._set("class_id", class_id)
        self._set("epc", epc)
        self._set("name", name)
        self._set("decoder", decoder)
        self._set("encoder", encoder)
        self._set("secret", secret)

    def __repr__(self) -> str:
        return (
            f"PropertyCodec(class_id={self.class_id!r}, epc={self.epc!r}, name={self.name!r}, "
            f"secret={self.secret!r})"
        )

    def decode(self, edt: bytes | bytearray | memoryview) -> T:
        """Decode an EDT.

        Args:
            edt: the property data as received.

        Returns:
            The typed value.

        Raises:
            PropertyDecodeError: wrong length or invalid content.
        """
        edt = bytes(edt)
        try:
            return self.decoder(edt)
        except (_EdtError, _MapError, InvalidArgumentError) as exc:
            if self.secret:
                raise PropertyDecodeError(
                    self.class_id, self.epc, b"", f"{exc} ({len(edt)}-byte value withheld)"
                ) from None
            raise PropertyDecodeError(self.class_id, self.epc, edt, str(exc)) from None

    def encode(self, value: T) -> bytes:
        """Encode a value to its EDT.

        Args:
            value: the typed value (the same type :meth:`decode` returns).

        Returns:
            The EDT bytes.

        Raises:
            InvalidArgumentError: the value is of the wrong type or out of range.
        """
        return self.encoder(value)


# ---------------------------------------------------------------------------------------
# decoding helpers (raise _EdtError)


def _need(edt: bytes, size: int) -> None:
    if len(edt) != size:
        raise _EdtError(f"expected {size} bytes, got {len(edt)}")


def _uint(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _counter(data: bytes) -> int | None:
    value = _uint(data)
    if value == _NOT_MEASURED_U32:
        return None
    if value > MAX_RAW_COUNTER:
        raise _EdtError(f"energy counter {value} exceeds {MAX_RAW_COUNTER}")
    return value


def _datetime7(data: bytes) -> dt.datetime | None:
    year = _uint(data[0:2])
    if year == 0xFFFF:
        return None
    try:
        return dt.datetime(year, data[2], data[3], data[4], data[5], data[6])
    except ValueError as exc:
        raise _EdtError(f"invalid date-time {data.hex().upper()}: {exc}") from None


def _datetime6(data: bytes) -> dt.datetime | None:
    return _datetime7(data[0:6] + b"\x00")


def _pairs(data: bytes, count: int) -> tuple[tuple[int | None, int | None], ...]:
    return tuple(
        (_counter(data[i : i + 4]), _counter(data[i + 4 : i + 8])) for i in range(0, count * 8, 8)
    )


def _enum_member(enum_type: type[_E], value: int) -> _E:
    try:
        return enum_type(value)
    except ValueError:
        raise _EdtError(f"0x{value:02X} is not a defined {enum_type.__name__} code") from None


# ---------------------------------------------------------------------------------------
# encoding helpers (raise InvalidArgumentError)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _want_int(value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgumentError(f"{what} must be an int {low}..{high}, got {value!r}")
    return value


def _want(value: object, kind: type[T], what: str) -> T:
    if not isinstance(value, kind):
        raise InvalidArgumentError(f"{what} must be a {kind.__name__}, got {value!r}")
    return value


def _enc_counter(value: object) -> bytes:
    if value is None:
        return _NOT_MEASURED_U32.to_bytes(4, "big")
    return _want_int(value, 0, MAX_RAW_COUNTER, "raw energy counter").to_bytes(4, "big")


def _enc_datetime7(value: dt.datetime | None) -> bytes:
    if value is None:
        return b"\xff" * 7
    return value.year.to_bytes(2, "big") + bytes(
        (value.month, value.day, value.hour, value.minute, value.second)
    )


def _enc_datetime6(value: dt.datetime | None) -> bytes:
    return _enc_datetime7(value)[:6]


def _enc_enum(value: object, enum_type: Any, what: str) -> bytes:
    if not _is_int(value):
        raise InvalidArgumentError(f"{what} must be a {enum_type.__name__}, got {value!r}")
    try:
        return bytes((enum_type(value),))
    except ValueError:
        raise InvalidArgumentError(f"{value!r} is not a valid {what}") from None


# ---------------------------------------------------------------------------------------
# superclass properties (0x80-0x9F), also used by the node profile where they agree


def _dec_operation_status(edt: bytes) -> OperationStatus:
    _need(edt, 1)
    return _enum_member(OperationStatus, edt[0])


def _enc_operation_status(value: object) -> bytes:
    return _enc_enum(value, OperationStatus, "operation status")


def _dec_installation_location(edt: bytes) -> InstallationLocation:
    if len(edt) == 1:
        if edt[0] == 0x01:
            raise _EdtError("0x01 announces 16 bytes of position information")
        return InstallationLocation(edt[0])
    if len(edt) == 17:
        if edt[0] != 0x01:
            raise _EdtError(f"the 17-byte form starts with 0x01, not 0x{edt[0]:02X}")
        return InstallationLocation(0x01, edt[1:])
    raise _EdtError(f"expected 1 or 17 bytes, got {len(edt)}")


def _enc_installation_location(value: object) -> bytes:
    location = _want(value, InstallationLocation, "installation location")
    return bytes((location.raw,)) + (location.position or b"")


def _dec_standard_version(edt: bytes) -> StandardVersion:
    _need(edt, 4)
    letter = edt[2]
    if letter == 0x61:  # Release A is sent in lower case
        release = "A"
    elif 0x41 <= letter <= 0x5A:
        release = chr(letter)
    else:
        raise _EdtError(f"0x{letter:02X} is not a release letter")
    return StandardVersion(release, edt[3])


def _enc_standard_version(value: object) -> bytes:
    version = _want(value, StandardVersion, "standard version")
    letter = 0x61 if version.release == "A" else ord(version.release)
    return bytes((0x00, 0x00, letter, version.revision))


def _dec_identification(edt: bytes) -> IdentificationNumber:
    _need(edt, 17)
    if edt[0] != 0xFE:
        raise _EdtError(f"identification number starts with 0xFE, not 0x{edt[0]:02X}")
    return IdentificationNumber(_uint(edt[1:4]), edt[4:])


def _enc_identification(value: object) -> bytes:
    ident = _want(value, IdentificationNumber, "identification number")
    return b"\xfe" + ident.manufacturer_code.to_bytes(3, "big") + ident.unique_id


def _dec_fault_status(edt: bytes) -> FaultStatus:
    _need(edt, 1)
    return _enum_member(FaultStatus, edt[0])


def _enc_fault_status(value: object) -> bytes:
    return _enc_enum(value, FaultStatus, "fault status")


def _dec_uint(size: int) -> Callable[[bytes], int]:
    def decode(edt: bytes) -> int:
        _need(edt, size)
        return _uint(edt)

    return decode


def _enc_uint(
    size: int, what: str, low: int = 0, high: int | None = None
) -> Callable[[Any], bytes]:
    top = (1 << (8 * size)) - 1 if high is None else high

    def encode(value: object) -> bytes:
        return _want_int(value, low, top, what).to_bytes(size, "big")

    return encode


def _dec_production_number(edt: bytes) -> str:
    _need(edt, 12)
    try:
        return edt.rstrip(b"\x00 ").decode("ascii")
    except UnicodeDecodeError:
        raise _EdtError("production number is not ASCII") from None


def _enc_production_number(value: object) -> bytes:
    text = _want(value, str, "production number")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise InvalidArgumentError("production number must be ASCII") from None
    if len(data) > 12:
        raise InvalidArgumentError(f"production number holds 12 characters, got {len(data)}")
    return data.ljust(12, b"\x00")


def _dec_time(edt: bytes) -> dt.time:
    _need(edt, 2)
    try:
        return dt.time(edt[0], edt[1])
    except ValueError as exc:
        raise _EdtError(f"invalid time: {exc}") from None


def _enc_time(value: object) -> bytes:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.time):
        raise InvalidArgumentError(f"current time must be a datetime.time, got {value!r}")
    if value.second or value.microsecond or value.tzinfo is not None:
        raise InvalidArgumentError("current time carries hours and minutes only (naive)")
    return bytes((value.hour, value.minute))


def _dec_date(edt: bytes) -> dt.date:
    _need(edt, 4)
    try:
        return dt.date(_uint(edt[0:2]), edt[2], edt[3])
    except ValueError as exc:
        raise _EdtError(f"invalid date: {exc}") from None


def _enc_date(value: object) -> bytes:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidArgumentError(f"current date must be a datetime.date, got {value!r}")
    return value.year.to_bytes(2, "big") + bytes((value.month, value.day))


def _dec_property_map(edt: bytes) -> frozenset[int]:
    return _decode_map_raw(edt)


def _enc_property_map(value: object) -> bytes:
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
        raise InvalidArgumentError(f"a property map is a set of EPCs, got {value!r}")
    return encode_property_map(value)


# ---------------------------------------------------------------------------------------
# smart meter class-specific properties (0x0288)


def _dec_route_b_id(edt: bytes) -> RouteBId:
    _need(edt, 16)
    if edt[0] != 0x00:
        raise _EdtError("route B identification number does not start with 0x00")
    return RouteBId(_uint(edt[1:4]), edt[4:])


def _enc_route_b_id(value: object) -> bytes:
    route_b = _want(value, RouteBId, "route B identification number")
    return b"\x00" + route_b.manufacturer_code.to_bytes(3, "big") + route_b.auth_id


def _dec_one_minute(edt: bytes) -> OneMinuteEnergy:
    _need(edt, 15)
    return OneMinuteEnergy(_datetime7(edt[0:7]), _counter(edt[7:11]), _counter(edt[11:15]))


def _enc_one_minute(value: object) -> bytes:
    energy = _want(value, OneMinuteEnergy, "one-minute energy")
    return (
        _enc_datetime7(energy.measured_at)
        + _enc_counter(energy.normal_raw)
        + _enc_counter(energy.reverse_raw)
    )


def _dec_coefficient(edt: bytes) -> int:
    _need(edt, 4)
    value = _uint(edt)
    if value > MAX_COEFFICIENT:
        raise _EdtError(f"coefficient {value} exceeds {MAX_COEFFICIENT}")
    return value


def _dec_digits(edt: bytes) -> int:
    _need(edt, 1)
    if not 1 <= edt[0] <= 8:
        raise _EdtError(f"effective digits must be 1..8, got {edt[0]}")
    return edt[0]


def _dec_counter(edt: bytes) -> int | None:
    _need(edt, 4)
    return _counter(edt)


def _dec_unit(edt: bytes) -> EnergyUnit:
    _need(edt, 1)
    return _enum_member(EnergyUnit, edt[0])


def _enc_unit(value: object) -> bytes:
    return _enc_enum(value, EnergyUnit, "energy unit code")


def _dec_day_history(edt: bytes) -> DayHistory:
    _need(edt, 194)
    day_raw = _uint(edt[0:2])
    if day_raw == _DEFAULT_DAY:
        day = None
    elif day_raw <= 99:
        day = day_raw
    else:
        raise _EdtError(f"day {day_raw} is outside 0..99")
    values = tuple(_counter(edt[i : i + 4]) for i in range(2, 194, 4))
    return DayHistory(day, values)


def _enc_day_history(value: object) -> bytes:
    history = _want(value, DayHistory, "historical data 1")
    day = _DEFAULT_DAY if history.day is None else history.day
    return day.to_bytes(2, "big") + b"".join(_enc_counter(v) for v in history.raw_values)


def _dec_history_day(edt: bytes) -> int | None:
    _need(edt, 1)
    if edt[0] == 0xFF:
        return None
    if edt[0] > 99:
        raise _EdtError(f"day {edt[0]} is outside 0..99")
    return edt[0]


def _enc_history_day(value: object) -> bytes:
    if value is None:
        return b"\xff"
    return bytes((_want_int(value, 0, 99, "historical data 1 day"),))


def _dec_instant_power(edt: bytes) -> int | None:
    _need(edt, 4)
    value = int.from_bytes(edt, "big", signed=True)
    return None if value in _NO_DATA_I32 else value


def _enc_instant_power(value: object) -> bytes:
    if value is None:
        return _NOT_MEASURED_I32.to_bytes(4, "big")
    watts = _want_int(value, -0x7FFFFFFF, 0x7FFFFFFD, "instantaneous power (W)")
    return watts.to_bytes(4, "big", signed=True)


def _current(data: bytes) -> Decimal | None:
    value = int.from_bytes(data, "big", signed=True)
    return None if value in _NO_DATA_I16 else Decimal(value).scaleb(-1)


def _dec_instant_currents(edt: bytes) -> InstantaneousCurrents:
    _need(edt, 4)
    return InstantaneousCurrents(_current(edt[0:2]), _current(edt[2:4]))


def _enc_current(value: Decimal | None) -> bytes:
    if value is None:
        return _NOT_MEASURED_I16.to_bytes(2, "big")
    return int(value.scaleb(1)).to_bytes(2, "big", signed=True)


def _enc_instant_currents(value: object) -> bytes:
    currents = _want(value, InstantaneousCurrents, "instantaneous currents")
    return _enc_current(currents.r_phase_amperes) + _enc_current(currents.t_phase_amperes)


def _dec_fixed_time(edt: bytes) -> CumulativeEnergyAtTime:
    _need(edt, 11)
    return CumulativeEnergyAtTime(_datetime7(edt[0:7]), _counter(edt[7:11]))


def _enc_fixed_time(value: object) -> bytes:
    energy = _want(value, CumulativeEnergyAtTime, "cumulative energy at fixed time")
    return _enc_datetime7(energy.measured_at) + _enc_counter(energy.raw)


def _dec_interval_history(max_pairs: int) -> Callable[[bytes], IntervalHistory]:
    def decode(edt: bytes) -> IntervalHistory:
        if len(edt) < 7:
            raise _EdtError(f"expected at least 7 bytes, got {len(edt)}")
        count = edt[6]
        if not 1 <= count <= max_pairs:
            raise _EdtError(f"pair count {count} is outside 1..{max_pairs}")
        _need(edt, 7 + 8 * count)
        return IntervalHistory(_datetime6(edt[0:6]), _pairs(edt[7:], count))

    return decode


def _enc_interval_history(max_pairs: int) -> Callable[[Any], bytes]:
    def encode(value: object) -> bytes:
        history = _want(value, IntervalHistory, "interval history")
        if len(history.raw_pairs) > max_pairs:
            raise InvalidArgumentError(f"at most {max_pairs} pairs, got {len(history.raw_pairs)}")
        out = bytearray(_enc_datetime6(history.newest_at))
        out.append(len(history.raw_pairs))
        for normal, reverse in history.raw_pairs:
            out += _enc_counter(normal) + _enc_counter(reverse)
        return bytes(out)

    return encode


def _dec_history_target(max_count: int, *, half_hours: bool) -> Callable[[bytes], HistoryTarget]:
    def decode(edt: bytes) -> HistoryTarget:
        _need(edt, 7)
        newest_at = _datetime6(edt[0:6])
        if half_hours and newest_at is not None and newest_at.minute not in (0, 30):
            raise _EdtError(f"minute must be 0 or 30, got {newest_at.minute}")
        if not 1 <= edt[6] <= max_count:
            raise _EdtError(f"count {edt[6]} is outside 1..{max_count}")
        return HistoryTarget(newest_at, edt[6])

    return decode


def _enc_history_target(max_count: int, *, half_hours: bool) -> Callable[[Any], bytes]:
    def encode(value: object) -> bytes:
        target = _want(value, HistoryTarget, "history target")
        if half_hours and target.newest_at is not None and target.newest_at.minute not in (0, 30):
            raise InvalidArgumentError(f"minute must be 0 or 30, got {target.newest_at.minute}")
        if target.count > max_count:
            raise InvalidArgumentError(f"count must be 1..{max_count}, got {target.count}")
        return _enc_datetime6(target.newest_at) + bytes((target.count,))

    return encode


# ---------------------------------------------------------------------------------------
# node profile class-specific properties (0x0EF0)


def _dec_node_version(edt: bytes) -> NodeVersion:
    _need(edt, 4)
    return NodeVersion(edt[0], edt[1], edt[2])


def _enc_node_version(value: object) -> bytes:
    version = _want(value, NodeVersion, "node profile version")
    return bytes((version.major, version.minor, version.message_formats, 0x00))


def _dec_instance_list(edt: bytes) -> tuple[Eoj, ...]:
    if not edt:
        raise _EdtError("empty instance list")
    count = edt[0]
    _need(edt, 1 + 3 * count)
    return tuple(Eoj(edt[i], edt[i + 1], edt[i + 2]) for i in range(1, 1 + 3 * count, 3))


def _enc_instance_list(value: object) -> bytes:
    if not isinstance(value, tuple | list) or not all(isinstance(e, Eoj) for e in value):
        raise InvalidArgumentError(f"an instance list is a tuple of Eoj, got {value!r}")
    if len(value) > 84:
        raise InvalidArgumentError(f"an instance list holds at most 84 objects, got {len(value)}")
    return bytes((len(value),)) + b"".join(bytes(e) for e in value)


def _dec_class_list(edt: bytes) -> tuple[int, ...]:
    if not edt:
        raise _EdtError("empty class list")
    count = edt[0]
    _need(edt, 1 + 2 * count)
    return tuple(_uint(edt[i : i + 2]) for i in range(1, 1 + 2 * count, 2))


def _enc_class_list(value: object) -> bytes:
    if not isinstance(value, tuple | list):
        raise InvalidArgumentError(f"a class list is a tuple of 16-bit classes, got {value!r}")
    if len(value) > 127:
        raise InvalidArgumentError(f"a class list holds at most 127 classes, got {len(value)}")
    return bytes((len(value),)) + b"".join(
        _want_int(c, 0, 0xFFFF, "class code").to_bytes(2, "big") for c in value
    )


# ---------------------------------------------------------------------------------------
# the tables


def _codec(
    class_id: int,
    epc: int,
    name: str,
    decoder: Callable[[bytes], T],
    encoder: Callable[[Any], bytes],
    *,
    secret: bool = False,
) -> PropertyCodec[T]:
    return PropertyCodec(class_id, epc, name, decoder, encoder, secret)


class _DeviceSuperclass:
    """Typed codecs of the device superclass properties for one class."""

    def __init__(self, class_id: int) -> None:
        c = class_id
        self.OPERATION_STATUS = _codec(
            c, 0x80, "operation status", _dec_operation_status, _enc_operation_status
        )
        self.INSTALLATION_LOCATION = _codec(
            c,
            0x81,
            "installation location",
            _dec_installation_location,
            _enc_installation_location,
        )
        self.STANDARD_VERSION = _codec(
            c, 0x82, "standard version information", _dec_standard_version, _enc_standard_version
        )
        self.IDENTIFICATION_NUMBER = _codec(
            c, 0x83, "identification number", _dec_identification, _enc_identification
        )
        self.FAULT_STATUS = _codec(c, 0x88, "fault status", _dec_fault_status, _enc_fault_status)
        self.MANUFACTURER_CODE = _codec(
            c, 0x8A, "manufacturer code", _dec_uint(3), _enc_uint(3, "manufacturer code")
        )
        self.PRODUCTION_NUMBER = _codec(
            c, 0x8D, "production number", _dec_production_number, _enc_production_number
        )
        self.CURRENT_TIME = _codec(c, 0x97, "current time setting", _dec_time, _enc_time)
        self.CURRENT_DATE = _codec(c, 0x98, "current date setting", _dec_date, _enc_date)
        self.ANNOUNCEMENT_MAP = _codec(
            c,
            0x9D,
            "status change announcement property map",
            _dec_property_map,
            _enc_property_map,
        )
        self.SET_MAP = _codec(c, 0x9E, "set property map", _dec_property_map, _enc_property_map)
        self.GET_MAP = _codec(c, 0x9F, "get property map", _dec_property_map, _enc_property_map)


_METER_SUPER = _DeviceSuperclass(METER_CLASS)
_CONTROLLER_SUPER = _DeviceSuperclass(CONTROLLER_CLASS)
_M = METER_CLASS
_N = NODE_PROFILE_CLASS


class MeterProperties:
    """Statically typed codecs of the smart meter class (0x0288), one per property.

    ``MeterProperties.INSTANT_POWER.decode(edt)`` returns ``int | None`` where
    :func:`decode_property` returns ``object``. Each codec also carries its ``epc``.
    """

    # superclass
    OPERATION_STATUS: ClassVar[PropertyCodec[OperationStatus]] = _METER_SUPER.OPERATION_STATUS
    INSTALLATION_LOCATION: ClassVar[PropertyCodec[InstallationLocation]] = (
        _METER_SUPER.INSTALLATION_LOCATION
    )
    STANDARD_VERSION: ClassVar[PropertyCodec[StandardVersion]] = _METER_SUPER.STANDARD_VERSION
    IDENTIFICATION_NUMBER: ClassVar[PropertyCodec[IdentificationNumber]] = (
        _METER_SUPER.IDENTIFICATION_NUMBER
    )
    FAULT_STATUS: ClassVar[PropertyCodec[FaultStatus]] = _METER_SUPER.FAULT_STATUS
    MANUFACTURER_CODE: ClassVar[PropertyCodec[int]] = _METER_SUPER.MANUFACTURER_CODE
    PRODUCTION_NUMBER: ClassVar[PropertyCodec[str]] = _METER_SUPER.PRODUCTION_NUMBER
    CURRENT_TIME: ClassVar[PropertyCodec[dt.time]] = _METER_SUPER.CURRENT_TIME
    CURRENT_DATE: ClassVar[PropertyCodec[dt.date]] = _METER_SUPER.CURRENT_DATE
    ANNOUNCEMENT_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _METER_SUPER.ANNOUNCEMENT_MAP
    SET_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _METER_SUPER.SET_MAP
    GET_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _METER_SUPER.GET_MAP
    # class-specific
    ROUTE_B_ID: ClassVar[PropertyCodec[RouteBId]] = _codec(
        _M, 0xC0, "route B identification number", _dec_route_b_id, _enc_route_b_id, secret=True
    )
    ONE_MINUTE_ENERGY: ClassVar[PropertyCodec[OneMinuteEnergy]] = _codec(
        _M, 0xD0, "one-minute cumulative energy", _dec_one_minute, _enc_one_minute
    )
    COEFFICIENT: ClassVar[PropertyCodec[int]] = _codec(
        _M, 0xD3, "coefficient", _dec_coefficient, _enc_uint(4, "coefficient", 0, MAX_COEFFICIENT)
    )
    EFFECTIVE_DIGITS: ClassVar[PropertyCodec[int]] = _codec(
        _M,
        0xD7,
        "number of effective digits",
        _dec_digits,
        _enc_uint(1, "effective digits", 1, 8),
    )
    CUMULATIVE_ENERGY_NORMAL: ClassVar[PropertyCodec[int | None]] = _codec(
        _M, 0xE0, "cumulative energy (normal)", _dec_counter, _enc_counter
    )
    ENERGY_UNIT: ClassVar[PropertyCodec[EnergyUnit]] = _codec(
        _M, 0xE1, "unit for cumulative energy", _dec_unit, _enc_unit
    )
    HISTORY_1_NORMAL: ClassVar[PropertyCodec[DayHistory]] = _codec(
        _M, 0xE2, "historical data 1 (normal)", _dec_day_history, _enc_day_history
    )
    CUMULATIVE_ENERGY_REVERSE: ClassVar[PropertyCodec[int | None]] = _codec(
        _M, 0xE3, "cumulative energy (reverse)", _dec_counter, _enc_counter
    )
    HISTORY_1_REVERSE: ClassVar[PropertyCodec[DayHistory]] = _codec(
        _M, 0xE4, "historical data 1 (reverse)", _dec_day_history, _enc_day_history
    )
    HISTORY_1_DAY: ClassVar[PropertyCodec[int | None]] = _codec(
        _M, 0xE5, "day for historical data 1", _dec_history_day, _enc_history_day
    )
    INSTANT_POWER: ClassVar[PropertyCodec[int | None]] = _codec(
        _M, 0xE7, "instantaneous power", _dec_instant_power, _enc_instant_power
    )
    INSTANT_CURRENTS: ClassVar[PropertyCodec[InstantaneousCurrents]] = _codec(
        _M, 0xE8, "instantaneous currents", _dec_instant_currents, _enc_instant_currents
    )
    FIXED_TIME_ENERGY_NORMAL: ClassVar[PropertyCodec[CumulativeEnergyAtTime]] = _codec(
        _M, 0xEA, "cumulative energy at fixed time (normal)", _dec_fixed_time, _enc_fixed_time
    )
    FIXED_TIME_ENERGY_REVERSE: ClassVar[PropertyCodec[CumulativeEnergyAtTime]] = _codec(
        _M, 0xEB, "cumulative energy at fixed time (reverse)", _dec_fixed_time, _enc_fixed_time
    )
    HISTORY_2: ClassVar[PropertyCodec[IntervalHistory]] = _codec(
        _M,
        0xEC,
        "historical data 2",
        _dec_interval_history(_MAX_EC_PAIRS),
        _enc_interval_history(_MAX_EC_PAIRS),
    )
    HISTORY_2_TARGET: ClassVar[PropertyCodec[HistoryTarget]] = _codec(
        _M,
        0xED,
        "day/time for historical data 2",
        _dec_history_target(_MAX_EC_PAIRS, half_hours=True),
        _enc_history_target(_MAX_EC_PAIRS, half_hours=True),
    )
    HISTORY_3: ClassVar[PropertyCodec[IntervalHistory]] = _codec(
        _M,
        0xEE,
        "historical data 3",
        _dec_interval_history(_MAX_EE_PAIRS),
        _enc_interval_history(_MAX_EE_PAIRS),
    )
    HISTORY_3_TARGET: ClassVar[PropertyCodec[HistoryTarget]] = _codec(
        _M,
        0xEF,
        "day/time for historical data 3",
        _dec_history_target(_MAX_EE_PAIRS, half_hours=False),
        _enc_history_target(_MAX_EE_PAIRS, half_hours=False),
    )


class NodeProfileProperties:
    """Statically typed codecs of the node profile class (0x0EF0), one per property."""

    OPERATION_STATUS: ClassVar[PropertyCodec[OperationStatus]] = _codec(
        _N, 0x80, "operating status", _dec_operation_status, _enc_operation_status
    )
    VERSION: ClassVar[PropertyCodec[NodeVersion]] = _codec(
        _N, 0x82, "version information", _dec_node_version, _enc_node_version
    )
    IDENTIFICATION_NUMBER: ClassVar[PropertyCodec[IdentificationNumber]] = _codec(
        _N, 0x83, "identification number", _dec_identification, _enc_identification
    )
    FAULT_STATUS: ClassVar[PropertyCodec[FaultStatus]] = _codec(
        _N, 0x88, "fault status", _dec_fault_status, _enc_fault_status
    )
    MANUFACTURER_CODE: ClassVar[PropertyCodec[int]] = _codec(
        _N, 0x8A, "manufacturer code", _dec_uint(3), _enc_uint(3, "manufacturer code")
    )
    PRODUCTION_NUMBER: ClassVar[PropertyCodec[str]] = _codec(
        _N, 0x8D, "production number", _dec_production_number, _enc_production_number
    )
    ANNOUNCEMENT_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _codec(
        _N,
        0x9D,
        "status change announcement property map",
        _dec_property_map,
        _enc_property_map,
    )
    SET_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _codec(
        _N, 0x9E, "set property map", _dec_property_map, _enc_property_map
    )
    GET_MAP: ClassVar[PropertyCodec[frozenset[int]]] = _codec(
        _N, 0x9F, "get property map", _dec_property_map, _enc_property_map
    )
    INSTANCE_COUNT: ClassVar[PropertyCodec[int]] = _codec(
        _N,
        0xD3,
        "number of self-node instances",
        _dec_uint(3),
        _enc_uint(3, "instance count"),
    )
    CLASS_COUNT: ClassVar[PropertyCodec[int]] = _codec(
        _N, 0xD4, "number of self-node classes", _dec_uint(2), _enc_uint(2, "class count")
    )
    INSTANCE_LIST_NOTIFICATION: ClassVar[PropertyCodec[tuple[Eoj, ...]]] = _codec(
        _N, 0xD5, "instance list notification", _dec_instance_list, _enc_instance_list
    )
    INSTANCE_LIST: ClassVar[PropertyCodec[tuple[Eoj, ...]]] = _codec(
        _N, 0xD6, "self-node instance list S", _dec_instance_list, _enc_instance_list
    )
    CLASS_LIST: ClassVar[PropertyCodec[tuple[int, ...]]] = _codec(
        _N, 0xD7, "self-node class list S", _dec_class_list, _enc_class_list
    )


def _collect(*namespaces: object) -> dict[tuple[int, int], PropertyCodec[Any]]:
    table: dict[tuple[int, int], PropertyCodec[Any]] = {}
    for namespace in namespaces:
        for codec in vars(namespace).values():
            if isinstance(codec, PropertyCodec):
                table[(codec.class_id, codec.epc)] = codec
    return table


_REGISTRY = _collect(MeterProperties, NodeProfileProperties, _CONTROLLER_SUPER)


# ---------------------------------------------------------------------------------------
# public functions


def codec_for(class_id: int, epc: int) -> PropertyCodec[Any] | None:
    """The codec registered for a (class, EPC) pair, or None.

    Args:
        class_id: the 16-bit class, e.g. ``0x0288`` (``Eoj.class_id``).
        epc: the property code.

    Returns:
        The codec, or None when the pair is unknown.
    """
    return _REGISTRY.get((class_id, epc))


def registered_properties() -> frozenset[tuple[int, int]]:
    """Every (class, EPC) pair that has a codec."""
    return frozenset(_REGISTRY)


def property_name(class_id: int, epc: int) -> str | None:
    """A short English name of a property, for logs; None when unknown."""
    codec = _REGISTRY.get((class_id, epc))
    return None if codec is None else codec.name


def decode_property(class_id: int, epc: int, edt: bytes | bytearray | memoryview) -> object:
    """Decode the EDT of one property into a typed value.

    Args:
        class_id: the 16-bit class of the object the property belongs to (``0x0288``
            for the meter, ``0x0EF0`` for the node profile). The same EPC means
            different things on different classes (0xD3, 0xD7, 0x82).
        epc: the property code.
        edt: the property data.

    Returns:
        The typed value (see the codec tables, e.g. ``int | None`` for 0xE7), or the
        raw bytes when the (class, EPC) pair is unknown.

    Raises:
        PropertyDecodeError: the EDT has the wrong length or invalid content.
    """
    codec = _REGISTRY.get((class_id, epc))
    if codec is None:
        return bytes(edt)
    return codec.decode(edt)


def encode_property(class_id: int, epc: int, value: object) -> bytes:
    """Encode a typed value into the EDT of one property.

    Args:
        class_id: the 16-bit class of the object.
        epc: the property code.
        value: a value of the type :func:`decode_property` returns for this pair; for
            an unknown pair, the raw EDT bytes.

    Returns:
        The EDT bytes.

    Raises:
        InvalidArgumentError: the value is of the wrong type or out of range (for
            instance E5 outside 0..99, an ED minute other than 0 or 30, EF count above 10).
    """
    codec = _REGISTRY.get((class_id, epc))
    if codec is not None:
        return codec.encode(value)
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidArgumentError(
            f"no codec for property 0x{epc:02X} of class 0x{class_id:04X}; pass raw bytes"
        )
    data = bytes(value)
    if len(data) > 0xFF:
        raise InvalidArgumentError(f"an EDT holds at most 255 bytes, got {len(data)}")
    return data
