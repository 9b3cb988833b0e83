"""The record database: only our own regular files, a versioned schema, idempotent writes."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from aiobroute.recorder import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    MeterAttributes,
    MeterRecord,
    RecordDatabaseError,
    RecordStore,
    Sample,
    SlotValue,
    Source,
)
from aiobroute.testing import JST

AT = dt.datetime(2026, 5, 20, 14, 0, tzinfo=JST)
SCALE = MeterAttributes(1, Decimal("0.1"), 6, AT)


async def open_refused(path: Path, *, readonly: bool = False) -> str:
    async with asyncio.timeout(5):  # a FIFO must never block the open
        with pytest.raises(RecordDatabaseError) as info:
            await RecordStore.open(path, readonly=readonly)
    return str(info.value)


async def test_non_regular_files_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "FIFO" in await open_refused(fifo)
    assert "directory" in await open_refused(tmp_path)
    assert "device" in await open_refused(Path("/dev/null"))
    target = tmp_path / "real.db"
    target.write_bytes(b"")
    link = tmp_path / "link.db"
    link.symlink_to(target)
    assert "symbolic link" in await open_refused(link)
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        assert "socket" in await open_refused(sock_path)


async def test_a_planted_sidecar_link_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (tmp_path / "new.db-wal").symlink_to(victim)
    assert "symbolic link" in await open_refused(tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()
    assert victim.read_text() == "precious\n"


async def test_a_damaged_database_gives_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    async with RecordStore.open(path) as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
        scale, _ = await store.attributes(meter_id, SCALE)
        values = [
            SlotValue(AT + dt.timedelta(minutes=30 * i), False, Decimal(i)) for i in range(500)
        ]
        await store.put(meter_id, scale, Source.PUSH, values, AT)
    data = bytearray(path.read_bytes())
    data[4096:] = b"\xa5" * (len(data) - 4096)  # every page after the first is junk
    path.write_bytes(bytes(data))
    with pytest.raises(RecordDatabaseError):
        async with RecordStore.open(path) as store:
            await store.readings("000016-A")


async def test_other_files_are_left_untouched(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("my shopping list\n" * 20)
    assert "not an SQLite database" in await open_refused(notes)
    assert notes.read_text() == "my shopping list\n" * 20
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (42)")
    conn.commit()
    conn.close()
    before = other.read_bytes()
    assert "another application" in await open_refused(other)
    assert other.read_bytes() == before
    assert not (tmp_path / "other.db-wal").exists()


async def test_a_new_database_is_ours_versioned_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    async with RecordStore.open(path) as store:
        assert store.path == path
    assert path.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA application_id").fetchone() == (APPLICATION_ID,)
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()
    # An empty file of ours becomes a database too; reopening keeps the data.
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    async with RecordStore.open(empty) as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
    async with RecordStore.open(empty) as store:
        assert await store.meter_id(MeterRecord("000016-A"), AT) == meter_id
        assert [m.key for m in await store.meters()] == ["000016-A"]


async def test_readonly_needs_an_existing_database(tmp_path: Path) -> None:
    assert "no such database" in await open_refused(tmp_path / "missing.db", readonly=True)
    assert not (tmp_path / "missing.db").exists()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    assert "not a record database" in await open_refused(empty, readonly=True)


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    async with RecordStore.open(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    assert "newer aiobroute" in await open_refused(path)


async def test_writes_are_idempotent_and_conflicts_are_kept_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with RecordStore.open(tmp_path / "r.db") as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
        scale, changed = await store.attributes(meter_id, SCALE)
        assert not changed
        first = await store.put(
            meter_id,
            scale,
            Source.PUSH,
            [SlotValue(AT, False, Decimal("12.3")), SlotValue(AT, True, None)],
            AT,
        )
        assert first.filled == {AT}
        again = await store.put(
            meter_id, scale, Source.HISTORY, [SlotValue(AT, False, Decimal("12.30"))], AT
        )
        assert (again.filled, again.conflicts) == (frozenset(), 0)  # the same value
        with caplog.at_level(logging.WARNING, logger="aiobroute.recorder"):
            clash = await store.put(
                meter_id, scale, Source.HISTORY, [SlotValue(AT, False, Decimal("12.4"))], AT
            )
        assert clash.conflicts == 1
        assert "keeping the stored value" in caplog.text
        # "No data" is replaced by a value, never the other way round.
        late = await store.put(
            meter_id, scale, Source.HISTORY, [SlotValue(AT, True, Decimal(0))], AT
        )
        assert late.filled == {AT}
        await store.put(meter_id, scale, Source.HISTORY, [SlotValue(AT, True, None)], AT)
        [reading] = await store.readings("000016-A")
        assert (reading.bought_kwh, reading.bought_source) == (Decimal("12.3"), Source.PUSH)
        assert (reading.sold_kwh, reading.sold_source) == (Decimal(0), Source.HISTORY)
        assert reading.attributes.kwh_per_count == Decimal("0.1")
        # A new scaling is a new attributes row.
        other, changed = await store.attributes(
            meter_id, MeterAttributes(10, Decimal("0.1"), 6, AT)
        )
        assert changed
        assert other != scale


async def test_a_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = await RecordStore.open(tmp_path / "r.db")
    await store.close()
    await store.close()  # twice is fine
    with pytest.raises(RecordDatabaseError):
        await store.meters()
    assert "closed" in repr(store)


async def test_one_writer_per_database_but_readers_are_welcome(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    async with RecordStore.open(path) as store:
        await store.meter_id(MeterRecord("000016-A"), AT)
        assert "another process" in await open_refused(path)
        async with RecordStore.open(path, readonly=True) as reader:
            assert [m.key for m in await reader.meters()] == ["000016-A"]
    async with RecordStore.open(path):  # the lock went with the first writer
        pass


async def test_a_crash_before_any_checkpoint_leaves_a_database_we_reopen(tmp_path: Path) -> None:
    path = tmp_path / "r.db"
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    async with RecordStore.open(path) as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
        scale, _ = await store.attributes(meter_id, SCALE)
        await store.put(meter_id, scale, Source.PUSH, [SlotValue(AT, False, Decimal(7))], AT)
        # The files as a kill -9 would leave them now: the data only in the -wal file.
        for suffix in ("", "-wal", "-shm"):
            source = tmp_path / f"r.db{suffix}"
            (crashed / f"r.db{suffix}").write_bytes(source.read_bytes())
    assert (crashed / "r.db-wal").stat().st_size > 0
    async with RecordStore.open(crashed / "r.db") as store:
        [reading] = await store.readings("000016-A")
    assert reading.bought_kwh == Decimal(7)


async def test_readings_and_samples_by_time_range(tmp_path: Path) -> None:
    """Both queries keep ``since <= at <= until`` (either bound open), per meter, oldest first."""
    half = dt.timedelta(minutes=30)
    times = [AT + i * half for i in range(4)]
    async with RecordStore.open(tmp_path / "r.db") as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
        other_id = await store.meter_id(MeterRecord("000016-B"), AT)
        scale, _ = await store.attributes(meter_id, SCALE)
        for when in reversed(times):
            kwh = Decimal(when.minute + when.hour)
            await store.put(meter_id, scale, Source.PUSH, [SlotValue(when, False, kwh)], AT)
            await store.put_sample(meter_id, Sample(when, when.minute, Decimal(1), None))
        await store.put_sample(other_id, Sample(times[1], 1, None, None))

        async def both(
            since: dt.datetime | None, until: dt.datetime | None
        ) -> tuple[list[dt.datetime], list[dt.datetime]]:
            readings = await store.readings("000016-A", since, until)
            samples = await store.samples("000016-A", since, until)
            return [r.at for r in readings], [s.at for s in samples]

        assert await both(None, None) == (times, times)
        assert await both(times[1], None) == (times[1:], times[1:])
        assert await both(None, times[2]) == (times[:3], times[:3])
        assert await both(times[1], times[2]) == (times[1:3], times[1:3])
        assert await both(times[3] + half, None) == ([], [])
        [sample] = await store.samples("000016-A", times[1], times[1])
        assert (sample.power_w, sample.current_r_a, sample.current_t_a) == (30, Decimal(1), None)
        assert [s.at for s in await store.samples("000016-B")] == [times[1]]


@pytest.mark.parametrize(
    ("column", "text", "message"),
    [
        ("bought_kwh", "12,3", "corrupt energy value '12,3'"),
        ("sold_kwh", "x" * 40, "corrupt energy value '" + "x" * 20 + "'"),
        ("bought_source", "radio", "corrupt source 'radio'"),
    ],
)
async def test_corrupt_stored_text_is_a_typed_error(
    tmp_path: Path, column: str, text: str, message: str
) -> None:
    path = tmp_path / "r.db"
    async with RecordStore.open(path) as store:
        meter_id = await store.meter_id(MeterRecord("000016-A"), AT)
        scale, _ = await store.attributes(meter_id, SCALE)
        values = [SlotValue(AT, False, Decimal(1)), SlotValue(AT, True, Decimal(2))]
        await store.put(meter_id, scale, Source.PUSH, values, AT)
    with sqlite3.connect(path) as conn:
        conn.execute(f"UPDATE readings SET {column} = ?", (text,))  # noqa: S608
    conn.close()
    async with RecordStore.open(path, readonly=True) as store:
        with pytest.raises(RecordDatabaseError, match=message):
            await store.readings("000016-A")
