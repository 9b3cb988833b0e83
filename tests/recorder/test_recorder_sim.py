"""The recorder against the simulator: a week with outages ends complete, exact, unique."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aiobroute import ConnectionState, MeterTimeouts, ReconnectPolicy, SmartMeter
from aiobroute.recorder import Recorder, RecordStore, Source, find_gaps, usage_rows
from aiobroute.testing import FaultPlan, MeterConfig, SimClock, Simulator
from tests.recorder._helpers import (
    FROZEN,
    HALF_HOUR,
    START,
    StatusWatch,
    assert_matches_truth,
    floor,
    instants,
    truth,
)

FAST = ReconnectPolicy(initial=0.001, cap=0.01, jitter=0.0)


def simulator(**meter: object) -> Simulator:
    config = MeterConfig(seed=4, pv_export=True, **meter)  # type: ignore[arg-type]
    clock = SimClock(START, speed=FROZEN)
    return Simulator("BP35C2", seed=3, timing="instant", clock=clock, meter=config)


@contextlib.asynccontextmanager
async def recording(
    sim: Simulator, store: RecordStore, watch: StatusWatch, **options: object
) -> AsyncIterator[tuple[SmartMeter, Recorder]]:
    async with sim.smart_meter(reconnect=FAST) as meter:
        recorder = Recorder(
            meter,
            store,
            clock=sim.clock,
            settle=60,
            on_status=watch,
            **options,  # type: ignore[arg-type]
        )
        task = asyncio.create_task(recorder.run())
        try:
            await watch.until(lambda s: s.last_reading is not None and not s.backfilling)
            yield meter, recorder
        finally:
            if task.done():
                task.result()  # a recorder that died is a failure of its own
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def step(sim: Simulator, watch: StatusWatch, seconds: float) -> None:
    """Let ``seconds`` of meter time pass; wait until the newest half hour is stored."""
    sim.clock.advance(seconds)
    latest = floor(sim.clock.now())
    await watch.until(lambda s: s.last_reading == latest and not s.backfilling)


async def settle_backfill(sim: Simulator, watch: StatusWatch) -> None:
    """Pass the recorder's settle time so it checks the window, and wait for the pass."""
    passes = watch.status.backfills
    now = sim.clock.now()
    sim.clock.advance((floor(now) + HALF_HOUR - now).total_seconds() + 61)
    await watch.until(lambda s: s.backfills > passes and not s.backfilling)
    assert watch.status.gaps_left == 0


async def reconnected(meter: SmartMeter, watch: StatusWatch, before: int, passes: int) -> None:
    """Wait until the meter has re-established its connection and the recorder backfilled.

    ``before`` is the meter's reconnection count and ``passes`` the recorder's backfill
    count from before the outage: the pass that the reconnection starts must be over, or
    it could end after the test moved the clock and be taken for the next one.
    """
    await watch.until(
        lambda s: (
            meter.reconnects > before
            and s.state is ConnectionState.READY
            and s.backfills > passes
            and not s.backfilling
        )
    )


