"""What a meter told about itself, and the typed conversions it implies (pure, no I/O).

The property maps, the Appendix release, the coefficient (0xD3), the effective digits
(0xD7), the energy unit (0xE1) and the clock offset (0x97/0x98); from them, kWh values,
time-stamped readings and history entries. Values are decoded with the typed codecs of
:class:`~aiobroute.echonet.properties.MeterProperties`: each conversion knows its type.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TypeVar

from aiobroute._time import JST, now_jst
from aiobroute.echonet import MAX_COEFFICIENT
from aiobroute.echonet.properties import (
    METER_CLASS,
    CumulativeEnergyAtTime,
    DayHistory,
    IntervalHistory,
    MeterProperties,
    OneMinuteEnergy,
    PropertyCodec,
    StandardVersion,
    codec_for,
    counter_delta,
    energy_kwh,
    unit_multiplier,
)
from aiobroute.errors import InvalidArgumentError, MeterError, PropertyDecodeError
from aiobroute.models import InstantCurrent, IntervalEnergy, TimedEnergy

__all__ = ["ATTRIBUTE_EPCS", "MeterProfile", "decoded"]

_LOGGER = logging.getLogger("aiobroute.meter")
_T = TypeVar("_T")
_ZERO = dt.timedelta(0)
#: Years a meter's clock (0x98) may plausibly show; others are a reset or broken clock.
_PLAUSIBLE_YEARS = range(2000, 2100)
_HALF_HOUR = dt.timedelta(minutes=30)
_MINUTE = dt.timedelta(minutes=1)
P = MeterProperties

#: What the connection reads: Appendix release, property maps, scaling and the clock.
ATTRIBUTE_EPCS = (0x82, 0x9D, 0x9E, 0x9F, 0xD3, 0xD7, 0xE1, 0x97, 0x98)


def decoded(codec: PropertyCodec[_T], edts: Mapping[int, bytes]) -> _T | None:
    """The value of ``codec``'s property in ``edts``; None when absent or malformed."""
    edt = edts.get(codec.epc)
    if edt is None:
        return None
    try:
        return codec.decode(edt)
    except PropertyDecodeError as exc:
        _LOGGER.warning("skipping a value the meter sent malformed: %s", exc)
        return None


def coefficient(value: int | None, *, listed: bool) -> int:
    """The 0xD3 coefficient to scale energy with; never a guess for a listed property.

    Absent from the Get map, the coefficient is 1 by the specification; listed, it must
    be a valid value (1..999999), else energy cannot be scaled.
    """
    if value is not None and 1 <= value <= MAX_COEFFICIENT:
        return value
    if listed:
        sent = "none" if value is None else f"an invalid one ({value!r})"
        raise MeterError(
            f"the meter lists a coefficient (0xD3) but sent {sent}; energy cannot be scaled",
            epc=0xD3,
            stage="connect",
        )
    if value is not None:
        _LOGGER.warning("ignoring the unlisted coefficient (0xD3) %r; using 1", value)
    return 1


def _epc_list(value: object) -> frozenset[int]:
    if not isinstance(value, list) or not all(type(e) is int and 0 <= e <= 0xFF for e in value):
        raise ValueError("not a list of EPCs")
    return frozenset(value)


