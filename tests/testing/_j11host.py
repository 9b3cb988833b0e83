"""The host end of a J11 simulator pipe, driven with our own codec.

Imported as ``tests.testing._j11host``. Time is simulated: with ``timing="instant"``
nothing waits; with realistic timing the tests use a frozen clock and ``advance``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiobroute.errors import PortClosedError
from aiobroute.j11 import (
    ErrorReply,
    Malformed,
    Message,
    MessageReader,
    Request,
    Skipped,
    is_error_reply,
    is_response,
)
from aiobroute.testing import SimClock, Simulator
from aiobroute.transport import MemoryStream

GET_E7 = bytes.fromhex("1081000105FF010288016201E700")
"""A Get request for the instantaneous power (EPC 0xE7), TID 1."""


class J11Host:
    """Reads typed J11 messages from the module; sends requests.

    Attributes:
        messages: Messages received and not consumed yet.
        skipped: Every run of bytes the reader discarded.
        malformed: Every frame whose data did not fit its code.
        raw: Every byte received.
    """

    def __init__(self, stream: MemoryStream, clock: SimClock) -> None:
        self.stream = stream
        self.clock = clock
        self.reader = MessageReader()
        self.messages: list[Message] = []
        self.skipped: list[Skipped] = []
        self.malformed: list[Malformed] = []
        self.raw = bytearray()
        self.closed = False
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                data = await self.stream.read()
                self.raw += data
                for item in self.reader.feed(data):
                    if isinstance(item, Skipped):
                        self.skipped.append(item)
                    elif isinstance(item, Malformed):
                        self.malformed.append(item)
                    else:
                        self.messages.append(item)
                self._changed.set()
        except PortClosedError:
            self.closed = True
            self._changed.set()

    async def send(self, data: Request | bytes) -> None:
        """Write a request (or raw bytes) to the module."""
        await self.stream.write(data if isinstance(data, bytes) else data.encode())

    async def wait_for(
        self, ready: Callable[[], bool], *, step: float = 0.0, limit: float = 0.0
    ) -> float:
        """Wait until ``ready()``; advancing simulated time by ``step`` while idle.

        Returns the simulated seconds that passed. Fails after ``limit`` simulated seconds
        (or 5 real seconds without advancing).
        """
        start = self.clock.monotonic()
        async with asyncio.timeout(10):
            while not ready():
                self._changed.clear()
                if step > 0:
                    assert self.clock.monotonic() - start <= limit, "nothing came in time"
                    try:
                        async with asyncio.timeout(0.001):
                            await self._changed.wait()
                    except TimeoutError:
                        self.clock.advance(step)
                else:
                    await self._changed.wait()
        return self.clock.monotonic() - start

    async def next(self, *, step: float = 0.0, limit: float = 0.0) -> Message:
        """Consume and return the next message."""
        await self.wait_for(lambda: bool(self.messages), step=step, limit=limit)
        return self.messages.pop(0)

    async def take_until(
        self, match: Callable[[Message], bool], *, step: float = 0.0, limit: float = 0.0
    ) -> list[Message]:
        """Consume messages up to and including the first that ``match`` accepts."""
        await self.wait_for(lambda: any(match(m) for m in self.messages), step=step, limit=limit)
        index = next(i for i, m in enumerate(self.messages) if match(m))
        taken, self.messages = self.messages[: index + 1], self.messages[index + 1 :]
        return taken

    async def request(
        self, request: Request, *, step: float = 0.0, limit: float = 0.0
    ) -> tuple[Message, list[Message]]:
        """Send ``request``; return its response (or error reply) and the messages before."""
        await self.send(request)
        code = request.command | 0x2000
        taken = await self.take_until(
            lambda m: is_error_reply(m) or (is_response(m.command) and m.command == code),
            step=step,
            limit=limit,
        )
        return taken[-1], taken[:-1]

    async def idle(self) -> list[Message]:
        """Every message received once the (instant) module has nothing left to do."""
        for _ in range(100):
            await asyncio.sleep(0)
        taken, self.messages = self.messages, []
        return taken

    async def close(self) -> None:
        """Stop reading."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.asynccontextmanager
async def running(
    model: str = "RS_WSUHA_J11", *, boot: bool = True, **options: object
) -> AsyncIterator[tuple[Simulator, J11Host]]:
    """A J11 simulator served in memory (instant timing unless given) and its host.

    With ``boot`` the boot notification sent on power-up is consumed first.
    """
    options.setdefault("timing", "instant")
    sim = Simulator(model, **options)  # type: ignore[arg-type]
    async with sim.memory() as stream:
        host = J11Host(stream, sim.clock)
        try:
            if boot:
                first = await host.next(step=0.1, limit=5.0)
                assert first.command == 0x6019
            yield sim, host
        finally:
            await host.close()


def frozen_clock() -> SimClock:
    """A clock that (practically) only moves when the test advances it."""
    return SimClock(speed=1e-6)


__all__ = ["GET_E7", "ErrorReply", "J11Host", "frozen_clock", "running"]
