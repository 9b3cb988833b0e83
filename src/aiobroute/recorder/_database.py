"""The synchronous side of the record database: one connection, its queries and writes.

Every reading is keyed by the meter and the instant of the reading on the meter's clock.
Energy is stored as exact decimal text in kWh, already scaled by the meter's coefficient
and unit; the attributes used (coefficient, unit, digits) are rows of their own, so a
change of them is recorded rather than silently mixed. "The meter has no data" is a
source with an empty value; "never read" is no row (or an empty source).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiobroute.recorder._files import RecordDatabaseError
from aiobroute.recorder._model import (
    MeterAttributes,
    MeterRecord,
    PutResult,
    Reading,
    Sample,
    SlotValue,
    Source,
    from_iso,
    stored_decimal,
    stored_source,
    to_iso,
)
from aiobroute.recorder._schema import lock_writer, prepare, transaction

__all__: list[str] = []

_LOGGER = logging.getLogger("aiobroute.recorder")


class _Database:
    """The synchronous part: one connection, used only by the store's worker thread."""

    def __init__(self, path: Path, *, readonly: bool) -> None:
        self.path = path
        self.readonly = readonly
        self._attributes: dict[int, MeterAttributes] = {}
        self._lock_fd = None if readonly else lock_writer(path)
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
            prepare(self.conn, path, readonly=readonly)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise RecordDatabaseError(f"{path}: {exc}") from None
        except BaseException:
            self.close()
            raise

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
        stamp = to_iso(now)
        with transaction(conn):
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
        with transaction(self.conn):
            self.conn.execute("UPDATE meters SET history_days = ? WHERE id = ?", (days, meter_id))

    def history_days(self, meter_id: int) -> int | None:
        row = self.conn.execute(
            "SELECT history_days FROM meters WHERE id = ?", (meter_id,)
        ).fetchone()
        return None if row is None else row[0]

    def attributes(self, meter_id: int, attributes: MeterAttributes) -> tuple[int, bool]:
        conn = self.conn
        with transaction(conn):
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
                    to_iso(attributes.read_at),
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
            unit = stored_decimal(row[1]) or Decimal(1)
            cached = MeterAttributes(row[0], unit, row[2], from_iso(row[3]))
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
        stamp = to_iso(now)
        with transaction(conn):
            for value in values:
                at = to_iso(value.at)
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
                    if value.kwh is not None and stored_decimal(old_kwh) != value.kwh:
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
            (meter_id, to_iso(since), to_iso(until)),
        ).fetchall()
        return {from_iso(r[0]): (r[1] is not None, r[2] is not None) for r in rows}

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
                    from_iso(at),
                    stored_decimal(bought),
                    stored_decimal(sold),
                    stored_source(bought_source),
                    stored_source(sold_source),
                    self._attributes_by_id(attributes_id),
                )
            )
        return result

    def put_sample(self, meter_id: int, sample: Sample) -> None:
        with transaction(self.conn):
            self.conn.execute(
                "INSERT OR REPLACE INTO samples (meter_id, at, power_w, current_r_a, current_t_a)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    meter_id,
                    to_iso(sample.at),
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
            Sample(from_iso(r[0]), r[1], stored_decimal(r[2]), stored_decimal(r[3]))
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
            params.append(to_iso(since))
        if until is not None:
            query += " AND at <= ?"
            params.append(to_iso(until))
        query += " ORDER BY at"
        return self.conn.execute(query, params)
