"""The core of the SKSTACK IP client: the reader task, dispatch and subscriptions.

:class:`SkStackClient` (in :mod:`aiobroute.skstack.client`) is built in layers, one class
per module: this reader core; the command exchange (:mod:`._exchange`); scan and join
(:mod:`._session`); the public client with the simple commands and sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Self

import attrs

from aiobroute._checks import positive_seconds_field, seconds_field
from aiobroute._log import TRACE, Redactor
from aiobroute._queue import DropOldestQueue
from aiobroute.errors import ClientClosedError, CommandError, PortClosedError
from aiobroute.skstack._commands import CommandSpec, Completion, SkCommand, command_display
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import (
    Echo,
    EdScan,
    Event,
    EventNum,
    Fail,
    Message,
    Ok,
    PanDescriptor,
    Pong,
    RxUdp,
    Unrecognized,
)
from aiobroute.skstack._parser import LineParser
from aiobroute.transport._base import ByteStream, PushStream
from aiobroute.transport._owner import StreamOwner

__all__ = ["CommandReply", "PortLost", "SkTimeouts", "Subscription"]

_LOGGER = logging.getLogger("aiobroute.skstack")
_RAW = logging.getLogger("aiobroute.skstack.raw")

_SUBSCRIPTION_LIMIT = 4096
_TRACE_LIMIT = 8192
_ASYNC_TYPES = (Event, PanDescriptor, RxUdp, EdScan, Pong)
_SESSION_EVENTS = frozenset(
    {
        EventNum.PANA_FAILED,
        EventNum.PANA_CONNECTED,
        EventNum.SESSION_TERMINATE_REQUESTED,
        EventNum.SESSION_TERMINATED,
        EventNum.SESSION_TERMINATE_TIMEOUT,
        EventNum.SESSION_EXPIRED,
    }
)


@attrs.frozen
class SkTimeouts:
    """Every timeout of the SKSTACK layer, in seconds (one value object; override per client).

    Attributes:
        command: a plain command until its status line.
        reset_settle: quiet time after ``SKRESET`` answered OK before the next command.
        scan_margin: added to the computed duration of an active scan before giving up.
        join: ``SKJOIN`` until EVENT 25 or 24 (PANA retransmissions take up to ~40 s).
        send: ``SKSENDTO`` until its status line.
        send_event_grace: how long EVENT 21 may arrive after the OK of SKSENDTO.
    """

    command: float = attrs.field(default=5.0, validator=positive_seconds_field)
    reset_settle: float = attrs.field(default=1.0, validator=seconds_field)
    scan_margin: float = attrs.field(default=10.0, validator=seconds_field)
    join: float = attrs.field(default=90.0, validator=positive_seconds_field)
    send: float = attrs.field(default=10.0, validator=positive_seconds_field)
    send_event_grace: float = attrs.field(default=2.0, validator=seconds_field)


@attrs.frozen
class PortLost(Message):
    """Delivered to subscribers when the port vanished (unplugged, peer closed)."""

    reason: str


@attrs.frozen
class CommandReply:
    """What a command returned: its value lines and the final OK (None for SKLL64)."""

    values: tuple[Message, ...]
    ok: Ok | None


class Subscription:
    """A queue of asynchronous module messages (EVENT, EPANDESC, ERXUDP, PortLost).

    Use as an async context manager and iterate it, or call :meth:`get` with a timeout.
    Iteration ends after :class:`PortLost` or when the client closes.
    """

    def __init__(
        self, client: _ClientCore, accept: Callable[[Message], bool] | None = None
    ) -> None:
        self._client = client
        self._accept = accept
        self._queue: DropOldestQueue[Message] = DropOldestQueue(
            _SUBSCRIPTION_LIMIT, logger=_LOGGER, what="event subscriber"
        )

    @property
    def dropped(self) -> int:
        """Messages dropped because the subscriber did not keep up (oldest first)."""
        return self._queue.dropped

    def _put(self, message: Message) -> None:
        if self._queue.ended:
            return
        if self._accept is not None:
            try:
                wanted = self._accept(message)
            except Exception:
                _LOGGER.exception("a subscription filter failed; message not delivered to it")
                return
            if not wanted:
                return
        self._queue.put(message)

    def _end(self) -> None:
        self._queue.end()

    async def get(self, timeout: float | None = None) -> Message:
        """Return the next message, waiting at most ``timeout`` seconds.

        Raises:
            TimeoutError: nothing arrived in time.
            ClientClosedError: the subscription or the client was closed.
        """
        if timeout is None:
            message = await self._queue.get()
        else:
            async with asyncio.timeout(timeout):
                message = await self._queue.get()
        if message is None:
            raise ClientClosedError("subscription closed")
        return message

    def get_nowait(self) -> Message | None:
        """Return the next queued message, or None."""
        return self._queue.get_nowait()

    def close(self) -> None:
        """Stop receiving; idempotent."""
        self._end()
        self._client._unsubscribe(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                message = await self.get()
            except ClientClosedError:
                return
            yield message
            if isinstance(message, PortLost):
                return


class _Pending:
    """The command in flight: what completes it, and the lines collected so far."""

    __slots__ = ("_display", "command", "family", "future", "resync", "spec", "values")

    def __init__(
        self,
        spec: CommandSpec,
        command: SkCommand,
        family: ModuleFamily,
        future: asyncio.Future[CommandReply],
        *,
        resync: bool = False,
    ) -> None:
        self.spec = spec
        self.command = command
        self.family = family
        self.future = future
        self.values: list[Message] = []
        #: A resynchronising SKVER: status lines before its EVER line are stale ones.
        self.resync = resync
        self._display: str | None = None

    @property
    def display(self) -> str:
        """The command as written, secrets masked later (built only for messages)."""
        if self._display is None:
            self._display = command_display(self.command, self.family)
        return self._display


class _ClientCore(StreamOwner):
    """The reader task, dispatch of what the module prints, listeners and subscriptions."""

    _reader_name = "aiobroute-sk-reader"
    _logger = _LOGGER

    def __init__(
        self,
        stream: ByteStream,
        *,
        family: ModuleFamily | None = None,
        timeouts: SkTimeouts | None = None,
        allow_flash_write: bool = False,
    ) -> None:
        self._stream = stream
        self._family = family or ModuleFamily.BP35A1
        self._family_fixed = family is not None
        self.timeouts = timeouts or SkTimeouts()
        self._allow_flash_write = allow_flash_write
        self._parser = LineParser()
        self._redactor = Redactor()
        self._lock = asyncio.Lock()
        self._pending: _Pending | None = None
        self._subscribers: list[Subscription] = []
        self._listeners: list[Callable[[Message], None]] = []
        self._reader: asyncio.Task[None] | None = None
        self._closed = False
        self._lost: PortClosedError | None = None
        self._tx_limited = False
        # Output left over from an earlier user of the port could answer our first command.
        self._resync_needed = True
        self._resync_failed = False
        self._last_status = 0.0
        self._trace_buffer = bytearray()
        self._orphan_verdicts = 0
        self._sending = False
        self._scan_done = asyncio.Event()
        self._scan_done.set()
        self._scan_busy_until = 0.0
        self._tx_limited_since = 0.0
        self.unrecognized_lines = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def family(self) -> ModuleFamily:
        """The module family in use (detected or forced)."""
        return self._family

    @property
    def closed(self) -> bool:
        """True once the client was closed or its port was lost."""
        return self._closed or self._lost is not None

    @property
    def tx_limited(self) -> bool:
        """True between EVENT 32 and EVENT 33 (ARIB transmit-time limit active)."""
        return self._tx_limited

    @property
    def redactor(self) -> Redactor:
        """The redactor that masks this client's secrets; layers above share it."""
        return self._redactor

    def _end_waiters(self, exc: BaseException) -> None:
        self._fail_pending(exc)
        for sub in list(self._subscribers):
            sub._end()
        self._subscribers.clear()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SkStackClient {self._stream.name!r} {self._family.name} {state}>"

    # ------------------------------------------------------------------ reading

    async def _pump(self) -> PortClosedError:
        stream = self._stream
        if isinstance(stream, PushStream):
            # Bytes go from the transport's data_received to the parser and the
            # waiters directly: no task wake-up per chunk.
            await stream.receive(self._feed)
        while True:
            data = await stream.read()
            if not data:  # a stream must not return b"": treat it as closed
                return PortClosedError(f"{stream.name}: end of stream")
            self._feed(data)

    def _feed(self, data: bytes) -> None:
        """Parse a chunk from the module and dispatch every complete line in it."""
        if _RAW.isEnabledFor(TRACE):
            self._trace_lines(data)
        for message in self._parser.feed(data):
            try:
                self._dispatch(message)
            except Exception:
                _LOGGER.exception("error while handling %s", type(message).__name__)

    def _trace_lines(self, data: bytes) -> None:
        """Log raw input at TRACE level line by line, so a secret is never split."""
        buffer = self._trace_buffer
        buffer += data
        *lines, rest = bytes(buffer).split(b"\n")
        for line in lines:
            _RAW.log(TRACE, "<< %s", self._redactor.redact_bytes(line + b"\n"))
        buffer.clear()
        if len(rest) > _TRACE_LIMIT:
            _RAW.log(TRACE, "<< %s", self._redactor.redact_bytes(rest))
        else:
            buffer += rest

    def _port_lost(self, exc: PortClosedError) -> None:
        first = self._lost is None
        if self._lost is None:
            self._lost = exc
        self._fail_pending(exc)
        if first:
            self._notify(PortLost(str(exc)))
        for sub in list(self._subscribers):
            sub._put(PortLost(str(exc)))
            sub._end()

    def _fail_pending(self, exc: BaseException) -> None:
        pending = self._pending
        if pending is not None and not pending.future.done():
            pending.future.set_exception(exc)

    def _dispatch(self, message: Message) -> None:
        if isinstance(message, _ASYNC_TYPES):
            if isinstance(message, Event):
                self._track_event(message)
                if (
                    message.num == EventNum.UDP_SENT
                    and message.param in (0, 1)
                    and not self._sending
                    and self._orphan_verdicts
                ):
                    # The late verdict of an earlier send: not the next send's.
                    self._orphan_verdicts -= 1
                    return
            self._notify(message)
            for sub in list(self._subscribers):
                sub._put(message)
            return
        if isinstance(message, Unrecognized):
            self.unrecognized_lines += 1
            count = self.unrecognized_lines
            if count > 20 and count % 100:  # a wrong baud rate would flood the log
                return
            _LOGGER.warning(
                "skipped unrecognized module output (%s): %s",
                message.reason,
                self._redactor.redact_bytes(message.raw)[:200],
            )
            return
        if isinstance(message, Echo):
            if _RAW.isEnabledFor(TRACE):
                _RAW.log(TRACE, "echo: %s", self._redactor.redact_text(message.line))
            return
        self._last_status = asyncio.get_running_loop().time()
        pending = self._pending
        if pending is None or pending.future.done():
            _LOGGER.debug("unexpected %s with no command in flight", type(message).__name__)
            return
        if pending.resync and not pending.values and isinstance(message, Ok | Fail):
            _LOGGER.debug("discarded a stale status line of an earlier command")
            return
        if isinstance(message, Fail):
            pending.future.set_exception(
                CommandError(message.code, pending.display, message.meaning)
            )
        elif isinstance(message, Ok):
            if pending.spec.completion is Completion.OK:
                pending.future.set_result(CommandReply(tuple(pending.values), message))
            else:
                _LOGGER.debug("ignoring OK while waiting for %s", pending.spec.name)
        elif isinstance(message, pending.spec.values):
            pending.values.append(message)
            if pending.spec.completion is Completion.LINE:
                pending.future.set_result(CommandReply(tuple(pending.values), None))
        elif _LOGGER.isEnabledFor(logging.DEBUG):
            _LOGGER.debug(
                "ignoring %s while waiting for %s",
                self._redactor.redact_text(repr(message)),
                pending.spec.name,
            )

    def _track_event(self, event: Event) -> None:
        if event.num in (EventNum.ACTIVE_SCAN_DONE, EventNum.ED_SCAN_DONE):
            self._scan_done.set()
        if event.num == EventNum.TX_LIMIT_STARTED:
            self._tx_limited = True
            self._tx_limited_since = asyncio.get_running_loop().time()
            _LOGGER.warning("ARIB transmit-time limit reached (EVENT 32): sending is blocked")
        elif event.num == EventNum.TX_LIMIT_RELEASED:
            self._tx_limited = False
            _LOGGER.info("ARIB transmit-time limit released (EVENT 33)")
        elif event.num in _SESSION_EVENTS:
            _LOGGER.info("session event %s", EventNum(event.num).name)

    # ------------------------------------------------------------------ subscriptions

    def add_listener(self, callback: Callable[[Message], None]) -> Callable[[], None]:
        """Call ``callback(message)`` from the reader for every asynchronous message.

        The same messages as :meth:`subscribe` (EVENT, EPANDESC, ERXUDP, EEDSCAN, EPONG,
        and :class:`PortLost` once at the end), delivered synchronously in the reader's
        receive path, before any subscription sees them: the callback must be quick and
        must not block. Its exceptions are logged and swallowed. Returns a function that
        removes the listener (idempotent).
        """
        self._listeners.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(callback)

        return remove

    def _notify(self, message: Message) -> None:
        for listener in list(self._listeners):
            try:
                listener(message)
            except Exception:
                _LOGGER.exception("a listener failed on %s", type(message).__name__)

    def subscribe(self, accept: Callable[[Message], bool] | None = None) -> Subscription:
        """Receive asynchronous messages from now on (optionally only those ``accept``\\ ed)."""
        sub = Subscription(self, accept)
        if self.closed:
            sub._end()
        else:
            self._subscribers.append(sub)
        return sub

    def _checked(self, message: Message) -> Message:
        """``message``, unless it says the port was lost: then that error is raised."""
        if isinstance(message, PortLost):
            raise self._lost or PortClosedError(message.reason)
        return message

    def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(sub)
