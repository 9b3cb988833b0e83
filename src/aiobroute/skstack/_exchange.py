"""The command exchange of the SKSTACK IP client: one command at a time, resync, events.

:meth:`_CommandClient._request` is the one way to send a command whose outcome is an
EVENT (scan, join, re-join, SKTERM, SKSENDTO's EVENT 21 verdict): it subscribes before
writing, retries once in the other dialect on ``FAIL ER05``, and waits for the event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TypeVar

from aiobroute._log import TRACE
from aiobroute.errors import (
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    InvalidArgumentError,
    PortClosedError,
    ProtocolError,
    TransportError,
)
from aiobroute.skstack._commands import (
    SkCommand,
    SkSendTo,
    SkVer,
    check_token,
    decode_command,
    encode_command,
    has_dialects,
    secret_values,
    spec_of,
)
from aiobroute.skstack._core import (
    _LOGGER,
    _RAW,
    CommandReply,
    _ClientCore,
    _Pending,
)
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import ErrorCode, Message

__all__: list[str] = []

_T = TypeVar("_T")
_V = TypeVar("_V", bound=Message)
_QUIET = 0.5


class _CommandClient(_ClientCore):
    """Sends commands: checks, the single command in flight, resynchronisation."""

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

        Arguments are checked against the command table (either dialect's layout);
        nothing is written when one is invalid. Raises :class:`CommandError` for
        ``FAIL ERxx`` and :class:`CommandTimeoutError` when the module stays silent.
        """
        for arg in args:
            check_token(arg, f"{name} argument")
        command = decode_command(" ".join((name, *args)), payload=payload)
        # Written in the layout the caller chose (the family in use when both fit).
        count = len(args)
        layout = next(
            (f for f in (self._family, *ModuleFamily) if count in spec_of(command).arity(f)),
            self._family,
        )
        return await self._send_command(command, timeout=timeout, layout=layout)

    async def _send_command(
        self,
        command: SkCommand,
        *,
        timeout: float | None = None,
        layout: ModuleFamily | None = None,
    ) -> CommandReply:
        self._check_usable()
        async with self._lock:
            return await self._command_locked(command, timeout=timeout, layout=layout)

    async def _command_locked(
        self,
        command: SkCommand,
        *,
        timeout: float | None = None,
        resync: bool = False,
        layout: ModuleFamily | None = None,
    ) -> CommandReply:
        """Write one command (in the dialect of ``layout``, default the family in use)."""
        spec = spec_of(command)
        if spec.flash and not self._allow_flash_write:
            raise InvalidArgumentError(
                f"{command.name} writes the module's flash memory; pass allow_flash_write=True"
                " to allow it"
            )
        self._redactor.add(*secret_values(command))
        family = layout or self._family
        wire = encode_command(command, family)
        self._check_usable()
        if not self._scan_done.is_set():
            await self._wait_scan_end()
        if self._resync_needed and not resync:
            await self._resync_locked()
        loop = asyncio.get_running_loop()
        pending = _Pending(spec, command, family, loop.create_future(), resync=resync)
        self._pending = pending
        try:
            if _RAW.isEnabledFor(TRACE):
                _RAW.log(TRACE, ">> %s", self._redactor.redact_text(pending.display))
            async with asyncio.timeout(self.timeouts.command if timeout is None else timeout):
                await self._stream.write(wire)
                return await pending.future
        except TimeoutError:
            raise CommandTimeoutError(f"no answer to {pending.display!r}") from None
        except TransportError as exc:
            if isinstance(exc, PortClosedError):
                raise
            raise PortClosedError(str(exc)) from exc
        except CommandError:
            if not isinstance(command, SkSendTo):
                raise
            # The module refused SKSENDTO's header: end the line its parser may still be
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

    async def _command_retrying(
        self, command: SkCommand, *, timeout: float | None = None
    ) -> CommandReply:
        """:meth:`_command_locked`, again in the other dialect after ``FAIL ER05``."""
        try:
            return await self._command_locked(command, timeout=timeout)
        except CommandError as exc:
            if not (
                exc.code == ErrorCode.ER05
                and has_dialects(command)
                and self._flip_family(command.name)
            ):
                raise
        return await self._command_locked(command, timeout=timeout)

    async def _request(
        self,
        command: SkCommand,
        *,
        accept: Callable[[Message], bool],
        until: Callable[[Message], _T | None],
        limit: float,
        on_timeout: Callable[[], _T],
        started: Callable[[], None] | None = None,
        timeout: float | None = None,
    ) -> _T:
        """Send ``command`` (lock held), then wait for the message that ends it.

        Messages ``accept``\\ ed from before the write on are passed to ``until``, which
        returns the result (not None) or raises; ``started`` runs once the command was
        accepted. After ``limit`` seconds without a result, returns ``on_timeout()``
        (which may raise). A lost port raises its :class:`PortClosedError`.
        """
        with self.subscribe(accept) as sub:
            await self._command_retrying(command, timeout=timeout)
            if started is not None:
                started()
            deadline = asyncio.get_running_loop().time() + limit
            while True:
                # The message that ends it has usually come already (EVENT 21 before
                # OK): a timer is armed only to wait for one.
                message = sub.get_nowait()
                if message is None:
                    remaining = deadline - asyncio.get_running_loop().time()
                    try:
                        message = await sub.get(remaining)
                    except TimeoutError:
                        break
                result = until(self._checked(message))
                if result is not None:
                    return result
        return on_timeout()

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
            await self._command_locked(SkVer(), resync=True)
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

    async def _value(self, command: SkCommand, kind: type[_V]) -> _V:
        reply = await self._send_command(command)
        for value in reply.values:
            if isinstance(value, kind):
                return value
        raise ProtocolError(f"{command.name} answered OK without its {kind.__name__} line")
