"""Careful access to files whose paths come from users (caches, databases, outputs).

A path a user gives may name a device node, a FIFO, a socket, a directory, a symbolic
link or someone else's file. These helpers touch only regular files:

* :func:`safe_read_bytes` / :func:`safe_read_text` read a regular file of bounded size.
  They never follow a symbolic link in the last component, never block (the file is
  opened with ``O_NONBLOCK`` and checked with ``fstat`` before anything is read) and
  never open a non-regular file at all when ``lstat`` already shows what it is.
* :func:`atomic_write_text` replaces a file atomically (a temporary file in the same
  directory, then :func:`os.replace`) with mode 0600, and refuses to replace anything
  but a regular file owned by the current user.
* :func:`safe_unlink` removes such a file and nothing else.

Every refusal raises :class:`~aiobroute.errors.UnsafePathError`; other failures keep
their :class:`OSError`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from typing import TYPE_CHECKING

from aiobroute.errors import UnsafePathError

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "READ_FLAGS",
    "atomic_write_text",
    "file_kind",
    "is_ours",
    "safe_read_bytes",
    "safe_read_text",
    "safe_unlink",
]

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_NOCTTY = getattr(os, "O_NOCTTY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CHUNK = 65536
#: Flags to open a user's path for reading: never follow a symbolic link in the last
#: component, never block on a FIFO or device, never acquire a controlling terminal.
READ_FLAGS = os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_NOCTTY | _O_CLOEXEC


def file_kind(mode: int) -> str:
    """A file type in words, for messages (``mode`` as in :attr:`os.stat_result.st_mode`)."""
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def is_ours(info: os.stat_result) -> bool:
    """Whether the file described by ``info`` belongs to the current user (always True
    where there are no user ids)."""
    return not hasattr(os, "geteuid") or info.st_uid == os.geteuid()


def _as_path(path: str | os.PathLike[str]) -> Path:
    from pathlib import Path  # lazy: only the users of a file need pathlib

    return Path(path)


def _refuse_unless_regular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise UnsafePathError(
            f"{path} is {file_kind(mode)}, not a regular file; refusing to use it"
        )


def safe_read_bytes(path: str | os.PathLike[str], limit: int) -> bytes | None:
    """The content of the regular file at ``path``, or None when nothing is there.

    Raises:
        UnsafePathError: ``path`` is a symbolic link or not a regular file, or it holds
            more than ``limit`` bytes.
        OSError: the file exists but cannot be read (permissions, I/O error).
    """
    path = _as_path(path)
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return None
    _refuse_unless_regular(path, before.st_mode)
    try:
        fd = os.open(path, READ_FLAGS)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # replaced by a symlink since lstat
            raise UnsafePathError(f"{path} is a symbolic link; refusing to follow it") from None
        raise
    try:
        info = os.fstat(fd)
        _refuse_unless_regular(path, info.st_mode)  # swapped since lstat
        if info.st_size > limit:
            raise UnsafePathError(f"{path} is larger than {limit} bytes; refusing to read it")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # grew while we read
            raise UnsafePathError(f"{path} is larger than {limit} bytes; refusing to read it")
        return b"".join(chunks)
    finally:
        os.close(fd)


def safe_read_text(
    path: str | os.PathLike[str], limit: int, *, encoding: str = "utf-8"
) -> str | None:
    """Like :func:`safe_read_bytes`, decoded; :class:`UnicodeDecodeError` (a ValueError)
    when the content is not valid ``encoding``."""
    data = safe_read_bytes(path, limit)
    return None if data is None else data.decode(encoding)


def _check_replaceable(path: Path) -> None:
    """Refuse unless ``path`` is absent or a regular file of ours (not a symlink)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    _refuse_unless_regular(path, info.st_mode)
    if not is_ours(info):
        raise UnsafePathError(f"{path} belongs to another user; refusing to replace it")


def atomic_write_text(
    path: str | os.PathLike[str], text: str, *, mode: int = 0o600, encoding: str = "utf-8"
) -> None:
    """Replace the file at ``path`` by ``text`` atomically, with permissions ``mode``.

    The text goes to a temporary file in the same directory, which is then renamed over
    ``path``: a reader sees the old content or the new, never a mix. The directory must
    exist.

    Raises:
        UnsafePathError: something other than a regular file of the current user (a
            device node, FIFO, socket, directory, symbolic link...) is at ``path``.
        OSError: the directory is missing or not writable, the disk is full...
    """
    path = _as_path(path)
    _check_replaceable(path)
    import tempfile  # lazy: it loads shutil, random, bz2 and lzma

    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding=encoding) as handle:
            handle.write(text)
        _check_replaceable(path)  # again: narrow the window for a swap
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def safe_unlink(path: str | os.PathLike[str]) -> bool:
    """Remove the regular file of ours at ``path``; False when nothing was there.

    Raises:
        UnsafePathError: something else is at ``path`` (it is left alone).
    """
    path = _as_path(path)
    _check_replaceable(path)
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
