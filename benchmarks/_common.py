"""Helpers shared by the benchmark scripts (standard library only at import time).

The child processes of ``compare.py`` import this module too, so it imports only small
standard modules at module level (never aiobroute, momonga or the simulator): whatever
it imported would count in the child's memory and CPU figures.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far, in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mib() -> float:
    """Peak resident set size of this process, in MiB.

    On Linux this is ``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` of a child
    started with fork/exec keeps the parent's high-water mark from before the exec, so
    a child of a large parent would report the parent's figure. Elsewhere it is
    ``ru_maxrss`` (KiB on Linux and BSD, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":  # bytes there
        return peak / 2**20
    return peak / 1024


def median(values: Iterable[float | None]) -> float | None:
    """The median of the values that are not None (None when there are none)."""
    import statistics

    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def ratio(ours: float | None, peer: float | None) -> float | None:
    """``ours / peer``; None when either is missing or the peer's figure is zero."""
    if ours is None or peer is None or peer == 0:
        return None
    return ours / peer


def paired_ratio(ours: Sequence[float | None], peer: Sequence[float | None]) -> float | None:
    """The median of ``ours[i] / peer[i]`` over runs where both exist."""
    return median(ratio(a, b) for a, b in zip(ours, peer, strict=False))


def fmt(value: float | int | str | None, digits: int = 2) -> str:
    """A table cell: numbers with ``digits`` decimals, None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and abs(value) < 10 ** (-digits):
        return f"{value:.{digits}g}"
    return f"{value:,.{digits}f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Print a plain-text table with a title line; the first column is left-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return " | ".join(parts)

    print()
    print(title)
    print(line(headers))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line(row))


def environment() -> dict[str, Any]:
    """The machine and the package versions, recorded with every result file."""
    import importlib.metadata
    import platform

    versions: dict[str, str | None] = {}
    for name in ("aiobroute", "momonga", "pyserial", "pyserial-asyncio"):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "system": platform.system(),
        "cpus": os.cpu_count(),
        "packages": versions,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {path}")


def scaled_meter_options(speed: float, *, min_interval: float = 1.0) -> dict[str, Any]:
    """SmartMeter keyword arguments with every real-time constant divided by ``speed``.

    Against a simulator running ``speed`` times faster than real time, dividing the
    library's own waits (pacing, timeouts, backoff) by the same factor makes the run a
    time-compressed replay of a run at 1x with the default settings: simulated seconds
    then estimate what a user would see on hardware. The push watchdog is disabled: it
    follows the host's wall clock, which an accelerated simulator does not.
    """
    import attrs

    from aiobroute import MeterTimeouts, ReconnectPolicy, SkTimeouts, WatchdogSettings
    from aiobroute.j11.client import J11Timeouts
    from aiobroute.link import ProbeTimings

    def scaled(value: Any, *names: str) -> Any:
        changes = {name: getattr(value, name) / speed for name in names}
        return attrs.evolve(value, **changes)

    timeouts = scaled(MeterTimeouts(), "attempt", "single", "sequence", "instance_list")
    sk_timeouts = scaled(
        SkTimeouts(), "command", "reset_settle", "scan_margin", "join", "send", "send_event_grace"
    )
    j11_timeouts = scaled(
        J11Timeouts(),
        "command",
        "boot",
        "scan_margin",
        "start_route_b",
        "join",
        "send",
        "busy_retry",
        "start_retry",
        "partial_frame",
    )
    probe_timings = scaled(ProbeTimings(), "listen", "settle", "skstack", "j11")
    reconnect = scaled(ReconnectPolicy(), "initial", "cap", "local_cap")
    watchdog = attrs.evolve(
        scaled(WatchdogSettings(), "probe_timeout", "reauth_timeout"), push_grace=None
    )
    return {
        "min_interval": min_interval / speed,
        "timeouts": timeouts,
        "sk_timeouts": sk_timeouts,
        "j11_timeouts": j11_timeouts,
        "probe_timings": probe_timings,
        "reconnect": reconnect,
        "watchdog": watchdog,
    }


def describe_options(options: dict[str, Any]) -> dict[str, str]:
    """The options as printable text (for the JSON and the settings list)."""
    return {key: repr(value) for key, value in options.items()}


class LogTally(logging.Handler):
    """Counts log records (WARNING and up) instead of printing them over the tables."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()
        self.errors: list[str] = []

    @classmethod
    def install(cls) -> LogTally:
        """Attach a new tally to the root logger and return it."""
        tally = cls()
        logging.getLogger().addHandler(tally)
        return tally

    def emit(self, record: logging.LogRecord) -> None:
        """Count the record; keep the text of the first errors."""
        self.counts[f"{record.levelname} {record.name}"] += 1
        if record.levelno >= logging.ERROR and len(self.errors) < 20:
            self.errors.append(f"{record.name}: {record.getMessage()}"[:300])

    def summary(self) -> str:
        """``N LEVEL logger`` items, most frequent first."""
        return ", ".join(f"{n} {key}" for key, n in self.counts.most_common()) or "none"


def get_res(tid: int) -> bytes:
    """A smart meter Get_Res for E7 (instant W), E8 (instant A, R/T) and E0 (cumulative kWh).

    The values follow ``tid``, so consecutive frames differ as a real meter's do.
    """
    from aiobroute.echonet import CONTROLLER, SMART_METER, Esv, Frame, Property

    watts = (tid * 37) % 6000
    return Frame(
        tid=tid & 0xFFFF,
        seoj=SMART_METER,
        deoj=CONTROLLER,
        esv=Esv.GET_RES,
        properties=(
            Property(0xE7, watts.to_bytes(4, "big", signed=True)),
            Property(0xE8, (watts // 10).to_bytes(2, "big") + (watts // 20).to_bytes(2, "big")),
            Property(0xE0, (123456 + tid).to_bytes(4, "big")),
        ),
    ).encode()


def best_of(runs: int, func: Callable[[], int]) -> tuple[float, int]:
    """Run ``func`` several times; return (best seconds, its result)."""
    best = float("inf")
    result = 0
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def print_columns(columns: Sequence[tuple[str, str]], rows: Sequence[dict[str, object]]) -> None:
    """Print ``rows`` as a table of right-aligned 15-character cells.

    ``columns`` are (title, key) pairs; integers get thousands separators.
    """
    print(" | ".join(f"{title:>15}" for title, _ in columns))
    print("-+-".join("-" * 15 for _ in columns))
    for row in rows:
        cells = []
        for _, key in columns:
            value = row[key]
            cells.append(f"{value:>15,}" if isinstance(value, int) else f"{value:>15}")
        print(" | ".join(cells))


def python_fields() -> dict[str, str]:
    """The interpreter and machine, as the top-level fields of a result file."""
    import platform

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
    }


async def run_python(*args: str, timeout: float = 60.0) -> tuple[float, str, str]:
    """Run the interpreter with ``args``; wall seconds, stdout, stderr.

    Raises:
        RuntimeError: the interpreter exited with an error (the last line of stderr).
    """
    import asyncio

    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(timeout):
        out, err = await proc.communicate()
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:]
        raise RuntimeError(f"{' '.join(args)[:60]} exited {proc.returncode}: {tail}")
    return wall, out.decode(errors="replace"), err.decode(errors="replace")
