"""What importing and using each library costs: import time, memory and modules.

For aiobroute (``from aiobroute import SmartMeter``), momonga (``from momonga import
Momonga``) and an interpreter that imports only ``asyncio`` and ``logging`` (the floor
both libraries pay), each in fresh interpreters, the libraries interleaved so both see
the same machine load:

1. import time of the statement, timed inside the interpreter;
2. RSS after the import (``VmRSS``), and the number of modules the statement loaded;
3. with ``--readings N`` (default 20): peak RSS (``VmHWM``) of a process that opens the
   simulator's pseudo-terminal, reads instantaneous power ``N`` times and closes, and
   the modules that the reading loaded on top of the import (aiobroute's are listed).

Every interpreter caches bytecode under one temporary ``PYTHONPYCACHEPREFIX`` (as an
installed package loads ``.pyc`` files); the first run of each statement is untimed.

Run: ``python benchmarks/footprint.py [--runs N] [--readings N] [--quick]``. momonga
is optional (``pip install -e ".[bench]"``); without it its figures read n/a. Numbers
depend on the machine; nothing here is asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import _common as common

SCRIPT = str(Path(__file__).resolve())
#: What a user of each library writes first; the floor imports what both load anyway.
STATEMENTS = {
    "floor": "import asyncio, logging",
    "ours": "from aiobroute import SmartMeter",
    "peer": "from momonga import Momonga",
}
NAMES = {"floor": "asyncio + logging", "ours": "aiobroute", "peer": "momonga"}

_IMPORT_PROBE = """
import sys, time
_before = set(sys.modules)
_t0 = time.perf_counter()
{statement}
_t1 = time.perf_counter()
import json
_rss = 0
with open("/proc/self/status") as _status:
    for _line in _status:
        if _line.startswith("VmRSS:"):
            _rss = int(_line.split()[1]) / 1024
print(json.dumps({{"ms": (_t1 - _t0) * 1000, "rss": _rss,
                  "modules": sorted(set(sys.modules) - _before)}}))
