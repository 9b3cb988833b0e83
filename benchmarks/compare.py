"""aiobroute against momonga (the main Python peer) on the same simulated dongle and meter.

Each library runs in a child process of its own, which opens the simulator's
pseudo-terminal like a USB dongle; the simulator runs in this (the parent) process, so
its CPU time is never counted for either library. A child measures its own CPU time
(``getrusage``, every thread) and peak RSS and reports JSON lines on its stdout; it
stops at named marks so the parent can read the simulator's counters (frames that
reached the meter, simulated time) at exactly that point.

Measured per simulator preset, each as the median of ``--runs`` runs and as the median
of the per-run ratios aiobroute/momonga:

1. cold start to the first instantaneous-power reading (active scan needed), realistic
   radio timing accelerated ``--speed`` times, with each library's own waits divided by
   the same factor (see docs/performance.md);
2. warm start (aiobroute joins from its ``cache_path`` file; momonga has no cache, so
   its warm start is its normal open, which scans again: the cold runs are reused);
3. steady-state readings per second with zero radio latency (``timing="instant"``) and
   CPU time per reading;
4. radio frames for a snapshot of E7, E8, E0, E3 and for one day of history;
5. idle CPU per minute with an open session, measured over ``--idle`` seconds (30 by
   default; every run's child idles in the same window) and scaled to a minute;
6. peak RSS of the process.

Run: ``python benchmarks/compare.py [--runs N] [--speed X] [--quick]``. momonga is an
optional dependency (``pip install -e ".[bench]"``); without it its figures read n/a.
Numbers depend on the machine; nothing here is asserted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import _common as common

PREFIX = "@@ "
SCRIPT = str(Path(__file__).resolve())
PRESETS = ("BP35A1", "BP35C2")
#: momonga's default pause after each step of its open (Momonga.internal_xmit_interval).
PEER_DEFAULT_INTERVAL = 5.0
#: momonga's default wait for one answer (Momonga.recv_timeout).
PEER_RECV_TIMEOUT = 12.0
#: aiobroute's default minimum interval between two requests (SmartMeter.min_interval).
OURS_DEFAULT_INTERVAL = 1.0
SNAPSHOT = (0xE7, 0xE8, 0xE0, 0xE3)
#: The waits between requests of each configuration, before time compression.
PACINGS = {
    "default": {"ours": OURS_DEFAULT_INTERVAL, "peer": PEER_DEFAULT_INTERVAL},
    "off": {"ours": 0.0, "peer": 0.0},
}


# =============================================================================== child


def _emit(message: dict[str, Any]) -> None:
    sys.stdout.write(PREFIX + json.dumps(message, default=str) + "\n")
    sys.stdout.flush()


def _mark(name: str) -> None:
    """Tell the parent where we are and wait until it has read the simulator's counters.

    The wait blocks (an event loop too): marks sit outside every timed section.
    """
    _emit({"mark": name})
    sys.stdin.readline()


#: Log messages that mark the steps of a start, per library (first occurrence counts).
MILESTONES: dict[str, tuple[tuple[str, str], ...]] = {
    "ours": (
        ("scan done", "connection state: scanning -> joining"),
        ("joined", "joined: PANA session established"),
        ("ready", "connection state: joining -> ready"),
    ),
    "peer": (
        ("scan done", "A PAN was found."),
        ("joined", "A PANA session has been established."),
        ("ready", "Momonga is open."),
    ),
}
STEPS = ("scan done", "joined", "ready", "first reading")


def _watch_milestones(lib: str) -> dict[str, float]:
    """Record when the library logs each milestone of its start (perf_counter)."""
    import logging

    seen: dict[str, float] = {}
    patterns = MILESTONES[lib]

    class Milestones(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            for name, pattern in patterns:
                if name not in seen and pattern in message:
                    seen[name] = time.perf_counter()

    logger = logging.getLogger("aiobroute" if lib == "ours" else "momonga")
    logger.setLevel(logging.INFO)
    logger.addHandler(Milestones(logging.INFO))
    logger.propagate = False
    return seen


def _dilate_peer_serial(factor: float) -> None:
    """Divide every timeout momonga sets on its serial port by ``factor``.

    momonga drains the port for 2 s (a constant in ``_clear_buf``) at every open and
    polls with 1 s read timeouts; against a simulator running ``factor`` times faster,
    this keeps those waits in step with the simulated radio, as ``scaled_meter_options``
    does for aiobroute. Its code is not otherwise changed.
    """
    if factor == 1:
        return
    import types

    import serial
    from momonga import momonga_sk_wrapper

    base = serial.Serial

    class DilatedSerial(base):  # type: ignore[misc, valid-type]
        @property
        def timeout(self) -> float | None:
            return getattr(self, "_logical_timeout", None)

        @timeout.setter
        def timeout(self, value: float | None) -> None:
            self._logical_timeout = value
            base.timeout.fset(self, None if value is None else value / factor)

    shim = types.ModuleType("serial")
    shim.__dict__.update(serial.__dict__)
    shim.Serial = DilatedSerial  # type: ignore[attr-defined]
    momonga_sk_wrapper.serial = shim  # type: ignore[attr-defined]


def _timed_loop(read: Callable[[], object], warmup: int, count: int) -> dict[str, float]:
    """``warmup`` untimed calls of ``read``, then ``count`` timed ones between two marks."""
    for _ in range(warmup):
        read()
    _mark("loop-start")
    cpu0, t0 = common.cpu_seconds(), time.perf_counter()
    for _ in range(count):
        read()
    t1, cpu1 = time.perf_counter(), common.cpu_seconds()
    _mark("loop-end")
    return {"loop_s": t1 - t0, "loop_cpu_s": cpu1 - cpu0}


async def _async_timed_loop(
    read: Callable[[], Awaitable[object]], warmup: int, count: int
) -> dict[str, float]:
    """:func:`_timed_loop` for a coroutine function; also counts event-loop iterations."""
    import asyncio

    for _ in range(warmup):
        await read()
    # Every iteration of the event loop polls its selector once: count those polls.
    selector: Any = getattr(asyncio.get_running_loop(), "_selector", None)
    original = getattr(selector, "select", None)
    turns = 0

    def counting_select(timeout: float | None = None) -> Any:
        nonlocal turns
        turns += 1
        return original(timeout)

    if original is not None:
        selector.select = counting_select
    _mark("loop-start")
    cpu0, t0 = common.cpu_seconds(), time.perf_counter()
    try:
        for _ in range(count):
            await read()
        t1, cpu1 = time.perf_counter(), common.cpu_seconds()
    finally:
        if original is not None:
            del selector.select
    _mark("loop-end")
    result = {"loop_s": t1 - t0, "loop_cpu_s": cpu1 - cpu0}
    if original is not None:
        result["loop_turns"] = float(turns)
    return result


def _ours_child(config: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    import asyncio

    from aiobroute import SmartMeter

    import_s = time.perf_counter() - started
    speed = float(config["speed"])
    options = common.scaled_meter_options(speed, min_interval=float(config["interval"]))
    if config.get("cache_path"):
        options["cache_path"] = config["cache_path"]
    port, rbid, password = config["port"], config["rbid"], config["password"]

    async def start() -> dict[str, Any]:
        seen = _watch_milestones("ours")
        _mark("start")
        cpu0, t0 = common.cpu_seconds(), time.perf_counter()
        async with SmartMeter(port, rbid=rbid, password=password, **options) as meter:
            power = await meter.instant_power()
            t1, cpu1 = time.perf_counter(), common.cpu_seconds()
            _mark("first-reading")
        steps = {name: at - t0 for name, at in seen.items()}
        return {"seconds": t1 - t0, "cpu_s": cpu1 - cpu0, "power": power, "steps": steps}

    async def steady() -> dict[str, Any]:
        readings, warmup = int(config["readings"]), int(config["warmup"])
        async with SmartMeter(port, rbid=rbid, password=password, **options) as meter:
            _mark("opened")
            _mark("snapshot-start")
            values = await meter.get(*SNAPSHOT)
            _mark("snapshot-end")
            _mark("history-start")
            history = await meter.history(0)
            _mark("history-end")
            loop = await _async_timed_loop(meter.instant_power, warmup, readings)
        return {
            "snapshot_epcs": sorted(values),
            "history_entries": len(history),
            **loop,
            "readings": readings,
        }

    async def idle() -> dict[str, Any]:
        async with SmartMeter(port, rbid=rbid, password=password, **options) as meter:
            await meter.instant_power()
            _mark("idle-start")
            idle0, i0 = common.cpu_seconds(), time.perf_counter()
            await asyncio.sleep(float(config["idle"]))
            idle1, i1 = common.cpu_seconds(), time.perf_counter()
            _mark("idle-end")
        return {"idle_s": i1 - i0, "idle_cpu_s": idle1 - idle0}

    async def readings() -> dict[str, Any]:
        count, warmup = int(config["readings"]), int(config["warmup"])
        async with SmartMeter(port, rbid=rbid, password=password, **options) as meter:
            loop = await _async_timed_loop(meter.instant_power, warmup, count)
        return {**loop, "readings": count}

    tasks = {"start": start, "steady": steady, "idle": idle, "readings": readings}
    result = asyncio.run(tasks[config["task"]]())
    result["import_s"] = import_s
    return result


def _peer_child(config: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    from momonga import EchonetPropertyCode, Momonga

    import_s = time.perf_counter() - started
    speed = float(config["speed"])
    _dilate_peer_serial(speed)
    momonga = Momonga(config["rbid"], config["password"], config["port"])
    momonga.internal_xmit_interval = float(config["interval"]) / speed
    momonga.recv_timeout = PEER_RECV_TIMEOUT / speed
    result: dict[str, Any] = {"import_s": import_s}
    if config["task"] == "start":
        seen = _watch_milestones("peer")
        _mark("start")
        cpu0, t0 = common.cpu_seconds(), time.perf_counter()
        momonga.open()
        try:
            power = momonga.get_instantaneous_power()
            t1, cpu1 = time.perf_counter(), common.cpu_seconds()
            _mark("first-reading")
        finally:
            momonga.close()
        steps = {name: at - t0 for name, at in seen.items()}
        result.update(seconds=t1 - t0, cpu_s=cpu1 - cpu0, power=power, steps=steps)
        return result
    if config["task"] == "idle":
        momonga.open()
        try:
            momonga.get_instantaneous_power()
            _mark("idle-start")
            idle0, i0 = common.cpu_seconds(), time.perf_counter()
            time.sleep(float(config["idle"]))
            idle1, i1 = common.cpu_seconds(), time.perf_counter()
            _mark("idle-end")
        finally:
            momonga.close()
        result.update(idle_s=i1 - i0, idle_cpu_s=idle1 - idle0)
        return result
    if config["task"] == "readings":
        count, warmup = int(config["readings"]), int(config["warmup"])
        momonga.open()
        try:
            loop = _timed_loop(momonga.get_instantaneous_power, warmup, count)
        finally:
            momonga.close()
        result.update(loop, readings=count)
        return result
    readings, warmup = int(config["readings"]), int(config["warmup"])
    codes = {
        EchonetPropertyCode.instantaneous_power,
        EchonetPropertyCode.instantaneous_current,
        EchonetPropertyCode.measured_cumulative_energy,
        EchonetPropertyCode.measured_cumulative_energy_reversed,
    }
    momonga.open()
    try:
        _mark("opened")
        _mark("snapshot-start")
        values = momonga.request_to_get(codes)
        _mark("snapshot-end")
        _mark("history-start")
        history = momonga.get_historical_cumulative_energy_1(day=0)
        _mark("history-end")
        loop = _timed_loop(momonga.get_instantaneous_power, warmup, readings)
    finally:
        momonga.close()
    result.update(
        loop,
        snapshot_epcs=sorted(int(code) for code in values),
        history_entries=len(history),
        readings=readings,
    )
    return result


def _floor_child(config: dict[str, Any]) -> dict[str, Any]:
    """The least an asyncio program can spend per USB packet: wake up, read, nothing else.

    The parent writes ``packets`` packets to the pseudo-terminal ``port``, one at a time;
    this child waits for each with ``loop.add_reader`` and reads it with ``os.read``.
    """
    import asyncio
    import termios
    import tty

    warmup, count = int(config["warmup"]), int(config["packets"])

    async def run() -> dict[str, Any]:
        fd = os.open(config["port"], os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            tty.setraw(fd, termios.TCSANOW)
            loop = asyncio.get_running_loop()
            done: asyncio.Future[float] = loop.create_future()
            seen = 0
            started = 0.0

            def ready() -> None:
                nonlocal seen, started
                try:
                    if not os.read(fd, 4096):
                        return
                except BlockingIOError:
                    return
                seen += 1
                if seen == warmup:
                    started = common.cpu_seconds()
                elif seen == warmup + count and not done.done():
                    done.set_result(common.cpu_seconds() - started)

            loop.add_reader(fd, ready)
            _mark("floor-ready")  # the parent starts writing packets
            async with asyncio.timeout(60 + 0.1 * (warmup + count)):
                cpu_s = await done
            loop.remove_reader(fd)
        finally:
            os.close(fd)
        return {"cpu_per_wakeup_s": cpu_s / count, "wakeups": count}

    return asyncio.run(run())


def child_main() -> int:
    """Entry point of a child process: one configuration line on stdin, JSON lines out."""
    config = json.loads(sys.stdin.readline())
    try:
        if config["lib"] == "ours":
            result = _ours_child(config)
        elif config["lib"] == "peer":
            result = _peer_child(config)
        elif config["lib"] == "floor":
            result = _floor_child(config)
        else:  # the interpreter and this harness alone, for reference
            result = {}
            if config.get("idle"):
                idle0, i0 = common.cpu_seconds(), time.perf_counter()
                time.sleep(float(config["idle"]))
                idle1, i1 = common.cpu_seconds(), time.perf_counter()
                result.update(idle_s=i1 - i0, idle_cpu_s=idle1 - idle0)
        result["peak_rss_mib"] = common.peak_rss_mib()
        _emit({"result": result})
    except Exception as exc:
        _emit({"error": f"{type(exc).__name__}: {exc}"})
        return 1
    return 0


# ============================================================================== parent


def _counters(sim: Any) -> dict[str, Any]:
    return {
        "frames_to_meter": sim.frames_to_meter,
        "frames_from_meter": sim.frames_from_meter,
        "airtime_ms": sim.airtime_ms,
        # SKSCAN, or a J11 active scan (0x0051).
        "scans": sum(1 for line in sim.commands_received if line.startswith(("SKSCAN", "0x0051 "))),
        "sim_s": sim.clock.monotonic(),
        "uart_packets": getattr(sim, "uart_packets", 0),
        "parent_cpu_s": common.cpu_seconds(),
    }


async def run_child(
    config: dict[str, Any],
    sim: Any,
    *,
    limit: float,
    on_mark: Callable[[str], object] | None = None,
) -> dict[str, Any]:
    """Run one child against ``sim``; returns its result and the counters at its marks.

    ``on_mark(name)`` runs at each mark, before the child is let go on (``sim`` None: no
    counters are read).
    """
    import asyncio
    import tempfile

    marks: dict[str, dict[str, Any]] = {}
    outcome: dict[str, Any] = {"marks": marks}
    with tempfile.TemporaryFile() as errors:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            SCRIPT,
            "--child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps(config).encode() + b"\n")
        await proc.stdin.drain()
        try:
            async with asyncio.timeout(limit):
                while line := await proc.stdout.readline():
                    text = line.decode(errors="replace")
                    if not text.startswith(PREFIX):
                        continue
                    message = json.loads(text[len(PREFIX) :])
                    if "mark" in message:
                        marks[message["mark"]] = {} if sim is None else _counters(sim)
                        if on_mark is not None:
                            on_mark(message["mark"])
                        proc.stdin.write(b"\n")
                        await proc.stdin.drain()
                    elif "result" in message:
                        outcome["result"] = message["result"]
                    elif "error" in message:
                        outcome["error"] = message["error"]
                await proc.wait()
        except TimeoutError:
            outcome["error"] = f"timed out after {limit:.0f} s"
            proc.kill()
            await proc.wait()
        if "result" not in outcome and "error" not in outcome:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
            outcome["error"] = f"child exited {proc.returncode}: {' / '.join(tail)}"
    return outcome


def default_creds() -> dict[str, str]:
    """The simulator's default B-route ID and password, as child config fields."""
    from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID

    return {"rbid": DEFAULT_RBID, "password": DEFAULT_PASSWORD}


