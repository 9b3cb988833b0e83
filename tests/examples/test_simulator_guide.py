"""The simulator guide's example file runs as written."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import aiobroute
from aiobroute.meter import MeterTimeouts

EXAMPLE = Path(__file__).parents[2] / "examples" / "test_with_simulator.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_with_simulator", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_daily_report_example() -> None:
    await load().test_daily_report_matches_the_meter()


async def test_flaky_radio_example(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example keeps the library's default timeouts; shorten them for the suite.
    module = load()
    monkeypatch.setattr(
        "aiobroute.meter.MeterTimeouts",
        lambda: MeterTimeouts(attempt=0.1, single=3.0, sequence=3.0, instance_list=0.3),
    )
    await module.test_report_survives_a_flaky_radio()


def test_the_example_runs_in_a_fresh_project(tmp_path: Path) -> None:
    """Copied into a project without this repository's pytest settings, it still passes."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_with_simulator.py").write_text(EXAMPLE.read_text("utf-8"), "utf-8")
    # pytest-asyncio's defaults (strict mode), nothing from this repository's pyproject.
    (project / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    src = str(Path(aiobroute.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=src)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "daily_report"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
