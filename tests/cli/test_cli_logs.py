"""The CLI's log output (stderr) at its most verbose: module junk escaped, no secret piece."""

from __future__ import annotations

from typing import Any

import pytest

from aiobroute.cli import main
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, FaultPlan

#: The conftest's SimulatorHook (conftest modules cannot be imported in importlib mode).
Hook = Any


def test_trace_logs_of_a_noisy_module_are_escaped_and_secret_free(
    hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    # Lines of random bytes (ESC, BEL, 0xFF...) before a third of the module's writes.
    hook.options = {"faults": FaultPlan(seed=5, garbage=0.3)}
    code = main(["read", "--simulate", "-vvv", "--format", "json"])
    _, err = capsys.readouterr()
    assert code == 0
    assert "TRACE" in err
    assert "unrecognized" in err  # the junk was reported...
    bad = sorted({hex(ord(c)) for c in err if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7F})
    assert bad == []  # ...escaped: one record per line, no terminal control
    for secret in (DEFAULT_RBID, DEFAULT_PASSWORD):
        for i in range(len(secret) - 7):
            assert secret[i : i + 8] not in err
