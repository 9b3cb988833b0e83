"""Shared test configuration."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

# Property tests run 1,000 examples each (the parsers and codecs are pure functions, so
# this stays fast). Other profiles, chosen with HYPOTHESIS_PROFILE: "thorough" runs the
# 2,000 examples of the original protocol core issue, "quick" 100 for a short local loop.
for _name, _examples in (("default", 1000), ("thorough", 2000), ("quick", 100)):
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Bytecode is cached as Python does by default, in __pycache__ folders (ignored by git),
# even under PYTHONDONTWRITEBYTECODE (set in some containers). Without it every worker
# compiles each test module again (with the assertion rewriting) on every run, and every
# interpreter a test starts (the CLI, examples, benchmarks) compiles the whole package.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Accept pytest-xdist's options of ``addopts`` when it is absent or disabled.

    ``pyproject.toml`` runs the suite on worker processes (``--numprocesses=4``). Where
    pytest-xdist is not installed, or is turned off with ``-p no:xdist``, these options are
    accepted and ignored here, and the suite runs in one process.
    """
    if pluginmanager.has_plugin("xdist"):
        return
    group = parser.getgroup("xdist", "parallel runs (pytest-xdist absent: ignored)")
    group.addoption("--numprocesses", dest="numprocesses", default=None, help="ignored")
    group.addoption("--dist", dest="dist", default="no", help="ignored")
