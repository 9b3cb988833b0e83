"""The serial transport's direct data path on POSIX (os.read / immediate os.write)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tty

import pytest

from aiobroute.errors import PortClosedError
from aiobroute.skstack import Event
from aiobroute.skstack._core import PortLost
from aiobroute.skstack.client import SkStackClient
from aiobroute.transport import ByteStream, open_port
from aiobroute.transport._base import PushStream

pytestmark = pytest.mark.pty


class RawPty:
    """A raw pseudo-terminal: the test keeps the master, the code under test opens the slave."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


async def read_master(pty: RawPty, size: int) -> bytes:
    """Read ``size`` bytes from the master end."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    ready = asyncio.Event()
    loop.add_reader(pty.master, ready.set)
    try:
        async with asyncio.timeout(10):
            while len(received) < size:
                ready.clear()
                try:
                    received += os.read(pty.master, 65536)
                except BlockingIOError:
                    await ready.wait()
    finally:
        loop.remove_reader(pty.master)
    return bytes(received)


async def read_until_error(stream: ByteStream) -> None:
    """Read until the stream fails (at most 5 s)."""
    async with asyncio.timeout(5):
        while True:
            await stream.read()


async def test_a_small_write_is_sent_at_once_and_reads_arrive() -> None:
    pty = RawPty()
    try:
        stream = await open_port(pty.path)
        try:
            await stream.write(b"SKVER\r\n")
            # Sent during write() itself: the bytes are already on the master.
            assert os.read(pty.master, 100) == b"SKVER\r\n"
            os.write(pty.master, b"EVER 1.2.10\r\nOK\r\n")
            buf = b""
            async with asyncio.timeout(5):
                while not buf.endswith(b"OK\r\n"):
                    buf += await stream.read()
            assert buf == b"EVER 1.2.10\r\nOK\r\n"
        finally:
            await stream.close()
    finally:
        pty.close()


async def test_a_write_larger_than_the_pty_buffer_is_finished_by_the_event_loop() -> None:
    pty = RawPty()
    try:
        stream = await open_port(pty.path)
        try:
            block = bytes(range(256)) * 256  # 64 KiB: the pty takes only part of it at once
            writer = asyncio.create_task(stream.write(block))
            received = await read_master(pty, len(block))
            await writer
            assert received == block
            # The next write goes out in order after the buffered remainder.
            await stream.write(b"tail")
            assert await read_master(pty, 4) == b"tail"
        finally:
            await stream.close()
    finally:
        pty.close()


async def test_a_vanished_device_is_a_port_closed_error() -> None:
    pty = RawPty()
    stream = await open_port(pty.path)
    try:
        os.write(pty.master, b"OK\r\n")
        async with asyncio.timeout(5):
            assert await stream.read() == b"OK\r\n"
        pty.close()  # the dongle goes away: reads fail with EIO
        with pytest.raises(PortClosedError, match="port lost"):
            await read_until_error(stream)
        with pytest.raises(PortClosedError):
            await stream.write(b"SKVER\r\n")
    finally:
        await stream.close()


async def test_receive_hands_chunks_to_the_callback_until_the_port_goes() -> None:
    pty = RawPty()
    stream = await open_port(pty.path)
    assert isinstance(stream, PushStream)
    chunks: list[bytes] = []
    got = asyncio.Event()

    def receiver(data: bytes) -> None:
        chunks.append(data)
        got.set()

    try:
        os.write(pty.master, b"EVER 1.2.10\r\n")
        async with asyncio.timeout(5):
            assert await stream.read() == b"EVER 1.2.10\r\n"  # read() before receive()
        task = asyncio.create_task(stream.receive(receiver))
        os.write(pty.master, b"OK\r\n")
        async with asyncio.timeout(5):
            await got.wait()
        assert b"".join(chunks) == b"OK\r\n"
        assert not task.done()
        pty.close()  # the dongle goes away
        with pytest.raises(PortClosedError, match="port lost"):
            async with asyncio.timeout(5):
                await task
    finally:
        pty.close()
        await stream.close()


async def test_receive_raises_what_the_callback_raised_and_stops_delivering() -> None:
    pty = RawPty()
    stream = await open_port(pty.path)
    assert isinstance(stream, PushStream)
    calls: list[bytes] = []

    def receiver(data: bytes) -> None:
        calls.append(data)
        raise ValueError("parser broke")

    try:
        task = asyncio.create_task(stream.receive(receiver))
        os.write(pty.master, b"garbage\r\n")
        with pytest.raises(ValueError, match="parser broke"):
            async with asyncio.timeout(5):
                await task
        assert calls == [b"garbage\r\n"]
        os.write(pty.master, b"later\r\n")
        async with asyncio.timeout(5):
            assert await stream.read() == b"later\r\n"  # back to the buffer
    finally:
        await stream.close()
        pty.close()


async def test_a_cancelled_receive_gives_the_bytes_back_to_read() -> None:
    pty = RawPty()
    stream = await open_port(pty.path)
    assert isinstance(stream, PushStream)
    try:
        task = asyncio.create_task(stream.receive(lambda data: None))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        os.write(pty.master, b"OK\r\n")
        async with asyncio.timeout(5):
            assert await stream.read() == b"OK\r\n"
    finally:
        await stream.close()
        pty.close()


async def test_skstack_client_on_a_serial_port_answers_delivers_and_reports_the_loss() -> None:
    # On a serial port the client parses in the transport's callback (no reader wake-up).
    pty = RawPty()
    stream = await open_port(pty.path)
    try:
        async with SkStackClient(stream) as client:
            with client.subscribe() as sub:
                version = asyncio.create_task(client.version())
                # The client resynchronises first: end of line, SKVER, then its own SKVER.
                assert await read_master(pty, 9) == b"\r\nSKVER\r\n"
                os.write(pty.master, b"EVER 1.2.10\r\nOK\r\n")
                assert await read_master(pty, 7) == b"SKVER\r\n"
                os.write(pty.master, b"EVER 1.2.10\r\nOK\r\n")
                async with asyncio.timeout(5):
                    assert await version == "1.2.10"
                os.write(pty.master, b"EVENT 21 FE80:0000:0000:0000:021D:1290:1234:5678 00\r\n")
                event = await sub.get(timeout=5)
                assert isinstance(event, Event)
                assert (event.num, event.param) == (0x21, 0)
                pty.close()  # the dongle goes away
                lost = await sub.get(timeout=5)
                assert isinstance(lost, PortLost)
                assert client.closed
                with pytest.raises(PortClosedError):
                    await client.version()
    finally:
        pty.close()
