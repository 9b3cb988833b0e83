"""``aiobroute`` against simulated models whose output differs from the BP35A1's."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

from aiobroute.cli import main
from aiobroute.testing import ModulePreset

#: The conftest's SimulatorHook (conftest modules cannot be imported in importlib mode).
Hook = Any


@pytest.mark.parametrize("hex_payload", [True, False])
def test_read_with_either_rs_wsuha_p_payload_format_writes_no_flash(
    hex_payload: bool, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    hook.model = attrs.evolve(ModulePreset.RS_WSUHA_P, default_hex=hex_payload)
    code = main(["read", "--simulate", "--model", "RS-WSUHA-P", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["power_w"] == hook.truth()["power_w"]
    sim = hook.sim
    assert sim.flash_writes == 0
    assert sim.module.hex_payload is hex_payload
    assert not any(c.startswith(("WOPT", "WUART", "SKSAVE")) for c in sim.commands_received)


@pytest.mark.parametrize(("model", "rounds"), [("BP35A1", [4, 5, 6]), ("BP35C2", [4, 5])])
def test_read_escalates_the_scan_to_the_familys_audible_duration(
    model: str, rounds: list[int], hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["read", "--simulate", "--model", model, "--format", "json"])
    _, err = capsys.readouterr()
    assert code == 0, err
    scans = [c.split() for c in hook.sim.commands_received if c.startswith("SKSCAN 2 ")]
    assert [int(args[3], 16) for args in scans] == rounds
