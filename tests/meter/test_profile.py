"""The pure meter profile: attributes, cache data, clock, kWh scaling, typed conversions."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from aiobroute._time import JST, now_jst
from aiobroute.echonet.properties import (
    CumulativeEnergyAtTime,
    DayHistory,
    EnergyUnit,
    IntervalHistory,
    MeterProperties,
    StandardVersion,
)
from aiobroute.errors import InvalidArgumentError, MeterError, PropertyDecodeError
from aiobroute.meter._profile import MeterProfile, coefficient, decoded
from aiobroute.models import InstantCurrent, IntervalEnergy, TimedEnergy

P = MeterProperties


def attributes(**overrides: bytes | None) -> dict[int, bytes]:
    edts = {
        0x82: P.STANDARD_VERSION.encode(StandardVersion("J", 1)),
        0x9D: P.ANNOUNCEMENT_MAP.encode(frozenset({0x80, 0xEA})),
        0x9E: P.SET_MAP.encode(frozenset({0xE5, 0xED})),
        0x9F: P.GET_MAP.encode(frozenset({0x80, 0xD3, 0xD7, 0xE0, 0xE1, 0xE7, 0x97, 0x98})),
        0xD3: P.COEFFICIENT.encode(10),
        0xD7: P.EFFECTIVE_DIGITS.encode(6),
        0xE1: P.ENERGY_UNIT.encode(EnergyUnit(0x01)),
    }
    names = {"version": 0x82, "get_map": 0x9F, "coefficient": 0xD3, "unit": 0xE1, "digits": 0xD7}
    for name, edt in overrides.items():
        epc = names[name]
        if edt is None:
            edts.pop(epc)
        else:
            edts[epc] = edt
    return edts


def test_attributes_scale_energy() -> None:
    profile = MeterProfile()
    profile.apply_attributes(attributes())
    assert profile.coefficient == 10
    assert profile.unit == Decimal("0.1")
    assert profile.digits == 6
    assert profile.standard_version == StandardVersion("J", 1)
    assert profile.kwh(123) == Decimal("123.0")
    assert profile.kwh(None) is None
    assert profile.set_map == frozenset({0xE5, 0xED})
    assert not profile.clock_known  # no 0x97/0x98 in the batch


def test_missing_get_map_or_unit_and_a_bad_listed_coefficient_are_errors() -> None:
    with pytest.raises(MeterError, match="0x9F"):
        MeterProfile().apply_attributes(attributes(get_map=None))
    with pytest.raises(MeterError, match="0xE1"):
        MeterProfile().apply_attributes(attributes(unit=b"\x99"))
    with pytest.raises(MeterError, match="coefficient"):
        MeterProfile().apply_attributes(attributes(coefficient=None))
    assert MeterProfile().lacks_coefficient(attributes(coefficient=b"\x00\x01"))
    assert not MeterProfile().lacks_coefficient(attributes())


def test_an_unlisted_coefficient_is_one(caplog: pytest.LogCaptureFixture) -> None:
    assert coefficient(None, listed=False) == 1
    with caplog.at_level(logging.WARNING, "aiobroute.meter"):
        assert coefficient(0, listed=False) == 1
    assert "unlisted coefficient" in caplog.text
    with pytest.raises(MeterError):
        coefficient(0, listed=True)


def test_decoded_is_typed_and_tolerant(caplog: pytest.LogCaptureFixture) -> None:
    edts = {0xE7: P.INSTANT_POWER.encode(-250), 0xE8: b"\x01"}
    watts: int | None = decoded(P.INSTANT_POWER, edts)
    assert watts == -250
    with caplog.at_level(logging.WARNING, "aiobroute.meter"):
        assert decoded(P.INSTANT_CURRENTS, edts) is None
    assert "malformed" in caplog.text
    assert decoded(P.COEFFICIENT, edts) is None


def test_cache_round_trip_and_refusals() -> None:
    profile = MeterProfile()
    profile.apply_attributes(attributes())
    data = profile.to_cache()
    again = MeterProfile()
    assert again.from_cache(data)
    assert again.to_cache() == data
    assert again.kwh(5) == profile.kwh(5)
    for broken in (
        {**data, "coefficient": 0},
        {**data, "coefficient": True},
        {**data, "digits": 9},
        {**data, "get_map": []},
        {**data, "get_map": [300]},
        {**data, "unit_code": "1"},
        {key: value for key, value in data.items() if key != "set_map"},
    ):
        fresh = MeterProfile()
        assert not fresh.from_cache(broken)
        assert fresh.get_map == frozenset()


def test_clock_offset_below_a_minute_is_ignored_and_implausible_years_too() -> None:
    profile = MeterProfile()
    now = now_jst()
    profile.set_clock(now.date(), now.time())
    assert profile.clock_known
    assert profile.clock_offset == dt.timedelta(0)
    ahead = now + dt.timedelta(hours=2)
    profile.set_clock(ahead.date(), ahead.time())
    assert dt.timedelta(minutes=119) < profile.clock_offset <= dt.timedelta(hours=2)
    assert abs(profile.meter_now() - ahead) < dt.timedelta(minutes=1)
    profile.set_clock(dt.date(1, 1, 1), dt.time(0, 0))
    assert profile.clock_offset == dt.timedelta(0)
    unknown = MeterProfile()
    unknown.set_clock(None, dt.time(1, 2))
    assert not unknown.clock_known


def test_conversions_of_get_values() -> None:
    profile = MeterProfile()
    profile.apply_attributes(attributes())
    assert profile.convert(0xE0, P.CUMULATIVE_ENERGY_NORMAL.encode(42)) == Decimal("42.0")
    assert profile.convert(0xE7, P.INSTANT_POWER.encode(900)) == 900
    currents = profile.convert(0xE8, bytes.fromhex("000A7FFE"))
    assert currents == InstantCurrent(Decimal("1.0"), None)
    stamp = dt.datetime(2026, 5, 20, 14, 0)
    timed = profile.convert(
        0xEA, P.FIXED_TIME_ENERGY_NORMAL.encode(CumulativeEnergyAtTime(stamp, 7))
    )
    assert timed == TimedEnergy(stamp.replace(tzinfo=JST), Decimal("7.0"), 7)
    assert (
        profile.convert(0xEA, P.FIXED_TIME_ENERGY_NORMAL.encode(CumulativeEnergyAtTime(None, None)))
        is None
    )
    assert profile.convert(0x01, b"\x01\x02") == b"\x01\x02"  # no codec: raw
    with pytest.raises(PropertyDecodeError):
        profile.convert(0xE7, b"\x01")


def test_history_entries() -> None:
    profile = MeterProfile()
    profile.apply_attributes(attributes())
    day = DayHistory(1, (5,) * 47 + (None,))
    entries = profile.day_entries(day, day=1, today=dt.date(2026, 5, 20))
    assert len(entries) == 48
    assert entries[0].timestamp == dt.datetime(2026, 5, 19, 0, 0, tzinfo=JST)
    assert entries[-1].kwh is None
    assert entries[1] == TimedEnergy(dt.datetime(2026, 5, 19, 0, 30, tzinfo=JST), Decimal("5.0"), 5)
    newest = dt.datetime(2026, 5, 20, 14, 30)
    interval = IntervalHistory(newest, ((3, 1), (2, None)))
    assert profile.interval_entries(interval, dt.timedelta(minutes=30)) == [
        IntervalEnergy(dt.datetime(2026, 5, 20, 14, 0, tzinfo=JST), Decimal("2.0"), None),
        IntervalEnergy(newest.replace(tzinfo=JST), Decimal("3.0"), Decimal("1.0")),
    ]
    unset = IntervalHistory(None, ((None, None),))
    assert profile.interval_entries(unset, dt.timedelta(minutes=1)) == []


def test_usage_handles_rollover_only_with_digits() -> None:
    profile = MeterProfile()
    profile.apply_attributes(attributes())
    at = dt.datetime(2026, 5, 20, tzinfo=JST)
    readings = [TimedEnergy(at, None, raw) for raw in (999_998, 1, None, 3)]
    assert profile.usage(readings) == [Decimal("3.0"), None, None]
    profile.digits = None
    assert profile.usage(readings) == [None, None, None]
    # Anything but readings is a caller's mistake, said as such.
    with pytest.raises(InvalidArgumentError, match="TimedEnergy"):
        profile.usage([readings[0], 5])  # type: ignore[list-item]
