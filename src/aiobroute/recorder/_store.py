"""The record database: SQLite (WAL, versioned schema), written from one worker thread.

Every reading is keyed by the meter and the instant of the reading on the meter's clock
(ISO 8601 text with ``+09:00``, so the ``sqlite3`` shell sorts and compares it as text).
Energy is stored as exact decimal text in kWh, already scaled by the meter's coefficient
and unit; the attributes used (coefficient, unit, digits) are rows of their own, so a
change of them is recorded rather than silently mixed. "The meter has no data" is a
source with an empty value; "never read" is no row (or an empty source).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import enum
import functools
import logging
import os
import sqlite3
from collections.abc import Callable, Generator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs

from aiobroute._time import JST
from aiobroute.recorder._files import APPLICATION_ID, RecordDatabaseError, check_database_path

__all__ = [
    "SCHEMA_VERSION",
    "MeterAttributes",
    "MeterRecord",
    "PutResult",
    "Reading",
    "RecordStore",
    "Sample",
    "SlotValue",
    "Source",
]

_LOGGER = logging.getLogger("aiobroute.recorder")
_T = TypeVar("_T")
_V = TypeVar("_V")

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


class Source(enum.Enum):
    """Where a stored value came from."""

    PUSH = "push"  #: the meter's 30-minute EA/EB notification
    HISTORY = "history"  #: a backfill from E2/E4 or EC
    LIVE = "live"  #: a Get of EA/EB by the recorder


@attrs.frozen
class MeterRecord:
    """A meter known to the database.

    Attributes:
        key: its identity: ``MMMMMM-SERIAL`` (manufacturer code 0x8A in hex and serial
            number 0x8D), or ``addr-<IPv6 address>`` when the meter has neither.
        manufacturer_code: 0x8A, or None.
        serial_number: 0x8D, or None.
        address: the meter's link-local address when last seen.
        reverse: the meter measures energy sold (E3/E4/EB).
        history_days: how many days back the meter answered E2/E4 (None: not learnt).
    """

    key: str
    manufacturer_code: int | None = None
    serial_number: str | None = None
    address: str | None = None
    reverse: bool = True
    history_days: int | None = None


@attrs.frozen
class MeterAttributes:
    """The scaling of a meter's counters when they were read.

    Attributes:
        coefficient: D3 (1 when absent).
        unit_kwh: E1 as kWh per count.
        digits: D7, the counters' effective digits (None when unknown).
        read_at: when these were read (meter time).
    """

    coefficient: int
    unit_kwh: Decimal
    digits: int | None
    read_at: dt.datetime

    @property
    def kwh_per_count(self) -> Decimal:
        """kWh of one count of the raw counter."""
        return self.unit_kwh * self.coefficient

    @property
    def modulus_kwh(self) -> Decimal | None:
        """The kWh at which the counter wraps to 0 (None when D7 is unknown)."""
        return None if self.digits is None else self.kwh_per_count * 10**self.digits

    def same_scale(self, other: MeterAttributes) -> bool:
        """True when both describe the same scaling (the read time aside)."""
        return (self.coefficient, self.unit_kwh, self.digits) == (
            other.coefficient,
            other.unit_kwh,
            other.digits,
        )


@attrs.frozen
class SlotValue:
    """One cumulative value to store: the reading at ``at`` of one direction.

    Attributes:
        at: the instant of the reading (a :00 or :30 of the meter's clock).
        reverse: energy sold (True) or bought (False).
        kwh: the cumulative kWh, or None when the meter has no data for that instant.
    """

    at: dt.datetime
    reverse: bool
    kwh: Decimal | None


@attrs.frozen
class Reading:
    """A stored half-hourly reading: both cumulative counters at ``at``.

    A value is None with a source when the meter said "no data", and None without a
    source when it was never read.
    """

    at: dt.datetime
    bought_kwh: Decimal | None
    sold_kwh: Decimal | None
    bought_source: Source | None
    sold_source: Source | None
    attributes: MeterAttributes


@attrs.frozen
class Sample:
    """An instantaneous sample (E7, E8) taken at ``at`` (meter time)."""

    at: dt.datetime
    power_w: int | None
    current_r_a: Decimal | None
    current_t_a: Decimal | None


@attrs.frozen
class PutResult:
    """What a write changed.

    Attributes:
        filled: instants that got a value they did not have.
        no_data: instants that got a "no data" mark they did not have.
        conflicts: values that differed from what was stored (kept as stored; logged).
    """

    filled: frozenset[dt.datetime]
    no_data: frozenset[dt.datetime]
    conflicts: int


def _iso(when: dt.datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=JST)
    return when.astimezone(JST).isoformat(timespec="seconds")


def _from_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(JST)


def _stored(
    text: str | None,
    convert: Callable[[str], _V],
    refused: type[Exception] | tuple[type[Exception], ...],
    what: str,
) -> _V | None:
    """A stored text column as a value (None stays None); corrupt text is a typed error."""
    if text is None:
        return None
    try:
        return convert(text)
    except refused:
        raise RecordDatabaseError(f"corrupt {what} {text[:20]!r} in the database") from None


def _decimal(text: str | None) -> Decimal | None:
    return _stored(text, Decimal, InvalidOperation, "energy value")


class _Database:
    """The synchronous part: one connection, used only by the store's worker thread."""

    def __init__(self, path: Path, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._attributes: dict[int, MeterAttributes] = {}
        self._lock_fd = None if readonly else _lock_writer(path)
        try:
            if readonly:
                uri = path.resolve().as_uri() + "?mode=ro"
                self.conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
            else:
                self.conn = sqlite3.connect(path, isolation_level=None, timeout=10)
        except sqlite3.Error as exc:
            self._unlock()
            raise RecordDatabaseError(f"{path}: {exc}") from None
        try:
            self._prepare()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RecordDatabaseError(f"{path}: {exc}") from None
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> None:
        conn = self.conn
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if application_id not in (0, APPLICATION_ID) or (application_id == 0 and version):
            raise RecordDatabaseError(f"{self.path}: not an aiobroute record database")
        if version > SCHEMA_VERSION:
            raise RecordDatabaseError(
                f"{self.path}: written by a newer aiobroute (schema {version}, this one "
                f"knows {SCHEMA_VERSION}); upgrade aiobroute"
            )
        if self.readonly:
            if application_id != APPLICATION_ID:
                raise RecordDatabaseError(f"{self.path}: an empty file, not a record database")
            if version < SCHEMA_VERSION:
                raise RecordDatabaseError(
                    f"{self.path}: schema {version} is old; run `aiobroute record` once to upgrade"
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
            self._migrate(version)

    def _migrate(self, version: int) -> None:
        conn = self.conn
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
        del version

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self._unlock()

    def _unlock(self) -> None:
        # Closed only after SQLite's own connection: closing a descriptor of the file
        # earlier would drop SQLite's POSIX locks on it.
        fd, self._lock_fd = self._lock_fd, None
        if fd is not None:
            os.close(fd)

    # ------------------------------------------------------------------ meters

    def meter_id(self, record: MeterRecord, now: dt.datetime) -> int:
        conn = self.conn
        stamp = _iso(now)
        with _transaction(conn):
            row = conn.execute("SELECT id FROM meters WHERE key = ?", (record.key,)).fetchone()
            if row is None:
                cursor = conn.execute(
                    "INSERT INTO meters (key, manufacturer_code, serial_number, address, "
                    "reverse, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.key,
                        record.manufacturer_code,
                        record.serial_number,
                        record.address,
                        int(record.reverse),
                        stamp,
                        stamp,
                    ),
                )
                return int(cursor.lastrowid or 0)
            conn.execute(
                "UPDATE meters SET address = ?, reverse = ?, last_seen = ? WHERE id = ?",
                (record.address, int(record.reverse), stamp, row[0]),
            )
            return int(row[0])

    def meters(self) -> list[MeterRecord]:
        rows = self.conn.execute(
            "SELECT key, manufacturer_code, serial_number, address, reverse, history_days "
            "FROM meters ORDER BY last_seen DESC, id DESC"
        ).fetchall()
        return [MeterRecord(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def set_history_days(self, meter_id: int, days: int) -> None:
        with _transaction(self.conn):
            self.conn.execute("UPDATE meters SET history_days = ? WHERE id = ?", (days, meter_id))

    def history_days(self, meter_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT history_days FROM meters WHERE id = ?", (meter_id,)
        ).fetchone()
        return None if row is None else row[0]

    def attributes(self, meter_id: int, attributes: MeterAttributes) -> tuple[int, bool]:
        conn = self.conn
        with _transaction(conn):
            row = conn.execute(
                "SELECT id, coefficient, unit_kwh, digits FROM attributes WHERE meter_id = ? "
                "ORDER BY id DESC LIMIT 1",
                (meter_id,),
            ).fetchone()
            if row is not None and (row[1], Decimal(row[2]), row[3]) == (
                attributes.coefficient,
                attributes.unit_kwh,
                attributes.digits,
            ):
                return int(row[0]), False
            cursor = conn.execute(
                "INSERT INTO attributes (meter_id, coefficient, unit_kwh, digits, read_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    meter_id,
                    attributes.coefficient,
                    str(attributes.unit_kwh),
                    attributes.digits,
                    _iso(attributes.read_at),
                ),
            )
            return int(cursor.lastrowid or 0), row is not None

    def _attributes_by_id(self, attributes_id: int) -> MeterAttributes:
        cached = self._attributes.get(attributes_id)
        if cached is None:
            row = self.conn.execute(
                "SELECT coefficient, unit_kwh, digits, read_at FROM attributes WHERE id = ?",
                (attributes_id,),
            ).fetchone()
            if row is None:
                raise RecordDatabaseError(f"corrupt database: attributes {attributes_id} missing")
            unit = _decimal(row[1]) or Decimal(1)
            cached = MeterAttributes(row[0], unit, row[2], _from_iso(row[3]))
            self._attributes[attributes_id] = cached
        return cached

    # ------------------------------------------------------------------ readings

    def put(
        self,
        meter_id: int,
        attributes_id: int,
        source: Source,
        values: Sequence[SlotValue],
        now: dt.datetime,
    ) -> PutResult:
        conn = self.conn
        filled: set[dt.datetime] = set()
        no_data: set[dt.datetime] = set()
        conflicts = 0
        stamp = _iso(now)
        with _transaction(conn):
            for value in values:
                at = _iso(value.at)
                column = "sold" if value.reverse else "bought"
                kwh = None if value.kwh is None else str(value.kwh)
                row = conn.execute(
                    f"SELECT {column}_kwh, {column}_source FROM readings "  # noqa: S608
                    "WHERE meter_id = ? AND at = ?",
                    (meter_id, at),
                ).fetchone()
                if row is None:
                    conn.execute(
                        f"INSERT INTO readings (meter_id, at, attributes_id, {column}_kwh, "  # noqa: S608
                        f"{column}_source, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (meter_id, at, attributes_id, kwh, source.value, stamp),
                    )
                    (no_data if kwh is None else filled).add(value.at)
                    continue
                old_kwh, old_source = row
                if old_source is not None and old_kwh is not None:
                    if value.kwh is not None and _decimal(old_kwh) != value.kwh:
                        conflicts += 1
                        _LOGGER.warning(
                            "%s reading at %s: the meter now says %s kWh (%s) but %s kWh (%s) "
                            "is stored; keeping the stored value",
                            column,
                            at,
                            value.kwh,
                            source.value,
                            old_kwh,
                            old_source,
                        )
                    continue
                if old_source is not None and value.kwh is None:
                    continue  # "no data" again
                conn.execute(
                    f"UPDATE readings SET {column}_kwh = ?, {column}_source = ?, "  # noqa: S608
                    "recorded_at = ? WHERE meter_id = ? AND at = ?",
                    (kwh, source.value, stamp, meter_id, at),
                )
                (no_data if kwh is None else filled).add(value.at)
        return PutResult(frozenset(filled), frozenset(no_data - filled), conflicts)

    def known(
        self, meter_id: int, since: dt.datetime, until: dt.datetime
    ) -> dict[dt.datetime, tuple[bool, bool]]:
        rows = self.conn.execute(
            "SELECT at, bought_source, sold_source FROM readings "
            "WHERE meter_id = ? AND at >= ? AND at <= ?",
            (meter_id, _iso(since), _iso(until)),
        ).fetchall()
        return {_from_iso(r[0]): (r[1] is not None, r[2] is not None) for r in rows}

    def readings(
        self, key: str, since: dt.datetime | None, until: dt.datetime | None
    ) -> list[Reading]:
        query = (
            "SELECT at, bought_kwh, sold_kwh, bought_source, sold_source, attributes_id "
            "FROM readings JOIN meters ON meters.id = readings.meter_id WHERE meters.key = ?"
        )
        result = []
        for at, bought, sold, bought_source, sold_source, attributes_id in self._in_range(
            query, key, since, until
        ):
            result.append(
                Reading(
                    _from_iso(at),
                    _decimal(bought),
                    _decimal(sold),
                    _source(bought_source),
                    _source(sold_source),
                    self._attributes_by_id(attributes_id),
                )
            )
        return result

    def put_sample(self, meter_id: int, sample: Sample) -> None:
        with _transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO samples (meter_id, at, power_w, current_r_a, current_t_a)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    meter_id,
                    _iso(sample.at),
                    sample.power_w,
                    None if sample.current_r_a is None else str(sample.current_r_a),
                    None if sample.current_t_a is None else str(sample.current_t_a),
                ),
            )

    def samples(
        self, key: str, since: dt.datetime | None, until: dt.datetime | None
    ) -> list[Sample]:
        query = (
            "SELECT at, power_w, current_r_a, current_t_a FROM samples "
            "JOIN meters ON meters.id = samples.meter_id WHERE meters.key = ?"
        )
        return [
            Sample(_from_iso(r[0]), r[1], _decimal(r[2]), _decimal(r[3]))
            for r in self._in_range(query, key, since, until)
        ]

    def _in_range(
        self, query: str, key: str, since: dt.datetime | None, until: dt.datetime | None
    ) -> sqlite3.Cursor:
        """Rows of ``query`` (which ends in ``WHERE meters.key = ?``) for the meter ``key``
        with ``at`` between ``since`` and ``until`` (each None: open), in time order."""
        params: list[Any] = [key]
        if since is not None:
            query += " AND at >= ?"
            params.append(_iso(since))
        if until is not None:
            query += " AND at <= ?"
            params.append(_iso(until))
        query += " ORDER BY at"
        return self.conn.execute(query, params)


def _lock_writer(path: Path) -> int | None:
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


def _source(text: str | None) -> Source | None:
    return _stored(text, Source, ValueError, "source")


class _transaction:  # noqa: N801 - used like a function
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


class RecordStore:
    """The record database, used from an event loop: every disk access runs in one
    worker thread of its own, so the loop never waits for the disk.

    Open it with :meth:`open` (``async with await RecordStore.open(path) as store``) or
    ``async with RecordStore.open(path) as store``; close it with :meth:`close`.

    The path must be a regular file of the current user that is empty or an aiobroute
    record database; anything else (a device, a FIFO, a symlink, another program's
    database) is refused with :class:`RecordDatabaseError` and left untouched.
    """

    def __init__(self, database: _Database, executor: concurrent.futures.ThreadPoolExecutor):
        self._db = database
        self._executor = executor
        self._closed = False

    @property
    def path(self) -> Path:
        """The database file."""
        return self._db.path

    def __repr__(self) -> str:
        return f"<RecordStore {str(self._db.path)!r}{' closed' if self._closed else ''}>"

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> _Opening:
        """Open (and create or migrate, unless ``readonly``) the database at ``path``.

        Awaitable (``store = await RecordStore.open(path)``) and an async context manager
        (``async with RecordStore.open(path) as store``).

        Raises:
            RecordDatabaseError: the path cannot be used (see the class doc), the file is
                corrupt, or it was written by a newer version.
        """
        return _Opening(cls, path, readonly=readonly)

    @classmethod
    async def _open(cls, path: str | os.PathLike[str], *, readonly: bool) -> RecordStore:
        executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="aiobroute-db")
        loop = asyncio.get_running_loop()

        def opener() -> _Database:
            checked = check_database_path(path, create=not readonly)
            return _Database(checked, readonly=readonly)

        try:
            database = await loop.run_in_executor(executor, opener)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(database, executor)

    async def close(self) -> None:
        """Close the database (waits for pending writes)."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        try:
            await asyncio.shield(loop.run_in_executor(self._executor, self._db.close))
        finally:
            self._executor.shutdown(wait=False)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        if self._closed:
            raise RecordDatabaseError("the record store is closed")
        loop = asyncio.get_running_loop()
        # Shielded: once handed to the writer, a write completes even if the caller is
        # cancelled (the transaction commits or rolls back as a whole either way).
        try:
            return await asyncio.shield(
                loop.run_in_executor(self._executor, functools.partial(function, *args))
            )
        except sqlite3.Error as exc:  # locked, disk full, a damaged file...
            raise RecordDatabaseError(f"{self._db.path}: {exc}") from None

    async def meter_id(self, record: MeterRecord, now: dt.datetime) -> int:
        """Register ``record`` (or refresh its address) and return its row id."""
        return await self._call(self._db.meter_id, record, now)

    async def meters(self) -> list[MeterRecord]:
        """The meters in the database, the most recently seen first."""
        return await self._call(self._db.meters)

    async def history_days(self, meter_id: int) -> int | None:
        """How many days back the meter was found to answer E2/E4 (None: unknown)."""
        return await self._call(self._db.history_days, meter_id)

    async def set_history_days(self, meter_id: int, days: int) -> None:
        """Remember how many days back the meter answers E2/E4."""
        await self._call(self._db.set_history_days, meter_id, days)

    async def attributes(self, meter_id: int, attributes: MeterAttributes) -> tuple[int, bool]:
        """Record the meter's scaling; returns its row id and whether it changed."""
        return await self._call(self._db.attributes, meter_id, attributes)

    async def put(
        self,
        meter_id: int,
        attributes_id: int,
        source: Source,
        values: Sequence[SlotValue],
        now: dt.datetime,
    ) -> PutResult:
        """Store cumulative values in one transaction, idempotently.

        A value already stored is never replaced: an equal one is a no-op, a different
        one is counted in :attr:`PutResult.conflicts` and logged as a warning. A "no
        data" mark is replaced by a value, never the other way round.
        """
        return await self._call(self._db.put, meter_id, attributes_id, source, values, now)

    async def known(
        self, meter_id: int, since: dt.datetime, until: dt.datetime
    ) -> dict[dt.datetime, tuple[bool, bool]]:
        """Instants in ``[since, until]`` with a stored (bought, sold) value or "no data"."""
        return await self._call(self._db.known, meter_id, since, until)

    async def readings(
        self, key: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Reading]:
        """The stored readings of meter ``key`` with ``since <= at <= until``, oldest first."""
        return await self._call(self._db.readings, key, since, until)

    async def put_sample(self, meter_id: int, sample: Sample) -> None:
        """Store one instantaneous sample."""
        await self._call(self._db.put_sample, meter_id, sample)

    async def samples(
        self, key: str, since: dt.datetime | None = None, until: dt.datetime | None = None
    ) -> list[Sample]:
        """The stored instantaneous samples of meter ``key``, oldest first."""
        return await self._call(self._db.samples, key, since, until)


class _Opening:
    """The result of :meth:`RecordStore.open`: awaitable, or an async context manager."""

    def __init__(
        self, cls: type[RecordStore], path: str | os.PathLike[str], *, readonly: bool
    ) -> None:
        self._cls = cls
        self._path = path
        self._readonly = readonly
        self._store: RecordStore | None = None

    def __await__(self) -> Generator[Any, None, RecordStore]:
        return self._cls._open(self._path, readonly=self._readonly).__await__()

    async def __aenter__(self) -> RecordStore:
        self._store = await self._cls._open(self._path, readonly=self._readonly)
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()
