"""Helpers shared by the simulator tests: the host end of a pipe, and a running simulator.

Imported as ``tests.testing._host`` (pytest puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

from aiobroute.errors import PortClosedError
from aiobroute.testing import ModulePreset, Simulator
from aiobroute.transport import MemoryStream

CRLF = b"\r\n"
GET_E7 = bytes.fromhex("1081000105FF010288016201E700")
"""A Get request for the instantaneous power (EPC 0xE7), TID 1."""


class Host:
    """The host end of a simulator pipe: collects what the module prints.

    Attributes:
        stream: The host end of the in-memory pipe.
        buf: What the module printed and no call has consumed yet.
        closed: True once the pipe is closed (unplugged or stopped).
    """

    def __init__(self, stream: MemoryStream) -> None:
        self.stream = stream
        self.buf = bytearray()
        self.closed = False
        self._changed = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                self.buf += await self.stream.read()
                self._changed.set()
        except PortClosedError:
            self.closed = True
            self._changed.set()

    async def send(self, data: bytes) -> None:
        """Write ``data`` to the module."""
        await self.stream.write(data)

    async def _wait(self, ready: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not ready():
                self._changed.clear()
                await self._changed.wait()

    async def take(self, size: int) -> bytes:
        """Consume and return the next ``size`` bytes, once they arrived."""
        await self._wait(lambda: len(self.buf) >= size)
        data = bytes(self.buf[:size])
        del self.buf[:size]
        return data

    async def expect(self, expected: bytes) -> None:
        """Assert that the next bytes printed are exactly ``expected``."""
        got = await self.take(len(expected))
        assert got == expected

    async def until(self, marker: bytes) -> bytes:
        """Consume and return everything up to and including ``marker``."""
        await self._wait(lambda: marker in self.buf)
        end = self.buf.index(marker) + len(marker)
        data = bytes(self.buf[:end])
        del self.buf[:end]
        return data

    async def line(self) -> bytes:
        """Consume and return the next line, CRLF included."""
        return await self.until(CRLF)

    async def idle(self) -> bytes:
        """Everything printed once the (instant) module has nothing left to do."""
        for _ in range(50):
            await asyncio.sleep(0)
        data = bytes(self.buf)
        self.buf.clear()
        return data

    async def wait_closed(self) -> None:
        """Wait until the pipe is closed."""
        await self._wait(lambda: self.closed)

    async def close(self) -> None:
        """Stop collecting."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def lines(*items: str) -> bytes:
    """Module output lines, each ended with CRLF."""
    return b"".join(item.encode("ascii") + CRLF for item in items)


async def echo_off(host: Host) -> None:
    """Switch the echo off (SKSREG SFE 0), asserting the module's exact answer."""
    await host.send(b"SKSREG SFE 0\r\n")
    await host.expect(lines("SKSREG SFE 0", "OK"))


def setup_commands(sim: Simulator, *, password: str | None = None) -> list[str]:
    """The commands that register the credentials and tune to the PAN, before SKJOIN."""
    pan = sim.module.pan
    password = password or sim.password
    return [
        f"SKSETPWD {len(password):X} {password}",
        f"SKSETRBID {sim.rbid}",
        f"SKSREG S2 {pan.channel:02X}",
        f"SKSREG S3 {pan.pan_id:04X}",
    ]


async def sendto(sim: Simulator, host: Host, payload: bytes = GET_E7) -> None:
    """Send ``payload`` to the meter, secured, in the BP35A1-family shape (no wait for OK)."""
    await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 1 {len(payload):04X} ".encode() + payload)


@contextlib.asynccontextmanager
async def running(
    model: ModulePreset | str = "BP35A1", *, echo: bool = True, **options: object
) -> AsyncIterator[tuple[Simulator, Host]]:
    """A simulator served in memory (instant timing unless given), with a Host on its pipe.

    Args:
        model: The module preset.
        echo: False sends SKSREG SFE 0 first and waits for its OK.
        **options: More keyword arguments for :class:`Simulator`.

    Yields:
        The simulator and the host end of its pipe.
    """
    options.setdefault("timing", "instant")
    sim = Simulator(model, **options)  # type: ignore[arg-type]
    async with sim.memory() as stream:
        host = Host(stream)
        if not echo:
            await host.send(b"SKSREG SFE 0\r\n")
            await host.until(b"OK\r\n")
        yield sim, host
