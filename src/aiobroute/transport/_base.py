"""The byte-stream interface every transport offers to the SKSTACK client."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["ByteStream"]


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
