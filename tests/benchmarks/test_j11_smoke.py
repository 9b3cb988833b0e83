"""benchmarks/j11_parse.py runs end to end in its quick configuration (no timing asserted)."""

from __future__ import annotations

from pathlib import Path

from tests.benchmarks._run import load, run_script


def test_j11_parse_quick(tmp_path: Path) -> None:
    output = tmp_path / "j11.json"
    done = run_script("j11_parse.py", output)
    assert done.returncode == 0, done.stderr
    assert "clean frames/s" in done.stdout
    report = load(output)
    assert report["benchmark"] == "j11 MessageReader"
    assert [row["chunk_bytes"] for row in report["results"]] == [1, 64, 256, 1024, 4096]
    assert report["clean_stream_frames"] == 2 * 1000 + 20
