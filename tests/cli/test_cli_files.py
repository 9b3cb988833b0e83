"""Paths given to the CLI (``--cache``, ``simulate --link``) touch only what is ours.

Device nodes and FIFOs are created inside tmp_path only.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from aiobroute.cli import main

#: The conftest's SimulatorHook (conftest modules cannot be imported in importlib mode).
Hook = Any

pytestmark = pytest.mark.pty


def snapshot(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_mode, info.st_ino, info.st_rdev


def special_files(tmp_path: Path) -> list[Path]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    paths = [fifo]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        device = tmp_path / "null"
        os.mknod(device, stat.S_IFCHR | 0o600, os.makedev(1, 3))
        paths.append(device)
    link = tmp_path / "link-to-fifo"
    link.symlink_to(fifo)
    return [*paths, link]


def test_read_with_a_special_cache_path_leaves_it_alone(
    tmp_path: Path, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in special_files(tmp_path):
        before = snapshot(path)
        code = main(["read", "--simulate", "--format", "json", "--cache", str(path)])
        out, err = capsys.readouterr()
        assert code == 0, err
        assert json.loads(out)["power_w"] is not None
        assert snapshot(path) == before  # not replaced by a regular file
        assert "PAN cache" in err  # the user is told why
        assert str(path) in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_read_with_a_regular_cache_file_writes_it_privately(
    tmp_path: Path, hook: Hook, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "pan.json"
    assert main(["read", "--simulate", "--cache", str(cache)]) == 0
    capsys.readouterr()
    assert json.loads(cache.read_text())["pan_id"] == hook.sims[0].module.pan.pan_id
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600


@pytest.mark.parametrize("kind", ["file", "directory", "fifo", "symlink", "live-link"])
def test_simulate_link_refuses_what_is_not_ours(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "ttyWISUN"
    other = tmp_path / "precious"
    other.write_text("keep me")
    if kind == "file":
        path.write_text("keep me")
    elif kind == "directory":
        path.mkdir()
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "symlink":
        path.symlink_to(other)
    else:  # a link to a live terminal device: another simulator is serving there
        master, slave = os.openpty()
        path.symlink_to(os.ttyname(slave))
    before = snapshot(path)
    try:
        code = main(["simulate", "--timing", "instant", "--link", str(path)])
    finally:
        if kind == "live-link":
            os.close(master)
            os.close(slave)
    out, err = capsys.readouterr()
    assert code == 2
    assert "refusing" in err
    assert str(path) in err
    assert "Simulated" not in out  # never started serving
    assert snapshot(path) == before
    if kind == "file":
        assert path.read_text() == "keep me"
    assert other.read_text() == "keep me"


def test_simulate_link_in_a_missing_directory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "missing" / "ttyWISUN"
    assert main(["simulate", "--timing", "instant", "--link", str(path)]) == 1
    assert "error" in capsys.readouterr().err
    assert not path.parent.exists()