def libraries(peer_available: bool) -> list[str]:
    """The libraries measured: aiobroute, and momonga when it is installed."""
    return ["ours", "peer"] if peer_available else ["ours"]


async def run_child_on_pty(config: dict[str, Any], sim: Any, *, limit: float) -> dict[str, Any]:
    """Run one child with ``config`` on a pseudo-terminal of ``sim`` (its ``port``)."""
    async with sim.pty() as path:
        return await run_child({**config, "port": path}, sim, limit=limit)


class Measurements:
    """Per-run figures of both libraries for one preset."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, list[float | None]]] = {}
        self.errors: dict[str, list[str]] = {"ours": [], "peer": []}

    def add(self, key: str, lib: str, value: float | None) -> None:
        """Append one run's ``value`` (None: not measured) of ``key`` for ``lib``."""
        self.values.setdefault(key, {"ours": [], "peer": []})[lib].append(value)

    def get(self, key: str, lib: str) -> list[float | None]:
        """Every run's value of ``key`` for ``lib`` ("ours" or "peer"), in run order."""
        return self.values.get(key, {}).get(lib, [])

    def failed(self, what: str, lib: str, outcome: dict[str, Any], keys: Iterable[str]) -> None:
        """Note why a run of ``lib`` gave no result; add None to each of ``keys``."""
        self.errors[lib].append(f"{what}: {outcome.get('error', 'no result')}")
        for key in keys:
            self.add(key, lib, None)

    def print_errors(self) -> None:
        """Print why figures are missing, per library."""
        for lib, name in (("ours", "aiobroute"), ("peer", "momonga")):
            for error in self.errors[lib]:
                print(f"  n/a for {name}: {error}")


