"""examples/read_meter.py against the simulator."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from aiobroute.testing import MeterConfig

#: The conftest's SimulatedMeters (conftest modules cannot be imported in importlib mode).
Simulated = Any


def lines_of(text: str) -> dict[str, str]:
    pairs = (re.split(r":\s+", line, maxsplit=1) for line in text.splitlines())
    return {pair[0]: pair[1].strip() for pair in pairs if len(pair) == 2}


def value(text: str, unit: str) -> Decimal | None:
    if text == "no data":
        return None
    number, _, suffix = text.partition(" ")
    assert suffix == unit
    return Decimal(number)


def test_prints_the_ground_truth(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example("read_meter")
    assert example.main([], connect=simulated) == 0
    out = capsys.readouterr().out
    rows = lines_of(out)
    expected = simulated.truth()
    assert rows["power"] == f"{expected['power_w']} W"
    assert value(rows["current R"], "A") == expected["current_r_a"]
    assert value(rows["current T"], "A") == expected["current_t_a"]
    assert value(rows["bought"], "kWh") == expected["bought_kwh"]
    assert value(rows["sold"], "kWh") == expected["sold_kwh"]
    assert value(rows["bought at 14:00"], "kWh") == expected["fixed_bought_kwh"]
    assert expected["fixed_time"].strftime("%H:%M") == "14:00"


def test_a_meter_without_export_and_two_wire_service(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    capsys: pytest.CaptureFixture[str],
) -> None:
    simulated.meter = MeterConfig(reverse_direction=False, single_phase_two_wire=True)
    example = load_example("read_meter")
    assert example.main([], connect=simulated) == 0
    rows = lines_of(capsys.readouterr().out)
    assert rows["sold"] == "no data"  # E3 not implemented: Get_SNA, handled
    assert rows["current T"] == "no data"
    assert value(rows["bought"], "kWh") == simulated.truth()["bought_kwh"]


def test_simulate_flag_uses_the_builtin_simulator(
    load_example: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("read_meter")
    assert example.main(["--simulate"]) == 0
    rows = lines_of(capsys.readouterr().out)
    assert re.fullmatch(r"\d+ W", rows["power"])
    bought = value(rows["bought"], "kWh")
    assert bought is not None
    assert bought > 0


def test_needs_a_port_and_credentials(
    load_example: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("AIOBROUTE_PORT", "AIOBROUTE_RBID", "AIOBROUTE_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    example = load_example("read_meter")
    with pytest.raises(SystemExit) as exc_info:
        example.main(["--port", "/dev/ttyUSB0"])
    assert exc_info.value.code == 2
    assert "AIOBROUTE_RBID" in capsys.readouterr().err
