"""The record database, used from an event loop: every disk access in one worker thread.

See :mod:`aiobroute.recorder._database` for what is stored and how.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
import os
import sqlite3
from collections.abc import Callable, Generator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

from aiobroute.recorder._database import _Database
from aiobroute.recorder._files import RecordDatabaseError, check_database_path
from aiobroute.recorder._model import (
    MeterAttributes,
    MeterRecord,
    PutResult,
    Reading,
    Sample,
    SlotValue,
    Source,
)

__all__ = ["RecordStore"]


_T = TypeVar("_T")


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