async def start_run(
    lib: str,
    preset: str,
    *,
    seed: int,
    speed: float,
    interval: float,
    cache_path: str | None,
    creds: dict[str, str],
) -> dict[str, Any]:
    """One cold or warm start of one library against a fresh, realistic simulator."""
    from aiobroute.testing import Simulator

    sim = Simulator(preset, seed=seed, timing="realistic", speed=speed)
    config = {
        "lib": lib,
        "task": "start",
        "speed": speed,
        "interval": interval,
        "cache_path": cache_path,
        **creds,
    }
    outcome = await run_child_on_pty(config, sim, limit=max(60.0, 600.0 / speed))
    marks = outcome["marks"]
    if "start" in marks and "first-reading" in marks:
        first, start = marks["first-reading"], marks["start"]
        outcome["sim_s"] = first["sim_s"] - start["sim_s"]
        outcome["scans"] = first["scans"] - start["scans"]
    outcome["speed"] = speed
    return outcome


async def steady_run(
    lib: str, preset: str, *, seed: int, opts: Any, creds: dict[str, str], task: str = "steady"
) -> dict[str, Any]:
    """Snapshot, history and steady readings (or the idle window) on an instant simulator."""
    from aiobroute.testing import Simulator

    sim = Simulator(preset, seed=seed, timing="instant", speed=1.0)
    config = {
        "lib": lib,
        "task": task,
        "speed": 1.0,
        "interval": 0.0,
        "readings": opts.readings,
        "warmup": opts.warmup,
        "idle": opts.idle,
        **creds,
    }
    limit = 90.0 + opts.readings * 0.2 + opts.idle
    return await run_child_on_pty(config, sim, limit=limit)


