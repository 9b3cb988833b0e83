"""Time from a fault to the next good reading, for every fault the supervisor handles.

A :class:`~aiobroute.SmartMeter` reads instantaneous power from the simulator with
realistic radio timing, accelerated ``--speed`` times; every real-time constant of the
library (pacing, timeouts, reconnect backoff) is divided by the same factor, so the
simulated seconds estimate what the default settings would take on hardware. After one
good reading a fault is injected and the client keeps asking (``wait_for_reconnect=True``;
a failed request is asked again one simulated second later) until a reading succeeds.
Each good reading is checked against the E7 values the simulated meter actually sent.

Faults: session expiry with automatic re-authentication (EVENT 29, 25), expiry whose
re-authentication fails (EVENT 29, 24), termination by the meter (EVENT 26), the ARIB
transmit limit (EVENT 32 ... 33), 20 % of the meter's replies lost (mean time per good
reading against a fault-free baseline), a silent link that comes back, a module whose
firmware hangs (no answer to any command) and comes back, a module reset,
the pseudo-terminal unplugged and plugged back under the same path, and a cold start
(active scan) against a warm start (PAN cache file).

Run: ``python benchmarks/recovery.py [--runs N] [--speed X] [--quick]``. Prints a table
and writes ``benchmarks/results/recovery.json``. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import _common as common

from aiobroute import AiobrouteError, SmartMeter
from aiobroute.echonet import Esv, Frame
from aiobroute.errors import FrameDecodeError
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, FaultPlan, Simulator

#: Give up on one recovery after this many simulated seconds (then it is reported).
RECOVERY_LIMIT_S = 1800.0


class Options:
    """The command-line options (typed)."""

    def __init__(self, namespace: argparse.Namespace) -> None:
        self.runs: int = namespace.runs
        self.speed: float = namespace.speed
        self.tx_limit_s: float = namespace.tx_limit
        self.silent_s: float = namespace.silent
        self.hang_s: float = namespace.hang
        self.unplug_s: float = namespace.unplug
        self.readings: int = namespace.readings
        self.models: list[str] = namespace.models
        self.output: Path = namespace.output


def meter_for(port: Any, speed: float, **extra: Any) -> SmartMeter:
    """A SmartMeter with default settings compressed by ``speed``; requests wait."""
    options = common.scaled_meter_options(speed)
    options.update(extra)
    return SmartMeter(
        port, rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, wait_for_reconnect=True, **options
    )


@contextlib.asynccontextmanager
async def in_memory(sim: Simulator, speed: float, **extra: Any) -> AsyncIterator[SmartMeter]:
    """Serve ``sim`` in memory and connect a meter that can reopen the pipe."""
    async with sim.memory():

        async def reopen() -> Any:
            return sim.host_stream()

        async with meter_for(reopen, speed, **extra) as meter:
            yield meter


def e7_values(payloads: list[bytes]) -> set[int]:
    """Every E7 value in the Get_Res frames the simulated meter sent."""
    values: set[int] = set()
    for payload in payloads:
        try:
            frame = Frame.decode(payload)
        except FrameDecodeError:
            continue
        if frame.esv not in (Esv.GET_RES, Esv.GET_SNA):
            continue
        for prop in frame.properties:
            if prop.epc == 0xE7 and len(prop.edt) == 4:
                values.add(int.from_bytes(prop.edt, "big", signed=True))
    return values


class Recovery:
    """Reads until one succeeds; records how long it took and what failed meanwhile."""

    def __init__(self, sim: Simulator, meter: SmartMeter, speed: float) -> None:
        self.sim = sim
        self.meter = meter
        self.speed = speed
        self.failures: collections.Counter[str] = collections.Counter()
        self.wrong = 0
        self.unhandled: list[str] = []

    async def good_reading(self) -> bool:
        """Ask for E7 until an answer comes; False when the limit passed first."""
        sim = self.sim
        seen = len(sim.payloads_from_meter)
        deadline = sim.clock.monotonic() + RECOVERY_LIMIT_S
        while sim.clock.monotonic() < deadline:
            try:
                async with asyncio.timeout(RECOVERY_LIMIT_S / self.speed + 30):
                    value = await self.meter.instant_power()
            except AiobrouteError as exc:
                self.failures[type(exc).__name__] += 1
                await asyncio.sleep(1.0 / self.speed)
                continue
            except Exception as exc:  # reported, never hidden
                self.unhandled.append(f"{type(exc).__name__}: {exc}")
                return False
            if value is None or value not in e7_values(sim.payloads_from_meter[seen:]):
                self.wrong += 1
            return True
        return False


async def timed(sim: Simulator, action: Callable[[], Awaitable[bool]]) -> tuple[bool, float, float]:
    """Run ``action``; return (its result, simulated seconds, real seconds)."""
    loop = asyncio.get_running_loop()
    sim0, real0 = sim.clock.monotonic(), loop.time()
    ok = await action()
    return ok, sim.clock.monotonic() - sim0, loop.time() - real0


def _result(
    recovery: Recovery, ok: bool, sim_s: float, real_s: float, fault_s: float | None
) -> dict[str, Any]:
    return {
        "recovered": ok,
        "sim_s": sim_s,
        "real_s": real_s,
        "after_fault_ended_sim_s": None if fault_s is None else sim_s - fault_s,
        "failed_requests": dict(recovery.failures),
        "wrong_values": recovery.wrong,
        "unhandled": recovery.unhandled,
        "reconnects": recovery.meter.reconnects,
    }


async def one_fault(kind: str, model: str, seed: int, opts: Options) -> dict[str, Any]:
    """Connect, read once, inject ``kind``, then time the way back to a good reading."""
    speed = opts.speed
    sim = Simulator(model, seed=seed, timing="realistic", speed=speed)
    if kind == "unplug":
        return await _unplug(sim, opts)
    async with in_memory(sim, speed) as meter:
        recovery = Recovery(sim, meter, speed)
        if not await recovery.good_reading():
            return _result(recovery, False, 0.0, 0.0, None) | {"error": "no first reading"}
        fault_s: float | None = None
        healer: asyncio.Task[None] | None = None
        if kind == "expiry-reauth":
            sim.inject_session_expiry(reauth=True)
        elif kind == "expiry-fail":
            sim.inject_session_expiry(reauth=False)
        elif kind == "termination":
            sim.inject_termination()
        elif kind == "tx-limit":
            fault_s = opts.tx_limit_s
            sim.inject_tx_limit(fault_s)
        elif kind == "reset":
            sim.inject_reset()
        elif kind in ("silent", "hang"):
            fault_s = opts.silent_s if kind == "silent" else opts.hang_s
            switch = sim.set_silent if kind == "silent" else sim.set_hung
            switch(True)

            async def heal(switch: Callable[[bool], None], after: float) -> None:
                await sim.clock.sleep(after)
                switch(False)

            healer = asyncio.create_task(heal(switch, fault_s))
        else:  # pragma: no cover - the table below lists every kind
            raise ValueError(kind)
        ok, sim_s, real_s = await timed(sim, recovery.good_reading)
        if healer is not None:
            healer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await healer
        return _result(recovery, ok, sim_s, real_s, fault_s)


async def _unplug(sim: Simulator, opts: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aiobroute-recovery-") as tmp:
        link = Path(tmp) / "ttyBROUTE"
        async with sim.pty(link=link) as path, meter_for(str(path), opts.speed) as meter:
            recovery = Recovery(sim, meter, opts.speed)
            if not await recovery.good_reading():
                return _result(recovery, False, 0.0, 0.0, None) | {"error": "no first reading"}
            sim.unplug()

            async def replug() -> None:
                await sim.clock.sleep(opts.unplug_s)
                sim.replug()

            plugger = asyncio.create_task(replug())
            ok, sim_s, real_s = await timed(sim, recovery.good_reading)
            await plugger
            return _result(recovery, ok, sim_s, real_s, opts.unplug_s)


async def lossy(model: str, seed: int, opts: Options, drop: float) -> dict[str, Any]:
    """Mean time per good reading over ``opts.readings`` readings with ``drop`` lost."""
    faults = FaultPlan(seed=seed, drop_reply=drop)
    sim = Simulator(model, seed=seed, timing="realistic", speed=opts.speed, faults=faults)
    async with in_memory(sim, opts.speed) as meter:
        recovery = Recovery(sim, meter, opts.speed)

        async def readings() -> bool:
            for _ in range(opts.readings):
                if not await recovery.good_reading():
                    return False
            return True

        ok, sim_s, real_s = await timed(sim, readings)
        result = _result(recovery, ok, sim_s / opts.readings, real_s / opts.readings, None)
        result["frames_to_meter"] = sim.frames_to_meter
        return result


async def start(model: str, seed: int, opts: Options, cache: Path) -> dict[str, Any]:
    """Open (scanning when ``cache`` does not exist yet) and read once; time it all."""
    sim = Simulator(model, seed=seed, timing="realistic", speed=opts.speed)
    async with sim.memory():

        async def reopen() -> Any:
            return sim.host_stream()

        meter = meter_for(reopen, opts.speed, cache_path=cache)
        recovery = Recovery(sim, meter, opts.speed)

        async def open_and_read() -> bool:
            await meter.connect()
            return await recovery.good_reading()

        try:
            ok, sim_s, real_s = await timed(sim, open_and_read)
        finally:
            await meter.close()
        scans = sum(1 for line in sim.commands_received if line.startswith("SKSCAN"))
        return _result(recovery, ok, sim_s, real_s, None) | {"scans": scans}


#: (key, label, what "after the fault ended" means or None)
SCENARIOS: tuple[tuple[str, str], ...] = (
    ("expiry-reauth", "session expiry, automatic re-auth (EVENT 29 -> 25)"),
    ("expiry-fail", "session expiry, re-auth fails (EVENT 29 -> 24)"),
    ("termination", "meter ends the session (EVENT 26)"),
    ("tx-limit", "ARIB transmit limit (EVENT 32 -> 33)"),
    ("silent", "meter silent, then back"),
    ("hang", "module firmware hangs, then back"),
    ("reset", "module reset (power cycle, port stays)"),
    ("unplug", "pty unplugged, replugged at the same path"),
)


async def run_all(opts: Options) -> dict[str, Any]:
    """Every scenario, every model, ``opts.runs`` times; prints the tables."""
    report: dict[str, Any] = {}
    for model in opts.models:
        print(f"\nmeasuring {model} ...", flush=True)
        results: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
        with tempfile.TemporaryDirectory(prefix="aiobroute-recovery-") as tmp:
            for run in range(opts.runs):
                cache = Path(tmp) / f"pan-{run}.json"
                results["cold"].append(await start(model, run, opts, cache))
                results["warm"].append(await start(model, run, opts, cache))
                for key, _label in SCENARIOS:
                    results[key].append(await one_fault(key, model, run, opts))
                results["loss-0"].append(await lossy(model, run, opts, 0.0))
                results["loss-20"].append(await lossy(model, run, opts, 0.2))
                print(f"  {model}: run {run + 1}/{opts.runs} done", flush=True)
        report[model] = {"runs": dict(results), "rows": summarise(model, results, opts)}
    return report


def summarise(
    model: str, results: dict[str, list[dict[str, Any]]], opts: Options
) -> list[dict[str, Any]]:
    """Print one model's table; return its rows for the JSON."""
    durations = {
        "tx-limit": f"limit lasts {opts.tx_limit_s:g} s",
        "silent": f"silent for {opts.silent_s:g} s",
        "hang": f"hung for {opts.hang_s:g} s",
        "unplug": f"unplugged for {opts.unplug_s:g} s",
    }
    labelled: list[tuple[str, str]] = [
        ("cold", "cold start: scan, join, first reading"),
        ("warm", "warm start: cache file, join, first reading"),
        *SCENARIOS,
        ("loss-0", f"no reply lost: mean per reading ({opts.readings} readings)"),
        ("loss-20", f"20 % of replies lost: mean per reading ({opts.readings})"),
    ]
    table: list[list[str]] = []
    rows: list[dict[str, Any]] = []
    for key, label in labelled:
        runs = results[key]
        recovered = sum(1 for r in runs if r["recovered"])
        sim_s = common.median(r["sim_s"] for r in runs if r["recovered"])
        real_s = common.median(r["real_s"] for r in runs if r["recovered"])
        after = common.median(
            r["after_fault_ended_sim_s"]
            for r in runs
            if r["recovered"] and r["after_fault_ended_sim_s"] is not None
        )
        failures: collections.Counter[str] = collections.Counter()
        for r in runs:
            failures.update(r["failed_requests"])
        wrong = sum(r["wrong_values"] for r in runs)
        unhandled = sum(len(r["unhandled"]) for r in runs)
        reconnects = common.median(float(r["reconnects"]) for r in runs)
        failed_text = ", ".join(f"{n} {t}" for t, n in sorted(failures.items())) or "-"
        note = durations.get(key, "")
        if key in ("cold", "warm"):
            note = f"SKSCAN x{common.fmt(common.median(float(r['scans']) for r in runs), 0)}"
        table.append(
            [
                label,
                f"{recovered}/{len(runs)}",
                common.fmt(sim_s, 1),
                common.fmt(real_s, 2),
                common.fmt(after, 1) if after is not None else "",
                failed_text,
                common.fmt(reconnects, 0),
                str(wrong + unhandled),
                note,
            ]
        )
        rows.append(
            {
                "key": key,
                "label": label,
                "recovered": recovered,
                "runs": len(runs),
                "median_sim_s": sim_s,
                "median_real_s": real_s,
                "median_sim_s_after_fault_ended": after,
                "failed_requests": dict(failures),
                "median_reconnects": reconnects,
                "wrong_values": wrong,
                "unhandled": unhandled,
                "note": note,
            }
        )
    common.print_table(
        f"{model}: time to the next good reading (medians of {opts.runs} runs, "
        f"speed x{opts.speed:g})",
        [
            "fault",
            "ok",
            "sim s",
            "real s",
            "sim s after it ended",
            "failed requests meanwhile",
            "reconnects",
            "wrong",
            "note",
        ],
        table,
    )
    return rows


