"""Realistic delivery of the module's output: a UART behind a USB-serial bridge.

A real dongle does not hand the host whole lines. Its UART shifts bytes out at the baud
rate (115200 baud, 8N1: about 87 us per byte) into a USB-serial bridge (FTDI FT232R,
CP210x, the BP35A1's own USB part), which forwards them in USB packets: a packet goes
out as soon as it is full, otherwise when the bridge's *latency timer* expires (16 ms
by default on FTDI chips). The host therefore wakes up once per packet, several times
for a long ``ERXUDP`` line, and sometimes in the middle of a line.

:class:`PacedPort` wraps a device port (a pty master or the device end of an in-memory
pipe) and delivers what the simulated module writes that way, on the simulator's clock.
It is opt-in (``Simulator(..., uart_timing=UartTiming())``); without it output arrives
as the module writes it. Only the module-to-host direction is paced: the host's
commands reach the module at once.

The latency timer is modelled as FTDI documents it: it runs periodically from the last
packet sent (a full packet restarts it); when it expires with bytes in the buffer they
are sent in a short packet. A lone reply thus waits between 0 and ``latency_s`` after
its last byte, as on hardware.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
from typing import TYPE_CHECKING

import attrs

from aiobroute.errors import PortClosedError

if TYPE_CHECKING:
    from aiobroute.testing._clock import SimClock
    from aiobroute.testing._module import DevicePort

__all__ = ["PacedPort", "UartTiming"]


def _positive(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0 or math.isinf(value):
        raise ValueError(f"{attribute.name} must be positive and finite, got {value!r}")


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0 or math.isinf(value):
        raise ValueError(f"{attribute.name} must be zero or positive, got {value!r}")


@attrs.frozen
class UartTiming:
    """How the module's output reaches the host: baud rate and USB-serial bridge.

    The defaults describe an FTDI-like bridge at 115200 baud 8N1: 64-byte USB packets
    of which 2 bytes are modem status (62 bytes of data per packet) and a 16 ms latency
    timer.

    Attributes:
        baudrate: UART speed in bits per second.
        bits_per_byte: Bits on the wire per byte (8N1: start + 8 data + stop = 10).
        packet_size: Size of a USB packet from the bridge, in bytes.
        status_bytes: Bytes of each packet that are not data (2 on FTDI, 0 on CP210x).
        latency_s: The bridge's latency timer, in seconds (0: send every byte at once).
    """

    baudrate: float = attrs.field(default=115200.0, validator=_positive)
    bits_per_byte: float = attrs.field(default=10.0, validator=_positive)
    packet_size: int = 64
    status_bytes: int = 2
    latency_s: float = attrs.field(default=0.016, validator=_non_negative)

    def __attrs_post_init__(self) -> None:
        if self.status_bytes < 0 or self.packet_size - self.status_bytes < 1:
            raise ValueError("a USB packet must carry at least one data byte")

    @property
    def byte_s(self) -> float:
        """Time one byte takes on the UART, in seconds."""
        return self.bits_per_byte / self.baudrate

    @property
    def payload_size(self) -> int:
        """Data bytes per USB packet."""
        return self.packet_size - self.status_bytes


class PacedPort:
    """A :class:`DevicePort` whose output reaches the host as a USB-serial bridge sends it.

    Writes are queued at once (never blocking the module); a pump task delivers them to
    the wrapped port packet by packet at the times :class:`UartTiming` gives, on
    ``clock``. Reads and closing go straight to the wrapped port. Must be created in a
    running event loop; :meth:`aclose` (or :meth:`close_nowait` then :meth:`wait_closed`)
    stops the pump; bytes not delivered yet are dropped, as when a dongle is unplugged.
    """

    def __init__(self, port: DevicePort, timing: UartTiming, clock: SimClock) -> None:
        self._port = port
        self._timing = timing
        self._clock = clock
        #: Pending output: (simulated time the UART starts shifting it out, bytes).
        self._segments: collections.deque[tuple[float, bytes]] = collections.deque()
        self._line_free_at = 0.0
        self._last_packet_at = clock.monotonic()
        self._wakeup = asyncio.Event()
        self._closed = False
        self.packets = 0
        self._pump = asyncio.get_running_loop().create_task(self._run())

    @property
    def port(self) -> DevicePort:
        """The wrapped port."""
        return self._port

    async def read(self) -> bytes:
        """Bytes written by the host (not paced)."""
        return await self._port.read()

    def write_nowait(self, data: bytes) -> None:
        """Queue ``data``: the UART starts on it once the bytes before it are out."""
        if self._closed:
            raise PortClosedError("paced port closed")
        if not data:
            return
        start = max(self._line_free_at, self._clock.monotonic())
        self._segments.append((start, data))
        self._line_free_at = start + len(data) * self._timing.byte_s
        self._wakeup.set()

    def close_nowait(self) -> None:
        """Stop delivering, drop what is pending and close the wrapped port."""
        if self._closed:
            return
        self._closed = True
        self._segments.clear()
        self._pump.cancel()
        self._port.close_nowait()

    async def wait_closed(self) -> None:
        """Wait until the pump task has ended (after :meth:`close_nowait`)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump

    async def aclose(self) -> None:
        """Close and wait for the pump task."""
        self.close_nowait()
        await self.wait_closed()

    # ------------------------------------------------------------------ pump

    def _next_packet(self) -> tuple[float, int]:
        """When the next packet leaves the bridge, and how many data bytes it carries."""
        byte_s = self._timing.byte_s
        size = self._timing.payload_size
        first_start, _ = self._segments[0]
        first_arrival = first_start + byte_s
        # The time the bridge's buffer holds a full packet, if the queued bytes fill one.
        count = 0
        full_at = math.inf
        for start, data in self._segments:
            if count + len(data) >= size:
                full_at = start + (size - count) * byte_s
                break
            count += len(data)
        latency = self._timing.latency_s
        if latency > 0:
            periods = max(1, math.ceil((first_arrival - self._last_packet_at) / latency))
            timer_at = self._last_packet_at + periods * latency
        else:
            timer_at = first_arrival
        at = min(full_at, timer_at)
        return at, size if at == full_at else self._arrived_by(at, size)

    def _arrived_by(self, at: float, limit: int) -> int:
        """How many queued bytes have reached the bridge at simulated time ``at``."""
        byte_s = self._timing.byte_s
        count = 0
        for start, data in self._segments:
            if start >= at:
                break
            arrived = min(len(data), math.floor((at - start) / byte_s + 1e-9))
            count += arrived
            if arrived < len(data) or count >= limit:
                break
        return min(count, limit)

    def _take(self, count: int) -> bytes:
        out = bytearray()
        while count > 0 and self._segments:
            start, data = self._segments.popleft()
            if len(data) > count:
                self._segments.appendleft((start + count * self._timing.byte_s, data[count:]))
                data = data[:count]
            out += data
            count -= len(data)
        return bytes(out)

    async def _run(self) -> None:
        clock = self._clock
        while True:
            if not self._segments:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            at, count = self._next_packet()
            if at > clock.monotonic():
                await self._sleep_or_write(at)
                continue
            chunk = self._take(max(count, 1))
            self._last_packet_at = at
            self.packets += 1
            try:
                self._port.write_nowait(chunk)
            except PortClosedError:
                self._segments.clear()

    async def _sleep_or_write(self, until: float) -> None:
        """Sleep on the simulated clock until ``until``, or less if more output comes."""
        self._wakeup.clear()
        sleeper = asyncio.ensure_future(self._clock.sleep_until(until))
        waiter = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, waiter):
                task.cancel()
            await asyncio.gather(sleeper, waiter, return_exceptions=True)