async def measure_idle(preset: str, opts: Any, libs: list[str], data: Measurements) -> None:
    """Idle CPU of every run of both libraries, and the floor, in one shared window.

    Idle processes do not compete for the CPU, so the children of all runs (and one
    floor child per run) idle at the same time: one window of ``opts.idle`` seconds.
    """
    import asyncio

    creds = default_creds()
    pairs = [(run, lib) for run in range(opts.runs) for lib in libs]
    children = [
        steady_run(lib, preset, seed=run, opts=opts, creds=creds, task="idle") for run, lib in pairs
    ]
    floors = [_baseline(opts.idle) for _ in range(opts.runs)]
    outcomes, baselines = await asyncio.gather(asyncio.gather(*children), asyncio.gather(*floors))
    for (_run, lib), outcome in zip(pairs, outcomes, strict=True):
        result = outcome.get("result")
        if result is None:
            data.failed("idle", lib, outcome, ["idle-cpu"])
        else:
            data.add("idle-cpu", lib, result["idle_cpu_s"] / result["idle_s"] * 60 * 1000)
    for baseline in baselines:
        for lib in ("ours", "peer"):
            data.add("baseline-rss", lib, baseline.get("rss"))
            data.add("idle-floor", lib, baseline.get("idle"))


def _delta(marks: dict[str, dict[str, Any]], start: str, end: str, key: str) -> float | None:
    if start not in marks or end not in marks:
        return None
    return float(marks[end][key] - marks[start][key])


async def measure_preset(
    preset: str, opts: Any, peer_available: bool, cache_dir: Path
) -> Measurements:
    """Every run of both libraries for one preset."""
    creds = default_creds()
    data = Measurements()
    libs = libraries(peer_available)
    pacings = {name: intervals for name, intervals in PACINGS.items() if name in opts.pacings}
    cache = cache_dir / f"{preset}.json"
    for run in range(opts.runs):
        for pacing, intervals in pacings.items():
            for lib in libs:
                # Cold: aiobroute gets a cache path that does not exist yet (so it scans,
                # then writes the file the warm runs use).
                cold_cache = cache_dir / f"cold-{preset}-{run}-{pacing}.json"
                outcome = await start_run(
                    lib,
                    preset,
                    seed=run,
                    speed=opts.speed,
                    interval=intervals[lib],
                    cache_path=str(cold_cache) if lib == "ours" else None,
                    creds=creds,
                )
                _record_start(data, f"cold-{pacing}", lib, outcome)
                if lib == "ours" and cold_cache.exists() and not cache.exists():
                    cache.write_bytes(cold_cache.read_bytes())
                if lib == "peer":  # no cache: its warm start is the same open
                    _record_start(data, f"warm-{pacing}", lib, outcome)
            if cache.exists():
                outcome = await start_run(
                    "ours",
                    preset,
                    seed=run,
                    speed=opts.speed,
                    interval=intervals["ours"],
                    cache_path=str(cache),
                    creds=creds,
                )
            else:
                outcome = {"error": "no cache file was written by a cold start", "marks": {}}
            _record_start(data, f"warm-{pacing}", "ours", outcome)
        for lib in libs:
            outcome = await steady_run(lib, preset, seed=run, opts=opts, creds=creds)
            _record_steady(data, lib, outcome)
        print(f"  {preset}: run {run + 1}/{opts.runs} done", flush=True)
    print(f"  {preset}: idle window of {opts.idle:g} s (all runs at once) ...", flush=True)
    await measure_idle(preset, opts, libs, data)
    return data


async def _baseline(idle: float) -> dict[str, float]:
    """Peak RSS and idle CPU of a child that imports neither library (the floor)."""

    class _NoSim:
        frames_to_meter = frames_from_meter = 0
        airtime_ms = 0.0
        commands_received: list[str] = []  # noqa: RUF012 - a stand-in, never changed

        class clock:  # noqa: N801 - mimics the simulator's attribute
            @staticmethod
            def monotonic() -> float:
                return 0.0

    outcome = await run_child({"lib": "baseline", "idle": idle}, _NoSim(), limit=60 + idle)
    result = outcome.get("result")
    if not result:
        return {}
    floor = {"rss": float(result["peak_rss_mib"])}
    if "idle_s" in result:
        floor["idle"] = result["idle_cpu_s"] / result["idle_s"] * 60 * 1000
    return floor


def _record_start(data: Measurements, key: str, lib: str, outcome: dict[str, Any]) -> None:
    result = outcome.get("result")
    if result is None or "sim_s" not in outcome:
        suffixes = ("sim", "real", "cpu", "scans", *(f"step-{step}" for step in STEPS))
        data.failed(key, lib, outcome, [f"{key}-{suffix}" for suffix in suffixes])
        return
    data.add(f"{key}-sim", lib, outcome["sim_s"])
    data.add(f"{key}-real", lib, result["seconds"])
    data.add(f"{key}-cpu", lib, result["cpu_s"])
    data.add(f"{key}-scans", lib, outcome["scans"])
    data.add("import", lib, result["import_s"])
    speed = outcome["speed"]
    steps = dict(result.get("steps", {}))
    steps["first reading"] = result["seconds"]
    for step in STEPS:
        at = steps.get(step)
        data.add(f"{key}-step-{step}", lib, None if at is None else at * speed)


