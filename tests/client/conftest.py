"""A scripted module for precise client tests (the full simulator lives in aiobroute.testing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from aiobroute.errors import PortClosedError
from aiobroute.skstack.client import SkStackClient, SkTimeouts
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
        self.raw = bytearray()
        self._buffer = bytearray()
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
                self._buffer += data
                self._consume()

    def _consume(self) -> None:
        while True:
            if self._buffer.startswith(b"SKSENDTO "):
                header_end = _sendto_header_end(self._buffer)
                if header_end is None:
                    return
                header = self._buffer[:header_end].decode()
                length = int(header.split()[-1], 16)
                end = header_end + 1 + length
                if len(self._buffer) < end:
                    return
                payload = bytes(self._buffer[header_end + 1 : end])
                del self._buffer[:end]
                self.lines.append(header)
                self.handler(self, header, payload)
                continue
            cut = min((i for i in (self._buffer.find(b"\r"),) if i >= 0), default=-1)
            if cut < 0:
                return
            line = self._buffer[:cut].decode()
            del self._buffer[: cut + 1]
            if self._buffer.startswith(b"\n"):
                del self._buffer[:1]
            if line:
                self.lines.append(line)
                self.handler(self, line, b"")


def _sendto_header_end(buffer: bytearray) -> int | None:
    tokens = 0
    for index, byte in enumerate(buffer):
        if byte == 0x20:
            tokens += 1
            text = buffer[:index].decode(errors="replace").split()
            # header: SKSENDTO handle ip port sec [side] len -> len is 4 hex digits
            if len(text) >= 6 and len(text[-1]) == 4 and tokens >= 6:
                return index
    return None


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
