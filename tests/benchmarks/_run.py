"""Running a benchmark script as a user would, for the smoke tests of tests/benchmarks.

Imported as ``tests.benchmarks._run``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


def run_script(name: str, output: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run ``benchmarks/<name> --quick`` writing its JSON to ``output``."""
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(BENCHMARKS / name), "--quick", "--output", str(output), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=55,
        check=False,
    )


def load(path: Path) -> dict[str, Any]:
    """The JSON document a script wrote."""
    data = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data