def _record_steady(data: Measurements, lib: str, outcome: dict[str, Any]) -> None:
    result = outcome.get("result")
    marks = outcome["marks"]
    keys = (
        "rate",
        "cpu-per-reading",
        "sim-cpu-per-reading",
        "frames-snapshot",
        "frames-history",
        "frames-open",
        "airtime-snapshot",
        "rss",
    )
    if result is None:
        data.failed("steady", lib, outcome, keys)
        return
    readings = result["readings"]
    sim_cpu = _delta(marks, "loop-start", "loop-end", "parent_cpu_s")
    data.add("rate", lib, readings / result["loop_s"])
    data.add("cpu-per-reading", lib, result["loop_cpu_s"] / readings * 1000)
    data.add("sim-cpu-per-reading", lib, None if sim_cpu is None else sim_cpu / readings * 1000)
    data.add(
        "frames-snapshot", lib, _delta(marks, "snapshot-start", "snapshot-end", "frames_to_meter")
    )
    data.add(
        "frames-history", lib, _delta(marks, "history-start", "history-end", "frames_to_meter")
    )
    data.add("frames-open", lib, marks["opened"]["frames_to_meter"] if "opened" in marks else None)
    data.add("airtime-snapshot", lib, _delta(marks, "snapshot-start", "snapshot-end", "airtime_ms"))
    data.add("rss", lib, result["peak_rss_mib"])


#: (key, label, digits, target maximum of aiobroute/momonga or None)
ROWS: tuple[tuple[str, str, int, float | None], ...] = (
    ("cold-default-sim", "cold start -> first E7, default pacing [sim s]", 1, 1 / 3),
    ("cold-off-sim", "cold start -> first E7, pacing off [sim s]", 1, 1 / 3),
    ("warm-default-sim", "warm start -> first E7, default pacing [sim s]", 1, 1 / 5),
    ("warm-off-sim", "warm start -> first E7, pacing off [sim s]", 1, 1 / 5),
    ("cold-default-real", "cold start, default pacing [real s]", 2, None),
    ("cold-off-real", "cold start, pacing off [real s]", 2, None),
    ("warm-default-real", "warm start, default pacing [real s]", 2, None),
    ("warm-off-real", "warm start, pacing off [real s]", 2, None),
    ("cold-off-scans", "SKSCAN commands in a cold start", 0, None),
    ("warm-off-scans", "SKSCAN commands in a warm start", 0, None),
    ("cold-off-cpu", "CPU during a cold start, pacing off [s]", 3, None),
    ("rate", "steady readings/s (instant radio)", 0, None),
    ("cpu-per-reading", "CPU per reading (user+sys) [ms]", 3, 1 / 3),
    ("sim-cpu-per-reading", "simulator CPU per reading (not counted) [ms]", 3, None),
    ("frames-snapshot", "radio frames: snapshot E7+E8+E0+E3", 0, 1.0),
    ("frames-history", "radio frames: one day of history (E2)", 0, 1.0),
    ("frames-open", "radio frames: open (connect reads)", 0, None),
    ("airtime-snapshot", "airtime of the snapshot [ms]", 1, None),
    ("idle-cpu", "idle CPU, open session, no polling [ms/min]", 2, 1 / 10),
    ("idle-floor", "  floor: an idle interpreter, same window [ms/min]", 2, None),
    ("rss", "peak RSS of the process [MiB]", 1, None),
    ("baseline-rss", "  of which interpreter + harness alone [MiB]", 1, None),
    ("import", "import time of the library [real s]", 3, None),
)


def _cell(value: float | None, digits: int) -> str:
    if value is None:
        return "n/a"
    if digits == 0:
        return f"{value:,.0f}"
    return common.fmt(value, digits)


def ratio_table(
    title: str,
    specs: tuple[tuple[str, str, int, float | None], ...],
    data: Measurements,
    peer_available: bool,
) -> list[dict[str, Any]]:
    """Print one aiobroute / momonga table of ``specs`` rows; return the rows as JSON."""
    table: list[list[str]] = []
    rows: list[dict[str, Any]] = []
    for key, label, digits, target in specs:
        ours, peer = data.get(key, "ours"), data.get(key, "peer")
        ours_median, peer_median = common.median(ours), common.median(peer)
        paired = common.paired_ratio(ours, peer) if peer_available else None
        if paired is None and ours_median == 0 and peer_median:
            paired = 0.0
        if target is None:
            verdict, target_text = "", ""
        else:
            target_text = f"<= {target:.3g}"
            verdict = "n/a" if paired is None else ("PASS" if paired <= target else "MISS")
        table.append(
            [
                label,
                _cell(ours_median, digits),
                _cell(peer_median, digits),
                "n/a" if paired is None else f"{paired:.3f}",
                target_text,
                verdict,
            ]
        )
        rows.append(
            {
                "key": key,
                "label": label,
                "aiobroute_median": ours_median,
                "momonga_median": peer_median,
                "ratio_aiobroute_over_momonga": paired,
                "target_max_ratio": target,
                "verdict": verdict or None,
                "aiobroute_runs": ours,
                "momonga_runs": peer,
            }
        )
    common.print_table(
        title, ["measure", "aiobroute", "momonga", "a/m", "target", "verdict"], table
    )
    return rows


def summarise(
    preset: str, data: Measurements, peer_available: bool, pacings: list[str]
) -> list[dict[str, Any]]:
    """The table rows (printed) and their JSON form."""
    skipped = [f"-{name}-" for name in PACINGS if name not in pacings]
    specs = tuple(spec for spec in ROWS if not any(part in f"-{spec[0]}-" for part in skipped))
    rows = ratio_table(preset, specs, data, peer_available)
    timeline: list[list[str]] = []
    for pacing in pacings:
        for lib, kind in (("ours", "cold"), ("ours", "warm"), ("peer", "cold")):
            if lib == "peer" and not peer_available:
                continue
            name = "aiobroute" if lib == "ours" else "momonga (cold = warm)"
            label = f"{name} {kind}" if lib == "ours" else name
            cells = [f"{label}, pacing {pacing}"]
            cells += [
                _cell(common.median(data.get(f"{kind}-{pacing}-step-{step}", lib)), 1)
                for step in STEPS
            ]
            timeline.append(cells)
            rows.append(
                {
                    "key": f"timeline-{lib}-{kind}-{pacing}",
                    "label": cells[0],
                    "median_sim_s_since_open": dict(zip(STEPS, cells[1:], strict=True)),
                }
            )
    common.print_table(
        f"{preset}: start timeline, median simulated seconds since the open began",
        ["start", *STEPS],
        timeline,
    )
    data.print_errors()
    return rows


