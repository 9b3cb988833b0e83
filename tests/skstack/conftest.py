"""A scripted module for precise client tests (the full simulator lives in aiobroute.testing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from aiobroute.errors import PortClosedError
from aiobroute.skstack._commands import CommandSyntaxError, SkCommand, decode_command
from aiobroute.skstack.client import SkStackClient, SkTimeouts
from aiobroute.testing._uart import CommandLine, SendToCommand, UartInput
from aiobroute.transport import MemoryStream, memory_pipe

Handler = Callable[["ScriptedModule", str, bytes], None]


class ScriptedModule:
    """Reads command lines from the device end and answers with a handler function.

    ``handler(module, line, payload)`` calls ``module.send(...)`` to answer; ``payload`` is
    the binary part of SKSENDTO. Every received line is kept in ``lines``.
    """

    def __init__(self, device: MemoryStream, handler: Handler) -> None:
        self.device = device
        self.handler = handler
        self.lines: list[str] = []
        #: The received lines decoded by the shared command decoder (None: refused).
        self.commands: list[SkCommand | None] = []
        self.raw = bytearray()
        self._uart = UartInput()
        self._task: asyncio.Task[None] | None = None

    def send(self, *lines: str | bytes) -> None:
        for line in lines:
            data = line if isinstance(line, bytes) else line.encode() + b"\r\n"
            self.device.write_nowait(data)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        with contextlib.suppress(PortClosedError):
            while True:
                data = await self.device.read()
                self.raw += data
                for item in self._uart.feed(data):
                    self._receive(item)

    def _receive(self, item: CommandLine | SendToCommand) -> None:
        """One command as the simulator's UART front end frames it, decoded if it can be."""
        if isinstance(item, SendToCommand):
            line, payload = item.header.decode().rstrip(" "), item.payload
        else:
            line, payload = item.text.decode("latin-1"), b""
            if not line:
                return
        self.lines.append(line)
        try:
            command: SkCommand | None = decode_command(
                line, payload=payload if isinstance(item, SendToCommand) else None
            )
        except CommandSyntaxError:
            command = None
        self.commands.append(command)
        self.handler(self, line, payload)


FAST = SkTimeouts(
    command=0.5, reset_settle=0.0, scan_margin=0.5, join=1.0, send=0.5, send_event_grace=0.2
)


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Handler], tuple[SkStackClient, ScriptedModule]]]:
    created: list[tuple[SkStackClient, ScriptedModule]] = []

    def make(handler: Handler, **kwargs: object) -> tuple[SkStackClient, ScriptedModule]:
        host, device = memory_pipe()
        module = ScriptedModule(device, handler)
        module.start()
        kwargs.setdefault("timeouts", FAST)
        resync_first = bool(kwargs.pop("resync_first", False))
        client = SkStackClient(host, **kwargs)  # type: ignore[arg-type]
        # Most scripts answer only what they test; the start-up resync (SKVER) is
        # tested on its own (resync_first=True).
        client._resync_needed = resync_first
        client.start()
        created.append((client, module))
        return client, module

    yield make
    for client, module in created:
        await client.close()
        await module.stop()
