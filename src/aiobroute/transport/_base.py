"""The byte-stream interface every transport offers to the SKSTACK client."""

from __future__ import annotations

from collections.abc import Callable
from typing import NoReturn, Protocol, runtime_checkable

__all__ = ["ByteStream", "PushStream"]


@runtime_checkable
class ByteStream(Protocol):
    """A bidirectional byte stream to a Wi-SUN module (serial port, socket, pipe, pty).

    Implementations raise :class:`aiobroute.errors.PortClosedError` from :meth:`read`
    and :meth:`write` once the stream is closed or the other end went away; :meth:`read`
    never returns an empty ``bytes`` object.
    """

    @property
    def name(self) -> str:
        """A human-readable name of the port (device path or URL), for logs."""
        ...

    @property
    def closed(self) -> bool:
        """True once the stream has been closed or has failed."""
        ...

    async def read(self) -> bytes:
        """Wait for and return the next chunk of bytes (at least one byte)."""
        ...

    async def write(self, data: bytes) -> None:
        """Write all of ``data`` and wait until it has been handed to the device."""
        ...

    async def close(self) -> None:
        """Close the stream; idempotent. Pending reads fail with PortClosedError."""
        ...


@runtime_checkable
class PushStream(ByteStream, Protocol):
    """A :class:`ByteStream` that can also hand its chunks to a callback as they arrive.

    Internal: the SKSTACK client uses it, when a stream offers it, to parse and dispatch
    in the transport's receive callback instead of waking a reader task per chunk.
    """

    async def receive(self, receiver: Callable[[bytes], None]) -> NoReturn:
        """Call ``receiver(chunk)`` per chunk until the stream ends; raise at its end.

        Raises :class:`aiobroute.errors.PortClosedError` once the stream is closed or
        lost, or what ``receiver`` raised.
        """
        ...