def settings_text(opts: Any) -> list[str]:
    """Every setting of both libraries, printed with the results."""
    s = opts.speed
    return [
        f"runs per figure: {opts.runs} (medians; ratio = median of per-run aiobroute/momonga)",
        f"start: simulator timing='realistic', speed x{s:g}; a fresh simulator per run",
        f"  aiobroute: SmartMeter defaults with every real-time constant / {s:g} "
        f"(min_interval {OURS_DEFAULT_INTERVAL:g}/{s:g} s 'default pacing', 0 'pacing off'; "
        "MeterTimeouts, SkTimeouts, ReconnectPolicy, WatchdogSettings scaled; push "
        "watchdog off); cold: cache_path to a new file; warm: cache_path written by a "
        "cold run",
        f"  momonga: Momonga(rbid, pwd, dev) defaults (reset_dev=True, scan_retries=3, "
        f"join_retries=3); internal_xmit_interval {PEER_DEFAULT_INTERVAL:g}/{s:g} s "
        f"'default pacing', 0 'pacing off'; recv_timeout {PEER_RECV_TIMEOUT:g}/{s:g} s; "
        f"serial-port timeouts / {s:g} (its fixed 2 s drain at open and 1 s polls); "
        "warm = its normal open (it has no scan cache), i.e. the cold runs",
        "steady/snapshot/history/idle: simulator timing='instant', speed x1",
        "  aiobroute: SmartMeter(min_interval=0), other settings default",
        "  momonga: internal_xmit_interval=0, other settings default",
        f"  readings: {opts.warmup} warm-up then {opts.readings} timed "
        "(aiobroute instant_power(); momonga get_instantaneous_power())",
        "  snapshot: aiobroute get(0xE7, 0xE8, 0xE0, 0xE3); momonga request_to_get({...})",
        "  history: aiobroute history(0); momonga get_historical_cumulative_energy_1(day=0)",
        f"  idle: no request for {opts.idle:g} s with the session open (after one reading), "
        "every run's child in the same window; CPU scaled to a minute; floor = a child "
        "importing neither library, sleeping the same window",
        "sim s = the simulator's clock between the child's marks (what hardware would take); "
        "real s = the child's own perf_counter",
    ]


def _is_j11(preset: str) -> bool:
    from aiobroute.testing import J11Preset

    return J11Preset.find(preset) is not None


def begin_report(settings: list[str]) -> tuple[bool, list[str]]:
    """Print the settings; return whether momonga is installed and the notes so far."""
    import importlib.util

    peer_available = importlib.util.find_spec("momonga") is not None
    notes: list[str] = []
    if not peer_available:
        notes.append("momonga is not installed (pip install momonga): its figures are n/a")
    print("Settings:")
    for line in settings:
        print(f"  {line}")
    return peer_available, notes


def end_report(
    benchmark: str,
    settings: list[str],
    notes: list[str],
    presets: dict[str, Any],
    options: dict[str, Any],
) -> dict[str, Any]:
    """Print the notes; return the JSON document of a run."""
    for note in notes:
        print(f"note: {note}")
    return {
        "benchmark": benchmark,
        "environment": common.environment(),
        "settings": settings,
        "options": options,
        "notes": notes,
        "presets": presets,
    }


async def run_all(opts: Any) -> dict[str, Any]:
    """Measure every preset; print the tables; return the JSON document."""
    import tempfile

    peer_available, notes = begin_report(settings_text(opts))
    presets: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="aiobroute-bench-") as tmp:
        for preset in opts.presets:
            print(f"\nmeasuring {preset} ...", flush=True)
            # momonga speaks SKSTACK only: a J11 preset measures aiobroute alone.
            peer = peer_available and not _is_j11(preset)
            if peer_available and not peer:
                notes.append(f"{preset} is a J11 module, which momonga cannot drive: n/a")
            data = await measure_preset(preset, opts, peer, Path(tmp))
            rows = summarise(preset, data, peer, opts.pacings)
            presets[preset] = {"rows": rows, "errors": data.errors}
    return end_report(
        "compare",
        settings_text(opts),
        notes,
        presets,
        {
            "runs": opts.runs,
            "speed": opts.speed,
            "readings": opts.readings,
            "warmup": opts.warmup,
            "idle_s": opts.idle,
            "presets": list(opts.presets),
            "pacings": list(opts.pacings),
        },
    )


# ======================================================================= UART mode

#: (key, label, digits, target maximum of aiobroute/momonga or None)
UART_ROWS: tuple[tuple[str, str, int, float | None], ...] = (
    ("uart-cpu-per-reading", "CPU per reading (user+sys) [ms]", 3, 1 / 8),
    ("uart-floor-per-reading", "  floor: bare asyncio wake-ups, same packets [ms]", 3, None),
    ("uart-wall-per-reading", "wall time per reading [ms]", 1, None),
    ("uart-packets-per-reading", "USB packets to the host per reading", 1, None),
    ("uart-turns-per-reading", "asyncio event-loop iterations per reading", 1, None),
    ("uart-sim-cpu-per-reading", "simulator CPU per reading (not counted) [ms]", 3, None),
    ("uart-rss", "peak RSS of the process [MiB]", 1, 1.0),
    ("uart-baseline-rss", "  of which interpreter + harness alone [MiB]", 1, None),
    ("import-top", "import time: import aiobroute / momonga [ms]", 1, None),
    ("import-client", "import time: the client class [ms]", 1, 1.0),
    ("import-importtime", "  python -X importtime, package cumulative [ms]", 1, None),
    ("import-process", "python -c '<import the client class>' [ms]", 1, None),
)
#: What each library's users write, timed in a fresh interpreter.
IMPORTS: dict[str, dict[str, str]] = {
    "ours": {
        "module": "aiobroute",
        "top": "import aiobroute",
        "client": "from aiobroute import SmartMeter",
    },
    "peer": {"module": "momonga", "top": "import momonga", "client": "from momonga import Momonga"},
}
_TIMED_IMPORT = (
    "import time as _t\n_t0 = _t.perf_counter()\n{statement}\nprint(_t.perf_counter() - _t0)\n"
)


