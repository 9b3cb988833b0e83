"""The simulated meter's ECHONET Lite objects: the node profile and the smart meter
object's properties (property maps, EDT encoding, Get and Set handling).

All property values are encoded here with ``struct``/``int.to_bytes``, independently of
the library's value codecs.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from aiobroute.echonet._frame import Property
from aiobroute.echonet._types import NODE_PROFILE, SMART_METER, Eoj
from aiobroute.testing._clock import JST
from aiobroute.testing._meter_config import HISTORY_DAYS, MeterConfig
from aiobroute.testing._meter_counters import HALF_HOUR, SLOTS_PER_DAY, _MeterCounters, clamp

if TYPE_CHECKING:
    from aiobroute.testing._clock import SimClock

__all__ = ["encode_property_map"]

_NO_DATA_U32 = 0xFFFFFFFE
_UNSET_REQUEST = b"\xff" * 6 + b"\x01"
_MINUTE = dt.timedelta(minutes=1)
_INT32_MAX = 0x7FFFFFFD
_NO_DATA_I16 = 0x7FFE

_NODE_PROFILE_GET_MAP = (0x80, 0x82, 0x83, 0x8A, 0x9D, 0x9E, 0x9F, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7)
_NODE_PROFILE_ANNO_MAP = (0x80, 0xD5)
_METER_GET_MAP_F = (
    0x80, 0x81, 0x82, 0x88, 0x8A, 0x8D, 0x97, 0x98, 0x9D, 0x9E, 0x9F, 0xD3, 0xD7,
    0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8, 0xEA, 0xEB, 0xEC, 0xED,
)  # fmt: skip
_METER_GET_EXTRA_R = (0xC0, 0xD0, 0xEE, 0xEF)
_METER_REVERSE_EPCS = (0xE3, 0xE4, 0xEB)
_METER_ANNO_MAP = (0x80, 0x81, 0x88)
_METER_SET_MAP_F = (0x81, 0xE5, 0xED)


def encode_property_map(epcs: Iterable[int]) -> bytes:
    """Encode a property map (9D/9E/9F): list form below 16 entries, bitmap from 16."""
    codes = sorted(set(epcs))
    if len(codes) < 16:
        return bytes([len(codes), *codes])
    bitmap = bytearray(17)
    bitmap[0] = len(codes)
    for epc in codes:
        bitmap[1 + (epc & 0x0F)] |= 1 << ((epc >> 4) - 8)
    return bytes(bitmap)


def _dt7(when: dt.datetime) -> bytes:
    return struct.pack(
        ">HBBBBB", when.year, when.month, when.day, when.hour, when.minute, when.second
    )


def _dt6(when: dt.datetime) -> bytes:
    return struct.pack(">HBBBB", when.year, when.month, when.day, when.hour, when.minute)


def _u32(value: int | None) -> bytes:
    return struct.pack(">I", _NO_DATA_U32 if value is None else value)


def _parse_request_time(edt: bytes, *, max_count: int, half_hours: bool) -> dt.datetime | None:
    """Validate an ED/EF value (``YYYY MM DD hh mm n``); return its instant or None."""
    if len(edt) != 7:
        return None
    year, month, day, hour, minute, count = struct.unpack(">HBBBBB", edt)
    if not 1 <= count <= max_count or hour > 23 or minute > 59:
        return None
    if half_hours and minute not in (0, 30):
        return None
    try:
        return dt.datetime(year, month, day, hour, minute, tzinfo=JST)
    except ValueError:
        return None


_EdtGetter = Callable[[dt.datetime], bytes]


class _MeterObjects(_MeterCounters):
    """The node profile and the smart meter object: what a Get reads, what a Set does."""

    def __init__(self, clock: SimClock, config: MeterConfig | None = None) -> None:
        super().__init__(clock, config)
        cfg = self.config
        # writable state
        self._location = bytes([cfg.location])
        self._history_day = cfg.initial_history_day
        self._history2 = _UNSET_REQUEST
        self._history3 = _UNSET_REQUEST
        self._objects: dict[Eoj, dict[int, _EdtGetter]] = {
            NODE_PROFILE: self._node_profile_getters(),
            SMART_METER: self._meter_getters(),
        }

    # ------------------------------------------------------------------ property tables
    def _node_profile_getters(self) -> dict[int, _EdtGetter]:
        cfg = self.config
        instances = b"\x01" + bytes(SMART_METER)
        static = {
            0x80: b"\x30",
            0x82: bytes((0x01, 0x0D, 0x01, 0x00)),
            0x83: b"\xfe" + cfg.manufacturer_code.to_bytes(3, "big") + self._serial_bytes(13),
            0x8A: cfg.manufacturer_code.to_bytes(3, "big"),
            0x9D: encode_property_map(_NODE_PROFILE_ANNO_MAP),
            0x9E: encode_property_map(()),
            0x9F: encode_property_map(_NODE_PROFILE_GET_MAP),
            0xD3: (1).to_bytes(3, "big"),
            0xD4: (2).to_bytes(2, "big"),
            0xD5: instances,
            0xD6: instances,
            0xD7: b"\x01" + SMART_METER.class_id.to_bytes(2, "big"),
        }
        return {epc: _constant(value) for epc, value in static.items()}

    def _meter_getters(self) -> dict[int, _EdtGetter]:
        cfg = self.config
        get_map = self.get_property_map()
        getters: dict[int, _EdtGetter] = {
            0x80: _constant(b"\x30"),
            0x81: lambda _at: self._location,
            0x82: _constant(b"\x00\x00" + cfg.release.encode("ascii") + b"\x00"),
            0x88: _constant(b"\x41" if cfg.fault else b"\x42"),
            0x8A: _constant(cfg.manufacturer_code.to_bytes(3, "big")),
            0x8D: _constant(self._serial_bytes(12)),
            0x97: lambda at: bytes((at.hour, at.minute)),
            0x98: lambda at: struct.pack(">HBB", at.year, at.month, at.day),
            0x9D: _constant(encode_property_map(_METER_ANNO_MAP)),
            0x9E: _constant(encode_property_map(self.set_property_map())),
            0x9F: _constant(encode_property_map(get_map)),
            0xC0: _constant(
                b"\x00" + cfg.manufacturer_code.to_bytes(3, "big") + self._serial_bytes(12)
            ),
            0xD0: self._edt_d0,
            0xD3: _constant((cfg.coefficient or 1).to_bytes(4, "big")),
            0xD7: _constant(bytes((cfg.digits,))),
            0xE0: lambda at: _u32(self.cumulative_raw(at)),
            0xE1: _constant(bytes((cfg.unit_code,))),
            0xE2: lambda at: self._edt_history1(at, reverse=False),
            0xE3: lambda at: _u32(self.cumulative_raw(at, reverse=True)),
            0xE4: lambda at: self._edt_history1(at, reverse=True),
            0xE5: lambda _at: bytes((self._history_day,)),
            0xE7: lambda at: struct.pack(">i", clamp(self.instant_power_watts(at), _INT32_MAX)),
            0xE8: self._edt_e8,
            0xEA: lambda at: self._edt_fixed_time(at, reverse=False),
            0xEB: lambda at: self._edt_fixed_time(at, reverse=True),
            0xEC: lambda at: self._edt_pairs(at, self._history2, HALF_HOUR),
            0xED: lambda _at: self._history2,
            0xEE: lambda at: self._edt_pairs(at, self._history3, _MINUTE),
            0xEF: lambda _at: self._history3,
        }
        return {epc: getter for epc, getter in getters.items() if epc in get_map}

    def _serial_bytes(self, size: int) -> bytes:
        return self.config.serial.encode("ascii")[:size].ljust(size, b"\x00")

    def get_property_map(self) -> tuple[int, ...]:
        """The EPCs of the meter object's Get property map (9F), sorted."""
        cfg = self.config
        epcs = set(_METER_GET_MAP_F)
        if cfg.release == "R":
            epcs.update(_METER_GET_EXTRA_R)
        if cfg.coefficient is None:
            epcs.discard(0xD3)
        if not cfg.reverse_direction:
            epcs.difference_update(_METER_REVERSE_EPCS)
        return tuple(sorted(epcs))

    def set_property_map(self) -> tuple[int, ...]:
        """The EPCs of the meter object's Set property map (9E), sorted."""
        return (*_METER_SET_MAP_F, 0xEF) if self.config.release == "R" else _METER_SET_MAP_F

    # ------------------------------------------------------------------ state
    @property
    def history_day(self) -> int:
        """The E5 value: the day E2/E4 answer for (0 = today)."""
        return self._history_day

    @property
    def history2_request(self) -> bytes:
        """The ED value (7 bytes; ``FFFFFFFFFFFF01`` until set)."""
        return self._history2

    @property
    def history3_request(self) -> bytes:
        """The EF value (7 bytes; ``FFFFFFFFFFFF01`` until set; Release R)."""
        return self._history3

    @property
    def location_edt(self) -> bytes:
        """The 81 (installation location) value as the meter would answer it."""
        return self._location

    def edt(self, eoj: int | Eoj, epc: int, at: dt.datetime | None = None) -> bytes | None:
        """What a Get of ``epc`` on object ``eoj`` would return (``None`` = Get_SNA)."""
        target = eoj if isinstance(eoj, Eoj) else Eoj.from_int(eoj)
        getter = self._objects.get(target, {}).get(epc)
        if getter is None:
            return None
        return getter(self._at(at))

    # ------------------------------------------------------------------ EDT builders
    def _oldest_history(self, at: dt.datetime) -> dt.datetime:
        date = at.date() - dt.timedelta(days=HISTORY_DAYS - 1)
        return dt.datetime(date.year, date.month, date.day, tzinfo=JST)

    def _edt_history1(self, at: dt.datetime, *, reverse: bool) -> bytes:
        day = self._history_day
        if day >= HISTORY_DAYS:
            values: Sequence[int | None] = (None,) * SLOTS_PER_DAY
        else:
            values = self.history_raw(day, reverse=reverse, at=at)
        return day.to_bytes(2, "big") + b"".join(_u32(value) for value in values)

    def _edt_fixed_time(self, at: dt.datetime, *, reverse: bool) -> bytes:
        slot, value = self.fixed_time_reading(at, reverse=reverse)
        return _dt7(slot) + _u32(value)

    def _edt_d0(self, at: dt.datetime) -> bytes:
        minute = at.replace(second=0, microsecond=0)
        return (
            _dt7(minute)
            + _u32(self.cumulative_raw(minute))
            + _u32(self.cumulative_raw(minute, reverse=True))
        )

    def _edt_e8(self, at: dt.datetime) -> bytes:
        r_phase, t_phase = self.instant_current_deciamperes(at)
        return struct.pack(">hh", r_phase, _NO_DATA_I16 if t_phase is None else t_phase)

    def _edt_pairs(self, at: dt.datetime, request: bytes, step: dt.timedelta) -> bytes:
        """EC/EE: the request header, then (normal, reverse) pairs going back by ``step``."""
        if request == _UNSET_REQUEST:
            return _UNSET_REQUEST + _u32(None) + _u32(None)
        year, month, day, hour, minute, count = struct.unpack(">HBBBBB", request)
        start = dt.datetime(year, month, day, hour, minute, tzinfo=JST)
        oldest = self._oldest_history(at)
        out = bytearray(request)
        for index in range(count):
            when = start - step * index
            if oldest <= when <= at:
                normal: int | None = self.cumulative_raw(when)
                reverse = (
                    self.cumulative_raw(when, reverse=True)
                    if self.config.reverse_direction
                    else None
                )
            else:
                normal = reverse = None
            out += _u32(normal) + _u32(reverse)
        return bytes(out)

    # ------------------------------------------------------------------ Set handling
    def _set(self, eoj: Eoj, epc: int, edt: bytes) -> bool:
        """Apply one Set; return whether it was accepted."""
        if eoj != SMART_METER or epc not in self.set_property_map():
            return False
        if epc == 0x81:
            if len(edt) == 1 or (len(edt) == 17 and edt[0] == 0x01):
                self._location = edt
                return True
            return False
        if epc == 0xE5:
            if len(edt) == 1 and edt[0] < HISTORY_DAYS:
                self._history_day = edt[0]
                return True
            return False
        if epc == 0xED:
            if _parse_request_time(edt, max_count=12, half_hours=True) is None:
                return False
            self._history2 = edt
            return True
        if epc == 0xEF:
            if _parse_request_time(edt, max_count=10, half_hours=False) is None:
                return False
            self._history3 = edt
            return True
        return False  # pragma: no cover - the Set map lists only the EPCs above

    def _apply_sets(self, eoj: Eoj, props: Sequence[Property]) -> tuple[list[Property], bool]:
        out: list[Property] = []
        ok = True
        for prop in props:
            if self._set(eoj, prop.epc, prop.edt):
                out.append(Property(prop.epc))
            else:
                out.append(prop)  # a rejected property echoes its PDC and EDT
                ok = False
        return out, ok

    def _read(
        self, eoj: Eoj, props: Sequence[Property], at: dt.datetime
    ) -> tuple[list[Property], bool]:
        getters = self._objects[eoj]
        out: list[Property] = []
        ok = True
        for prop in props:
            getter = getters.get(prop.epc)
            if getter is None:
                out.append(Property(prop.epc))
                ok = False
            else:
                out.append(Property(prop.epc, getter(at)))
        return out, ok


def _constant(value: bytes) -> _EdtGetter:
    return lambda _at: value
