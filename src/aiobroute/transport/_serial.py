"""Serial ports and pyserial URLs through pyserial-asyncio.

This is the only module that imports ``serial`` or ``serial_asyncio``; their exceptions
are translated to :class:`aiobroute.errors.TransportError` here and nowhere else. Both
are imported when a device path is first opened, not with this module: ``import
aiobroute`` (and socket://, rfc2217://, loop:// or in-memory streams) never load them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import stat
from collections.abc import Callable
from types import ModuleType
from typing import Any, NoReturn

from aiobroute._files import file_kind
from aiobroute.errors import InvalidArgumentError, PortClosedError, TransportError
from aiobroute.transport._base import ByteStream
from aiobroute.transport._memory import loopback

__all__ = ["SerialStream", "open_port"]

_LOGGER = logging.getLogger("aiobroute.transport")
_CLOSE_TIMEOUT = 2.0
#: Bytes taken from the port per read (a USB packet is 64; a pty gives up to 4 KiB).
_READ_SIZE = 4096


class _Protocol(asyncio.Protocol):
    """Collects received bytes and the connection state for :class:`SerialStream`."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.data_event = asyncio.Event()
        #: Set by :meth:`SerialStream.receive`: chunks go straight to it, not to the buffer.
        self.receiver: Callable[[bytes], None] | None = None
        self.receiver_error: Exception | None = None
        self.lost: BaseException | None = None
        self.is_lost = False
        self.lost_event = asyncio.Event()
        self._can_write = asyncio.Event()
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        receiver = self.receiver
        if receiver is None:
            self.buffer += data
            self.data_event.set()
            return
        try:
            receiver(data)
        except Exception as exc:  # noqa: BLE001 -- re-raised by the task in receive()
            self.receiver = None
            self.receiver_error = exc
            self.data_event.set()

    def take_receiver_error(self) -> Exception | None:
        error, self.receiver_error = self.receiver_error, None
        return error

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_lost = True
        self.lost = exc
        self.data_event.set()
        self.lost_event.set()
        self._can_write.set()

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    async def wait_writable(self) -> None:
        await self._can_write.wait()