def uart_simulator(preset: str, seed: int, opts: Any) -> Any:
    """A simulator whose output crosses a paced UART and whose meter answers late.

    Every other delay is zero (so opening is quick); the UART and the meter's answer
    time follow ``opts``; the command and EVENT 21 delays are the realistic ones.
    """
    import attrs

    from aiobroute.testing import J11Timing, Simulator, Timing, UartTiming

    latency = opts.meter_latency_ms / 1000
    timing: Timing | J11Timing
    if _is_j11(preset):
        j11 = J11Timing.realistic()
        timing = attrs.evolve(
            J11Timing.instant(),
            command_s=j11.command_s,
            tx_s=j11.tx_s,
            response_s=(latency, latency),
        )
    else:
        realistic = Timing.realistic()
        timing = attrs.evolve(
            Timing.instant(),
            command_s=realistic.command_s,
            tx_s=realistic.tx_s,
            response_s=(latency, latency),
        )
    uart = UartTiming(
        baudrate=opts.baud,
        packet_size=opts.packet,
        status_bytes=opts.status_bytes,
        latency_s=opts.latency_ms / 1000,
    )
    return Simulator(preset, seed=seed, timing=timing, speed=1.0, uart_timing=uart)


async def uart_run(
    lib: str, preset: str, *, seed: int, opts: Any, creds: dict[str, str]
) -> dict[str, Any]:
    """Open, warm up, then time ``opts.readings`` readings against a paced simulator."""
    sim = uart_simulator(preset, seed, opts)
    config = {
        "lib": lib,
        "task": "readings",
        "speed": 1.0,
        "interval": 0.0,
        "readings": opts.readings,
        "warmup": opts.warmup,
        **creds,
    }
    per_reading = opts.meter_latency_ms / 1000 + 0.5
    return await run_child_on_pty(config, sim, limit=90.0 + opts.readings * per_reading)