class MeterProfile:
    """The meter's attributes (read once per connection, or from the cache file)."""

    def __init__(self) -> None:
        self.get_map: frozenset[int] = frozenset()
        self.set_map: frozenset[int] = frozenset()
        self.announcement_map: frozenset[int] = frozenset()
        self.standard_version: StandardVersion | None = None
        self.coefficient = 1
        self.unit = Decimal(1)
        self.unit_code = 0
        self.digits: int | None = None
        self.clock_offset = _ZERO
        self.clock_known = False

    # ------------------------------------------------------------------ attributes

    def lacks_coefficient(self, edts: Mapping[int, bytes]) -> bool:
        """True when the Get map lists 0xD3 but the batch gave no valid one."""
        get_map = decoded(P.GET_MAP, edts)
        return get_map is not None and 0xD3 in get_map and decoded(P.COEFFICIENT, edts) is None

    def apply_attributes(self, edts: Mapping[int, bytes]) -> None:
        """Take the attributes from the EDTs of the connection reads.

        Raises:
            MeterError: no Get map, no valid unit, or a listed but invalid coefficient.
        """
        get_map = decoded(P.GET_MAP, edts)
        if get_map is None:
            raise MeterError("the meter did not send its Get property map (0x9F)", epc=0x9F)
        unit = decoded(P.ENERGY_UNIT, edts)
        if unit is None:
            raise MeterError(
                "the meter did not send a valid energy unit (0xE1): cannot scale energy",
                epc=0xE1,
            )
        self.get_map = get_map
        self.standard_version = decoded(P.STANDARD_VERSION, edts)
        self.announcement_map = decoded(P.ANNOUNCEMENT_MAP, edts) or frozenset()
        self.set_map = decoded(P.SET_MAP, edts) or frozenset()
        self.coefficient = coefficient(decoded(P.COEFFICIENT, edts), listed=0xD3 in get_map)
        self.digits = decoded(P.EFFECTIVE_DIGITS, edts)
        self.unit_code = int(unit)
        self.unit = unit_multiplier(unit)
        self.set_clock(decoded(P.CURRENT_DATE, edts), decoded(P.CURRENT_TIME, edts))

    def to_cache(self) -> dict[str, object]:
        """The attributes worth a cache file (they never change for one meter)."""
        version = self.standard_version
        return {
            "release": version.release if version else None,
            "revision": version.revision if version else None,
            "get_map": sorted(self.get_map),
            "set_map": sorted(self.set_map),
            "announcement_map": sorted(self.announcement_map),
            "coefficient": self.coefficient,
            "unit_code": self.unit_code,
            "digits": self.digits,
        }

    def from_cache(self, data: Mapping[str, object]) -> bool:
        """Take the attributes from a cache file's entry; False (nothing taken) if unusable."""
        try:
            get_map = _epc_list(data["get_map"])
            set_map = _epc_list(data["set_map"])
            announcement_map = _epc_list(data["announcement_map"])
            coefficient, unit_code = data["coefficient"], data["unit_code"]
            digits = data["digits"]
            release, revision = data["release"], data["revision"]
            if (
                type(coefficient) is not int
                or not 1 <= coefficient <= MAX_COEFFICIENT
                or type(unit_code) is not int
                or (digits is not None and (type(digits) is not int or not 1 <= digits <= 8))
            ):
                return False
            unit = unit_multiplier(unit_code)
            version = (
                StandardVersion(release, revision)
                if isinstance(release, str) and type(revision) is int
                else None
            )
        except (KeyError, TypeError, ValueError, InvalidArgumentError) as exc:
            _LOGGER.warning("ignoring cached meter attributes: %s", exc)
            return False
        if not get_map:
            return False
        self.get_map, self.set_map, self.announcement_map = get_map, set_map, announcement_map
        self.standard_version = version
        self.coefficient, self.unit_code, self.unit = coefficient, unit_code, unit
        self.digits = digits if type(digits) is int else None
        return True

    # ------------------------------------------------------------------ the clock

    def set_clock(self, meter_date: dt.date | None, meter_time: dt.time | None) -> None:
        """Measure the offset of the meter's clock (0x98 date, 0x97 time) from the host's."""
        if meter_date is None or meter_time is None:
            return
        self.clock_known = True
        if meter_date.year not in _PLAUSIBLE_YEARS:
            _LOGGER.warning(
                "ignoring the meter's implausible clock (%s %s); using the host's clock "
                "in Japan time",
                meter_date.isoformat(),
                meter_time.isoformat(),
            )
            self.clock_offset = _ZERO
            return
        offset = dt.datetime.combine(meter_date, meter_time, tzinfo=JST) - now_jst()
        # 0x97 has minute resolution: ignore offsets below a minute.
        self.clock_offset = offset if abs(offset) > _MINUTE else _ZERO

    def meter_now(self) -> dt.datetime:
        """The meter's current wall time, estimated from its clock offset."""
        return now_jst() + self.clock_offset

    # ------------------------------------------------------------------ conversions

    def kwh(self, raw: int | None) -> Decimal | None:
        """A raw energy counter in kWh (coefficient and unit applied)."""
        return energy_kwh(raw, self.coefficient, unit=self.unit)

    def timed(self, value: CumulativeEnergyAtTime) -> TimedEnergy | None:
        """A fixed-time reading (0xEA/0xEB); None while the meter has none yet."""
        if value.measured_at is None:
            return None
        return TimedEnergy(value.measured_at.replace(tzinfo=JST), self.kwh(value.raw), value.raw)

    def one_minute(self, value: OneMinuteEnergy) -> IntervalEnergy | None:
        """A one-minute reading (0xD0); None while the meter has none yet."""
        if value.measured_at is None:
            return None
        stamp = value.measured_at.replace(tzinfo=JST)
        return IntervalEnergy(stamp, self.kwh(value.normal_raw), self.kwh(value.reverse_raw))

    def day_entries(
        self, history: DayHistory, *, day: int, today: dt.date | None = None
    ) -> list[TimedEnergy]:
        """The 48 half-hourly readings of historical data 1 (0xE2/0xE4)."""
        date = (today or self.meter_now().date()) - dt.timedelta(days=day)
        start = dt.datetime.combine(date, dt.time(0, 0), tzinfo=JST)
        return [
            TimedEnergy(start + _HALF_HOUR * slot, self.kwh(raw), raw)
            for slot, raw in enumerate(history.raw_values)
        ]

    def interval_entries(
        self, history: IntervalHistory, step: dt.timedelta
    ) -> list[IntervalEnergy]:
        """The readings of historical data 2 or 3 (0xEC/0xEE), oldest first."""
        if history.newest_at is None:
            return []
        newest = history.newest_at.replace(tzinfo=JST)
        try:
            entries = [
                IntervalEnergy(newest - step * index, self.kwh(normal), self.kwh(reverse))
                for index, (normal, reverse) in enumerate(history.raw_pairs)
            ]
        except OverflowError:
            raise MeterError(
                f"the meter's history ends at an impossible time ({history.newest_at})"
            ) from None
        entries.reverse()
        return entries

    def convert(self, epc: int, edt: bytes) -> object:
        """A meter property's EDT as the value ``SmartMeter.get()`` returns for it.

        Raises:
            PropertyDecodeError: the EDT is malformed.
        """
        converter = _CONVERTERS.get(epc)
        if converter is not None:
            return converter(self, edt)
        codec = codec_for(METER_CLASS, epc)
        return edt if codec is None else codec.decode(edt)

    def usage(self, entries: Sequence[TimedEnergy]) -> list[Decimal | None]:
        """Energy used between consecutive cumulative readings, with counter rollover."""
        result: list[Decimal | None] = []
        for entry in entries:
            if not isinstance(entry, TimedEnergy):
                raise InvalidArgumentError(
                    f"usage() takes TimedEnergy readings, got {type(entry).__name__}"
                )
        for before, after in itertools.pairwise(entries):
            if before.raw is None or after.raw is None:
                result.append(None)
            elif self.digits is None:
                # Without D7 a wrap cannot be told from a reset: no value rather than a guess.
                delta = after.raw - before.raw
                result.append(self.kwh(delta) if delta >= 0 else None)
            else:
                try:
                    result.append(self.kwh(counter_delta(after.raw, before.raw, self.digits)))
                except InvalidArgumentError:  # a reading beyond 10**digits: bad data
                    result.append(None)
        return result


