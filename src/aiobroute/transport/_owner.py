"""The life cycle every dialect client shares: one reader task over one byte stream.

A client starts its reader (``start`` or ``async with``), reads chunks until the stream
ends or fails, and reports the end exactly once through :meth:`StreamOwner._port_lost`;
``close`` fails every waiter with :class:`~aiobroute.errors.ClientClosedError`, stops the
reader and releases the port even when the caller cancels it. The dialect supplies how
chunks are read and parsed (:meth:`StreamOwner._pump`) and how waiters are failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType
from typing import ClassVar, Self

from aiobroute._tasks import cancel_and_wait
from aiobroute.errors import ClientClosedError, PortClosedError, TransportError
from aiobroute.transport._base import ByteStream

__all__ = ["StreamOwner"]


class StreamOwner:
    """Base of the SKSTACK and J11 clients: reader task, close, context manager."""

    #: The reader task's name (for asyncio debugging).
    _reader_name: ClassVar[str] = "aiobroute-reader"
    #: The logger of port losses and reader failures.
    _logger: ClassVar[logging.Logger] = logging.getLogger("aiobroute")
    #: Logged (with the traceback) when the reader fails unexpectedly.
    _reader_failed: ClassVar[str] = "the reader failed; the client is unusable"

    _stream: ByteStream
    _reader: asyncio.Task[None] | None
    _closed: bool

    def start(self) -> None:
        """Start the reader task (done by ``async with``); idempotent."""
        if self._closed:
            raise ClientClosedError("client is closed")
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name=self._reader_name)

    async def close(self) -> None:
        """Stop the reader, fail every waiter with ClientClosedError, close the stream."""
        if self._closed:
            return
        self._closed = True
        self._end_waiters(ClientClosedError("client closed"))
        reader, self._reader = self._reader, None
        try:
            await cancel_and_wait([reader])
        finally:  # the port is released even when the caller cancels the close
            with contextlib.suppress(TransportError):
                await self._stream.close()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _read_loop(self) -> None:
        lost: PortClosedError | None = None
        try:
            lost = await self._pump()
        except TransportError as exc:
            lost = exc if isinstance(exc, PortClosedError) else PortClosedError(str(exc))
            if not self._closed:
                self._logger.warning("port lost: %s", exc)
        except Exception as exc:
            self._logger.exception(self._reader_failed)
            lost = PortClosedError(f"reader failed: {type(exc).__name__}")
        finally:
            # Whatever ended the reader (even a cancel at close): nobody is left waiting.
            if lost is None:
                lost = PortClosedError(f"{self._stream.name}: reader stopped")
            self._port_lost(lost)

    async def _pump(self) -> PortClosedError:
        """Read and handle chunks until the stream ends; return the end as an error.

        Raises:
            TransportError: the stream failed.
        """
        raise NotImplementedError

    def _end_waiters(self, exc: BaseException) -> None:
        """Fail everybody waiting on the client with ``exc`` (at close)."""
        raise NotImplementedError

    def _port_lost(self, exc: PortClosedError) -> None:
        """The reader ended: record it and fail everybody waiting."""
        raise NotImplementedError
