"""benchmarks/link_dispatch.py runs end to end in its --quick configuration (no timing checked)."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks._run import load, run_script


def test_link_dispatch_quick(tmp_path: Path) -> None:
    output = tmp_path / "link_dispatch.json"
    done = run_script("link_dispatch.py", output)
    assert done.returncode == 0, done.stderr
    assert "skstack listener" in done.stdout
    data = load(output)
    paths = [row["path"] for row in data["results"]]
    assert paths == ["skstack listener", "skstack subscription", "j11 listener"]
    assert all(row["datagrams"] == 2000 and row["datagrams_per_s"] > 0 for row in data["results"])
