"""What keeping a complete record costs: backfill frames and time, CPU, database size.

- **Backfill of 45 days**: a :class:`~aiobroute.recorder.Recorder` fills an empty database
  from the simulated meter (realistic radio timing, accelerated ``--speed`` times (default 50), the
  library's own waits scaled by the same factor, default pacing of 1 request/s), 45 days
  (today and 44 before). Reports ECHONET Lite requests, simulated seconds, and checks
  every stored value against the simulated meter.
- **A small gap** (2 hours, after a lost session): requests with EC/ED against E2/E4.
- **CPU per recorded slot**: a simulated week of pushes (instant timing, the clock
  jumping 30 minutes at a time), the recorder storing each; process CPU divided by the
  slots stored (it includes the simulator's own work: an upper bound). Also the CPU of
  the store's write alone.
- **Database size per meter-year**: a year of half-hourly readings (17,520 slots) written
  through the store, and the size of a year of instantaneous samples at a 60 s interval
  (extrapolated from one week).

Run: ``python benchmarks/record.py [--quick] [--speed X] [--output FILE]``. Prints a
table and writes ``benchmarks/results/record.json``. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sqlite3
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import _common as common

from aiobroute.recorder import (
    MeterAttributes,
    MeterRecord,
    Recorder,
    RecordStore,
    Sample,
    SlotValue,
    Source,
)
from aiobroute.testing import JST, MeterConfig, SimClock, Simulator

START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)
HALF_HOUR = dt.timedelta(minutes=30)


def wrong_values(sim: Simulator, readings: list[Any]) -> int:
    return sum(
        1
        for r in readings
        if r.bought_kwh != sim.meter.cumulative_kwh(r.at)
        or r.sold_kwh != sim.meter.cumulative_kwh(r.at, reverse=True)
    )


async def backfill(folder: Path, days: int, speed: float) -> dict[str, Any]:
    """Fill ``days`` days (today included) into an empty database, realistic timing."""
    sim = Simulator(
        "BP35C2",
        seed=1,
        timing="realistic",
        clock=SimClock(START, speed=speed),
        meter=MeterConfig(seed=5, pv_export=True),
    )
    options = common.scaled_meter_options(speed)
    async with (
        RecordStore.open(folder / f"backfill-{days}.db") as store,
        sim.smart_meter(**options) as meter,
    ):
        recorder = Recorder(meter, store, clock=sim.clock, backfill_days=days - 1)
        await recorder.identify()
        sim_before, cpu_before, wall_before = (
            sim.clock.monotonic(),
            common.cpu_seconds(),
            time.perf_counter(),
        )
        report = await recorder.backfill()
        sim_seconds = sim.clock.monotonic() - sim_before
        cpu = common.cpu_seconds() - cpu_before
        wall = time.perf_counter() - wall_before
        readings = await store.readings(recorder.meter_key or "")
        # A lost session: two hours without pushes, then one more pass.
        sim.clock.advance(2 * 3600)
        gap = await recorder.backfill()
    return {
        "days": days,
        "slots": report.filled,
        "frames": report.frames,
        "sim_seconds": sim_seconds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "wrong_values": wrong_values(sim, readings),
        "missing": report.missing,
        "gap_slots": gap.filled,
        "gap_frames": gap.frames,
    }


async def recording_cpu(folder: Path, days: int) -> dict[str, Any]:
    """CPU per slot while recording pushes (instant timing, clock jumping 30 min)."""
    sim = Simulator("BP35C2", seed=1, timing="instant", clock=SimClock(START, speed=1e-9))
    statuses: list[Any] = []
    async with (
        RecordStore.open(folder / "week.db") as store,
        sim.smart_meter() as meter,
    ):
        changed = asyncio.Event()

        def on_status(status: Any) -> None:
            statuses.append(status)
            changed.set()

        recorder = Recorder(
            meter, store, clock=sim.clock, backfill_days=0, settle=60, on_status=on_status
        )
        task = asyncio.create_task(recorder.run())
        try:
            while not statuses or statuses[-1].backfills == 0:
                changed.clear()
                await asyncio.wait_for(changed.wait(), 10)
            before_slots = recorder.status.slots_recorded
            cpu_before = common.cpu_seconds()
            for _ in range(days * 48):
                sim.clock.advance(1800)
                latest = sim.clock.now().replace(second=0, microsecond=0)
                latest = latest.replace(minute=latest.minute - latest.minute % 30)
                while recorder.status.last_reading != latest:
                    changed.clear()
                    await asyncio.wait_for(changed.wait(), 10)
            cpu = common.cpu_seconds() - cpu_before
            slots = recorder.status.slots_recorded - before_slots
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return {"slots": slots, "cpu_seconds": cpu, "cpu_ms_per_slot": 1000 * cpu / max(1, slots)}


def db_size(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return path.stat().st_size


async def size_per_year(folder: Path, days: int) -> dict[str, Any]:
    """Bytes of a year of half-hourly readings, and of a year of 60 s samples."""
    path = folder / "year.db"
    start = dt.datetime(2026, 1, 1, tzinfo=JST)
    async with RecordStore.open(path) as store:
        meter_id = await store.meter_id(MeterRecord("000016-SIM00000001"), start)
        scale, _ = await store.attributes(meter_id, MeterAttributes(1, Decimal("0.1"), 6, start))
        raw = 43_210
        cpu_before = common.cpu_seconds()
        for day in range(days):
            values = []
            for slot in range(48):
                at = start + dt.timedelta(days=day) + HALF_HOUR * slot
                raw += 3 + (slot * 7 + day) % 11
                values.append(SlotValue(at, False, Decimal(raw) / 10))
                values.append(SlotValue(at, True, Decimal(slot % 5) / 10))
            await store.put(meter_id, scale, Source.PUSH, values, at)
        write_cpu = common.cpu_seconds() - cpu_before
    readings_bytes = db_size(path) * 365 / days
    samples_path = folder / "samples.db"
    sample_days = 0.25 if days < 365 else 7
    async with RecordStore.open(samples_path) as store:
        meter_id = await store.meter_id(MeterRecord("000016-SIM00000001"), start)
        for minute in range(int(sample_days * 1440)):
            at = start + dt.timedelta(minutes=minute)
            await store.put_sample(
                meter_id, Sample(at, 300 + minute % 900, Decimal("1.5"), Decimal("1.2"))
            )
    samples_bytes = db_size(samples_path) * 365 / sample_days
    return {
        "days_written": days,
        "readings_bytes_per_year": readings_bytes,
        "samples_60s_bytes_per_year": samples_bytes,
        "store_write_ms_per_slot": 1000 * write_cpu / (days * 48),
    }


async def measure(opts: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        days = 3 if opts.quick else 45
        fill = await backfill(folder, days, opts.speed)
        cpu = await recording_cpu(folder, 1 if opts.quick else 7)
        size = await size_per_year(folder, 30 if opts.quick else 365)
    return {"backfill": fill, "recording": cpu, "size": size}


def mib(size: dict[str, Any], what: str) -> float:
    return float(size[f"{what}_bytes_per_year"]) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 days, one day of pushes, a month of readings"
    )
    parser.add_argument("--speed", type=float, default=50.0, help="simulated s per real s")
    parser.add_argument(
        "--output", type=Path, default=common.RESULTS_DIR / "record.json", help="JSON file"
    )
    opts = parser.parse_args()
    results = asyncio.run(measure(opts))
    fill, cpu, size = results["backfill"], results["recording"], results["size"]
    fmt = common.fmt
    common.print_table(
        "record: backfill, recording and storage",
        ["measure", "value"],
        [
            [f"backfill {fill['days']} days: slots stored", fmt(fill["slots"])],
            [f"backfill {fill['days']} days: requests (frames)", fmt(fill["frames"])],
            [f"backfill {fill['days']} days: simulated time [s]", fmt(fill["sim_seconds"], 1)],
            [f"backfill {fill['days']} days: CPU [s]", fmt(fill["cpu_seconds"], 3)],
            ["backfill: values wrong / missing", f"{fill['wrong_values']} / {fill['missing']}"],
            ["2-hour gap: slots / requests (EC)", f"{fill['gap_slots']} / {fill['gap_frames']}"],
            ["recording: CPU per slot [ms] (incl. simulator)", fmt(cpu["cpu_ms_per_slot"], 3)],
            ["store write: CPU per slot [ms]", fmt(size["store_write_ms_per_slot"], 3)],
            ["database per meter-year, readings [MiB]", fmt(mib(size, "readings"))],
            ["database per meter-year, 60 s samples [MiB]", fmt(mib(size, "samples_60s"))],
        ],
    )  # fmt: skip
    common.write_json(opts.output, {"environment": common.environment(), **results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
