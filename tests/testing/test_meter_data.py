"""The simulated meter's data: load curve, counters, history and their consistency."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.echonet import CONTROLLER, SMART_METER, Esv, Frame, Property
from aiobroute.errors import InvalidArgumentError
from aiobroute.testing._clock import JST, SimClock
from aiobroute.testing._meter import MeterConfig, SimulatedMeter
from aiobroute.testing._meter_load import LoadModel

H = bytes.fromhex
NO_DATA = 0xFFFFFFFE
START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)  # SimClock's default start
HALF_HOUR = dt.timedelta(minutes=30)


def make(config: MeterConfig | None = None) -> tuple[SimClock, SimulatedMeter]:
    # A nearly frozen clock: time moves only by advance().
    clock = SimClock(START, speed=1e-9)
    return clock, SimulatedMeter(clock, config)


def get_edt(meter: SimulatedMeter, epc: int) -> bytes:
    payload = Frame(7, CONTROLLER, SMART_METER, Esv.GET, [Property(epc)]).encode()
    (reply,) = meter.handle_payload(payload)
    frame = Frame.decode(reply)
    assert frame.esv is Esv.GET_RES
    return frame.properties[0].edt


def setc(meter: SimulatedMeter, epc: int, edt: bytes) -> None:
    payload = Frame(8, CONTROLLER, SMART_METER, Esv.SETC, [Property(epc, edt)]).encode()
    (reply,) = meter.handle_payload(payload)
    assert Frame.decode(reply).esv is Esv.SET_RES


def u32s(data: bytes) -> list[int]:
    return [int.from_bytes(data[i : i + 4], "big") for i in range(0, len(data), 4)]


def dt6(when: dt.datetime, count: int) -> bytes:
    return struct.pack(">HBBBBB", when.year, when.month, when.day, when.hour, when.minute, count)


# ----------------------------------------------------------------------------- counters
async def test_counter_starts_at_initial_value_and_grows() -> None:
    clock, meter = make(MeterConfig(initial_normal_raw=500_000, initial_reverse_raw=1234))
    assert meter.cumulative_raw() == 500_000
    assert meter.cumulative_raw(reverse=True) == 1234
    assert get_edt(meter, 0xE0) == (500_000).to_bytes(4, "big")
    assert get_edt(meter, 0xE3) == (1234).to_bytes(4, "big")
    previous = meter.cumulative_raw()
    for _ in range(2 * 24 * 60 // 7):  # two days in 7-minute steps
        clock.advance(7 * 60)
        value = int.from_bytes(get_edt(meter, 0xE0), "big")
        assert value >= previous
        previous = value
    # two days of a household: 0.1 kWh counts, several kWh a day
    assert 50 < previous - 500_000 < 600
    assert meter.cumulative_raw(reverse=True) == 1234  # no PV, no export


async def test_counter_before_the_clock_start_is_lower() -> None:
    _, meter = make()
    assert meter.epoch == START
    earlier = meter.cumulative_raw(START - dt.timedelta(days=3))
    assert earlier < meter.cumulative_raw(START) == MeterConfig().initial_normal_raw


async def test_energy_is_the_integral_of_power() -> None:
    # 0.0001 kWh = 0.1 Wh per count, so a one-hour integral is resolved to 0.1 Wh
    _, meter = make(MeterConfig(unit_code=0x04, digits=8, initial_normal_raw=0, pv_export=True))
    tomorrow = START + dt.timedelta(days=1)
    for start in (tomorrow.replace(hour=19, minute=0), tomorrow.replace(hour=11, minute=0)):
        watt_seconds = 0.0
        exported = 0.0
        for second in range(3600):
            watts = meter.instant_power_watts(start + dt.timedelta(seconds=second + 0.5))
            watt_seconds += max(watts, 0)
            exported += max(-watts, 0)
        end = start + dt.timedelta(hours=1)
        counted = meter.cumulative_raw(end) - meter.cumulative_raw(start)
        counted_rev = meter.cumulative_raw(end, reverse=True) - meter.cumulative_raw(
            start, reverse=True
        )
        assert counted == pytest.approx(watt_seconds / 360, rel=0.005, abs=2)
        assert counted_rev == pytest.approx(exported / 360, rel=0.005, abs=2)


async def test_counter_stops_at_zero_going_back() -> None:
    _, meter = make(MeterConfig(pv_export=True, initial_reverse_raw=3))
    history = meter.history_raw(10, reverse=True)
    assert history == (0,) * 48  # not 999,99x: the meter was "installed" with 0
    assert meter.cumulative_raw(reverse=True) == 3
    filled = [v for v in meter.history_raw(0, reverse=True) if v is not None]
    assert len(filled) == 29  # 00:00 .. 14:00
    assert filled[0] == 0
    assert filled == sorted(filled)
    assert 0 < filled[-1] <= 3


async def test_coefficient_scales_the_counts() -> None:
    later = START + dt.timedelta(days=2)
    _, plain = make(MeterConfig(initial_normal_raw=0))
    _, scaled = make(MeterConfig(initial_normal_raw=0, coefficient=10))
    _, fine = make(MeterConfig(initial_normal_raw=0, unit_code=0x02))
    growth = plain.cumulative_raw(later)
    assert abs(scaled.cumulative_raw(later) * 10 - growth) <= 10
    assert abs(fine.cumulative_raw(later) - growth * 10) <= 10
    assert plain.cumulative_kwh(later) == growth * plain.config.kwh_per_count


async def test_rollover_at_the_effective_digits() -> None:
    clock, meter = make(MeterConfig(initial_normal_raw=10**6 - 5, digits=6))
    assert get_edt(meter, 0xD7) == H("06")
    before = meter.cumulative_raw()
    clock.advance(6 * 3600)  # 20:26, the evening peak
    after = meter.cumulative_raw()
    assert after < before  # wrapped
    assert 0 <= after < 10**6
    assert (after - before) % 10**6 > 5  # more than the 5 counts left before the wrap
    slots = [v for v in meter.history_raw(0) if v is not None]
    wraps = [i for i in range(1, len(slots)) if slots[i] < slots[i - 1]]
    assert len(wraps) == 1
    assert slots[wraps[0] - 1] >= 10**6 - 5
    assert slots[-1] <= after


async def test_small_digit_count_wraps_the_default_counter() -> None:
    _, meter = make(MeterConfig(digits=3))
    assert meter.cumulative_raw() == MeterConfig().initial_normal_raw % 1000
    assert all(v is None or v < 1000 for v in meter.history_raw(5))


# ----------------------------------------------------------------------------- history
async def test_e2_today_matches_e0_and_ea() -> None:
    clock, meter = make()
    clock.advance(5 * 3600)  # 19:26: slots 00:00 .. 19:00 are filled (39, like capture F7)
    e2 = get_edt(meter, 0xE2)
    assert len(e2) == 194
    assert e2[:2] == H("0000")
    values = u32s(e2[2:])
    assert len(values) == 48
    assert values[39:] == [NO_DATA] * 9
    filled = values[:39]
    assert filled == sorted(filled)
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert filled == [meter.cumulative_raw(today + HALF_HOUR * i) for i in range(39)]
    ea = get_edt(meter, 0xEA)
    assert ea == H("07EA0514130000") + filled[-1].to_bytes(4, "big")
    assert meter.fixed_time_reading() == (today.replace(hour=19), filled[-1])
    assert meter.cumulative_raw() >= filled[-1]


async def test_history_is_stable_as_days_pass() -> None:
    clock, meter = make(MeterConfig(pv_export=True))
    today = meter.history_raw(0)
    today_rev = meter.history_raw(0, reverse=True)
    clock.advance(24 * 3600)
    yesterday = meter.history_raw(1)
    assert yesterday[: today.index(None)] == today[: today.index(None)]
    assert None not in yesterday
    assert meter.history_raw(1, reverse=True)[:29] == today_rev[:29]
    # last slot of yesterday <= first slot of today
    assert yesterday[-1] is not None
    first = meter.history_raw(0)[0]
    assert first is not None
    assert yesterday[-1] <= first
    # E4 answers the reverse history of the day set with E5
    setc(meter, 0xE5, H("01"))
    e4 = get_edt(meter, 0xE4)
    assert e4[:2] == H("0001")
    assert u32s(e4[2:]) == list(meter.history_raw(1, reverse=True))


async def test_hundred_days_of_history() -> None:
    _, meter = make()
    setc(meter, 0xE5, bytes([99]))
    e2 = get_edt(meter, 0xE2)
    assert e2[:2] == (99).to_bytes(2, "big")
    values = u32s(e2[2:])
    assert NO_DATA not in values
    assert values == sorted(values)
    assert values == list(meter.history_raw(99))
    with pytest.raises(InvalidArgumentError):
        meter.history_raw(100)


async def test_unset_history_day_option() -> None:
    _, meter = make(MeterConfig(initial_history_day=0xFF))
    assert get_edt(meter, 0xE5) == H("FF")
    assert get_edt(meter, 0xE2) == H("00FF") + H("FFFFFFFE") * 48
    setc(meter, 0xE5, H("00"))
    assert get_edt(meter, 0xE2)[2:6] != H("FFFFFFFE")


async def test_ec_pairs_go_back_in_half_hours() -> None:
    clock, meter = make(MeterConfig(pv_export=True))
    target = dt.datetime(2026, 5, 20, 15, 0, tzinfo=JST)  # in the future at 14:26
    setc(meter, 0xED, dt6(target, 12))
    ec = get_edt(meter, 0xEC)
    assert ec[:7] == dt6(target, 12)
    pairs = u32s(ec[7:])
    assert pairs[:4] == [NO_DATA] * 4  # 15:00 and 14:30 are not there yet
    for i in range(2, 12):
        when = target - HALF_HOUR * i
        assert pairs[2 * i] == meter.cumulative_raw(when)
        assert pairs[2 * i + 1] == meter.cumulative_raw(when, reverse=True)
    clock.advance(3600)
    pairs = u32s(get_edt(meter, 0xEC)[7:])
    assert pairs[:2] == [meter.cumulative_raw(target), meter.cumulative_raw(target, reverse=True)]
    # the normal counter decreases (or stays) going back in time
    assert pairs[0::2] == sorted(pairs[0::2], reverse=True)


async def test_ec_outside_the_retention_is_no_data() -> None:
    _, meter = make()
    old = START.replace(hour=0, minute=0) - dt.timedelta(days=100)
    setc(meter, 0xED, dt6(old, 3))
    assert get_edt(meter, 0xEC) == dt6(old, 3) + H("FFFFFFFE") * 6
    oldest = START.replace(hour=1, minute=0) - dt.timedelta(days=99)
    setc(meter, 0xED, dt6(oldest, 4))
    pairs = u32s(get_edt(meter, 0xEC)[7:])
    assert pairs[6:] == [NO_DATA, NO_DATA]  # 23:30 of the day before: too old
    assert NO_DATA not in pairs[:6]


async def test_ee_pairs_go_back_in_minutes_and_d0() -> None:
    clock, meter = make(MeterConfig(release="R", pv_export=True))
    clock.advance(34)  # 14:26:34
    target = START.replace(minute=20)
    setc(meter, 0xEF, dt6(target, 10))
    ee = get_edt(meter, 0xEE)
    assert len(ee) == 7 + 80
    pairs = u32s(ee[7:])
    expected: list[int] = []
    for i in range(10):
        when = target - dt.timedelta(minutes=i)
        expected += [meter.cumulative_raw(when), meter.cumulative_raw(when, reverse=True)]
    assert pairs == expected
    d0 = get_edt(meter, 0xD0)
    assert d0[:7] == H("07EA05140E1A00")
    assert u32s(d0[7:]) == [meter.cumulative_raw(START), meter.cumulative_raw(START, reverse=True)]


# ----------------------------------------------------------------------------- power
async def test_load_curve_shape_without_pv() -> None:
    _, meter = make()
    day = START.replace(hour=0, minute=0)
    samples = [meter.instant_power_watts(day + dt.timedelta(minutes=m)) for m in range(0, 1440, 5)]
    assert min(samples) > 0
    night = samples[2 * 12 : 4 * 12]  # 02:00-04:00
    evening = samples[19 * 12 : 21 * 12]  # 19:00-21:00
    assert max(night) < 600
    assert sum(evening) / len(evening) > 2 * sum(night) / len(night)
    assert len(set(samples)) > 100  # noisy, not a flat line


async def test_pv_export_at_midday() -> None:
    clock, meter = make(MeterConfig(pv_export=True, pv_peak_watts=4000))
    noon = START.replace(hour=12, minute=0)
    for day in range(1, 6):
        at = noon + dt.timedelta(days=day)
        assert meter.instant_power_watts(at) < 0
        # E3 grows across the midday hours, E0 much less
        rev = meter.cumulative_raw(at + HALF_HOUR, reverse=True) - meter.cumulative_raw(
            at - HALF_HOUR, reverse=True
        )
        assert rev > 0
    clock.advance((noon + dt.timedelta(days=1) - START).total_seconds())
    e7 = struct.unpack(">i", get_edt(meter, 0xE7))[0]
    assert e7 == meter.instant_power_watts() < 0
    r_phase, t_phase = struct.unpack(">hh", get_edt(meter, 0xE8))
    assert r_phase < 0
    assert t_phase < 0


async def test_normal_counter_stands_still_while_exporting() -> None:
    _, meter = make(MeterConfig(pv_export=True, unit_code=0x04, digits=8))
    start = START.replace(hour=11, minute=50) + dt.timedelta(days=1)
    samples = [meter.instant_power_watts(start + dt.timedelta(seconds=s)) for s in range(1200)]
    assert max(samples) < 0
    end = start + dt.timedelta(seconds=1200)
    assert meter.cumulative_raw(end) == meter.cumulative_raw(start)
    assert meter.cumulative_raw(end, reverse=True) > meter.cumulative_raw(start, reverse=True)


async def test_currents_follow_power() -> None:
    clock, meter = make()
    for _ in range(48):
        clock.advance(1800 + 17)
        watts = struct.unpack(">i", get_edt(meter, 0xE7))[0]
        r_phase, t_phase = struct.unpack(">hh", get_edt(meter, 0xE8))
        assert meter.instant_current_deciamperes() == (r_phase, t_phase)
        # single-phase three-wire: R + T = P / 100 V, in 0.1 A
        assert abs((r_phase + t_phase) - watts / 10) <= 2
        assert 0.35 * (r_phase + t_phase) - 1 <= r_phase <= 0.65 * (r_phase + t_phase) + 1


async def test_two_wire_currents() -> None:
    clock, meter = make(MeterConfig(single_phase_two_wire=True))
    clock.advance(5 * 3600)
    edt = get_edt(meter, 0xE8)
    assert edt[2:] == H("7FFE")
    r_phase = struct.unpack(">h", edt[:2])[0]
    assert meter.instant_current_deciamperes() == (r_phase, None)
    assert abs(r_phase - meter.instant_power_watts() / 10) <= 1


# ----------------------------------------------------------------------------- determinism
def transcript(meter: SimulatedMeter, clock: SimClock) -> list[bytes]:
    out: list[bytes] = []
    for step in range(6):
        clock.advance(2345 + step)
        for epcs in ((0xE7, 0xE8), (0xE0, 0xE3, 0xEA, 0xEB), (0xE2,), (0xE4,), (0x97, 0x98)):
            payload = Frame(step, CONTROLLER, SMART_METER, Esv.GET, [Property(e) for e in epcs])
            out += meter.handle_payload(payload.encode())
    return out


async def test_same_seed_same_bytes() -> None:
    clock, meter = make(MeterConfig(seed=42, pv_export=True))
    first = transcript(meter, clock)
    clock, meter = make(MeterConfig(seed=42, pv_export=True))
    meter.history_raw(99)  # touching other days first changes nothing
    assert transcript(meter, clock) == first
    clock, other = make(MeterConfig(seed=43, pv_export=True))
    assert transcript(other, clock) != first


async def test_different_seed_different_load() -> None:
    _, one = make(MeterConfig(seed=1))
    _, two = make(MeterConfig(seed=2))
    instants = [START + dt.timedelta(minutes=37 * i) for i in range(50)]
    different = sum(one.instant_power_watts(t) != two.instant_power_watts(t) for t in instants)
    assert different > 45
    assert one.cumulative_raw(START + dt.timedelta(days=3)) != two.cumulative_raw(
        START + dt.timedelta(days=3)
    )


async def test_same_instant_same_power_on_any_clock() -> None:
    _, meter = make(MeterConfig(seed=5))
    other_clock = SimClock(START + dt.timedelta(days=7), speed=1e-9)
    other = SimulatedMeter(other_clock, MeterConfig(seed=5))
    at = START + dt.timedelta(days=2, hours=3, seconds=12.25)
    assert meter.instant_power_watts(at) == other.instant_power_watts(at)
    naive = at.replace(tzinfo=None)
    utc = at.astimezone(dt.UTC)
    assert meter.instant_power_watts(naive) == meter.instant_power_watts(utc)
    assert meter.instant_power_watts(naive) == meter.instant_power_watts(at)
    # the counters are anchored at each clock's start, so their increments agree
    later = at + dt.timedelta(hours=5)
    mine = meter.cumulative_kwh(later) - meter.cumulative_kwh(at)
    theirs = other.cumulative_kwh(later) - other.cumulative_kwh(at)
    assert mine > 0
    assert abs(mine - theirs) <= mine.__class__("0.1")


# ----------------------------------------------------------------------------- properties
_PROPERTY_METER = SimulatedMeter(
    SimClock(START),
    MeterConfig(seed=9, pv_export=True, digits=8, unit_code=0x02, initial_normal_raw=10**7),
)
_OFFSETS = st.floats(min_value=-99 * 86400.0, max_value=100 * 86400.0, allow_nan=False)


@given(a=_OFFSETS, b=_OFFSETS)
def test_counters_never_decrease(a: float, b: float) -> None:
    early, late = sorted((a, b))
    t1 = START + dt.timedelta(seconds=early)
    t2 = START + dt.timedelta(seconds=late)
    meter = _PROPERTY_METER
    assert meter.cumulative_raw(t1) <= meter.cumulative_raw(t2)
    assert meter.cumulative_raw(t1, reverse=True) <= meter.cumulative_raw(t2, reverse=True)
    slot, value = meter.fixed_time_reading(t2)
    assert slot <= t2 < slot + HALF_HOUR
    assert slot.minute in (0, 30)
    assert value == meter.cumulative_raw(slot) <= meter.cumulative_raw(t2)


@given(offset=_OFFSETS, day=st.integers(min_value=0, max_value=99))
def test_history_slots_are_counter_readings(offset: float, day: int) -> None:
    at = START + dt.timedelta(seconds=offset)
    meter = _PROPERTY_METER
    slots = meter.history_raw(day, at=at)
    date = at.date() - dt.timedelta(days=day)
    midnight = dt.datetime(date.year, date.month, date.day, tzinfo=JST)
    for index in (0, 17, 47):
        when = midnight + HALF_HOUR * index
        expected = meter.cumulative_raw(when) if when <= at else None
        assert slots[index] == expected


async def test_values_do_not_depend_on_the_cache_state() -> None:
    # two independent models (no shared cache) queried in opposite orders agree exactly
    forward = LoadModel(11, pv_peak_watts=3000)
    backward = LoadModel(11, pv_peak_watts=3000)
    days = range(START.toordinal() - 5, START.toordinal() + 5)
    first = [(forward.day_totals(d), forward.power(d, 43_210.5)) for d in days]
    second = [(backward.day_totals(d), backward.power(d, 43_210.5)) for d in reversed(days)]
    assert first == second[::-1]
    _, meter = make(MeterConfig(seed=11, pv_export=True, pv_peak_watts=3000))
    noon = START.replace(hour=12, minute=0, second=10)
    assert meter.instant_power_watts(noon) == round(forward.power(noon.toordinal(), 43_210.0))