def _current(profile: MeterProfile, edt: bytes) -> InstantCurrent:
    value = P.INSTANT_CURRENTS.decode(edt)
    return InstantCurrent(value.r_phase_amperes, value.t_phase_amperes)


def _day(codec: PropertyCodec[DayHistory]) -> Callable[[MeterProfile, bytes], object]:
    def convert(profile: MeterProfile, edt: bytes) -> list[TimedEnergy]:
        history = codec.decode(edt)
        return profile.day_entries(history, day=history.day or 0)

    return convert


def _interval(
    codec: PropertyCodec[IntervalHistory], step: dt.timedelta
) -> Callable[[MeterProfile, bytes], object]:
    def convert(profile: MeterProfile, edt: bytes) -> list[IntervalEnergy]:
        return profile.interval_entries(codec.decode(edt), step)

    return convert


#: The meter properties whose values get() scales or stamps, each with its typed codec.
_CONVERTERS: dict[int, Callable[[MeterProfile, bytes], object]] = {
    0xE0: lambda p, edt: p.kwh(P.CUMULATIVE_ENERGY_NORMAL.decode(edt)),
    0xE3: lambda p, edt: p.kwh(P.CUMULATIVE_ENERGY_REVERSE.decode(edt)),
    0xE8: _current,
    0xEA: lambda p, edt: p.timed(P.FIXED_TIME_ENERGY_NORMAL.decode(edt)),
    0xEB: lambda p, edt: p.timed(P.FIXED_TIME_ENERGY_REVERSE.decode(edt)),
    0xE2: _day(P.HISTORY_1_NORMAL),
    0xE4: _day(P.HISTORY_1_REVERSE),
    0xEC: _interval(P.HISTORY_2, _HALF_HOUR),
    0xEE: _interval(P.HISTORY_3, _MINUTE),
    0xD0: lambda p, edt: p.one_minute(P.ONE_MINUTE_ENERGY.decode(edt)),
}