@functools.cache
def _pyserial() -> tuple[ModuleType, Callable[..., asyncio.Transport]]:
    """Import pyserial and pyserial-asyncio (once); the ``serial`` module and our transport.

    The subclass of pyserial-asyncio's transport changes two things:

    - errors such as an unplugged USB dongle go to our logger: the original hands them
      to the event loop's exception handler, which logs them as unexpected errors with
      a traceback, while for this library a lost port is an expected event, reported as
      :class:`PortClosedError`;
    - on POSIX the data path uses the port's file descriptor directly: a read is one
      ``os.read`` (pyserial's ``read`` adds a ``select`` call and a timeout object each
      time) and a write is tried at once, as asyncio's own transports do, instead of
      registering a writer and waiting one loop iteration (two ``epoll_ctl`` calls and
      a wake-up per command). Errors and end of file mean what they mean in pyserial.
    """
    import serial
    import serial_asyncio

    base = serial_asyncio.SerialTransport
    fast_path = os.name != "nt" and all(
        hasattr(base, name) for name in ("_read_ready", "write", "_close")
    )

    class _SerialTransport(base):  # type: ignore[misc, valid-type]
        def __init__(self, loop: asyncio.AbstractEventLoop, protocol: Any, port: Any) -> None:
            super().__init__(loop, protocol, port)
            fd = getattr(port, "fd", None)
            self._fd: int | None = fd if fast_path and isinstance(fd, int) else None

        def _fatal_error(
            self, exc: BaseException, message: str = "serial transport failed"
        ) -> None:
            _LOGGER.warning("%s: %s", message, _describe(exc))
            self._abort(exc)

        def _read_ready(self) -> None:
            if self._fd is None:
                super()._read_ready()
                return
            try:
                data = os.read(self._fd, _READ_SIZE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._close(exc=serial.SerialException(f"read failed: {exc}"))
                return
            if not data:
                # What pyserial reports for a descriptor that is readable but empty.
                self._close(
                    exc=serial.SerialException(
                        "device reports readiness to read but returned no data "
                        "(device disconnected or multiple access on port?)"
                    )
                )
                return
            self._protocol.data_received(data)

        def write(self, data: bytes) -> None:
            idle = not self._closing and not self.get_write_buffer_size()
            if self._fd is not None and data and idle:
                try:
                    written = os.write(self._fd, data)
                except (BlockingIOError, InterruptedError):
                    written = 0
                except OSError as exc:
                    self._fatal_error(exc, "Fatal write error on serial transport")
                    return
                if written == len(data):
                    return
                data = data[written:]
            super().write(data)

    return serial, _SerialTransport


class SerialStream:
    """A :class:`aiobroute.transport.ByteStream` over a pyserial-asyncio transport."""

    def __init__(self, name: str, transport: asyncio.Transport, protocol: _Protocol) -> None:
        self._name = name
        self._transport = transport
        self._protocol = protocol
        self._closing = False
        self._serial_error: type[Exception] = _pyserial()[0].SerialException

    @property
    def name(self) -> str:
        """The device path or URL that was opened."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once the port was closed or failed."""
        return self._closing or self._protocol.is_lost

    def _lost_error(self) -> PortClosedError:
        exc = self._protocol.lost
        if exc is None or self._closing:
            return PortClosedError(f"{self._name}: port closed")
        return PortClosedError(f"{self._name}: port lost ({_describe(exc)})")

    async def read(self) -> bytes:
        """Wait for the next bytes from the module."""
        protocol = self._protocol
        while not protocol.buffer:
            if self.closed:
                raise self._lost_error()
            protocol.data_event.clear()
            await protocol.data_event.wait()
        data = bytes(protocol.buffer)
        protocol.buffer.clear()
        return data

    async def receive(self, receiver: Callable[[bytes], None]) -> NoReturn:
        """Hand every chunk to ``receiver`` as it arrives, until the port goes.

        The chunks are delivered synchronously from the transport's ``data_received``:
        no task wakes up and no buffer is copied per chunk. Bytes buffered before the
        call are delivered first. Only one caller at a time; :meth:`read` must not be
        used meanwhile. Cancelling the call stops the delivery.

        Raises:
            PortClosedError: the port was closed or lost (always, in the end).
            Exception: whatever ``receiver`` raised (delivery stops then).
        """
        protocol = self._protocol
        if protocol.receiver is not None:
            raise RuntimeError("another task is already receiving from this port")
        protocol.take_receiver_error()
        try:
            if protocol.buffer:
                data = bytes(protocol.buffer)
                protocol.buffer.clear()
                receiver(data)
            protocol.receiver = receiver
            while True:
                error = protocol.take_receiver_error()
                if error is not None:
                    raise error
                if self.closed:
                    raise self._lost_error()
                protocol.data_event.clear()
                await protocol.data_event.wait()
        finally:
            protocol.receiver = None

    async def write(self, data: bytes) -> None:
        """Write ``data`` and wait while the output buffer is above its high-water mark."""
        if self.closed:
            raise self._lost_error()
        try:
            self._transport.write(data)
        except (self._serial_error, OSError) as exc:
            raise PortClosedError(f"{self._name}: write failed ({_describe(exc)})") from exc
        await self._protocol.wait_writable()
        if self._protocol.is_lost:
            raise self._lost_error()

    async def close(self) -> None:
        """Close the port and wait (briefly) until it is released."""
        if self._closing:
            return
        self._closing = True
        self._transport.close()
        try:
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self._protocol.lost_event.wait()
        except TimeoutError:
            _LOGGER.warning("%s: port did not close within %.0f s", self._name, _CLOSE_TIMEOUT)
            self._transport.abort()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SerialStream {self._name!r} {state}>"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _check_device(path: str) -> None:
    """Refuse a path that exists but is no character device (POSIX), before opening it.

    Opening is not harmless: a FIFO would be held open, a regular file opened for
    writing. Symbolic links (``/dev/serial/by-id/...``) are followed.
    """
    if os.name == "nt":
        return
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # missing or unreadable: the open reports it in its own words
    if not stat.S_ISCHR(mode):
        kind = "a regular file" if stat.S_ISREG(mode) else file_kind(mode)
        raise TransportError(f"cannot open {path}: not a serial device ({kind})")


async def open_port(url: str, *, baudrate: int = 115200) -> ByteStream:
    """Open a serial device path or any pyserial URL as a byte stream.

    Args:
        url: a device path (``/dev/ttyUSB0``, ``COM3``) or a pyserial URL such as
            ``socket://host:port`` (ser2net in raw TCP mode, a remote Raspberry Pi),
            ``rfc2217://host:port`` (ser2net in telnet/RFC 2217 mode) or ``loop://``
            (reads back what is written).
        baudrate: the UART speed; SKSTACK modules default to 115200 8N1.

    Raises:
        InvalidArgumentError: ``url`` is empty or ``baudrate`` is not positive.
        TransportError: the port cannot be opened (missing, busy, permission denied,
            not a character device...).
    """
    if not url or any(ch in url for ch in "\r\n\0"):
        raise InvalidArgumentError("port must be a non-empty device path or URL")
    if baudrate <= 0:
        raise InvalidArgumentError(f"baudrate must be positive, got {baudrate!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "loop":
        return loopback(url)
    if scheme == "rfc2217":
        # pyserial's RFC 2217 handler works in a thread and has no descriptor to watch.
        from aiobroute.transport._rfc2217 import open_rfc2217

        return await open_rfc2217(url, baudrate=baudrate)
    if scheme == "socket":
        # Native asyncio: pyserial's socket handler resolves and connects blocking.
        from aiobroute.transport._rfc2217 import open_socket

        return await open_socket(url)
    if scheme:
        # pyserial-asyncio needs a file descriptor to watch; spy:// and hwgrep://
        # handlers do their I/O in threads and offer none.
        raise TransportError(
            f"cannot open {url}: the {scheme}:// handler is not supported; use a device "
            "path, socket://host:port or rfc2217://host:port"
        )
    _check_device(url)
    loop = asyncio.get_running_loop()
    serial, transport_class = _pyserial()
    try:
        # exclusive: one reader per port, even across processes (flock on POSIX).
        port = serial.serial_for_url(url, baudrate=baudrate, exclusive=True)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise TransportError(f"cannot open {url}: {_describe(exc)}") from exc
    protocol = _Protocol()
    transport = transport_class(loop, protocol, port)
    _LOGGER.debug("opened %s at %d baud", url, baudrate)
    return SerialStream(url, transport, protocol)