async def test_a_week_with_outages_ends_complete_exact_and_unique(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A counter that wraps (6 digits) in the first hours: usage must stay rollover-aware.
    sim = simulator(initial_normal_raw=10**6 - 30, digits=6)
    watch = StatusWatch()
    db = tmp_path / "record.db"
    async with RecordStore.open(db) as store:
        async with recording(sim, store, watch, backfill_days=7) as (meter, recorder):
            # First start: 7 days back + today, from the meter's E2/E4.
            assert watch.status.gaps_filled == 8 * 48 - 19  # up to 14:00 today
            for _ in range(6):  # 3 hours of pushes
                await step(sim, watch, 1800)
            # The session is lost; the meter's pushes of 3 hours go nowhere.
            passes = watch.status.backfills
            sim.inject_termination()
            await reconnected(meter, watch, 0, passes)
            sim.clock.advance(3 * 3600)
            await settle_backfill(sim, watch)
            # The dongle is unplugged for 5 hours.
            passes = watch.status.backfills
            sim.unplug()
            await watch.until(lambda s: s.state is not ConnectionState.READY)
            sim.clock.advance(5 * 3600)
            sim.replug()
            await reconnected(meter, watch, 1, passes)
            await settle_backfill(sim, watch)
            assert meter.reconnects == 2
            before = recorder.status
        # The process is stopped for 3 days.
        sim.clock.advance(3 * 86400)
        watch = StatusWatch()
        async with recording(sim, store, watch, backfill_days=7) as (meter, recorder):
            assert watch.status.gaps_left == 0
            assert watch.status.gaps_filled >= 3 * 48
            for _ in range(4):
                await step(sim, watch, 1800)
        # Stopped again until 23:59:30 the next day; the meter's midnight passes between
        # the recorder's first E5 (which day) and the E2 that answers it.
        now = sim.clock.now()
        sim.clock.advance(
            (now.replace(hour=23, minute=59, second=30) - now).total_seconds() + 86400
        )
        handle = sim.meter.handle_payload
        crossed: list[bytes] = []

        def midnight_after_e5(payload: bytes) -> list[bytes]:
            if not crossed and payload[10:11] == b"\x61" and payload[12:13] == b"\xe5":
                crossed.append(payload)
                sim.clock.advance(60)
            return handle(payload)

        monkeypatch.setattr(sim.meter, "handle_payload", midnight_after_e5)
        watch = StatusWatch()
        async with recording(sim, store, watch, backfill_days=7) as (meter, recorder):
            assert crossed
            assert watch.status.gaps_left == 0
            await settle_backfill(sim, watch)
            for _ in range(3):
                await step(sim, watch, 1800)
            assert recorder.status.conflicts == 0
            key = recorder.meter_key
        assert before.conflicts == 0
        assert key is not None
        now = sim.clock.now()
        assert (now - START).days >= 4
        window_start = dt.datetime.combine(
            (now - dt.timedelta(days=7)).date(), dt.time(), tzinfo=START.tzinfo
        )
        readings = await store.readings(key)
        inside = [r for r in readings if window_start <= r.at <= floor(now)]
        assert [r.at for r in inside] == instants(window_start, floor(now))  # none missing
        assert_matches_truth(sim, readings)
        assert {r.bought_source for r in readings} == {Source.HISTORY, Source.PUSH} | (
            {Source.LIVE} if Source.LIVE in {r.bought_source for r in readings} else set()
        )
        assert find_gaps(inside) == []
        rows = usage_rows(inside)
        for row in rows[1:]:
            end = row.slot_start + HALF_HOUR
            used = (
                sim.meter.cumulative_raw(end) - sim.meter.cumulative_raw(row.slot_start)
            ) % 10**6
            assert row.bought_usage_kwh == used * sim.meter.config.kwh_per_count
            assert row.bought_usage_kwh is not None
            assert row.bought_usage_kwh >= 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT meter_id || at) FROM readings"
        ).fetchone()
        assert count == distinct == len(readings)
    finally:
        conn.close()


async def test_a_small_gap_is_filled_with_ec_in_fewer_frames(tmp_path: Path) -> None:
    sim = simulator()
    async with (
        RecordStore.open(tmp_path / "r.db") as store,
        sim.smart_meter() as meter,
    ):
        # Not running: only the backfill passes this test makes touch the meter.
        recorder = Recorder(meter, store, clock=sim.clock, backfill_days=1)
        first = await recorder.backfill()
        assert first.filled == 48 + 29  # yesterday, and today up to 14:00
        assert first.frames == 2 * 3  # E5, E2 and E4 for each day
        again = await recorder.backfill()
        assert again.frames == 0  # nothing missing: nothing asked
        sim.clock.advance(2 * 3600)  # 16:26: four half hours nobody recorded
        report = await recorder.backfill()
        assert report.filled == 4
        # One SetC ED and one Get EC instead of E5, E2 and E4.
        assert report.frames == 2
        assert sim.meter.history2_request != b"\xff" * 6 + b"\x01"
        readings = await store.readings(recorder.meter_key or "")
        assert len(readings) == 48 + 29 + 4
        assert_matches_truth(sim, readings)


async def test_no_data_slots_stay_gaps_and_are_not_asked_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator()
    yesterday = floor(START) - dt.timedelta(days=1)
    blank = {yesterday - HALF_HOUR * i for i in range(3)}
    history_raw = sim.meter.history_raw

    def with_holes(
        day: int, *, reverse: bool = False, at: dt.datetime | None = None
    ) -> tuple[int | None, ...]:
        values = list(history_raw(day, reverse=reverse, at=at))
        date = (at or sim.clock.now()).date() - dt.timedelta(days=day)
        for index in range(48):
            moment = dt.datetime.combine(date, dt.time(), tzinfo=START.tzinfo) + HALF_HOUR * index
            if moment in blank:
                values[index] = None
        return tuple(values)

    monkeypatch.setattr(sim.meter, "history_raw", with_holes)
    watch = StatusWatch()
    async with (
        RecordStore.open(tmp_path / "r.db") as store,
        recording(sim, store, watch, backfill_days=2) as (_meter, recorder),
    ):
        assert watch.status.no_data == 3
        assert watch.status.gaps_left == 0
        again = await recorder.backfill()
        assert again.frames == 0
        readings = await store.readings(recorder.meter_key or "")
        gaps = find_gaps(readings)
        assert {g.slot_start + HALF_HOUR for g in gaps} == blank
        assert {g.reason.value for g in gaps} == {"no_data"}
        holes = [r for r in readings if r.at in blank]
        assert all(r.bought_kwh is None and r.bought_source is Source.HISTORY for r in holes)


