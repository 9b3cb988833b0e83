"""aiobroute._files and the PAN cache: only regular files are read or replaced, never blocking.

Device nodes, FIFOs and sockets are created inside tmp_path only.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from aiobroute._files import atomic_write_text, safe_read_bytes, safe_read_text, safe_unlink
from aiobroute.errors import InvalidArgumentError, UnsafePathError
from aiobroute.skstack import ModuleFamily, PanDescriptor
from aiobroute.supervisor import PAN_CACHE_LIMIT, PanCache

PAN = PanDescriptor(channel=0x21, channel_page=9, pan_id=0x8888, addr="001D129012345678", lqi=80)


def make_fifo(path: Path) -> Path:
    os.mkfifo(path, 0o600)
    return path


def make_device(path: Path) -> Path:
    # The same numbers as /dev/null, but inside tmp_path.
    os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    return path


def make_socket(path: Path) -> Path:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
    return path


def make_dir(path: Path) -> Path:
    path.mkdir()
    return path


def make_symlink_to_file(path: Path) -> Path:
    target = path.with_name("target.json")
    target.write_text("{}")
    path.symlink_to(target)
    return path


def make_symlink_to_fifo(path: Path) -> Path:
    path.symlink_to(make_fifo(path.with_name("fifo")))
    return path


NON_REGULAR: dict[str, Callable[[Path], Path]] = {
    "fifo": make_fifo,
    "socket": make_socket,
    "directory": make_dir,
    "symlink-to-file": make_symlink_to_file,
    "symlink-to-fifo": make_symlink_to_fifo,
}
if hasattr(os, "geteuid") and os.geteuid() == 0:
    NON_REGULAR["device"] = make_device


def snapshot(path: Path) -> tuple[int, int, int]:
    info = path.lstat()
    return info.st_mode, info.st_ino, info.st_rdev


# ------------------------------------------------------------------ the helper


def test_read_missing_file_is_none(tmp_path: Path) -> None:
    assert safe_read_bytes(tmp_path / "absent", 10) is None


def test_read_regular_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes("héllo".encode())
    assert safe_read_text(tmp_path / "f", 100) == "héllo"


@pytest.mark.parametrize("kind", sorted(NON_REGULAR))
def test_read_refuses_non_regular_files_without_blocking(kind: str, tmp_path: Path) -> None:
    path = NON_REGULAR[kind](tmp_path / "thing")
    before = snapshot(path)
    with pytest.raises(UnsafePathError) as info:
        safe_read_bytes(path, 1000)
    assert isinstance(info.value, InvalidArgumentError)
    assert str(path) in str(info.value)
    assert snapshot(path) == before


def test_read_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 101)
    with pytest.raises(UnsafePathError, match="larger than 100 bytes"):
        safe_read_bytes(path, 100)
    path.write_bytes(b"x" * 100)
    assert safe_read_bytes(path, 100) == b"x" * 100


def test_atomic_write_creates_a_private_file(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    atomic_write_text(path, "one")
    assert path.read_text() == "one"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]  # no temp file left


@pytest.mark.parametrize("kind", sorted(NON_REGULAR))
def test_atomic_write_never_replaces_non_regular_files(kind: str, tmp_path: Path) -> None:
    path = NON_REGULAR[kind](tmp_path / "thing")
    before = snapshot(path)
    with pytest.raises(UnsafePathError):
        atomic_write_text(path, "data")
    assert snapshot(path) == before
    with pytest.raises(UnsafePathError):
        safe_unlink(path)
    assert snapshot(path) == before
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_atomic_write_refuses_another_users_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "theirs"
    path.write_text("keep")
    owner = path.stat().st_uid
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)  # we are someone else now
    with pytest.raises(UnsafePathError, match="another user"):
        atomic_write_text(path, "mine")
    assert path.read_text() == "keep"


def test_unlink_removes_only_our_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    assert safe_unlink(path) is False
    path.write_text("x")
    assert safe_unlink(path) is True
    assert not path.exists()


# ------------------------------------------------------------------ the PAN cache


@pytest.mark.parametrize("kind", sorted(NON_REGULAR))
def test_pan_cache_ignores_and_keeps_non_regular_files(
    kind: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = NON_REGULAR[kind](tmp_path / "pan.json")
    before = snapshot(path)
    cache = PanCache(path)
    with caplog.at_level(logging.WARNING, "aiobroute.supervisor"):
        assert cache.load() is None
        cache.save(PAN, ModuleFamily.BP35C2, {"release": "J"})
        assert cache.load_attributes(PAN.addr) is None
        cache.clear()
    assert snapshot(path) == before
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings
    assert all(str(path) in message for message in warnings)
    assert len(warnings) == len(set(warnings))  # each problem reported once


def test_pan_cache_round_trip_is_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "pan.json"
    cache = PanCache(path)
    cache.save(PAN, ModuleFamily.BP35C2, {"release": "J"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cache.load() == (PAN, ModuleFamily.BP35C2)
    assert cache.load_attributes(PAN.addr.lower()) == {"release": "J"}
    cache.clear()
    assert not path.exists()


def good_cache() -> dict[str, object]:
    return {
        "version": 1,
        "channel": 0x21,
        "channel_page": 9,
        "pan_id": 0x8888,
        "addr": "001D129012345678",
        "lqi": 80,
        "family": "bp35c2",
    }


MALFORMED: dict[str, str | bytes] = {
    "deep-nesting": "[" * 100_000 + "]" * 100_000,
    "deep-object": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "not-json": "{channel: 33",
    "not-utf8": b"\xff\xfe{}",
    "list": "[1, 2, 3]",
    "channel-string": json.dumps({**good_cache(), "channel": "33"}),
    "channel-bool": json.dumps({**good_cache(), "channel": True}),
    "addr-list": json.dumps({**good_cache(), "addr": ["001D129012345678"]}),
    "family-number": json.dumps({**good_cache(), "family": 7}),
    "family-list": json.dumps({**good_cache(), "family": ["bp35c2"]}),
    "family-unknown": json.dumps({**good_cache(), "family": "xbee"}),
    "huge": json.dumps({**good_cache(), "pad": "x" * PAN_CACHE_LIMIT}),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_pan_cache_malformed_content_means_no_cache(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "pan.json"
    content = MALFORMED[name]
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    cache = PanCache(path)
    with caplog.at_level(logging.WARNING, "aiobroute.supervisor"):
        assert cache.load() is None
        assert cache.load_attributes(PAN.addr) is None
    assert any("ignoring unusable PAN cache" in r.getMessage() for r in caplog.records)
    cache.save(PAN)  # a malformed regular file of ours is simply replaced
    assert cache.load() == (PAN, None)