def main() -> int:
    """Parse the options, run, print, write the JSON."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per fault (default 3)")
    parser.add_argument("--speed", type=float, default=20.0, help="simulated s per real s")
    parser.add_argument("--tx-limit", type=float, default=60.0, help="ARIB limit length (s)")
    parser.add_argument("--silent", type=float, default=60.0, help="silent link length (s)")
    parser.add_argument("--hang", type=float, default=60.0, help="module hang length (s)")
    parser.add_argument("--unplug", type=float, default=5.0, help="time unplugged (s)")
    parser.add_argument("--readings", type=int, default=20, help="readings for the loss rows")
    parser.add_argument("--models", nargs="+", default=["BP35A1", "BP35C2"])
    parser.add_argument("--quick", action="store_true", help="one run, one model, shorter")
    parser.add_argument(
        "--output", type=Path, default=common.RESULTS_DIR / "recovery.json", help="JSON file"
    )
    namespace = parser.parse_args()
    if namespace.quick:
        namespace.runs, namespace.speed, namespace.readings = 1, 50.0, 5
        namespace.tx_limit, namespace.silent, namespace.models = 30.0, 30.0, ["BP35C2"]
        namespace.hang = 30.0
    opts = Options(namespace)
    logs = common.LogTally.install()
    started = time.perf_counter()
    report = asyncio.run(run_all(opts))
    print(f"\nlog records at WARNING and above: {logs.summary()}")
    for error in dict.fromkeys(error.splitlines()[0] for error in logs.errors):
        print(f"  {error}")
    print(f"total {time.perf_counter() - started:.0f} s real")
    common.write_json(
        opts.output,
        {
            "benchmark": "recovery",
            "environment": common.environment(),
            "options": {
                "runs": opts.runs,
                "speed": opts.speed,
                "tx_limit_s": opts.tx_limit_s,
                "silent_s": opts.silent_s,
                "hang_s": opts.hang_s,
                "unplug_s": opts.unplug_s,
                "readings": opts.readings,
                "models": opts.models,
            },
            "settings": {
                "timing": "realistic",
                "meter": "SmartMeter defaults, real-time constants / speed, "
                "wait_for_reconnect=True, push watchdog off",
                "retry_after_failure_sim_s": 1.0,
                "limit_sim_s": RECOVERY_LIMIT_S,
            },
            "models": report,
            "log_records": dict(logs.counts),
            "log_errors": logs.errors,
        },
    )
    bad = sum(
        row["wrong_values"] + row["unhandled"] for model in report.values() for row in model["rows"]
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
