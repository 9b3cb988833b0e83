"""Shared test configuration."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# Property tests run at least 2,000 examples each (issue: "Protocol core"); the parsers and
# codecs are pure functions, so this stays fast. HYPOTHESIS_PROFILE=quick runs 100, for a
# short local loop.
for _name, _examples in (("default", 2000), ("quick", 100)):
    settings.register_profile(
        _name,
        max_examples=_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

#: Set by the first process of a run (the one that made the bytecode cache below).
_PYCACHE_OWNER = "AIOBROUTE_TEST_PYCACHE"
_OWNED_PYCACHE = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    """Cache bytecode for the run in a temporary folder of its own, removed at the end.

    Some machines set ``PYTHONDONTWRITEBYTECODE``: then every worker compiles the test
    modules again, and every interpreter a test starts (the CLI, the examples, the
    benchmarks) compiles the whole package again. The run writes its bytecode under one
    temporary ``PYTHONPYCACHEPREFIX`` instead, shared by the workers and the interpreters
    they start (they inherit it), and never into the source tree.
    """
    prefix = os.environ.get(_PYCACHE_OWNER)
    if prefix is None:
        prefix = tempfile.mkdtemp(prefix="aiobroute-test-pycache-")
        os.environ[_PYCACHE_OWNER] = prefix
        config.stash[_OWNED_PYCACHE] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


def pytest_unconfigure(config: pytest.Config) -> None:
    prefix = config.stash.get(_OWNED_PYCACHE, None)
    if prefix is not None:
        shutil.rmtree(prefix, ignore_errors=True)


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
