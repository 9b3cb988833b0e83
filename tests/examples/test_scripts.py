"""Every example runs as a script: ``python examples/<name>.py``."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aiobroute

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
# Scripts; test_*.py files are pytest-style examples, run by test_simulator_guide.py.
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.py") if not path.stem.startswith("test_"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # This checkout's package, even from another directory.
    src = str(Path(aiobroute.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    return subprocess.run(  # noqa: S603 - our own interpreter and scripts
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        env=env,
    )


def test_the_issue_s_examples_are_there() -> None:
    assert set(NAMES) >= {
        "read_meter",
        "watch_csv",
        "history_backfill",
        "prometheus_exporter",
        "mqtt_home_assistant",
    }


@pytest.mark.parametrize("name", NAMES)
def test_help(name: str, tmp_path: Path) -> None:
    result = run(str(EXAMPLES / f"{name}.py"), "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "--simulate" in result.stdout
    assert "--port" in result.stdout


def test_history_backfill_script_with_the_builtin_simulator(tmp_path: Path) -> None:
    script = str(EXAMPLES / "history_backfill.py")
    result = run(script, "--simulate", "--days", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "history.csv").read_text("utf-8"))))
    assert len(rows) > 48
    assert result.stderr.splitlines()[-1] == f"history.csv: {len(rows)} new half hours"
