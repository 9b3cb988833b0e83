"""Soak: thousands of requests through a seeded plan of faults, every value checked.

A :class:`~aiobroute.SmartMeter` talks to the in-memory simulator whose clock is frozen
(``SimClock(start, speed=1e-9)``): while a round of requests runs, simulated time stands
still, so every answer can be compared exactly with the simulator's ground truth. Between
rounds the clock jumps forward (``--step`` simulated seconds), which moves the data,
delivers delayed replies late, releases the ARIB limit and triggers the 30-minute pushes.

The fault plan (seeded): a share of the meter's replies dropped, delayed or duplicated,
garbage lines on the UART, and scheduled faults after given numbers of frames: session
expiry with and without re-authentication, re-authentication driven by the meter,
termination by the meter, the ARIB transmit limit and module resets. (Damaged bytes,
``garble``, are left out: the UART carries no checksum, so a damaged digit inside a
value is undetectable by any client and would count as a wrong value.)

Requests cycle through E7, E8, E0, E3, a four-property Get, EA, one day of history (E5
then E2, a random day) and half-hourly history (ED then EC). Printed: requests,
successes, typed failures by exception type, wrong values (must be 0), unhandled
exceptions and hangs (must be 0), tasks left behind, notifications checked, live
aiobroute objects after 10 % of the requests and at the end (a leak shows as growth),
and peak memory (tracemalloc and ``ru_maxrss``; the simulator runs in the same process).
The exit status is 1 when a wrong value, an unhandled exception, a hang or a leftover
task was seen.

Run: ``python benchmarks/soak.py [--requests N] [--seed S] [--quick]``; writes
``benchmarks/results/soak.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import _common as common

from aiobroute import (
    AiobrouteError,
    InstantCurrent,
    MeterTimeouts,
    ReconnectPolicy,
    SkTimeouts,
    SmartMeter,
    TimedEnergy,
    WatchdogSettings,
)
from aiobroute.echonet import SMART_METER
from aiobroute.testing import (
    DEFAULT_PASSWORD,
    DEFAULT_RBID,
    JST,
    FaultKind,
    FaultPlan,
    MeterConfig,
    ScheduledFault,
    SimClock,
    Simulator,
)

FROZEN = 1e-9  # simulated seconds per real second: time moves only when advanced
START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)
#: One request may take this long (real seconds) before it counts as a hang.
HANG_S = 60.0
#: Fault kinds scheduled in turn, each after a number of frames.
CYCLE = (
    (FaultKind.SESSION_EXPIRY, None),
    (FaultKind.TERMINATION, None),
    (FaultKind.TX_LIMIT, 120.0),
    (FaultKind.SESSION_EXPIRY_FAIL, None),
    (FaultKind.RESET, None),
    (FaultKind.REAUTH, None),
)
OPERATIONS = ("E7", "E8", "E0", "E3", "snapshot", "EA", "history", "history30")


class Wrong(Exception):  # noqa: N818 - a verdict, not an error of the code under test
    """A value differs from the simulator's ground truth."""


def kwh(sim: Simulator, raw: int | None) -> Decimal | None:
    """The simulator's raw counter in kWh, as a client should compute it."""
    return None if raw is None else raw * sim.meter.config.kwh_per_count


def expect(what: str, got: object, truth: object) -> None:
    """Raise :class:`Wrong` unless ``got == truth``."""
    if got != truth:
        raise Wrong(f"{what}: got {got!r}, truth {truth!r}")


def current_truth(sim: Simulator) -> InstantCurrent:
    """E8 as the simulator's ground truth."""
    r_phase, t_phase = sim.meter.instant_current_deciamperes()
    return InstantCurrent(Decimal(r_phase) / 10, None if t_phase is None else Decimal(t_phase) / 10)


