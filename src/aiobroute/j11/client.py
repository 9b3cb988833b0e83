"""The asyncio J11 client: one reader task, one command in flight, typed errors.

:class:`J11Client` drives a ROHM J11 module (BP35C0/C1/C2-J11, RS-WSUHA-J11) over a byte
stream with the sans-I/O codec of :mod:`aiobroute.j11`. It knows commands, not the B
route: the join sequence lives in :class:`aiobroute.j11.link.J11Link`.

* :meth:`J11Client.request` writes one request and waits for its response (same code
  ``| 0x2000``) or an error reply (0x2FFF / 0xFFFF, routed to the outstanding request),
  with a per-command timeout; a "busy" (0x3D) answer is retried a few times.
* Notifications (0x4051, 0x6018, 0x6019, 0x601A, 0x6028, 0x6038...) go, synchronously from
  the reader, to every :meth:`J11Client.add_listener` callback and to the one-shot
  waiters of :meth:`J11Client.expect`, which a caller arms *before* writing the request
  whose notification it wants (it may come before or after the response).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

import attrs

from aiobroute._checks import positive_seconds_field, seconds_field
from aiobroute._log import TRACE, Redactor
from aiobroute.errors import (
    ClientClosedError,
    CommandTimeoutError,
    J11CommandError,
    PortClosedError,
    ProtocolError,
    TransportError,
)
from aiobroute.j11 import (
    BootCompleted,
    ErrorReply,
    GetVersion,
    HardwareReset,
    Malformed,
    Message,
    MessageReader,
    Request,
    ResultCode,
    Skipped,
    is_response,
)
from aiobroute.transport._base import ByteStream
from aiobroute.transport._owner import StreamOwner

__all__ = ["J11Client", "J11Timeouts", "LinkDown"]

_LOGGER = logging.getLogger("aiobroute.j11")
_RAW = logging.getLogger("aiobroute.j11.raw")

_M = TypeVar("_M")


@attrs.frozen
class J11Timeouts:
    """Every timeout of the J11 layer, in seconds (one value object; override per link).

    Defaults follow the spec's recommended host waits (j11.md section 7): the listed time
    plus 1 s, and more where real modules were seen to need it.

    Attributes:
        command: a command until its response (2 s for unlisted commands, plus margin).
        boot: a hardware reset (0x00D9) until the boot notification (0x6019).
        scan_margin: added to the computed duration of an active scan.
        start_route_b: start route B (0x0053) until its response (2.6 s + 1 s).
        join: start PANA (0x0056) until the PANA result (0x6028).
        send: transmit data (0x0008) until its response (7 s for 1232 bytes + 1 s).
        busy_retry: wait before resending a request answered "busy" (0x3D).
        start_retry: wait before resending start route B after "MAC connection failed".
        partial_frame: a partial frame that stopped growing this long is abandoned.
    """

    command: float = attrs.field(default=3.0, validator=positive_seconds_field)
    boot: float = attrs.field(default=15.0, validator=positive_seconds_field)
    scan_margin: float = attrs.field(default=5.0, validator=seconds_field)
    start_route_b: float = attrs.field(default=4.0, validator=positive_seconds_field)
    join: float = attrs.field(default=90.0, validator=positive_seconds_field)
    send: float = attrs.field(default=8.0, validator=positive_seconds_field)
    busy_retry: float = attrs.field(default=0.3, validator=seconds_field)
    start_retry: float = attrs.field(default=1.0, validator=seconds_field)
    partial_frame: float = attrs.field(default=2.0, validator=positive_seconds_field)


@attrs.frozen
class LinkDown:
    """Given to listeners once, when the port vanished or the reader stopped."""

    reason: str


_BUSY_RETRIES = 3


@attrs.define
class _Waiter:
    accept: Callable[[Message], bool]
    future: asyncio.Future[Message]


class J11Client(StreamOwner):
    """Drives one J11 module over a byte stream: requests, responses, notifications.

    Args:
        stream: an open :class:`aiobroute.transport.ByteStream`.
        timeouts: the J11 timeouts.
        redactor: masks secrets in logs (shared with the link above).
    """

    _reader_name = "aiobroute-j11-reader"
    _logger = _LOGGER
    _reader_failed = "the J11 reader failed; the client is unusable"

    def __init__(
        self,
        stream: ByteStream,
        *,
        timeouts: J11Timeouts | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._stream = stream
        self.timeouts = timeouts or J11Timeouts()
        self._redactor = redactor or Redactor()
        self._reader_codec = MessageReader()
        self._lock = asyncio.Lock()
        self._pending: tuple[int, str, asyncio.Future[Message]] | None = None
        #: A request was abandoned after it was written: its response may still come.
        self._resync_needed = False
        self._waiters: list[_Waiter] = []
        self._listeners: list[Callable[[Message | LinkDown], None]] = []
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._lost: PortClosedError | None = None
        self.skipped_bytes = 0
        self.malformed_frames = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        """True once the client was closed or its port was lost."""
        return self._closed or self._lost is not None

    @property
    def redactor(self) -> Redactor:
        """The redactor masking this client's secrets."""
        return self._redactor

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<J11Client {self._stream.name!r} {state}>"

    # ------------------------------------------------------------------ reading

    async def _pump(self) -> PortClosedError:
        while True:
            data = await self._read_chunk()
            if data is None:
                self._handle_all(self._reader_codec.discard_partial())
                continue
            if not data:
                return PortClosedError(f"{self._stream.name}: end of stream")
            if _RAW.isEnabledFor(TRACE):
                _RAW.log(TRACE, "<< %s", data.hex(" ").upper())
            self._handle_all(self._reader_codec.feed(data))

    def _end_waiters(self, exc: BaseException) -> None:
        self._fail_all(exc)

    async def _read_chunk(self) -> bytes | None:
        """The next bytes; None when a partial frame stopped growing (abandon it)."""
        if not self._reader_codec.reassembler.partial:
            return await self._stream.read()
        try:
            async with asyncio.timeout(self.timeouts.partial_frame):
                return await self._stream.read()
        except TimeoutError:
            return None

    def _handle_all(self, items: Iterable[Message | Malformed | Skipped]) -> None:
        for item in items:
            try:
                self._handle(item)
            except Exception:
                _LOGGER.exception("error while handling %s", type(item).__name__)

    def _handle(self, item: Message | Malformed | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skipped_bytes += len(item.data)
            _LOGGER.debug(
                "skipped %d bytes (%s): %s",
                len(item.data),
                item.reason.name,
                self._redactor.redact_bytes(bytes(item.data[:64])),
            )
            return
        if isinstance(item, Malformed):
            self.malformed_frames += 1
            count = self.malformed_frames
            if count <= 20 or not count % 100:  # a wrong baud rate would flood the log
                _LOGGER.warning("malformed J11 frame 0x%04X: %s", item.frame.command, item.error)
            pending = self._pending
            if (
                pending is not None
                and is_response(item.frame.command)
                and item.frame.command & 0x1FFF == pending[0]
                and not pending[2].done()
            ):
                pending[2].set_exception(
                    ProtocolError(f"malformed response to {pending[1]}: {item.error}")
                )
            return
        _RAW.log(TRACE, "<< %r", item)
        if isinstance(item, ErrorReply):
            self._route_error(item)
            return
        if is_response(item.command):
            self._route_response(item)
            return
        # A notification: one-shot waiters first (the caller armed them), then listeners.
        for waiter in list(self._waiters):
            if not waiter.future.done() and waiter.accept(item):
                waiter.future.set_result(item)
        self._notify(item)

    def _route_response(self, message: Message) -> None:
        pending = self._pending
        if pending is None or pending[2].done() or message.command & 0x1FFF != pending[0]:
            _LOGGER.debug("unexpected response 0x%04X with no matching request", message.command)
            return
        pending[2].set_result(message)

    def _route_error(self, reply: ErrorReply) -> None:
        pending = self._pending
        if pending is None or pending[2].done():
            _LOGGER.debug("error reply 0x%04X with no request in flight", reply.command)
            return
        result = reply.result if reply.result is not None else 0
        pending[2].set_exception(
            J11CommandError(result, pending[1], f"0x{reply.command:04X}: {reply.meaning}")
        )

    def _notify(self, message: Message | LinkDown) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:
                _LOGGER.exception("a J11 listener failed on %s", type(message).__name__)

    def _port_lost(self, exc: PortClosedError) -> None:
        first = self._lost is None
        if first:
            self._lost = exc
        self._fail_all(exc)
        if first:
            self._notify(LinkDown(str(exc)))

    def _fail_all(self, exc: BaseException) -> None:
        pending = self._pending
        if pending is not None and not pending[2].done():
            pending[2].set_exception(exc)
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(exc)

    # ------------------------------------------------------------------ listeners

    def add_listener(self, callback: Callable[[Message | LinkDown], None]) -> Callable[[], None]:
        """Call ``callback`` from the reader for every notification, and LinkDown at the end.

        Synchronous, in the reader's receive path: keep it quick. Its exceptions are
        logged and swallowed. Returns a function removing the listener.
        """
        self._listeners.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return remove

    @contextlib.contextmanager
    def expect(
        self, kind: type[_M], accept: Callable[[_M], bool] | None = None
    ) -> Iterator[asyncio.Future[_M]]:
        """Arm a one-shot waiter for the next notification of ``kind`` (and ``accept``).

        Arm it before writing the request that causes it: it may arrive before the
        response. The future fails with the port's error or ClientClosedError.
        """
        self.check_usable()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()

        def matches(message: Message) -> bool:
            return isinstance(message, kind) and (accept is None or accept(message))

        waiter = _Waiter(matches, future)
        self._waiters.append(waiter)
        try:
            yield future  # type: ignore[misc]
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            if future.done() and not future.cancelled():
                future.exception()  # retrieved
            else:
                future.cancel()

    # ------------------------------------------------------------------ commands

    def check_usable(self) -> None:
        """Raise the reason this client cannot be used (closed, port lost, not started)."""
        if self._closed:
            raise ClientClosedError("client is closed")
        if self._lost is not None:
            raise self._lost
        if self._reader is None:
            raise ClientClosedError("client not started; use 'async with' or start()")

    async def request(
        self,
        request: Request,
        *,
        timeout: float | None = None,
        accept: Iterable[int] = (ResultCode.SUCCESS,),
    ) -> Message:
        """Send one request and return its response.

        Raises:
            J11CommandError: the result byte is not in ``accept``, or an error reply came.
            CommandTimeoutError: no response within ``timeout`` (default ``timeouts.command``).
            ProtocolError: the response was malformed.
        """
        self.check_usable()
        accepted = frozenset(accept)
        async with self._lock:
            if self._resync_needed:
                await self._resync_locked()
            for attempt in range(_BUSY_RETRIES + 1):
                response = await self._request_locked(request, timeout)
                result = getattr(response, "result", None)
                if result == ResultCode.BUSY and attempt < _BUSY_RETRIES:
                    _LOGGER.debug("module busy; resending %s", _name(request))
                    await asyncio.sleep(self.timeouts.busy_retry)
                    continue
                if result is not None and result not in accepted:
                    raise J11CommandError(result, _name(request), ResultCode.describe(result))
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _request_locked(self, request: Request, timeout: float | None) -> Message:
        name = _name(request)
        wire = request.encode()
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.check_usable()
        self._pending = (request.command, name, future)
        try:
            _RAW.log(TRACE, ">> %r", request)  # credentials are masked by the codec's repr
            async with asyncio.timeout(self.timeouts.command if timeout is None else timeout):
                await self._stream.write(wire)
                return await future
        except TimeoutError:
            raise CommandTimeoutError(f"no answer to {name}") from None
        except TransportError as exc:
            if isinstance(exc, PortClosedError):
                raise
            raise PortClosedError(str(exc)) from exc
        finally:
            self._pending = None
            if future.done() and not future.cancelled():
                future.exception()  # retrieved, even if the caller got another error
            else:
                # Timed out or cancelled: its response may still come and, having the
                # same command code, could be taken for the next such request's.
                future.cancel()
                self._resync_needed = True

    async def _resync_locked(self) -> None:
        """Fence off the late response of an abandoned request (lock held).

        J11 frames carry no sequence number, but the module answers in order: a Get
        version request's own response comes after any late one, which is dropped as
        unmatched (a different command code) or, as an error reply, fails this request,
        which is then asked once more. A fence left unanswered raises
        :class:`CommandTimeoutError` and is tried again before the next request.
        """
        _LOGGER.debug("resynchronising with the J11 module after an abandoned request")
        for attempt in range(2):
            try:
                await self._request_locked(GetVersion(), None)
            except (J11CommandError, ProtocolError) as exc:
                _LOGGER.debug("late output answered the fence (%s)", exc)
                if attempt:
                    raise
                continue
            self._resync_needed = False
            return

    async def reset(self) -> None:
        """Hardware reset (0x00D9, no response) and wait for the boot notification (0x6019).

        Accepted by the module at any time, also while it is busy: it aborts a running
        PANA attempt. Every setting returns to its default.
        """
        self.check_usable()
        async with self._lock:
            with self.expect(BootCompleted) as booted:
                _RAW.log(TRACE, ">> HardwareReset()")
                try:
                    async with asyncio.timeout(self.timeouts.boot):
                        await self._stream.write(HardwareReset().encode())
                        await booted
                    self._resync_needed = False  # a module that rebooted owes nothing
                except TimeoutError:
                    raise CommandTimeoutError(
                        f"no boot notification within {self.timeouts.boot:.0f} s after a reset"
                    ) from None


def _name(request: Request) -> str:
    return f"{type(request).__name__} (0x{request.command:04X})"
