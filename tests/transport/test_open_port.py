"""open_port() refuses paths that are no serial device before opening them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from aiobroute.errors import TransportError
from aiobroute.transport import open_port


def _regular(tmp_path: Path) -> Path:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"keep me\n")
    return path


def _link_to_regular(tmp_path: Path) -> Path:
    link = tmp_path / "ttyUSB-link"
    link.symlink_to(_regular(tmp_path))
    return link


def _fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_regular, "a regular file"),
        (_link_to_regular, "a regular file"),
        (_fifo, "a FIFO"),
        (lambda tmp_path: tmp_path, "a directory"),
    ],
    ids=["regular-file", "symlink-to-file", "fifo", "directory"],
)
async def test_what_is_no_character_device_is_refused_untouched(
    tmp_path: Path, make: Callable[[Path], Path], kind: str
) -> None:
    path = make(tmp_path)
    before = path.lstat()
    with pytest.raises(TransportError, match=f"not a serial device \\({kind}\\)"):
        await open_port(str(path))
    after = path.lstat()
    assert (after.st_mode, after.st_size, after.st_mtime_ns) == (
        before.st_mode,
        before.st_size,
        before.st_mtime_ns,
    )
    if kind == "a regular file":
        assert (tmp_path / "notes.txt").read_bytes() == b"keep me\n"


async def test_a_symlink_to_a_terminal_is_followed(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        link = tmp_path / "by-id-link"
        link.symlink_to(os.ttyname(slave))
        stream = await open_port(str(link))
        await stream.close()
    finally:
        os.close(master)
        os.close(slave)


async def test_a_missing_path_is_reported_by_the_open() -> None:
    with pytest.raises(TransportError, match="cannot open /nonexistent/ttyUSB9"):
        await open_port("/nonexistent/ttyUSB9")
