"""benchmarks/record.py runs end to end in its ``--quick`` configuration (no timing checked)."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks._run import load, run_script


def test_record_quick(tmp_path: Path) -> None:
    output = tmp_path / "record.json"
    done = run_script("record.py", output)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "database per meter-year" in done.stdout
    data = load(output)
    fill = data["backfill"]
    assert fill["wrong_values"] == 0
    assert fill["frames"] == 3 * fill["days"]  # E5, E2 and E4 per day
    assert fill["gap_frames"] == 2  # ED + EC for a short gap
    assert data["recording"]["slots"] == 48
    assert data["size"]["readings_bytes_per_year"] > 0
