"""benchmarks/j11_parse.py runs end to end in its quick configuration (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_j11_parse_quick(tmp_path: Path) -> None:
    output = tmp_path / "j11.json"
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "benchmarks" / "j11_parse.py"),
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
    assert done.returncode == 0, done.stderr
    assert "clean frames/s" in done.stdout
    report = json.loads(output.read_text(encoding="utf-8"))
    assert report["benchmark"] == "j11 MessageReader"
    assert [row["chunk_bytes"] for row in report["results"]] == [1, 64, 256, 1024, 4096]
    assert report["clean_stream_frames"] == 2 * 1000 + 20
