"""benchmarks/footprint.py runs end to end in its ``--quick`` configuration (no timing checked)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.benchmarks._run import load, run_script


@pytest.mark.pty
def test_footprint_quick(tmp_path: Path) -> None:
    output = tmp_path / "footprint.json"
    done = run_script("footprint.py", output)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "peak RSS, process that reads the meter" in done.stdout
    data = load(output)
    ours = data["medians"]["ours"]
    assert ours["import_ms"] > 0
    assert ours["peak_rss_reading"] >= ours["rss_after_import"] > 0
    # What the import leaves for the first SKSTACK link: the dialect, then pyserial.
    imported = data["modules"]["ours"]
    assert "aiobroute.meter" in imported
    assert "aiobroute.skstack.client" not in imported
    assert "serial" not in imported
    added = data["added_by_reading"]["ours"]
    assert {"aiobroute.skstack.client", "serial"} <= set(added)
    assert not [name for name in added if name.startswith("aiobroute.j11")]
    assert ("peer" in data["medians"]) == (importlib.util.find_spec("momonga") is not None)