def operation(
    name: str, sim: Simulator, meter: SmartMeter, rng: random.Random
) -> Callable[[], Awaitable[None]]:
    """The request ``name`` with its check against the (frozen) ground truth."""
    truth = sim.meter

    async def e7() -> None:
        expect("E7", await meter.instant_power(), truth.instant_power_watts())

    async def e8() -> None:
        expect("E8", await meter.instant_current(), current_truth(sim))

    async def e0() -> None:
        expect("E0", await meter.cumulative_energy(), kwh(sim, truth.cumulative_raw()))

    async def e3() -> None:
        expect(
            "E3",
            await meter.cumulative_energy(reverse=True),
            kwh(sim, truth.cumulative_raw(reverse=True)),
        )

    async def snapshot() -> None:
        values = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
        expect("get() keys", sorted(values), [0xE0, 0xE3, 0xE7, 0xE8])
        expect("get() E7", values[0xE7], truth.instant_power_watts())
        expect("get() E8", values[0xE8], current_truth(sim))
        expect("get() E0", values[0xE0], kwh(sim, truth.cumulative_raw()))
        expect("get() E3", values[0xE3], kwh(sim, truth.cumulative_raw(reverse=True)))

    async def ea() -> None:
        stamp, raw = truth.fixed_time_reading()
        expect("EA", await meter.fixed_time_energy(), TimedEnergy(stamp, kwh(sim, raw), raw))

    async def history() -> None:
        day = rng.randrange(3)
        entries = await meter.history(day)
        raw = truth.history_raw(day)
        expect(f"E2 day {day} raw", [e.raw for e in entries], list(raw))
        expect(f"E2 day {day} kWh", [e.kwh for e in entries], [kwh(sim, r) for r in raw])

    async def history30() -> None:
        now = sim.clock.now() - dt.timedelta(minutes=30)
        end = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
        count = rng.randint(1, 12)
        entries = await meter.history_30min(end, count)
        stamps = [end - dt.timedelta(minutes=30 * i) for i in reversed(range(count))]
        expect("EC timestamps", [e.timestamp for e in entries], stamps)
        for entry in entries:
            normal = kwh(sim, truth.cumulative_raw(entry.timestamp))
            reverse = kwh(sim, truth.cumulative_raw(entry.timestamp, reverse=True))
            expect(
                f"EC {entry.timestamp:%H:%M}",
                (entry.normal_kwh, entry.reverse_kwh),
                (normal, reverse),
            )

    table: dict[str, Callable[[], Awaitable[None]]] = {
        "E7": e7,
        "E8": e8,
        "E0": e0,
        "E3": e3,
        "snapshot": snapshot,
        "EA": ea,
        "history": history,
        "history30": history30,
    }
    return table[name]


