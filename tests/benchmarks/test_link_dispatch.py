"""benchmarks/link_dispatch.py runs end to end in its --quick configuration (no timing checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_link_dispatch_quick(tmp_path: Path) -> None:
    output = tmp_path / "link_dispatch.json"
    done = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [
            sys.executable,
            str(ROOT / "benchmarks" / "link_dispatch.py"),
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
    assert "skstack listener" in done.stdout
    data = json.loads(output.read_text(encoding="utf-8"))
    paths = [row["path"] for row in data["results"]]
    assert paths == ["skstack listener", "skstack subscription", "j11 listener"]
    assert all(row["datagrams"] == 2000 and row["datagrams_per_s"] > 0 for row in data["results"])
