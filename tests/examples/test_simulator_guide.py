"""The simulator guide's example file runs as written."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

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
