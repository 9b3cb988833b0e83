"""Export rows: usage across rollover, hourly sums, Home Assistant statistics, gaps."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from decimal import Decimal

from aiobroute.recorder import (
    GapReason,
    MeterAttributes,
    Reading,
    Source,
    find_gaps,
    statistic_rows,
    usage_rows,
)
from aiobroute.testing import JST

START = dt.datetime(2026, 5, 20, 0, 0, tzinfo=JST)
HALF_HOUR = dt.timedelta(minutes=30)
HOUR = dt.timedelta(hours=1)
#: 6 digits of 0.1 kWh: the counter wraps at 100000.0 kWh.
SCALE = MeterAttributes(1, Decimal("0.1"), 6, START)


def series(
    count: int, *, first: Decimal, seed: int = 1, start: dt.datetime = START
) -> list[Reading]:
    """Cumulative readings every 30 minutes, wrapping at 10**6 counts."""
    rng = random.Random(seed)
    raw = int(first * 10)
    out = []
    for index in range(count):
        out.append(
            Reading(
                start + HALF_HOUR * index,
                Decimal(raw) / 10,
                Decimal(index) / 10,
                Source.HISTORY,
                Source.HISTORY,
                SCALE,
            )
        )
        raw = (raw + rng.randint(0, 30)) % 10**6
    return out


def test_usage_is_rollover_aware() -> None:
    readings = series(10, first=Decimal("99999.5"))
    rows = usage_rows(readings)
    assert [r.slot_start for r in rows] == [START + HALF_HOUR * i for i in range(-1, 9)]
    assert rows[0].bought_usage_kwh is None  # nothing before the first reading
    assert any(b.bought_kwh < a.bought_kwh for a, b in itertools.pairwise(readings))  # type: ignore[operator]
    for row, (before, after) in zip(rows[1:], itertools.pairwise(readings), strict=True):
        assert row.bought_kwh == after.bought_kwh
        expected = (after.bought_kwh - before.bought_kwh) % Decimal(100000)  # type: ignore[operator]
        assert row.bought_usage_kwh == (expected + 100000 if expected < 0 else expected)
        assert row.bought_usage_kwh is not None
        assert Decimal(0) <= row.bought_usage_kwh <= Decimal(3)
        assert row.sold_usage_kwh == Decimal("0.1")


def test_without_d7_a_decrease_is_unknown_not_guessed() -> None:
    scale = MeterAttributes(1, Decimal("0.1"), None, START)
    readings = [
        Reading(START, Decimal(5), None, Source.HISTORY, None, scale),
        Reading(START + HALF_HOUR, Decimal(1), None, Source.HISTORY, None, scale),
    ]
    assert usage_rows(readings)[-1].bought_usage_kwh is None


def test_hourly_usage_sums_the_half_hours() -> None:
    readings = series(24 * 2 * 3 + 1, first=Decimal("99990.0"), seed=7)
    halves = {r.slot_start: r for r in usage_rows(readings)}
    hours = usage_rows(readings, hourly=True)
    assert hours[0].slot_start == START - HOUR  # ends at the first reading: no usage
    assert hours[0].bought_usage_kwh is None
    hours = hours[1:]
    assert len(hours) == 24 * 3
    for hour in hours:
        assert hour.slot_start.minute == 0
        first, second = halves[hour.slot_start], halves[hour.slot_start + HALF_HOUR]
        assert hour.bought_kwh == second.bought_kwh
        assert first.bought_usage_kwh is not None
        assert second.bought_usage_kwh is not None
        assert hour.bought_usage_kwh == first.bought_usage_kwh + second.bought_usage_kwh
        assert first.sold_usage_kwh is not None
        assert second.sold_usage_kwh is not None
        assert hour.sold_usage_kwh == first.sold_usage_kwh + second.sold_usage_kwh


def test_ha_statistics_are_top_of_hour_continuous_and_sum_the_usage() -> None:
    readings = series(24 * 2 * 2 + 1, first=Decimal("99995.0"), seed=3, start=START + HALF_HOUR)
    rows = statistic_rows(readings, bought_id="aiobroute:energy_bought", sold_id="x:sold")
    bought = [r for r in rows if r.statistic_id == "aiobroute:energy_bought"]
    sold = [r for r in rows if r.statistic_id == "x:sold"]
    assert len(bought) == len(sold) == 48
    hourly = {r.slot_start: r for r in usage_rows(readings, hourly=True)}
    assert bought[0].sum == 0
    for row in bought:
        assert (row.start.minute, row.start.second) == (0, 0)
        assert row.unit == "kWh"
        assert row.state == hourly[row.start].bought_kwh
    for before, after in itertools.pairwise(bought):
        assert after.start - before.start == HOUR  # continuous
        assert after.sum - before.sum == hourly[after.start].bought_usage_kwh
    assert sold[-1].sum == sold[-1].state - sold[0].state


def test_statistic_sum_follows_the_counter_across_a_hole() -> None:
    readings = [r for r in series(13, first=Decimal(10)) if r.at != START + 3 * HOUR]
    rows = statistic_rows(readings, bought_id="a:b", sold_id=None)
    assert [r.start for r in rows] == [START + HOUR * i for i in (-1, 0, 1, 3, 4, 5)]
    assert rows[-1].sum == rows[-1].state - rows[0].state


def test_gaps_tell_missing_from_no_data() -> None:
    readings = series(8, first=Decimal(10))
    del readings[3]  # never read
    blank = readings[5]
    readings[5] = Reading(blank.at, None, blank.sold_kwh, Source.HISTORY, Source.HISTORY, SCALE)
    gaps = find_gaps(readings)
    assert [(g.slot_start + HALF_HOUR, g.reason) for g in gaps] == [
        (START + HALF_HOUR * 3, GapReason.MISSING),
        (START + HALF_HOUR * 6, GapReason.NO_DATA),
    ]
    assert (gaps[1].bought, gaps[1].sold) == (True, False)
    # With explicit bounds the gaps before the first reading are listed too: the half
    # hour from 23:00 ends at 23:30, never read; the one from 23:30 ends at the first reading.
    bounded = find_gaps(readings, since=START - HOUR, until=START + HOUR)
    assert [(g.slot_start, g.reason) for g in bounded] == [(START - HOUR, GapReason.MISSING)]
