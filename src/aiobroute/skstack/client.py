"""The asyncio SKSTACK IP client: one reader task, one command in flight, typed events.

Typical use (the meter layer does this for you)::

    stream = await open_port("/dev/ttyUSB0")
    async with SkStackClient(stream) as sk:
        await sk.initialize()
        pan = await sk.connect(rbid=..., password=...)     # scan + PANA join
        async with sk.subscribe() as events:
            await sk.send_to(pan.ipaddr, payload)
            async for message in events:
                ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from types import TracebackType
from typing import Self

import attrs

from aiobroute._log import TRACE, Redactor, escape_text
from aiobroute._queue import DropOldestQueue
from aiobroute._tasks import cancel_and_wait
from aiobroute.errors import (
    AuthenticationError,
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    InvalidArgumentError,
    JoinError,
    JoinTimeoutError,
    PortClosedError,
    ProtocolError,
    ScanError,
    ScanTimeoutError,
    SendError,
    SessionError,
    TransmitLimitError,
    TransportError,
)
from aiobroute.skstack._commands import (
    COMMANDS,
    CommandSpec,
    Completion,
    check_addr64,
    check_ipaddr,
    check_password,
    check_range,
    check_rbid,
    check_token,
)
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import (
    AddressLine,
    AppVersion,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    EventNum,
    Fail,
    Info,
    Message,
    Ok,
    PanDescriptor,
    Pong,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)
from aiobroute.skstack._parser import LineParser
from aiobroute.transport._base import ByteStream

__all__ = [
    "ECHONET_PORT",
    "CommandReply",
    "JoinedPan",
    "ModuleInfo",
    "PortLost",
    "SkStackClient",
    "SkTimeouts",
    "Subscription",
]

_LOGGER = logging.getLogger("aiobroute.skstack")
_RAW = logging.getLogger("aiobroute.skstack.raw")

#: UDP port of ECHONET Lite (0x0E1A).
ECHONET_PORT = 3610
_ALL_CHANNELS = 0xFFFFFFFF
_SUBSCRIPTION_LIMIT = 4096
_TRACE_LIMIT = 8192
_QUIET = 0.5
_TX_LIMIT_STALE = 3600.0
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

    command: float = 5.0
    reset_settle: float = 1.0
    scan_margin: float = 10.0
    join: float = 90.0
    send: float = 10.0
    send_event_grace: float = 2.0


@attrs.frozen
class PortLost(Message):
    """Delivered to subscribers when the port vanished (unplugged, peer closed)."""

    reason: str


@attrs.frozen
class CommandReply:
    """What a command returned: its value lines and the final OK (None for SKLL64)."""

    values: tuple[Message, ...]
    ok: Ok | None


@attrs.frozen
class ModuleInfo:
    """What the module told about itself during :meth:`SkStackClient.initialize`."""

    family: ModuleFamily
    version: str | None
    app_version: str | None
    ipaddr: str | None
    mac: str | None


@attrs.frozen
class JoinedPan:
    """A PAN the client has joined: the descriptor used and the meter's IPv6 address."""

    pan: PanDescriptor
    ipaddr: str