async def measure_wakeup_floor(opts: Any) -> float | None:
    """CPU per wake-up of a bare asyncio reader on a pseudo-terminal, in ms.

    A child that does nothing but wake up and read (see ``_floor_child``) is sent one
    USB packet at a time, spaced like the latency timer; multiplied by the packets per
    reading this is the least any asyncio library can spend on the same traffic here.
    """
    import asyncio
    import pty
    import termios
    import tty

    count = opts.floor_packets
    warmup = max(5, count // 10)
    master, slave = pty.openpty()
    tty.setraw(master, termios.TCSANOW)
    packet = b"x" * (opts.packet - opts.status_bytes)
    config = {"lib": "floor", "port": os.ttyname(slave), "warmup": warmup, "packets": count}
    writers: list[asyncio.Task[None]] = []

    async def send_packets() -> None:
        for _ in range(warmup + count + 5):
            os.write(master, packet)
            await asyncio.sleep(opts.latency_ms / 1000 + 0.004)

    def on_mark(name: str) -> None:
        if name == "floor-ready":
            writers.append(asyncio.create_task(send_packets()))

    try:
        outcome = await run_child(config, None, limit=120, on_mark=on_mark)
    finally:
        for writer in writers:
            writer.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
        os.close(master)
        os.close(slave)
    result = outcome.get("result")
    if result is None or "cpu_per_wakeup_s" not in result:
        return None
    return float(result["cpu_per_wakeup_s"]) * 1000


def importtime_total_ms(stderr: str, module: str) -> float | None:
    """The cumulative time of ``module`` in ``python -X importtime`` output, in ms."""
    for line in reversed(stderr.splitlines()):
        parts = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(parts) == 3 and parts[2] == module and parts[1].isdigit():
            return int(parts[1]) / 1000
    return None


async def measure_imports(lib: str, data: Measurements) -> None:
    """One fresh interpreter per figure: how long each library takes to import."""
    spec = IMPORTS[lib]
    _, top, _ = await common.run_python("-c", _TIMED_IMPORT.format(statement=spec["top"]))
    data.add("import-top", lib, float(top) * 1000)
    _, client, _ = await common.run_python("-c", _TIMED_IMPORT.format(statement=spec["client"]))
    data.add("import-client", lib, float(client) * 1000)
    _, _, err = await common.run_python("-X", "importtime", "-c", spec["top"])
    data.add("import-importtime", lib, importtime_total_ms(err, spec["module"]))
    wall, _, _ = await common.run_python("-c", spec["client"])
    data.add("import-process", lib, wall * 1000)


def _record_uart(data: Measurements, lib: str, outcome: dict[str, Any]) -> None:
    result = outcome.get("result")
    marks = outcome["marks"]
    keys = (
        "uart-cpu-per-reading",
        "uart-wall-per-reading",
        "uart-packets-per-reading",
        "uart-turns-per-reading",
        "uart-sim-cpu-per-reading",
        "uart-rss",
    )
    if result is None:
        data.failed("uart readings", lib, outcome, keys)
        return
    readings = result["readings"]
    packets = _delta(marks, "loop-start", "loop-end", "uart_packets")
    sim_cpu = _delta(marks, "loop-start", "loop-end", "parent_cpu_s")
    data.add("uart-cpu-per-reading", lib, result["loop_cpu_s"] / readings * 1000)
    data.add("uart-wall-per-reading", lib, result["loop_s"] / readings * 1000)
    data.add("uart-packets-per-reading", lib, None if packets is None else packets / readings)
    turns = result.get("loop_turns")
    data.add("uart-turns-per-reading", lib, None if turns is None else turns / readings)
    sim_ms = None if sim_cpu is None else sim_cpu / readings * 1000
    data.add("uart-sim-cpu-per-reading", lib, sim_ms)
    data.add("uart-rss", lib, result["peak_rss_mib"])


async def measure_uart_preset(preset: str, opts: Any, peer_available: bool) -> Measurements:
    """Every run of both libraries for one preset in the UART mode, plus import times."""
    creds = default_creds()
    data = Measurements()
    libs = libraries(peer_available)
    for run in range(opts.runs):
        for lib in libs:
            outcome = await uart_run(lib, preset, seed=run, opts=opts, creds=creds)
            _record_uart(data, lib, outcome)
        wakeup_ms = await measure_wakeup_floor(opts)
        packets = data.get("uart-packets-per-reading", "ours")[-1:]
        if wakeup_ms is not None and packets and packets[0] is not None:
            data.add("uart-floor-per-reading", "ours", wakeup_ms * packets[0])
        floor = await _baseline(0.0)
        for lib in ("ours", "peer"):
            data.add("uart-baseline-rss", lib, floor.get("rss"))
        print(f"  {preset}: run {run + 1}/{opts.runs} done", flush=True)
    for lib in libs:  # untimed: fills the bytecode cache (see cache_bytecode)
        await common.run_python("-c", IMPORTS[lib]["client"])
    for _ in range(opts.import_runs):  # interleaved, so both see the same machine load
        for lib in libs:
            try:
                await measure_imports(lib, data)
            except (RuntimeError, TimeoutError, ValueError) as exc:
                data.errors[lib].append(f"imports: {exc}")
    return data


def uart_settings_text(opts: Any) -> list[str]:
    """Every setting of the UART mode, printed with the results."""
    return [
        f"runs per figure: {opts.runs} (medians; ratio = median of per-run aiobroute/momonga)",
        f"simulator: speed x1 (real time); module output over a paced UART: {opts.baud:g} "
        f"baud 8N1, USB packets of {opts.packet} bytes ({opts.status_bytes} status bytes), "
        f"latency timer {opts.latency_ms:g} ms; meter answers {opts.meter_latency_ms:g} ms "
        "after the datagram went out; command 5 ms and EVENT 21 30-100 ms (realistic); "
        "no scan or join delay",
        "  aiobroute: SmartMeter(min_interval=0), other settings default",
        "  momonga: internal_xmit_interval=0, other settings default",
        f"  readings: {opts.warmup} warm-up then {opts.readings} timed "
        "(aiobroute instant_power(); momonga get_instantaneous_power()), each library "
        "in a child process of its own (CPU: getrusage; peak RSS: VmHWM)",
        f"imports: {opts.import_runs} fresh interpreters per figure, the libraries "
        "interleaved; 'import time' rows time the statement inside the interpreter, the "
        "last row is the whole process as a shell sees it (interpreter start included)",
        "bytecode: every child caches it under one temporary PYTHONPYCACHEPREFIX, so both "
        "libraries load compiled bytecode as installed packages do",
    ]


async def run_uart(opts: Any) -> dict[str, Any]:
    """The UART mode: CPU per reading, peak RSS and import time side by side."""
    peer_available, notes = begin_report(uart_settings_text(opts))
    presets: dict[str, Any] = {}
    for preset in opts.presets:
        print(f"\nmeasuring {preset} (UART mode) ...", flush=True)
        peer = peer_available and not _is_j11(preset)
        if peer_available and not peer:
            notes.append(f"{preset} is a J11 module, which momonga cannot drive: n/a")
        data = await measure_uart_preset(preset, opts, peer)
        rows = ratio_table(f"{preset}, UART mode", UART_ROWS, data, peer)
        data.print_errors()
        presets[preset] = {"rows": rows, "errors": data.errors}
    return end_report(
        "compare-uart",
        uart_settings_text(opts),
        notes,
        presets,
        {
            "runs": opts.runs,
            "readings": opts.readings,
            "warmup": opts.warmup,
            "import_runs": opts.import_runs,
            "baud": opts.baud,
            "packet": opts.packet,
            "status_bytes": opts.status_bytes,
            "latency_ms": opts.latency_ms,
            "meter_latency_ms": opts.meter_latency_ms,
            "presets": list(opts.presets),
        },
    )


def cache_bytecode(directory: str) -> None:
    """Let every child cache compiled bytecode in ``directory``, for both libraries.

    An installed package is imported from ``.pyc`` files. A checkout run with
    ``PYTHONDONTWRITEBYTECODE`` (or a read-only tree) would compile aiobroute's sources
    at every start while momonga, installed, loads its cached bytecode: an unfair
    import time, CPU and memory figure. With one cache prefix for all children the
    first start of each library compiles it and every later start reads the cache.
    """
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = directory


def main() -> int:
    """Parse the options, run, print, write the JSON."""
    import argparse
    import asyncio
    import tempfile

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (default 3)")
    parser.add_argument("--speed", type=float, default=10.0, help="time factor for starts")
    parser.add_argument("--readings", type=int, default=300, help="timed steady readings")
    parser.add_argument("--warmup", type=int, default=20, help="untimed readings first")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window in seconds")
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), help="simulator models")
    parser.add_argument(
        "--pacings", nargs="+", choices=list(PACINGS), default=list(PACINGS), help="start configs"
    )
    parser.add_argument("--quick", action="store_true", help="one run of one preset, small")
    parser.add_argument("--output", type=Path, help="JSON file (default under results/)")
    uart = parser.add_argument_group(
        "UART mode", "CPU per reading over a paced UART with a slow meter, RSS, import time"
    )
    uart.add_argument("--uart", action="store_true", help="run the UART mode instead")
    uart.add_argument("--baud", type=float, default=115200.0, help="UART speed (115200)")
    uart.add_argument("--packet", type=int, default=64, help="USB packet size (64)")
    uart.add_argument("--status-bytes", type=int, default=2, help="status bytes per packet (2)")
    uart.add_argument("--latency-ms", type=float, default=16.0, help="latency timer (16 ms)")
    uart.add_argument("--meter-latency-ms", type=float, default=50.0, help="meter answer (50)")
    uart.add_argument("--import-runs", type=int, default=9, help="interpreters per import row")
    uart.add_argument(
        "--floor-packets", type=int, default=300, help="packets timed for the wake-up floor"
    )
    opts = parser.parse_args()
    argv = sys.argv[1:]
    if opts.uart and "--readings" not in argv:
        opts.readings = 100
    if opts.quick:
        opts.runs, opts.speed, opts.readings, opts.warmup, opts.idle = 1, 40.0, 10, 2, 0.3
        opts.presets, opts.pacings, opts.import_runs = ["BP35C2"], ["off"], 2
        opts.floor_packets = 40
    if opts.output is None:
        name = "compare-uart.json" if opts.uart else "compare.json"
        opts.output = common.RESULTS_DIR / name
    with tempfile.TemporaryDirectory(prefix="aiobroute-pycache-") as pycache:
        cache_bytecode(pycache)
        report = asyncio.run(run_uart(opts) if opts.uart else run_all(opts))
    common.write_json(opts.output, report)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        sys.exit(child_main())
    sys.exit(main())
