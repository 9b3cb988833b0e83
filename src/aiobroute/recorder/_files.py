"""Checks on the database path a user gives: only our own regular SQLite files are touched."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from aiobroute._files import READ_FLAGS, file_kind, is_ours
from aiobroute.errors import AiobrouteError

__all__ = ["APPLICATION_ID", "RecordDatabaseError", "check_database_path"]

#: ``PRAGMA application_id`` of an aiobroute record database ("abrt").
APPLICATION_ID = 0x61627274
_SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_SIZE = 100


class RecordDatabaseError(AiobrouteError):
    """The record database cannot be used: not a regular file, not ours, corrupt, too new."""


def check_database_path(path: str | os.PathLike[str], *, create: bool) -> Path:
    """Check that ``path`` is a record database we may open, or a new file we may create.

    Refuses symlinks, device nodes, FIFOs, sockets and directories (without opening them
    in a way that could block), files owned by another user, and files that are neither
    empty nor an aiobroute SQLite database (checked by the header's ``application_id``).
    With ``create`` a missing file is created empty (mode 0600); otherwise it must exist.

    Returns:
        The path, as a :class:`~pathlib.Path`.

    Raises:
        RecordDatabaseError: the path cannot be used, with the reason.
    """
    target = Path(path)
    try:
        info = target.lstat()
    except FileNotFoundError:
        if not create:
            raise RecordDatabaseError(f"{target}: no such database") from None
        return _create(target)
    except OSError as exc:
        raise RecordDatabaseError(f"{target}: {exc.strerror or exc}") from None
    _check_kind(target, info.st_mode)
    _check_sidecars(target)
    try:
        # O_NONBLOCK: a FIFO swapped in after the lstat cannot block this open.
        fd = os.open(target, READ_FLAGS)
    except OSError as exc:
        raise _open_error(target, exc, "") from None
    try:
        opened = os.fstat(fd)
        _check_kind(target, opened.st_mode)
        if not is_ours(opened):
            raise RecordDatabaseError(f"{target}: belongs to another user; refusing to touch it")
        header = os.read(fd, _HEADER_SIZE)
    finally:
        os.close(fd)
    if not header:
        return target  # an empty file of ours: it becomes the database
    if len(header) < _HEADER_SIZE or not header.startswith(_SQLITE_MAGIC):
        raise RecordDatabaseError(
            f"{target}: not an SQLite database; refusing to overwrite it (choose another --db)"
        )
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != APPLICATION_ID:
        raise RecordDatabaseError(
            f"{target}: an SQLite database of another application "
            f"(application_id 0x{application_id:08X}); refusing to modify it"
        )
    return target


def _check_kind(target: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    what = file_kind(mode)
    if stat.S_ISLNK(mode):
        what += "; give the real path"
    raise RecordDatabaseError(f"{target}: is {what}; the database must be a regular file")


def _open_error(target: Path, exc: OSError, doing: str) -> RecordDatabaseError:
    """The error for a failed ``os.open`` of ``target`` (a symlink swapped in: ``ELOOP``)."""
    if exc.errno == errno.ELOOP:
        return RecordDatabaseError(f"{target}: is a symbolic link; give the real path")
    return RecordDatabaseError(f"{target}: {doing}{exc.strerror or exc}")


def _check_sidecars(target: Path) -> None:
    """SQLite also opens ``-wal``, ``-shm`` and ``-journal`` next to the database."""
    for suffix in ("-wal", "-shm", "-journal"):
        sidecar = target.with_name(target.name + suffix)
        try:
            mode = sidecar.lstat().st_mode
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise RecordDatabaseError(f"{sidecar}: {exc.strerror or exc}") from None
        _check_kind(sidecar, mode)


def _create(target: Path) -> Path:
    _check_sidecars(target)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        # Someone created it meanwhile: check it like any existing file.
        return check_database_path(target, create=False)
    except OSError as exc:
        raise _open_error(target, exc, "cannot create: ") from None
    with contextlib.suppress(OSError):
        os.close(fd)
    return target