class Subscription:
    """A queue of asynchronous module messages (EVENT, EPANDESC, ERXUDP, PortLost).

    Use as an async context manager and iterate it, or call :meth:`get` with a timeout.
    Iteration ends after :class:`PortLost` or when the client closes.
    """

    def __init__(
        self, client: SkStackClient, accept: Callable[[Message], bool] | None = None
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


@attrs.define
class _Pending:
    spec: CommandSpec
    display: str
    future: asyncio.Future[CommandReply]
    values: list[Message] = attrs.Factory(list)
    #: A resynchronising SKVER: status lines before its EVER line are stale ones.
    resync: bool = False


class SkStackClient:
    """Drives one SKSTACK IP module over a byte stream.

    One reader task parses everything the module prints; one command is in flight at a
    time; asynchronous messages (EVENT, EPANDESC, ERXUDP) go to every
    :meth:`subscribe`\\ r, including those arriving between a command and its OK.

    Args:
        stream: an open :class:`aiobroute.transport.ByteStream`.
        family: force a module family; by default it is detected in :meth:`initialize`
            and corrected automatically when the module answers ``FAIL ER05``.
        timeouts: the SKSTACK timeouts.
        allow_flash_write: permit commands that write flash (SKSAVE, SKERASE, WOPT, WUART).
    """

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
        self.module_info: ModuleInfo | None = None

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

    def start(self) -> None:
        """Start the reader task (done by ``async with``); idempotent."""
        if self._closed:
            raise ClientClosedError("client is closed")
        if self._reader is None:
            self._reader = asyncio.create_task(self._read_loop(), name="aiobroute-sk-reader")

    async def close(self) -> None:
        """Stop the reader, fail pending waiters, end subscriptions, close the stream."""
        if self._closed:
            return
        self._closed = True
        self._fail_pending(ClientClosedError("client closed"))
        for sub in list(self._subscribers):
            sub._end()
        self._subscribers.clear()
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

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<SkStackClient {self._stream.name!r} {self._family.name} {state}>"

    # ------------------------------------------------------------------ reading

    async def _read_loop(self) -> None:
        lost: PortClosedError | None = None
        try:
            while True:
                data = await self._stream.read()
                if not data:  # a stream must not return b"": treat it as closed
                    lost = PortClosedError(f"{self._stream.name}: end of stream")
                    break
                if _RAW.isEnabledFor(TRACE):
                    self._trace_lines(data)
                for message in self._parser.feed(data):
                    try:
                        self._dispatch(message)
                    except Exception:
                        _LOGGER.exception("error while handling %s", type(message).__name__)
        except TransportError as exc:
            lost = exc if isinstance(exc, PortClosedError) else PortClosedError(str(exc))
            if not self._closed:
                _LOGGER.warning("port lost: %s", exc)
        except Exception as exc:
            _LOGGER.exception("the reader failed; the client is unusable")
            lost = PortClosedError(f"reader failed: {type(exc).__name__}")
        finally:
            # Whatever ended the reader (even a cancel at close): nobody is left waiting.
            if lost is None:
                lost = PortClosedError(f"{self._stream.name}: reader stopped")
            self._port_lost(lost)

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

    async def _next(self, sub: Subscription) -> Message:
        """The next message of an internal subscription; the lost port's error if it went."""
        message = await sub.get()
        if isinstance(message, PortLost):
            raise self._lost or PortClosedError(message.reason)
        return message

    def _unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(sub)

    # ------------------------------------------------------------------ commands

    def _check_usable(self) -> None:
        if self._closed:
            raise ClientClosedError("client is closed")
        if self._lost is not None:
            raise self._lost
        if self._reader is None:
            raise ClientClosedError("client not started; use 'async with' or start()")

    async def command(
        self, name: str, *args: str, timeout: float | None = None, payload: bytes | None = None
    ) -> CommandReply:
        """Send one SK command and wait for its completion.

        Arguments are checked against the command table; nothing is written when one is
        invalid. Raises :class:`CommandError` for ``FAIL ERxx`` and
        :class:`CommandTimeoutError` when the module stays silent.
        """
        self._check_usable()
        async with self._lock:
            return await self._command_locked(name, args, timeout=timeout, payload=payload)

    async def _command_locked(
        self,
        name: str,
        args: Sequence[str],
        *,
        timeout: float | None = None,
        payload: bytes | None = None,
        resync: bool = False,
    ) -> CommandReply:
        spec = COMMANDS.get(name)
        if spec is None:
            raise InvalidArgumentError(f"unknown command {name!r}")
        if len(args) not in spec.arity:
            raise InvalidArgumentError(f"{name} takes {spec.arity} arguments, got {len(args)}")
        for arg in args:
            check_token(arg, f"{name} argument")
        if spec.flash and not self._allow_flash_write:
            raise InvalidArgumentError(
                f"{name} writes the module's flash memory; pass allow_flash_write=True to allow it"
            )
        if (payload is not None) != (name == "SKSENDTO"):
            raise InvalidArgumentError("a binary payload goes with SKSENDTO, and only there")
        if payload is not None and (
            not 1 <= len(payload) <= 0x4D0 or int(args[-1], 16) != len(payload)
        ):
            raise InvalidArgumentError("SKSENDTO's length must match its 1..1232-byte payload")
        for index in spec.secret_args:
            self._redactor.add(args[index])
        self._check_usable()
        if not self._scan_done.is_set():
            await self._wait_scan_end()
        if self._resync_needed and not resync:
            await self._resync_locked()
        text = " ".join((name, *args))
        shown = list(args)
        for index in spec.secret_args:
            shown[index] = "********"
        display = " ".join((name, *shown))
        if payload is not None:
            wire = text.encode("ascii") + b" " + payload
            display += f" <{len(payload)} bytes>"
        else:
            wire = text.encode("ascii") + (b"\r" if spec.cr_only else b"\r\n")
        loop = asyncio.get_running_loop()
        pending = _Pending(spec, display, loop.create_future(), resync=resync)
        self._pending = pending
        try:
            if _RAW.isEnabledFor(TRACE):
                _RAW.log(TRACE, ">> %s", self._redactor.redact_text(display))
            async with asyncio.timeout(self.timeouts.command if timeout is None else timeout):
                await self._stream.write(wire)
                return await pending.future
        except TimeoutError:
            raise CommandTimeoutError(f"no answer to {display!r}") from None
        except TransportError as exc:
            if isinstance(exc, PortClosedError):
                raise
            raise PortClosedError(str(exc)) from exc
        except CommandError:
            if payload is not None:
                # The module refused the header: end the line its parser may still be
                # in (raw payload bytes), and resynchronise before the next command.
                with contextlib.suppress(TransportError):
                    await self._stream.write(b"\r\n")
                self._resync_needed = True
            raise
        finally:
            self._pending = None
            future = pending.future
            if not future.done() or future.cancelled():
                # Timed out or cancelled after writing: its answer may still come and
                # would be taken for the next command's. Resynchronise first.
                future.cancel()
                self._resync_needed = True
            else:
                future.exception()  # retrieved, even if the caller got another error

    async def _resync_locked(self) -> None:
        """Send SKVER and drop every status line until its own EVER line.

        With echo off nothing ties a status line to its command; after a command was
        abandoned, a late OK or FAIL could otherwise answer the next command.
        """
        _LOGGER.debug("resynchronising with the module")
        loop = asyncio.get_running_loop()
        if self._resync_failed:
            # An earlier resync went unanswered: let late answers drain first.
            async with asyncio.timeout(self.timeouts.command):
                # Deadline-based: sleeps exactly until the quiet period may be over.
                while (quiet := loop.time() - self._last_status) < _QUIET:  # noqa: ASYNC110
                    await asyncio.sleep(_QUIET - quiet)
        else:
            # End any line left half-typed in the module's input by an earlier user.
            await self._stream.write(b"\r\n")
        try:
            await self._command_locked("SKVER", [], resync=True)
        except CommandTimeoutError:
            self._resync_failed = True
            raise
        self._resync_needed = False
        self._resync_failed = False

    async def _wait_scan_end(self) -> None:
        """An abandoned scan may still run in the module: wait for its end (or its time)."""
        remaining = self._scan_busy_until - asyncio.get_running_loop().time()
        if remaining > 0:
            _LOGGER.debug("waiting up to %.1f s for an abandoned scan to end", remaining)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._scan_done.wait()
        self._scan_done.set()

    async def _value(self, name: str, *args: str, kind: type[Message]) -> Message:
        reply = await self.command(name, *args)
        for value in reply.values:
            if isinstance(value, kind):
                return value
        raise ProtocolError(f"{name} answered OK without its {kind.__name__} line")

    # ------------------------------------------------------------------ simple commands

    async def version(self) -> str:
        """``SKVER``: the stack version (``1.2.10``...)."""
        value = await self._value("SKVER", kind=Version)
        return value.version if isinstance(value, Version) else ""

    async def app_version(self) -> str | None:
        """``SKAPPVER``: the firmware application version, or None if unsupported (ER04)."""
        try:
            value = await self._value("SKAPPVER", kind=AppVersion)
        except CommandError as exc:
            if exc.code == ErrorCode.ER04:
                return None
            raise
        return value.version if isinstance(value, AppVersion) else None

    async def info(self) -> Info:
        """``SKINFO``: own address, MAC, channel, PAN ID and the fifth field."""
        value = await self._value("SKINFO", kind=Info)
        if not isinstance(value, Info):  # pragma: no cover - _value guarantees it
            raise ProtocolError("SKINFO gave no EINFO line")
        return value

    async def read_register(self, register: str) -> str:
        """``SKSREG <reg>``: a virtual register's value as printed (``S02``, ``SFD``...)."""
        value = await self._value("SKSREG", _register(register), kind=RegisterValue)
        return value.value if isinstance(value, RegisterValue) else ""

    async def write_register(self, register: str, value: str) -> None:
        """``SKSREG <reg> <value>``."""
        await self.command("SKSREG", _register(register), check_token(value.upper(), "value"))

    async def reset(self) -> None:
        """``SKRESET``, then wait ``timeouts.reset_settle`` for the stack to settle."""
        await self.command("SKRESET")
        await asyncio.sleep(self.timeouts.reset_settle)

    async def refresh_tx_limit(self) -> bool:
        """Read register SFB (ARIB transmit limit active) and return it.

        Useful when EVENT 33 may have been missed: a stale "limited" state would
        otherwise block every send.
        """
        value = await self.read_register("SFB")
        self._tx_limited = value.strip() not in ("0", "00")
        return self._tx_limited

    async def link_local_address(self, mac: str) -> str:
        """``SKLL64``: the link-local IPv6 address of a MAC address."""
        reply = await self.command("SKLL64", check_addr64(mac))
        for value in reply.values:
            if isinstance(value, AddressLine):
                return value.ipaddr
        raise ProtocolError("SKLL64 gave no address line")

    async def terminate(self) -> None:
        """``SKTERM``: end the PANA session (FAIL ER10 without one).

        Waits briefly for EVENT 27 (ended) or 28 (the meter did not answer; ended anyway).
        """
        self._check_usable()
        async with self._lock:
            await self._terminate_locked(raise_errors=True)

    async def _terminate_locked(self, *, raise_errors: bool = False) -> None:
        with self.subscribe(_term_message) as sub:
            try:
                await self._command_locked("SKTERM", [])
            except CommandError as exc:
                if raise_errors:
                    raise
                _LOGGER.debug("SKTERM refused: %s", exc)
                return
            try:
                async with asyncio.timeout(self.timeouts.join):
                    await self._next(sub)  # EVENT 27 or 28
            except TimeoutError:
                _LOGGER.debug("no EVENT 27/28 after SKTERM")

    # ------------------------------------------------------------------ initialisation

    async def initialize(self, *, reset: bool = False) -> ModuleInfo:
        """Prepare the module: optional reset, echo off, versions, family detection.

        Never writes flash. The ERXUDP payload format (hex or binary) needs no setting:
        the parser handles both.
        """
        if reset:
            await self.reset()
        # Echo off. The echo of this very command may or may not appear; both are fine.
        await self.write_register("SFE", "0")
        version = await self.version()
        app_version = await self.app_version()
        info = await self.info()
        if not self._family_fixed:
            self._family = _family_from_info(info, version)
        self.module_info = ModuleInfo(
            family=self._family,
            version=version,
            app_version=app_version,
            ipaddr=info.ipaddr,
            mac=info.addr64,
        )
        _LOGGER.info(
            "module ready: %s family, SKVER %s, SKAPPVER %s",
            self._family.name,
            escape_text(version),
            escape_text(app_version or "n/a"),
        )
        return self.module_info

    def _flip_family(self, command: str) -> bool:
        if self._family_fixed:
            return False
        old = self._family
        self._family = ModuleFamily.BP35C2 if old is ModuleFamily.BP35A1 else ModuleFamily.BP35A1
        _LOGGER.warning(
            "%s answered FAIL ER05 (wrong argument count): switching from the %s to the %s "
            "command dialect",
            command,
            old.name,
            self._family.name,
        )
        return True

    # ------------------------------------------------------------------ scan

    async def scan(
        self,
        *,
        durations: Iterable[int] = (4, 5, 6, 7),
        channel_mask: int = _ALL_CHANNELS,
        mode: int = 2,
        stop_when_found: bool = True,
    ) -> list[PanDescriptor]:
        """Active scan (``SKSCAN``) with escalating durations; returns every PAN heard.

        Each round lasts about 9.6 ms x (2^D + 1) per channel in ``channel_mask``. Rounds
        stop at the first that finds a PAN unless ``stop_when_found`` is false.
        Raises :class:`ScanTimeoutError` if a round never reports its end (EVENT 22).
        """
        check_range(channel_mask, 1, _ALL_CHANNELS, "channel mask")
        if mode not in (2, 3):
            raise InvalidArgumentError("scan mode must be 2 (active, with PairID) or 3")
        steps = [check_range(d, 0, 14, "scan duration") for d in durations]
        if not steps:
            raise InvalidArgumentError("at least one scan duration is needed")
        self._check_usable()
        found: dict[tuple[int, str], PanDescriptor] = {}
        async with self._lock:
            for duration in steps:
                for pan in await self._scan_once(duration, channel_mask, mode):
                    found[(pan.pan_id, pan.addr)] = pan
                if found and stop_when_found:
                    break
        return list(found.values())

    async def _scan_once(self, duration: int, mask: int, mode: int) -> list[PanDescriptor]:
        channels = bin(mask & 0x0FFFFFFF).count("1") or 28
        expected = 0.0096 * (2**duration + 1) * channels
        limit = expected * 1.5 + self.timeouts.scan_margin
        pans: list[PanDescriptor] = []
        with self.subscribe(_scan_message) as sub:
            flipped = False
            while True:
                args = [str(mode), f"{mask:08X}", f"{duration:X}"]
                if self._family.has_side:
                    args.append("0")
                try:
                    await self._command_locked("SKSCAN", args)
                    break
                except CommandError as exc:
                    if exc.code == ErrorCode.ER05 and not flipped and self._flip_family("SKSCAN"):
                        flipped = True
                        continue
                    raise
            _LOGGER.info("scanning (duration %d, about %.1f s)", duration, expected)
            # Until EVENT 22 the module is busy: if this wait is abandoned (timeout,
            # cancel), the next command waits for the scan's end first. EVENT 22 may
            # already be in: the subscription holds it, and it sets the flag again.
            self._scan_done.clear()
            self._scan_busy_until = asyncio.get_running_loop().time() + limit
            try:
                async with asyncio.timeout(limit):
                    while True:
                        message = await self._next(sub)
                        if isinstance(message, PanDescriptor):
                            _LOGGER.info(
                                "found PAN %04X on channel %02X (LQI %d)",
                                message.pan_id,
                                message.channel,
                                message.lqi,
                            )
                            pans.append(message)
                        elif isinstance(message, Event) and message.num in (
                            EventNum.ACTIVE_SCAN_DONE,
                            EventNum.ED_SCAN_DONE,
                        ):
                            self._scan_done.set()
                            return pans
            except TimeoutError:
                raise ScanTimeoutError(
                    f"active scan (duration {duration}) did not finish within {limit:.0f} s"
                ) from None

    # ------------------------------------------------------------------ join

    def add_secrets(self, *secrets: str) -> None:
        """Register strings to mask in every log record, error and repr."""
        self._redactor.add(*secrets)

    async def join(self, pan: PanDescriptor, *, rbid: str, password: str) -> JoinedPan:
        """Join one PAN: credentials, channel, PAN ID, SKLL64, SKADDNBR, SKJOIN.

        Works from a scanned descriptor or from a remembered one (no scan needed).

        Raises:
            AuthenticationError: EVENT 24 (wrong ID/password, or not the household's meter).
            JoinTimeoutError: neither EVENT 25 nor EVENT 24 arrived in time.
        """
        check_rbid(rbid)
        check_password(password)
        self._redactor.add(rbid, password)
        check_range(pan.channel, 0x21, 0x3C, "channel")
        check_range(pan.pan_id, 0, 0xFFFF, "PAN ID")
        mac = check_addr64(pan.addr)
        self._check_usable()
        async with self._lock:
            await self._command_locked("SKSETPWD", [f"{len(password):X}", password])
            await self._command_locked("SKSETRBID", [rbid])
            await self._command_locked("SKSREG", ["S2", f"{pan.channel:02X}"])
            await self._command_locked("SKSREG", ["S3", f"{pan.pan_id:04X}"])
            reply = await self._command_locked("SKLL64", [mac])
            ipaddr = next((v.ipaddr for v in reply.values if isinstance(v, AddressLine)), None)
            if ipaddr is None:  # pragma: no cover - Completion.LINE guarantees it
                raise JoinError("SKLL64 gave no address")
            try:
                await self._command_locked("SKADDNBR", [ipaddr, mac])
            except CommandError as exc:
                _LOGGER.debug("SKADDNBR refused (%s); continuing", exc)
            with self.subscribe(_join_message) as sub:
                try:
                    await self._command_locked("SKJOIN", [ipaddr])
                except CommandError as exc:
                    if exc.code != ErrorCode.ER10:
                        raise
                    # The stack still holds a (dead) session: end it, then join again.
                    _LOGGER.info("SKJOIN refused (ER10): ending the previous session first")
                    await self._terminate_locked()
                    await self._command_locked("SKJOIN", [ipaddr])
                _LOGGER.info("joining PAN %04X on channel %02X", pan.pan_id, pan.channel)
                await self._wait_pana(sub, self.timeouts.join)
        _LOGGER.info("joined: PANA session established with %s", ipaddr)
        return JoinedPan(pan=pan, ipaddr=ipaddr)

    async def rejoin(self) -> None:
        """``SKREJOIN``: re-authenticate the existing session (FAIL ER10 without one)."""
        self._check_usable()
        async with self._lock:
            with self.subscribe(_join_message) as sub:
                await self._command_locked("SKREJOIN", [])
                await self._wait_pana(sub, self.timeouts.join)

    async def _wait_pana(self, sub: Subscription, limit: float) -> None:
        try:
            async with asyncio.timeout(limit):
                while True:
                    message = await self._next(sub)
                    if isinstance(message, Event):
                        if message.num == EventNum.PANA_CONNECTED:
                            return
                        if message.num == EventNum.PANA_FAILED:
                            raise AuthenticationError(
                                "PANA authentication failed (EVENT 24): check the B-route ID "
                                "and password, and that the grid company has activated the "
                                "B route for this meter"
                            )
        except TimeoutError:
            raise JoinTimeoutError(
                f"PANA authentication did not finish within {limit:.0f} s"
            ) from None

    async def connect(
        self,
        *,
        rbid: str,
        password: str,
        pan: PanDescriptor | None = None,
        durations: Iterable[int] = (4, 5, 6, 7),
        channel_mask: int = _ALL_CHANNELS,
    ) -> JoinedPan:
        """Scan (unless ``pan`` is given) and join the household's meter.

        When several PANs answer, those whose PairID equals the last 8 characters of the
        B-route ID are tried first, in LQI order; if none matches, every PAN is tried in
        LQI order.
        """
        check_rbid(rbid)
        check_password(password)
        self._redactor.add(rbid, password)
        if pan is not None:
            return await self.join(pan, rbid=rbid, password=password)
        pans = await self.scan(durations=durations, channel_mask=channel_mask)
        return await self.join_best(pans, rbid=rbid, password=password)

    async def join_best(
        self, pans: Sequence[PanDescriptor], *, rbid: str, password: str
    ) -> JoinedPan:
        """Join the first PAN that accepts us, in :func:`order_candidates` order.

        Raises:
            ScanError: ``pans`` is empty.
            AuthenticationError, JoinTimeoutError: the last candidate failed too.
        """
        candidates = order_candidates(pans, rbid)
        if not candidates:
            raise ScanError(
                "no smart meter answered the active scan: check the dongle's distance to the "
                "meter and that the B route has been activated"
            )
        for candidate in candidates[:-1]:
            try:
                return await self.join(candidate, rbid=rbid, password=password)
            except (AuthenticationError, JoinTimeoutError) as exc:
                _LOGGER.warning(
                    "join of PAN %04X failed (%s); trying the next PAN",
                    candidate.pan_id,
                    exc.__class__.__name__,
                )
        return await self.join(candidates[-1], rbid=rbid, password=password)

    # ------------------------------------------------------------------ send

    async def send_to(
        self,
        ipaddr: str,
        payload: bytes,
        *,
        port: int = ECHONET_PORT,
        handle: int = 1,
        security: int = 1,
    ) -> bool:
        """``SKSENDTO``: send one UDP datagram and wait for the module's verdict.

        Waits for OK and for EVENT 21 (``00`` sent, ``01`` failed), which may arrive
        before or shortly after the OK. Returns True when EVENT 21 ``00`` confirmed the
        transmission, False when no verdict came within ``timeouts.send_event_grace``.

        Raises:
            TransmitLimitError: the ARIB transmit-time limit is active (EVENT 32).
            SendError: the module reported a failed transmission (EVENT 21 01, FAIL ER10).
        """
        dest = check_ipaddr(ipaddr)
        check_range(port, 1, 0xFFFF, "port")
        check_range(handle, 1, 6, "handle")
        check_range(security, 0, 2, "security")
        if not 1 <= len(payload) <= 1232:
            raise InvalidArgumentError("payload must be 1 to 1232 bytes")
        self._check_usable()
        if self._tx_limited:
            stale = asyncio.get_running_loop().time() - self._tx_limited_since > _TX_LIMIT_STALE
            # EVENT 33 may have been lost: after an hour, ask the module (register SFB).
            if not (stale and not await self.refresh_tx_limit()):
                raise TransmitLimitError("the ARIB transmit-time limit is active (EVENT 32)")
        async with self._lock:
            self._sending = True
            try:
                return await self._send_locked(dest, payload, port, handle, security)
            finally:
                self._sending = False

    async def _send_locked(
        self, dest: str, payload: bytes, port: int, handle: int, security: int
    ) -> bool:
        with self.subscribe(_udp_sent_message(dest)) as sub:
            flipped = False
            while True:
                args = [str(handle), dest, f"{port:04X}", str(security)]
                if self._family.has_side:
                    args.append("0")
                args.append(f"{len(payload):04X}")
                try:
                    await self._command_locked(
                        "SKSENDTO", args, timeout=self.timeouts.send, payload=bytes(payload)
                    )
                    break
                except CommandError as exc:
                    if exc.code == ErrorCode.ER05 and not flipped and self._flip_family("SKSENDTO"):
                        flipped = True
                        continue
                    if exc.code == ErrorCode.ER10:
                        if self._tx_limited:
                            raise TransmitLimitError(str(exc)) from exc
                        raise SessionError(
                            f"module refused to send (no PANA session?): {exc}"
                        ) from exc
                    raise
            return await self._wait_sent(sub)

    async def _wait_sent(self, sub: Subscription) -> bool:
        try:
            async with asyncio.timeout(self.timeouts.send_event_grace):
                while True:
                    message = await self._next(sub)
                    if isinstance(message, Event) and message.param in (0, 1):
                        if self._orphan_verdicts:
                            # Most likely the late verdict of an earlier send.
                            self._orphan_verdicts -= 1
                            continue
                        if message.param == 0:
                            return True
                        if self._tx_limited:
                            raise TransmitLimitError("transmission refused: ARIB limit active")
                        raise SendError("the module reported a failed transmission (EVENT 21 01)")
        except TimeoutError:
            _LOGGER.debug("no EVENT 21 verdict after SKSENDTO; assuming it was sent")
            # If it comes later, it must not be taken for the next send's verdict.
            self._orphan_verdicts = min(self._orphan_verdicts + 1, 8)
            return False


def _register(register: str) -> str:
    text = str(register).upper()
    if not (
        2 <= len(text) <= 3 and text[0] == "S" and all(c in "0123456789ABCDEF" for c in text[1:])
    ):
        raise InvalidArgumentError(f"register must look like S02 or SFE, got {register!r}")
    return text


def _family_from_info(info: Info, version: str) -> ModuleFamily:
    field5 = info.field5.upper()
    if field5 == "FFFE" or len(field5) == 4:
        return ModuleFamily.BP35A1
    if field5 in ("0", "1"):
        return ModuleFamily.BP35C2
    _LOGGER.warning(
        "cannot tell the module family from SKINFO (%s) / SKVER %s; assuming BP35A1 and "
        "correcting on FAIL ER05",
        escape_text(field5),
        escape_text(version),
    )
    return ModuleFamily.BP35A1


def order_candidates(pans: Iterable[PanDescriptor], rbid: str) -> list[PanDescriptor]:
    """Order scanned PANs for joining: PairID matches first, each group by LQI (best first).

    When at least one PAN's PairID equals the last 8 characters of the B-route ID, only
    those are returned: the others belong to neighbours.
    """
    ordered = sorted(pans, key=lambda p: p.lqi, reverse=True)
    pair_id = rbid[-8:].upper()
    matching = [p for p in ordered if p.pair_id is not None and p.pair_id.upper() == pair_id]
    return matching or ordered


def _scan_message(message: Message) -> bool:
    return isinstance(message, PanDescriptor | PortLost) or (
        isinstance(message, Event)
        and message.num in (EventNum.ACTIVE_SCAN_DONE, EventNum.ED_SCAN_DONE)
    )


def _join_message(message: Message) -> bool:
    return isinstance(message, PortLost) or (
        isinstance(message, Event)
        and message.num in (EventNum.PANA_CONNECTED, EventNum.PANA_FAILED)
    )


def _term_message(message: Message) -> bool:
    return isinstance(message, PortLost) or (
        isinstance(message, Event)
        and message.num in (EventNum.SESSION_TERMINATED, EventNum.SESSION_TERMINATE_TIMEOUT)
    )


def _udp_sent_message(dest: str) -> Callable[[Message], bool]:
    def accept(message: Message) -> bool:
        return isinstance(message, PortLost) or (
            isinstance(message, Event)
            and message.num == EventNum.UDP_SENT
            and (message.sender is None or message.sender == dest)
        )

    return accept
