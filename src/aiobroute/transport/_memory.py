"""In-memory byte streams: a connected pair, for tests and the in-process simulator."""

from __future__ import annotations

import asyncio

from aiobroute.errors import PortClosedError

__all__ = ["MemoryStream", "loopback", "memory_pipe"]


class _Channel:
    """One direction of a pipe: a buffer, a wake-up event and a closed flag."""

    __slots__ = ("buffer", "closed", "event")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.event = asyncio.Event()
        self.closed = False


class MemoryStream:
    """One end of an in-memory pipe created by :func:`memory_pipe`.

    What one end writes, the other end reads. Closing either end closes the pipe:
    pending and later reads on both ends raise :class:`PortClosedError` once the
    buffered bytes have been read.
    """

    def __init__(self, name: str, inbound: _Channel, outbound: _Channel) -> None:
        self._name = name
        self._in = inbound
        self._out = outbound

    @property
    def name(self) -> str:
        """The name given to this end."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once either end has been closed."""
        return self._in.closed or self._out.closed

    async def read(self) -> bytes:
        """Return the buffered bytes, waiting for at least one."""
        while not self._in.buffer:
            if self._in.closed:
                raise PortClosedError(f"{self._name}: stream closed")
            self._in.event.clear()
            await self._in.event.wait()
        data = bytes(self._in.buffer)
        self._in.buffer.clear()
        return data

    async def write(self, data: bytes) -> None:
        """Append ``data`` to the other end's buffer."""
        if self.closed:
            raise PortClosedError(f"{self._name}: stream closed")
        if data:
            self._out.buffer += data
            self._out.event.set()
        await asyncio.sleep(0)

    def write_nowait(self, data: bytes) -> None:
        """Like :meth:`write` without yielding to the event loop (for simulators)."""
        if self.closed:
            raise PortClosedError(f"{self._name}: stream closed")
        if data:
            self._out.buffer += data
            self._out.event.set()

    async def close(self) -> None:
        """Close the pipe (both directions); idempotent."""
        self.close_nowait()
        await asyncio.sleep(0)

    def close_nowait(self) -> None:
        """Close the pipe without yielding (usable from synchronous code)."""
        for channel in (self._in, self._out):
            channel.closed = True
            channel.event.set()


def memory_pipe(
    host_name: str = "memory://host", device_name: str = "memory://device"
) -> tuple[MemoryStream, MemoryStream]:
    """Create a connected pair of streams: ``(host_end, device_end)``."""
    to_device = _Channel()
    to_host = _Channel()
    host = MemoryStream(host_name, inbound=to_host, outbound=to_device)
    device = MemoryStream(device_name, inbound=to_device, outbound=to_host)
    return host, device


def loopback(name: str = "loop://") -> MemoryStream:
    """A stream that reads back what was written to it (pyserial's ``loop://``)."""
    channel = _Channel()
    return MemoryStream(name, inbound=channel, outbound=channel)