"""


# =============================================================================== child


def child_main(lib: str, port: str, readings: int, rbid: str, password: str) -> int:
    """Import ``lib``, read ``readings`` times on ``port``, print one JSON line."""
    if lib == "ours":
        from aiobroute import SmartMeter

        after_import = set(sys.modules)

        async def read() -> None:
            async with SmartMeter(port, rbid=rbid, password=password, min_interval=0) as meter:
                for _ in range(readings):
                    await meter.instant_power()

        asyncio.run(read())
    else:
        from momonga import Momonga

        after_import = set(sys.modules)
        momonga = Momonga(rbid, password, port)
        momonga.internal_xmit_interval = 0
        momonga.open()
        try:
            for _ in range(readings):
                momonga.get_instantaneous_power()
        finally:
            momonga.close()
    added = sorted(set(sys.modules) - after_import)
    print(json.dumps({"peak": common.peak_rss_mib(), "added": added}))
    return 0


# ============================================================================== parent


async def _python(*args: str) -> str:
    """The last line the interpreter with ``args`` printed."""
    _, out, _ = await common.run_python(*args, timeout=120)
    return out.strip().splitlines()[-1]


async def import_probe(lib: str) -> dict[str, Any]:
    """One fresh interpreter running the statement of ``lib``."""
    result: dict[str, Any] = json.loads(
        await _python("-c", _IMPORT_PROBE.format(statement=STATEMENTS[lib]))
    )
    return result


async def reading_probe(lib: str, readings: int) -> dict[str, Any]:
    """A child reading ``readings`` times from a fresh simulator on a pseudo-terminal."""
    from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator

    sim = Simulator("BP35C2", seed=0, timing="instant")
    async with sim.pty() as path:
        line = await _python(
            SCRIPT, "--child", lib, path, str(readings), DEFAULT_RBID, DEFAULT_PASSWORD
        )
    result: dict[str, Any] = json.loads(line)
    return result


async def measure(opts: Any, libs: list[str]) -> dict[str, Any]:
    """Every figure of every library; the per-run values and their medians."""
    runs: dict[str, dict[str, list[float]]] = {lib: {} for lib in libs}
    modules: dict[str, list[str]] = {}
    for lib in libs:  # untimed: compiles the bytecode into the shared cache
        await import_probe(lib)
    for _ in range(opts.runs):
        for lib in libs:
            probe = await import_probe(lib)
            runs[lib].setdefault("import_ms", []).append(probe["ms"])
            runs[lib].setdefault("rss_after_import", []).append(probe["rss"])
            runs[lib].setdefault("modules_imported", []).append(len(probe["modules"]))
            modules[lib] = probe["modules"]
    added: dict[str, list[str]] = {}
    if opts.readings:
        for _ in range(opts.reading_runs):
            for lib in libs:
                if lib == "floor":
                    continue
                probe = await reading_probe(lib, opts.readings)
                runs[lib].setdefault("peak_rss_reading", []).append(probe["peak"])
                runs[lib].setdefault("modules_by_reading", []).append(len(probe["added"]))
                added[lib] = probe["added"]
    medians = {
        lib: {key: common.median(values) for key, values in figures.items()}
        for lib, figures in runs.items()
    }
    return {"runs": runs, "medians": medians, "modules": modules, "added_by_reading": added}


def report(result: dict[str, Any], libs: list[str]) -> None:
    """Print the table and aiobroute's modules."""
    rows = (
        ("import_ms", "import time, in-process [ms]", 1),
        ("rss_after_import", "RSS after the import [MiB]", 1),
        ("modules_imported", "modules loaded by the import", 0),
        ("peak_rss_reading", "peak RSS, process that reads the meter [MiB]", 1),
        ("modules_by_reading", "modules loaded by opening and reading", 0),
    )
    medians = result["medians"]
    table = [
        [label, *(common.fmt(medians[lib].get(key), digits) for lib in libs)]
        for key, label, digits in rows
    ]
    common.print_table("footprint (medians)", ["measure", *(NAMES[lib] for lib in libs)], table)
    ours = [name for name in result["modules"].get("ours", []) if name.startswith("aiobroute")]
    print(f"\naiobroute modules loaded by the import ({len(ours)}): {' '.join(ours)}")
    later = [n for n in result["added_by_reading"].get("ours", []) if n.startswith("aiobroute")]
    print(f"\naiobroute modules loaded by opening and reading ({len(later)}): {' '.join(later)}")
    others = [n for n in result["added_by_reading"].get("ours", []) if not n.startswith("aiob")]
    print(f"\nother modules loaded by opening and reading ({len(others)}): {' '.join(others)}")


def main() -> int:
    """Parse the options, measure, print, write the JSON."""
    import argparse
    import importlib.util
    import tempfile

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="interpreters per import figure")
    parser.add_argument("--readings", type=int, default=20, help="readings per process (0: none)")
    parser.add_argument("--reading-runs", type=int, default=3, help="processes that read")
    parser.add_argument("--quick", action="store_true", help="one small run")
    parser.add_argument("--output", type=Path, help="JSON file (default under results/)")
    opts = parser.parse_args()
    if opts.quick:
        opts.runs, opts.readings, opts.reading_runs = 1, 2, 1
    if opts.output is None:
        opts.output = common.RESULTS_DIR / "footprint.json"
    libs = ["floor", "ours"]
    if importlib.util.find_spec("momonga") is not None:
        libs.append("peer")
    with tempfile.TemporaryDirectory(prefix="aiobroute-pycache-") as pycache:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = pycache
        result = asyncio.run(measure(opts, libs))
    report(result, libs)
    result["environment"] = common.environment()
    result["options"] = {"runs": opts.runs, "readings": opts.readings}
    common.write_json(opts.output, result)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        lib, port, count, rbid, password = sys.argv[2:7]
        sys.exit(child_main(lib, port, int(count), rbid, password))
    sys.exit(main())
