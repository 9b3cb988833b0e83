"""The record database's schema, its migrations, and the SQLite plumbing around them.

The file is marked as ours with ``PRAGMA application_id`` and versioned with ``PRAGMA
user_version``; one process writes it at a time (an exclusive ``flock``).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path
from types import TracebackType

from aiobroute.recorder._files import APPLICATION_ID, RecordDatabaseError

__all__ = ["SCHEMA_VERSION"]

_LOGGER = logging.getLogger("aiobroute.recorder")

#: The schema version this code writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1

_SCHEMA_V1 = """
CREATE TABLE meters (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    manufacturer_code INTEGER,
    serial_number TEXT,
    address TEXT,
    reverse INTEGER NOT NULL DEFAULT 1,
    history_days INTEGER,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL
);
CREATE TABLE attributes (
    id INTEGER PRIMARY KEY,
    meter_id INTEGER NOT NULL REFERENCES meters(id),
    coefficient INTEGER NOT NULL,
    unit_kwh TEXT NOT NULL,
    digits INTEGER,
    read_at TEXT NOT NULL
);
CREATE TABLE readings (
    meter_id INTEGER NOT NULL REFERENCES meters(id),
    at TEXT NOT NULL,
    attributes_id INTEGER NOT NULL REFERENCES attributes(id),
    bought_kwh TEXT,
    bought_source TEXT,
    sold_kwh TEXT,
    sold_source TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (meter_id, at)
) WITHOUT ROWID;
CREATE TABLE samples (
    meter_id INTEGER NOT NULL REFERENCES meters(id),
    at TEXT NOT NULL,
    power_w INTEGER,
    current_r_a TEXT,
    current_t_a TEXT,
    PRIMARY KEY (meter_id, at)
) WITHOUT ROWID;
"""

#: Migrations: entry ``n`` brings a database from version ``n`` to ``n + 1``.
_MIGRATIONS: tuple[str, ...] = (_SCHEMA_V1,)


def prepare(conn: sqlite3.Connection, path: Path, *, readonly: bool) -> None:
    """Check that ``conn`` is an aiobroute record database (or an empty file) and set it
    up: read-only, or WAL mode with the schema created or migrated to the current one."""
    application_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if application_id not in (0, APPLICATION_ID) or (application_id == 0 and version):
        raise RecordDatabaseError(f"{path}: not an aiobroute record database")
    if version > SCHEMA_VERSION:
        raise RecordDatabaseError(
            f"{path}: written by a newer aiobroute (schema {version}, this one "
            f"knows {SCHEMA_VERSION}); upgrade aiobroute"
        )
    if readonly:
        if application_id != APPLICATION_ID:
            raise RecordDatabaseError(f"{path}: an empty file, not a record database")
        if version < SCHEMA_VERSION:
            raise RecordDatabaseError(
                f"{path}: schema {version} is old; run `aiobroute record` once to upgrade"
            )
        conn.execute("PRAGMA query_only = ON")
        return
    if application_id == 0:
        # Before WAL mode, so it goes straight into the file's header: in WAL mode it
        # would wait in the -wal file until a checkpoint, and a process killed before
        # that would leave a file whose header does not say it is ours.
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    if version < SCHEMA_VERSION:
        _migrate(conn)


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again inside the write lock: another process may have migrated meanwhile.
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        for step in range(current, SCHEMA_VERSION):
            _LOGGER.info("record database: schema %d -> %d", step, step + 1)
            for statement in _MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def lock_writer(path: Path) -> int | None:
    """One writer per database: an exclusive ``flock`` held while the store is open."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise RecordDatabaseError(f"{path}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise RecordDatabaseError(
            f"{path}: already open for writing by another process (another `aiobroute "
            "record`?); one writer per database"
        ) from None
    return fd


class transaction:  # noqa: N801 - used like a function
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
