"""A simulated low-voltage smart electric energy meter: the ECHONET Lite node of the B route.

:class:`SimulatedMeter` is the meter side of the ECHONET Lite conversation: it holds a
node profile (``0x0EF001``) and a smart meter object (``0x028801``), answers the
controller's requests (Get, SetC, SetI, INF_REQ, SetGet), counts INFC_Res replies and
produces the spontaneous frames a real meter sends (the instance-list INF at startup and
the half-hourly EA/EB push). It does no I/O and runs no task: the simulated Wi-SUN module
feeds it the payloads it receives and transmits what it returns.

The data are consistent and deterministic. A seeded household load curve (see
``_meter_load``) gives the instantaneous power E7 at every instant; the cumulative
counters E0/E3 are its exact integral, converted to counts with E1 and D3 and wrapped at
``10 ** D7``; the historical data E2/E4, EA/EB, EC, EE and D0 are the same counters read
at the matching instants. ``MeterConfig.initial_normal_raw`` is the counter at the
clock's start (``SimClock``'s start time, not the moment the meter was created); going
back in time the counters decrease down to 0 and stay there (the meter's installation)
rather than wrapping backwards.

All property values are encoded here with ``struct``/``int.to_bytes``, independently of
the library's value codecs, so tests of those codecs against the simulator cross-check
two implementations.

Choices where the specification is open:

* E5 (the day read by E2/E4) is 0 until the controller sets it
  (``MeterConfig.initial_history_day``; pass ``0xFF`` for the MRA "not set" default, in
  which case E2/E4 answer day ``0x00FF`` with every slot ``0xFFFFFFFE``). The day is
  relative to the meter's date when E2 is read, not when E5 was set.
* History (E2/E4, EC, EE) reaches back to 00:00 of the day 99 days ago; older or
  future instants read ``0xFFFFFFFE``. A history slot is available from its own
  instant on (at 19:00:00 the 19:00 slot is filled).
* Currents: single-phase three-wire 100/200 V, ``R + T = P / 100 V`` with a daily
  R share of 40-60 % (on average each phase carries ``P / 200 V``); single-phase
  two-wire ``R = P / 100 V`` and T is ``0x7FFE``. Currents have the sign of the power.
* The Get EPC limit (``max_epcs_per_get``) applies to Get only, not to SetGet.
* INF_REQ is answered with INF for any readable property (INF_SNA, formatted like
  Get_SNA, otherwise); an INFC from the controller gets its INFC_Res.
* Instance code ``0x00`` in a DEOJ addresses every instance of the class, so
  ``0x028800`` reaches the meter and ``0x0EF000`` the node profile; the answer's SEOJ
  is the real instance.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import struct
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from aiobroute.echonet._frame import Frame, Property
from aiobroute.echonet._types import CONTROLLER, NODE_PROFILE, SMART_METER, Eoj, Esv
from aiobroute.errors import FrameDecodeError, InvalidArgumentError
from aiobroute.testing._clock import JST
from aiobroute.testing._meter_load import shared_load_model

if TYPE_CHECKING:
    from aiobroute.testing._clock import SimClock

__all__ = ["MeterConfig", "SimulatedMeter"]

_LOGGER = logging.getLogger(__name__)

#: kWh per count for each E1 code.
UNIT_KWH: dict[int, Decimal] = {
    0x00: Decimal(1),
    0x01: Decimal("0.1"),
    0x02: Decimal("0.01"),
    0x03: Decimal("0.001"),
    0x04: Decimal("0.0001"),
    0x0A: Decimal(10),
    0x0B: Decimal(100),
    0x0C: Decimal(1000),
    0x0D: Decimal(10000),
}

_NO_DATA_U32 = 0xFFFFFFFE
_UNSET_REQUEST = b"\xff" * 6 + b"\x01"
_HISTORY_DAYS = 100
_HALF_HOUR = dt.timedelta(minutes=30)
_MINUTE = dt.timedelta(minutes=1)
_SLOTS_PER_DAY = 48
_INT32_MAX = 0x7FFFFFFD
_INT16_MAX = 0x7FFD
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


# --------------------------------------------------------------------------- config
def _check_range(low: int, high: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not low <= value <= high:
            raise InvalidArgumentError(f"{attribute.name} must be {low}..{high}, got {value!r}")

    return check


def _check_release(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("F", "R"):
        raise InvalidArgumentError(f"release must be 'F' or 'R', got {value!r}")


def _check_coefficient(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and not 1 <= value <= 999_999:
        raise InvalidArgumentError(f"coefficient must be None or 1..999999, got {value!r}")


def _check_unit(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if value not in UNIT_KWH:
        raise InvalidArgumentError(f"unit_code 0x{value:02X} is not a defined E1 code")


def _check_optional_positive(
    _instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 1:
        raise InvalidArgumentError(f"{attribute.name} must be None or >= 1, got {value!r}")


def _check_interval(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 1440 or 1440 % value:
        raise InvalidArgumentError(
            f"push_interval_minutes must divide a day (1440 minutes), got {value!r}"
        )


def _check_serial(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value.isascii() or len(value) > 12:
        raise InvalidArgumentError("serial must be at most 12 ASCII characters")


def _check_history_day(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not (0 <= value < _HISTORY_DAYS or value == 0xFF):
        raise InvalidArgumentError(f"initial_history_day must be 0..99 or 0xFF, got {value!r}")


@attrs.frozen(kw_only=True)
class MeterConfig:
    """How the simulated meter is built and what its household does.

    Attributes:
        seed: selects the household's load curve (same seed, same data).
        release: ECHONET Appendix release, ``"F"`` (deployed meters) or ``"R"`` (adds
            C0, D0, EE and EF).
        coefficient: the D3 coefficient; ``None`` means D3 is not implemented (Get_SNA,
            absent from 9F) and the counters use a coefficient of 1.
        unit_code: the E1 unit code (``0x01`` = 0.1 kWh per count).
        digits: D7, the number of effective digits; the counters wrap at ``10 ** digits``.
        initial_normal_raw: the E0 counter at the clock's start (taken modulo
            ``10 ** digits``). ``10 ** 6 - 5`` with ``digits=6`` wraps within the hour.
        initial_reverse_raw: the E3 counter at the clock's start.
        reverse_direction: the meter measures reverse flow (E3, E4, EB implemented and
            EB pushed with EA). Real meters nearly always do.
        pv_export: the household has PV: E7 goes negative around midday and E3 grows
            while exporting. Needs ``reverse_direction``.
        pv_peak_watts: PV output at noon on a clear day; each day's weather scales it
            by 0.5 to 1.0.
        single_phase_two_wire: single-phase two-wire service: E8's T phase is ``0x7FFE``.
        max_epcs_per_get: a Get with more EPCs than this answers Get_SNA with every PDC
            0 (quirk of some meters); ``None`` = no limit.
        notify_with_infc: push EA/EB as INFC (0x74, expects INFC_Res) instead of INF.
        push_eb_separately: push EB in its own frame after EA instead of one frame
            with OPC 2.
        push_interval_minutes: the EA/EB push period (a divisor of 1440; 30 on meters).
        manufacturer_code: the ECHONET manufacturer code (8A, 83, C0); Toshiba by default.
        serial: the production number (8D), at most 12 ASCII characters; it also fills
            the unique parts of 83 and C0.
        location: the installation location (81) code; ``0x61`` = garden, number 1.
        fault: report a fault (88 = ``0x41``) instead of none (``0x42``).
        initial_history_day: E5 before the controller sets it: 0..99 or ``0xFF``.
        initial_tid: the TID of the first spontaneous frame (the meter's own counter).
    """

    seed: int = 0
    release: str = attrs.field(default="F", validator=_check_release)
    coefficient: int | None = attrs.field(default=1, validator=_check_coefficient)
    unit_code: int = attrs.field(default=0x01, validator=_check_unit)
    digits: int = attrs.field(default=6, validator=_check_range(1, 8))
    initial_normal_raw: int = attrs.field(default=43_210, validator=_check_range(0, 2**63))
    initial_reverse_raw: int = attrs.field(default=0, validator=_check_range(0, 2**63))
    reverse_direction: bool = True
    pv_export: bool = False
    pv_peak_watts: int = attrs.field(default=3500, validator=_check_range(0, 1_000_000))
    single_phase_two_wire: bool = False
    max_epcs_per_get: int | None = attrs.field(default=None, validator=_check_optional_positive)
    notify_with_infc: bool = False
    push_eb_separately: bool = False
    push_interval_minutes: int = attrs.field(default=30, validator=_check_interval)
    manufacturer_code: int = attrs.field(default=0x000016, validator=_check_range(0, 0xFFFFFF))
    serial: str = attrs.field(default="SIM00000001", validator=_check_serial)
    location: int = attrs.field(default=0x61, validator=_check_range(0, 0xFF))
    fault: bool = False
    initial_history_day: int = attrs.field(default=0, validator=_check_history_day)
    initial_tid: int = attrs.field(default=0, validator=_check_range(0, 0xFFFF))

    def __attrs_post_init__(self) -> None:
        if self.pv_export and not self.reverse_direction:
            raise InvalidArgumentError("pv_export needs reverse_direction=True")

    @property
    def kwh_per_count(self) -> Decimal:
        """kWh represented by one count of E0/E3/E2/...: the E1 unit times D3."""
        return UNIT_KWH[self.unit_code] * (self.coefficient or 1)


# --------------------------------------------------------------------------- encoding
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


def _clamp(value: int, limit: int) -> int:
    return max(-limit, min(limit, value))


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


def _clock_start(clock: SimClock) -> dt.datetime:
    """The clock's start instant, readable without a running event loop."""
    start = getattr(clock, "start", None)
    if not isinstance(start, dt.datetime):
        start = clock._start  # the clock has no public accessor (yet)
    return start.astimezone(JST)


# --------------------------------------------------------------------------- the meter
_EdtGetter = Callable[[dt.datetime], bytes]


class SimulatedMeter:
    """The ECHONET Lite node of a simulated smart meter (node profile + 0x028801).

    Args:
        clock: the simulated wall clock; it gives "now" and the counters' origin.
        config: the meter's configuration; defaults to :class:`MeterConfig` ``()``.

    Attributes:
        config: the configuration in use.
        frames_received: every payload given to :meth:`handle_payload`, in order.
        frames_sent: every payload the meter produced (answers, startup, pushes).
        infc_res_received: how many INFC_Res frames the controller sent to the meter.

    Example (inside a running event loop, which the clock needs for "now")::

        clock = SimClock()
        meter = SimulatedMeter(clock, MeterConfig(seed=3, pv_export=True))
        replies = meter.handle_payload(bytes.fromhex("1081 0001 05FF01 028801 62 01 E7 00"))
    """

    def __init__(self, clock: SimClock, config: MeterConfig | None = None) -> None:
        self.config: MeterConfig = config or MeterConfig()
        self.frames_received: list[bytes] = []
        self.frames_sent: list[bytes] = []
        self.infc_res_received = 0
        self._clock = clock
        self._epoch: dt.datetime | None = None
        cfg = self.config
        self._modulus: int = 10**cfg.digits
        self._ws_per_count = float(cfg.kwh_per_count) * 3_600_000.0
        self._load = shared_load_model(cfg.seed, float(cfg.pv_peak_watts if cfg.pv_export else 0))
        self._epoch_energy: tuple[float, float] | None = None
        self._prefix: dict[int, tuple[float, float]] = {}
        self._tid = cfg.initial_tid
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
            0xE7: lambda at: struct.pack(">i", _clamp(self.instant_power_watts(at), _INT32_MAX)),
            0xE8: self._edt_e8,
            0xEA: lambda at: self._edt_fixed_time(at, reverse=False),
            0xEB: lambda at: self._edt_fixed_time(at, reverse=True),
            0xEC: lambda at: self._edt_pairs(at, self._history2, _HALF_HOUR),
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

    # ------------------------------------------------------------------ time helpers
    def _at(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            return self._clock.now()
        if at.tzinfo is None:
            return at.replace(tzinfo=JST)
        return at.astimezone(JST)

    @property
    def epoch(self) -> dt.datetime:
        """The instant at which the counters read their initial values (the clock's start)."""
        if self._epoch is None:
            self._epoch = _clock_start(self._clock)
        return self._epoch

    @staticmethod
    def _split(at: dt.datetime) -> tuple[int, float]:
        seconds = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
        return at.toordinal(), seconds

    def _prefix_energy(self, ordinal: int) -> tuple[float, float]:
        """Energy from midnight of the epoch's day to midnight of ``ordinal`` (signed)."""
        cached = self._prefix.get(ordinal)
        if cached is not None:
            return cached
        origin = self.epoch.toordinal()
        imp = exp = 0.0
        if ordinal >= origin:
            days: Iterable[int] = range(origin, ordinal)
            sign = 1.0
        else:
            days = range(ordinal, origin)
            sign = -1.0
        for day in days:
            day_imp, day_exp = self._load.day_totals(day)
            imp += day_imp
            exp += day_exp
        result = (sign * imp, sign * exp)
        self._prefix[ordinal] = result
        return result

    def _energy(self, at: dt.datetime) -> tuple[float, float]:
        """Imported and exported energy (W s) from the epoch to ``at`` (negative before)."""
        if self._epoch_energy is None:
            self._epoch_energy = self._load.day_energy(*self._split(self.epoch))
        ordinal, seconds = self._split(at)
        pre_imp, pre_exp = self._prefix_energy(ordinal)
        day_imp, day_exp = self._load.day_energy(ordinal, seconds)
        epoch_imp, epoch_exp = self._epoch_energy
        return pre_imp + day_imp - epoch_imp, pre_exp + day_exp - epoch_exp

    # ------------------------------------------------------------------ ground truth
    def _power(self, at: dt.datetime) -> float:
        return self._load.power(*self._split(at))

    def instant_power_watts(self, at: dt.datetime | None = None) -> int:
        """E7: net power in W (negative while exporting), at ``at`` (default now)."""
        return round(self._power(self._at(at)))

    def instant_current_deciamperes(self, at: dt.datetime | None = None) -> tuple[int, int | None]:
        """E8: the R and T phase currents in 0.1 A; T is ``None`` on two-wire service."""
        at = self._at(at)
        power = self._power(at)
        if self.config.single_phase_two_wire:
            return _clamp(round(power / 10), _INT16_MAX), None
        share = self._load.phase_split(at.toordinal())
        # R + T = P / 100 V, in units of 0.1 A.
        r_phase = _clamp(round(power * share / 10), _INT16_MAX)
        t_phase = _clamp(round(power * (1 - share) / 10), _INT16_MAX)
        return r_phase, t_phase

    def cumulative_raw(self, at: dt.datetime | None = None, *, reverse: bool = False) -> int:
        """E0 (or E3 with ``reverse``): the counter, already wrapped at ``10 ** digits``.

        The counter reads ``initial_*_raw`` at the clock's start. Going back in time it
        decreases by the energy used, down to 0 and no further (the meter's installation).
        """
        imp, exp = self._energy(self._at(at))
        if reverse:
            initial, energy = self.config.initial_reverse_raw, exp
        else:
            initial, energy = self.config.initial_normal_raw, imp
        # Before the clock's start the counter runs backwards from its initial value; it
        # stops at 0 (as if the meter had been installed then) instead of wrapping.
        return max(0, initial + math.floor(energy / self._ws_per_count)) % self._modulus

    def cumulative_kwh(self, at: dt.datetime | None = None, *, reverse: bool = False) -> Decimal:
        """The counter converted to kWh (raw x D3 x E1), as a controller should compute it."""
        return self.cumulative_raw(at, reverse=reverse) * self.config.kwh_per_count

    def fixed_time_reading(
        self, at: dt.datetime | None = None, *, reverse: bool = False
    ) -> tuple[dt.datetime, int]:
        """EA (or EB): the last :00/:30 at or before ``at`` and the counter then."""
        at = self._at(at)
        slot = at.replace(minute=at.minute - at.minute % 30, second=0, microsecond=0)
        return slot, self.cumulative_raw(slot, reverse=reverse)

    def history_raw(
        self, day: int, *, reverse: bool = False, at: dt.datetime | None = None
    ) -> tuple[int | None, ...]:
        """E2 (or E4): the 48 counters at 00:00..23:30 of ``day`` days before ``at``.

        Slots after ``at`` are ``None`` (sent as ``0xFFFFFFFE``).
        """
        if not 0 <= day < _HISTORY_DAYS:
            raise InvalidArgumentError(f"day must be 0..99, got {day!r}")
        at = self._at(at)
        date = at.date() - dt.timedelta(days=day)
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=JST)
        slots = (midnight + _HALF_HOUR * index for index in range(_SLOTS_PER_DAY))
        return tuple(
            self.cumulative_raw(slot, reverse=reverse) if slot <= at else None for slot in slots
        )

    def edt(self, eoj: int | Eoj, epc: int, at: dt.datetime | None = None) -> bytes | None:
        """What a Get of ``epc`` on object ``eoj`` would return (``None`` = Get_SNA)."""
        target = eoj if isinstance(eoj, Eoj) else Eoj.from_int(eoj)
        getter = self._objects.get(target, {}).get(epc)
        if getter is None:
            return None
        return getter(self._at(at))

    # ------------------------------------------------------------------ EDT builders
    def _oldest_history(self, at: dt.datetime) -> dt.datetime:
        date = at.date() - dt.timedelta(days=_HISTORY_DAYS - 1)
        return dt.datetime(date.year, date.month, date.day, tzinfo=JST)

    def _edt_history1(self, at: dt.datetime, *, reverse: bool) -> bytes:
        day = self._history_day
        if day >= _HISTORY_DAYS:
            values: Sequence[int | None] = (None,) * _SLOTS_PER_DAY
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
            if len(edt) == 1 and edt[0] < _HISTORY_DAYS:
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

    # ------------------------------------------------------------------ protocol role
    def handle_payload(self, payload: bytes) -> list[bytes]:
        """Process one ECHONET Lite payload from the controller; return the replies.

        Malformed frames, format-2 frames, frames for an object the node does not have
        and frames that need no answer (responses, INF, INFC_Res) give ``[]``.
        """
        payload = bytes(payload)
        self.frames_received.append(payload)
        try:
            frame = Frame.decode(payload)
        except FrameDecodeError as exc:
            _LOGGER.debug("meter discards a malformed frame: %s", exc)
            return []
        target = self._resolve(frame.deoj)
        if target is None:
            _LOGGER.debug("meter discards a frame for absent object %s", frame.deoj)
            return []
        reply = self._dispatch(frame, target)
        if reply is None:
            return []
        data = reply.encode()
        self.frames_sent.append(data)
        return [data]

    def _resolve(self, deoj: Eoj) -> Eoj | None:
        for eoj in self._objects:
            if deoj == eoj or (deoj.instance == 0 and deoj.class_id == eoj.class_id):
                return eoj
        return None

    def _dispatch(self, frame: Frame, target: Eoj) -> Frame | None:
        esv = frame.esv

        def reply(
            answer: Esv, props: Sequence[Property], get_props: Sequence[Property] = ()
        ) -> Frame:
            return Frame(frame.tid, target, frame.seoj, answer, props, get_props)

        if esv is Esv.GET:
            limit = self.config.max_epcs_per_get
            if limit is not None and len(frame.properties) > limit:
                return reply(Esv.GET_SNA, [Property(p.epc) for p in frame.properties])
            props, ok = self._read(target, frame.properties, self._clock.now())
            return reply(Esv.GET_RES if ok else Esv.GET_SNA, props)
        if esv in (Esv.SETC, Esv.SETI):
            props, ok = self._apply_sets(target, frame.properties)
            if esv is Esv.SETC:
                return reply(Esv.SET_RES if ok else Esv.SETC_SNA, props)
            return None if ok else reply(Esv.SETI_SNA, props)
        if esv is Esv.INF_REQ:
            props, ok = self._read(target, frame.properties, self._clock.now())
            return reply(Esv.INF if ok else Esv.INF_SNA, props)
        if esv is Esv.SETGET:
            set_props, set_ok = self._apply_sets(target, frame.properties)
            get_props, get_ok = self._read(target, frame.get_properties, self._clock.now())
            answer = Esv.SETGET_RES if set_ok and get_ok else Esv.SETGET_SNA
            return reply(answer, set_props, get_props)
        if esv is Esv.INFC_RES:
            self.infc_res_received += 1
            return None
        if esv is Esv.INFC:
            return reply(Esv.INFC_RES, [Property(p.epc) for p in frame.properties])
        _LOGGER.debug("meter ignores a %s frame", esv.name)
        return None

    # ------------------------------------------------------------------ spontaneous frames
    def _next_tid(self) -> int:
        tid = self._tid
        self._tid = (tid + 1) & 0xFFFF
        return tid

    def _emit(self, frame: Frame) -> bytes:
        data = frame.encode()
        self.frames_sent.append(data)
        return data

    def startup_frames(self) -> list[bytes]:
        """The instance-list INF (D5 = ``01 028801``) sent right after authentication.

        It goes from the node profile to the node profile, for the all-nodes multicast
        address ``FF02::1``; the TID is the meter's own counter.
        """
        instances = b"\x01" + bytes(SMART_METER)
        frame = Frame(
            self._next_tid(), NODE_PROFILE, NODE_PROFILE, Esv.INF, [Property(0xD5, instances)]
        )
        return [self._emit(frame)]

    def next_push_time(self, after: dt.datetime) -> dt.datetime:
        """The next push instant (:00/:30 by default) strictly after ``after``, in JST."""
        after = self._at(after)
        midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
        step = dt.timedelta(minutes=self.config.push_interval_minutes)
        count = (after - midnight) // step + 1
        return midnight + step * count

    def push_frames(self, at: dt.datetime) -> list[bytes]:
        """The EA (and EB) notification for the push at ``at``, 028801 to 05FF01.

        The values are those of the last :00/:30 at or before ``at``. INF (0x73) or
        INFC (0x74, ``notify_with_infc``); EA and EB in one frame or two
        (``push_eb_separately``); EB only on meters with ``reverse_direction``.
        """
        at = self._at(at)
        props = [Property(0xEA, self._edt_fixed_time(at, reverse=False))]
        if self.config.reverse_direction:
            props.append(Property(0xEB, self._edt_fixed_time(at, reverse=True)))
        esv = Esv.INFC if self.config.notify_with_infc else Esv.INF
        groups = [[p] for p in props] if self.config.push_eb_separately else [props]
        return [
            self._emit(Frame(self._next_tid(), SMART_METER, CONTROLLER, esv, group))
            for group in groups
        ]


def _constant(value: bytes) -> _EdtGetter:
    return lambda _at: value
