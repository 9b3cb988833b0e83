"""The simulator on a POSIX pseudo-terminal: plain fds, pyserial-asyncio, unplug/replug."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from aiobroute.testing import PtyPort, Simulator
from aiobroute.transport._serial import open_port

pytestmark = pytest.mark.pty


async def readable(fd: int) -> None:
    """Wait until a non-blocking fd is readable."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()
    loop.add_reader(fd, ready.set_result, None)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


async def read_until(fd: int, marker: bytes) -> bytes:
    """Read a non-blocking fd until ``marker`` arrived (b"" / OSError end the read)."""
    buf = bytearray()
    async with asyncio.timeout(5):
        while marker not in buf:
            await readable(fd)
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                continue
            if not chunk:
                raise EOFError
            buf += chunk
    return bytes(buf)


async def read_some(fd: int) -> bytes:
    """Whatever a non-blocking fd has, once it has something."""
    while True:
        await readable(fd)
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            continue


def open_tty(path: str) -> int:
    return os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)


async def test_round_trip_with_plain_os_read_and_write() -> None:
    sim = Simulator("BP35C2", timing="instant")
    async with sim.pty() as path:
        assert path.startswith("/dev/")
        fd = open_tty(path)
        try:
            os.write(fd, b"SKVER\r\n")
            assert await read_until(fd, b"OK\r\n") == b"SKVER\r\nEVER 1.5.2\r\nOK\r\n"
            os.write(fd, b"ROPT\r")
            assert await read_until(fd, b"OK 00\r") == b"ROPT\rOK 00\r"  # raw mode: CR kept
            os.write(fd, b"SKINFO\r\n")
            out = await read_until(fd, b"OK\r\n")
            assert out.endswith(b" 21 FFFF 0\r\nOK\r\n")
        finally:
            os.close(fd)
        fd = open_tty(path)  # closing and reopening the slave is harmless
        try:
            os.write(fd, b"SKSREG SFE\r\n")
            assert (await read_until(fd, b"OK\r\n")).endswith(b"ESREG 1\r\nOK\r\n")
        finally:
            os.close(fd)
    assert sim.commands_received == ["SKVER", "ROPT", "SKINFO", "SKSREG SFE"]


async def test_unplug_and_replug_under_the_same_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyWISUN"
    sim = Simulator("BP35A1", timing="instant")
    async with sim.pty(link=link) as path:
        assert path == str(link)
        first_target = os.readlink(link)
        fd = open_tty(path)
        os.write(fd, b"SKSREG SFE 0\r\n")
        await read_until(fd, b"OK\r\n")
        sim.unplug()
        assert not link.exists()
        with pytest.raises((EOFError, OSError)):
            await read_until(fd, b"never")
        os.close(fd)
        sim.replug()
        assert link.exists()
        fd = open_tty(path)
        try:
            os.write(fd, b"SKVER\r\n")
            assert await read_until(fd, b"OK\r\n") == b"SKVER\r\nEVER 1.2.10\r\nOK\r\n"
        finally:
            os.close(fd)
        assert sim.tty_path == str(link)
        assert os.readlink(link).startswith("/dev/")
        assert first_target.startswith("/dev/")
    assert not link.exists()


async def test_pyserial_asyncio_transport_end_to_end() -> None:
    sim = Simulator("BP35A1", timing="instant")
    async with sim.pty() as path:
        stream = await open_port(path)
        try:
            await stream.write(b"SKSREG SFE 0\r\nSKVER\r\n")
            buf = b""
            async with asyncio.timeout(5):
                while buf.count(b"OK\r\n") < 2:
                    buf += await stream.read()
            assert buf == b"SKSREG SFE 0\r\nOK\r\nEVER 1.2.10\r\nOK\r\n"
        finally:
            await stream.close()


async def test_pty_port_buffers_output_for_a_slow_reader() -> None:
    port = PtyPort()
    try:
        fd = open_tty(port.path)
        try:
            block = bytes(range(256)) * 64  # 16 KiB, more than a pty holds at once
            for _ in range(8):
                port.write_nowait(block)
            received = bytearray()
            async with asyncio.timeout(5):
                while len(received) < len(block) * 8:
                    received += await read_some(fd)
            assert bytes(received) == block * 8
        finally:
            os.close(fd)
        os.write(fd2 := open_tty(port.path), b"hello")
        os.close(fd2)
        assert await port.read() == b"hello"
    finally:
        port.close_nowait()
    assert port.closed


async def test_link_replaces_only_a_stale_simulator_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyWISUN"
    link.symlink_to("/dev/pts/987654")  # left by a killed simulator: the pty is gone
    port = PtyPort(link)
    try:
        assert os.readlink(link) == port.path
    finally:
        await port.close()
    assert not link.is_symlink()


async def test_close_leaves_a_path_that_is_no_longer_our_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyWISUN"
    port = PtyPort(link)
    link.unlink()
    link.write_text("someone else's file")
    await port.close()
    assert link.read_text() == "someone else's file"
    link.unlink()
    port = PtyPort(link)
    other = PtyPort()
    try:
        link.unlink()
        link.symlink_to(other.path)  # now points at another live pty
        await port.close()
        assert os.readlink(link) == other.path
    finally:
        await other.close()
