"""benchmarks/record.py runs end to end in its ``--quick`` configuration (no timing checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_record_quick(tmp_path: Path) -> None:
    output = tmp_path / "record.json"
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "benchmarks" / "record.py"),
            "--quick",
            "--output",
            str(output),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=55,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "database per meter-year" in done.stdout
    data = json.loads(output.read_text(encoding="utf-8"))
    fill = data["backfill"]
    assert fill["wrong_values"] == 0
    assert fill["frames"] == 3 * fill["days"]  # E5, E2 and E4 per day
    assert fill["gap_frames"] == 2  # ED + EC for a short gap
    assert data["recording"]["slots"] == 48
    assert data["size"]["readings_bytes_per_year"] > 0