def fault_plan(seed: int, requests: int) -> FaultPlan:
    """Random reply faults plus the CYCLE of scheduled faults, about 18 over the soak."""
    every = max(40, requests // 18)
    scheduled = tuple(
        ScheduledFault(kind=kind, after_frames=every * (index + 1), duration_s=duration)
        for index, (kind, duration) in enumerate(
            CYCLE[i % len(CYCLE)] for i in range(max(len(CYCLE), requests // every))
        )
    )
    return FaultPlan(
        seed=seed,
        drop_reply=0.03,
        delay_reply=0.02,
        delay_reply_s=(5.0, 30.0),
        duplicate_reply=0.03,
        garbage=0.01,
        scheduled=scheduled,
    )


def library_mib() -> float:
    """Traced memory allocated by aiobroute itself (not by the simulator), in MiB.

    A trace counts when one of its frames is in the aiobroute package and none is in
    ``aiobroute.testing`` (the simulator).
    """
    snapshot = tracemalloc.take_snapshot().filter_traces(
        (
            tracemalloc.Filter(True, "*/aiobroute/*", all_frames=True),
            tracemalloc.Filter(False, "*/aiobroute/testing/*", all_frames=True),
        )
    )
    return sum(stat.size for stat in snapshot.statistics("filename")) / 2**20


def library_objects(sim: Simulator) -> int:
    """Live objects of aiobroute's classes, not counting the simulator's own records.

    The simulator keeps every EVENT it printed (``sim.events``, objects of the
    library's Event class); those are left out, as is ``aiobroute.testing`` itself.
    """
    gc.collect()
    held = {id(event) for event in sim.events}
    count = 0
    for obj in gc.get_objects():
        module = type(obj).__module__
        if (
            module.startswith("aiobroute")
            and not module.startswith("aiobroute.testing")
            and id(obj) not in held
        ):
            count += 1
    return count


class Tally:
    """What happened, per model."""

    def __init__(self) -> None:
        self.requests = 0
        self.successes = 0
        self.by_operation: collections.Counter[str] = collections.Counter()
        self.failures: collections.Counter[str] = collections.Counter()
        self.wrong: list[str] = []
        self.unhandled: list[str] = []
        self.hangs = 0
        self.notifications = 0
        self.wrong_notifications: list[str] = []


async def check_notifications(sim: Simulator, meter: SmartMeter, tally: Tally) -> None:
    """Every EA/EB push must carry the simulator's counter at its timestamp."""
    async for note in meter.notifications():
        if note.eoj != SMART_METER:
            continue
        for epc, reverse in ((0xEA, False), (0xEB, True)):
            value = note.values.get(epc)
            if not isinstance(value, TimedEnergy):
                continue
            tally.notifications += 1
            raw = sim.meter.cumulative_raw(value.timestamp, reverse=reverse)
            if value.raw != raw:
                tally.wrong_notifications.append(f"{epc:02X} {value!r}: truth raw {raw}")


async def soak_model(model: str, opts: argparse.Namespace) -> dict[str, Any]:
    """One model: connect, run the requests in rounds, close; return the tallies."""
    rng = random.Random(opts.seed)
    clock = SimClock(START, speed=FROZEN)
    plan = fault_plan(opts.seed, opts.requests)
    sim = Simulator(
        model,
        seed=opts.seed,
        timing="instant",
        clock=clock,
        faults=plan,
        meter=MeterConfig(seed=opts.seed, pv_export=True),
    )
    tally = Tally()
    memory: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with sim.memory():

        async def reopen() -> Any:
            return sim.host_stream()

        meter = SmartMeter(
            reopen,
            rbid=DEFAULT_RBID,
            password=DEFAULT_PASSWORD,
            min_interval=0.0,
            retries=4,
            wait_for_reconnect=True,
            timeouts=MeterTimeouts(attempt=0.25, single=2.0, sequence=4.0, instance_list=0.3),
            sk_timeouts=SkTimeouts(
                command=1.0,
                reset_settle=0.0,
                scan_margin=2.0,
                join=3.0,
                send=1.0,
                send_event_grace=0.3,
            ),
            reconnect=ReconnectPolicy(initial=0.05, factor=1.5, cap=0.3, jitter=0.1),
            watchdog=WatchdogSettings(
                timeouts_before_probe=3, push_grace=None, probe_timeout=0.6, reauth_timeout=1.0
            ),
        )
        async with meter:
            listener = asyncio.create_task(check_notifications(sim, meter, tally))
            while tally.requests < opts.requests:
                clock.advance(opts.step)
                await asyncio.sleep(0)  # let delayed replies, pushes and events through
                for name in OPERATIONS:
                    if tally.requests >= opts.requests:
                        break
                    if not await run_one(name, sim, meter, rng, tally):
                        break  # like a polling service: try again next round
                if tally.requests >= opts.requests // 10 and "warm_mib" not in memory:
                    memory["warm_mib"] = library_mib()
                    memory["warm_objects"] = library_objects(sim)
            memory["end_mib"] = library_mib()
            memory["end_objects"] = library_objects(sim)
            reconnects = meter.reconnects
            state = meter.state.value
        await asyncio.sleep(0)
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        events = collections.Counter(f"{event.num:02X}" for event in sim.events)
        reinits = sim.commands_received.count("SKSREG SFE 0")
        frames = sim.frames_to_meter
    current = asyncio.current_task()
    leftovers = [t.get_name() for t in asyncio.all_tasks() if t is not current and not t.done()]
    return {
        "model": model,
        "requests": tally.requests,
        "successes": tally.successes,
        "by_operation": dict(tally.by_operation),
        "typed_failures": dict(tally.failures),
        "wrong_values": len(tally.wrong),
        "wrong_samples": tally.wrong[:20],
        "unhandled": len(tally.unhandled),
        "unhandled_samples": tally.unhandled[:20],
        "hangs": tally.hangs,
        "notifications_checked": tally.notifications,
        "wrong_notifications": tally.wrong_notifications[:20],
        "leftover_tasks": leftovers,
        "frames_to_meter": frames,
        "reconnects": reconnects,
        "state_before_close": state,
        "module_initialisations": reinits,
        "events": dict(sorted(events.items())),
        "scheduled_faults": [
            f"{f.kind.value}@#{f.after_frames}" + (f"+{f.duration_s:g}" if f.duration_s else "")
            for f in plan.scheduled
        ],
        "simulated_hours": (clock.monotonic()) / 3600,
        "real_s": loop.time() - started,
        "library_traced_mib_after_10pct": memory.get("warm_mib"),
        "library_traced_mib_at_end": memory.get("end_mib"),
        "library_objects_after_10pct": memory.get("warm_objects"),
        "library_objects_at_end": memory.get("end_objects"),
    }


async def run_one(
    name: str, sim: Simulator, meter: SmartMeter, rng: random.Random, tally: Tally
) -> bool:
    """One request, classified; False when it failed."""
    tally.requests += 1
    tally.by_operation[name] += 1
    try:
        async with asyncio.timeout(HANG_S):
            await operation(name, sim, meter, rng)()
    except Wrong as exc:
        tally.wrong.append(f"request {tally.requests} ({name}): {exc}")
    except AiobrouteError as exc:
        tally.failures[type(exc).__name__] += 1
    except TimeoutError:
        tally.hangs += 1
        tally.unhandled.append(f"request {tally.requests} ({name}): no outcome in {HANG_S:g} s")
    except Exception as exc:
        tally.unhandled.append(f"request {tally.requests} ({name}): {type(exc).__name__}: {exc}")
    else:
        tally.successes += 1
        return True
    return False


def print_report(results: list[dict[str, Any]], peak: dict[str, float], logs: Any) -> None:
    """The summary tables."""
    keys = [
        ("requests", "requests"),
        ("successes", "successes"),
        ("typed failures", None),
        ("wrong values (must be 0)", "wrong_values"),
        ("unhandled exceptions + hangs (must be 0)", None),
        ("tasks left after close (must be 0)", None),
        ("EA/EB pushes checked", "notifications_checked"),
        ("wrong pushes (must be 0)", None),
        ("frames to the meter", "frames_to_meter"),
        ("reconnects (supervisor)", "reconnects"),
        ("module initialisations", "module_initialisations"),
        ("simulated hours", "simulated_hours"),
        ("real seconds", "real_s"),
        ("live aiobroute objects after 10 % / at end", None),
        ("memory allocated by aiobroute code, live, 10 % / end [MiB]", None),
    ]
    rows: list[list[str]] = []
    for label, key in keys:
        cells = [label]
        for result in results:
            if key is not None:
                value = result[key]
                cells.append(common.fmt(value, 1) if isinstance(value, float) else str(value))
            elif label.startswith("typed"):
                cells.append(str(sum(result["typed_failures"].values())))
            elif label.startswith("unhandled"):
                cells.append(str(result["unhandled"]))
            elif label.startswith("tasks"):
                cells.append(str(len(result["leftover_tasks"])))
            elif label.startswith("wrong pushes"):
                cells.append(str(len(result["wrong_notifications"])))
            elif label.startswith("live"):
                cells.append(
                    f"{result['library_objects_after_10pct']} / {result['library_objects_at_end']}"
                )
            else:
                cells.append(
                    f"{common.fmt(result['library_traced_mib_after_10pct'], 2)} / "
                    f"{common.fmt(result['library_traced_mib_at_end'], 2)}"
                )
        rows.append(cells)
    common.print_table("Soak", ["", *(r["model"] for r in results)], rows)
    failures: collections.Counter[str] = collections.Counter()
    for result in results:
        failures.update(result["typed_failures"])
    common.print_table(
        "Typed failures by exception type (all models)",
        ["exception", "count"],
        [[name, str(count)] for name, count in failures.most_common()] or [["(none)", "0"]],
    )
    for result in results:
        for line in result["wrong_samples"] + result["unhandled_samples"]:
            print(f"  {result['model']}: {line}")
        for line in result["wrong_notifications"]:
            print(f"  {result['model']}: push {line}")
        if result["leftover_tasks"]:
            print(f"  {result['model']}: tasks left: {result['leftover_tasks']}")
    print(
        f"\npeak memory: tracemalloc {peak['tracemalloc_mib']:.2f} MiB, "
        f"ru_maxrss {peak['rss_mib']:.1f} MiB (simulator included: same process)"
    )
    print(f"log records at WARNING and above: {logs.summary()}")


def main() -> int:
    """Parse the options, soak every model, print, write the JSON, set the exit status."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per model")
    parser.add_argument("--seed", type=int, default=1, help="seed of faults and choices")
    parser.add_argument("--step", type=float, default=127.5, help="simulated s per round")
    parser.add_argument("--models", nargs="+", default=["BP35A1", "BP35C2"])
    parser.add_argument("--quick", action="store_true", help="120 requests, one model")
    parser.add_argument(
        "--output", type=Path, default=common.RESULTS_DIR / "soak.json", help="JSON file"
    )
    opts = parser.parse_args()
    if opts.quick:
        opts.requests, opts.models = 120, ["BP35C2"]
    logs = common.LogTally.install()
    tracemalloc.start(8)
    started = time.perf_counter()
    results = [asyncio.run(soak_model(model, opts)) for model in opts.models]
    peak = {
        "tracemalloc_mib": tracemalloc.get_traced_memory()[1] / 2**20,
        "rss_mib": common.peak_rss_mib(),
    }
    tracemalloc.stop()
    print_report(results, peak, logs)
    print(f"total {time.perf_counter() - started:.0f} s real")
    bad = sum(
        r["wrong_values"]
        + r["unhandled"]
        + len(r["leftover_tasks"])
        + len(r["wrong_notifications"])
        for r in results
    )
    common.write_json(
        opts.output,
        {
            "benchmark": "soak",
            "environment": common.environment(),
            "options": {
                "requests_per_model": opts.requests,
                "seed": opts.seed,
                "step_s": opts.step,
                "models": opts.models,
            },
            "fault_plan": repr(fault_plan(opts.seed, opts.requests)),
            "results": results,
            "peak_memory": peak,
            "log_records": dict(logs.counts),
            "log_errors": logs.errors,
            "verdict": "FAIL" if bad else "PASS",
        },
    )
    print("verdict:", "FAIL" if bad else "PASS")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
