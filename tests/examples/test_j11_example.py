"""The J11 simulator example runs as written."""

from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "test_j11_simulator.py"


async def test_j11_example() -> None:
    spec = importlib.util.spec_from_file_location("test_j11_simulator", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.test_pair_and_read_power()