async def test_a_changed_scaling_is_recorded_not_mixed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "r.db"
    sim = simulator(coefficient=1)
    watch = StatusWatch()
    async with RecordStore.open(db) as store:
        async with recording(sim, store, watch, backfill_days=0):
            pass
        # The same meter (same 8A/8D) now reports a coefficient of 10.
        other = Simulator(
            "BP35C2",
            seed=3,
            timing="instant",
            clock=sim.clock,
            meter=MeterConfig(seed=4, pv_export=True, coefficient=10),
        )
        sim.clock.advance(3600)
        watch = StatusWatch()
        with caplog.at_level(logging.WARNING, logger="aiobroute.recorder"):
            async with recording(other, store, watch, backfill_days=0) as (_, recorder):
                pass
        assert "scaling changed" in caplog.text
        readings = await store.readings(recorder.meter_key or "")
    scales = {r.attributes.coefficient for r in readings}
    assert scales == {1, 10}
    rows = usage_rows(readings)
    change = next(
        row
        for row, (before, after) in zip(rows[1:], itertools.pairwise(readings), strict=False)
        if before.attributes.coefficient != after.attributes.coefficient
    )
    assert change.bought_usage_kwh is None  # never a difference of two scales


async def test_instantaneous_samples_at_the_interval(tmp_path: Path) -> None:
    sim = simulator()
    watch = StatusWatch()
    async with (
        RecordStore.open(tmp_path / "r.db") as store,
        recording(sim, store, watch, backfill_days=0, interval=300) as (_meter, recorder),
    ):
        for _ in range(3):
            await step(sim, watch, 300)
            await asyncio.sleep(0.01)
        samples = await store.samples(recorder.meter_key or "")
    assert len(samples) >= 3
    for sample in samples:
        assert sample.power_w == sim.meter.instant_power_watts(sample.at)
    assert truth(sim, START) > 0


async def test_the_end_of_the_meters_memory_is_learnt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator()
    history_raw = sim.meter.history_raw

    def three_days(
        day: int, *, reverse: bool = False, at: dt.datetime | None = None
    ) -> tuple[int | None, ...]:
        return history_raw(day, reverse=reverse, at=at) if day <= 2 else (None,) * 48

    monkeypatch.setattr(sim.meter, "history_raw", three_days)
    async with RecordStore.open(tmp_path / "r.db") as store, sim.smart_meter() as meter:
        recorder = Recorder(meter, store, clock=sim.clock)  # as far back as it answers
        report = await recorder.backfill()
        assert report.filled == 2 * 48 + 29
        assert report.frames == 4 * 3  # today, 1, 2 and the empty day 3; not day 4
        assert [m.history_days for m in await store.meters()] == [2]
        again = await recorder.backfill()
        assert again.frames == 0
    # A new run remembers it.
    async with RecordStore.open(tmp_path / "r.db") as store, sim.smart_meter() as meter:
        recorder = Recorder(meter, store, clock=sim.clock)
        assert (await recorder.backfill()).frames == 0


async def test_backfill_through_lost_and_duplicated_replies_stays_exact(tmp_path: Path) -> None:
    faults = FaultPlan(seed=7, drop_reply=0.2, duplicate_reply=0.2)
    config = MeterConfig(seed=4, pv_export=True)
    sim = Simulator(
        "BP35C2",
        seed=3,
        timing="instant",
        clock=SimClock(START, speed=FROZEN),
        meter=config,
        faults=faults,
    )
    timeouts = MeterTimeouts(attempt=0.05, single=2.0, sequence=4.0, instance_list=0.05)
    async with (
        RecordStore.open(tmp_path / "r.db") as store,
        sim.smart_meter(timeouts=timeouts, retries=8) as meter,
    ):
        recorder = Recorder(meter, store, clock=sim.clock, backfill_days=3)
        report = await recorder.backfill()
        assert report.missing == 0
        assert recorder.status.conflicts == 0
        readings = await store.readings(recorder.meter_key or "")
    assert len(readings) == 3 * 48 + 29
    assert_matches_truth(sim, readings)
    assert sim.frames_to_meter > report.frames  # some requests were sent again


async def test_another_reader_moving_e5_between_set_and_get_is_detected(tmp_path: Path) -> None:
    sim = simulator()
    async with RecordStore.open(tmp_path / "r.db") as store, sim.smart_meter() as meter:
        set_e5 = meter.set
        moved: list[int] = []

        async def set_then_someone_else(epc: int, value: object) -> None:
            await set_e5(epc, value)
            if epc == 0xE5 and not moved:  # another task of the application reads day 5
                moved.append(5)
                await set_e5(0xE5, 5)

        meter.set = set_then_someone_else  # type: ignore[method-assign]
        recorder = Recorder(meter, store, clock=sim.clock, backfill_days=0)
        report = await recorder.backfill()
        assert moved
        readings = await store.readings(recorder.meter_key or "")
    assert report.filled == 29
    assert len(readings) == 29
    assert_matches_truth(sim, readings)
