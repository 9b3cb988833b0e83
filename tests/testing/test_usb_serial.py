"""The opt-in UART / USB-serial bridge timing of the simulator's output (PacedPort)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import pytest

from aiobroute.echonet import Frame
from aiobroute.errors import PortClosedError
from aiobroute.testing import PacedPort, SimClock, Simulator, UartTiming

#: A clock that does not move unless advanced (a billionth of a second per second).
FROZEN = 1e-9


class RecordingPort:
    """A device port that records what reaches the host, write by write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    async def read(self) -> bytes:
        raise PortClosedError("not used")

    def write_nowait(self, data: bytes) -> None:
        if self.closed:
            raise PortClosedError("closed")
        self.writes.append(data)

    def close_nowait(self) -> None:
        self.closed = True


async def settle() -> None:
    """Let the pump task run everything that is due."""
    for _ in range(20):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def bridged(timing: UartTiming) -> AsyncIterator[tuple[SimClock, RecordingPort, PacedPort]]:
    """A PacedPort with ``timing`` over a RecordingPort, on a frozen clock; closed after."""
    clock = SimClock(speed=FROZEN)
    inner = RecordingPort()
    paced = PacedPort(inner, timing, clock)
    try:
        yield clock, inner, paced
    finally:
        await paced.aclose()


def advance_to(clock: SimClock, target: float) -> None:
    clock.advance(max(0.0, target - clock.monotonic()))


def test_timing_defaults_describe_an_ftdi_bridge_at_115200() -> None:
    timing = UartTiming()
    assert timing.payload_size == 62
    assert timing.byte_s == pytest.approx(10 / 115200)
    assert timing.latency_s == 0.016


@pytest.mark.parametrize(
    "kwargs",
    [
        {"baudrate": 0},
        {"baudrate": -9600},
        {"bits_per_byte": 0},
        {"latency_s": -0.001},
        {"latency_s": math.inf},
        {"packet_size": 2, "status_bytes": 2},
        {"status_bytes": -1},
    ],
)
def test_timing_rejects_impossible_values(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        UartTiming(**kwargs)  # type: ignore[arg-type]


async def test_output_arrives_in_full_packets_then_at_the_latency_timer() -> None:
    timing = UartTiming()
    async with bridged(timing) as (clock, inner, paced):
        start = clock.monotonic()
        data = bytes(range(150))
        paced.write_nowait(data)
        await settle()
        assert inner.writes == []  # nothing has crossed the UART yet
        full = start + 62 * timing.byte_s
        advance_to(clock, full - 1e-6)
        await settle()
        assert inner.writes == []
        advance_to(clock, full + 1e-7)
        await settle()
        assert inner.writes == [data[:62]]  # a full packet leaves at once
        advance_to(clock, start + 124 * timing.byte_s + 1e-7)
        await settle()
        assert inner.writes == [data[:62], data[62:124]]
        # The last 26 bytes are on the bridge well before its latency timer expires,
        # 16 ms after the previous packet; they wait for it.
        second = start + 124 * timing.byte_s
        advance_to(clock, second + timing.latency_s - 1e-4)
        await settle()
        assert len(inner.writes) == 2
        advance_to(clock, second + timing.latency_s + 1e-6)
        await settle()
        assert inner.writes == [data[:62], data[62:124], data[124:]]
        assert paced.packets == 3


async def test_short_writes_are_merged_into_one_packet_until_the_timer() -> None:
    timing = UartTiming(latency_s=0.01)
    async with bridged(timing) as (clock, inner, paced):
        start = clock.monotonic()
        for line in (b"EVENT 21 FE80\r\n", b"OK\r\n"):
            paced.write_nowait(line)
        await settle()
        advance_to(clock, start + 0.0099)
        await settle()
        assert inner.writes == []
        advance_to(clock, start + 0.0101)
        await settle()
        assert inner.writes == [b"EVENT 21 FE80\r\nOK\r\n"]


async def test_a_write_while_waiting_can_complete_a_packet_earlier() -> None:
    timing = UartTiming(latency_s=1.0)
    async with bridged(timing) as (clock, inner, paced):
        start = clock.monotonic()
        paced.write_nowait(b"a" * 10)
        await settle()  # the pump now sleeps until the 1 s timer
        paced.write_nowait(b"b" * 60)
        advance_to(clock, start + 62 * timing.byte_s + 1e-7)
        await settle()
        assert inner.writes == [b"a" * 10 + b"b" * 52]


async def test_zero_latency_sends_each_byte_as_it_arrives() -> None:
    timing = UartTiming(latency_s=0.0)
    async with bridged(timing) as (clock, inner, paced):
        start = clock.monotonic()
        paced.write_nowait(b"OK\r\n")
        advance_to(clock, start + 2 * timing.byte_s + 1e-7)
        await settle()
        assert b"".join(inner.writes) == b"OK"


async def test_close_drops_pending_output_and_ends_the_pump() -> None:
    clock = SimClock(speed=FROZEN)
    inner = RecordingPort()
    paced = PacedPort(inner, UartTiming(), clock)
    paced.write_nowait(b"pending\r\n")
    await paced.aclose()
    assert inner.closed
    clock.advance(1.0)
    await settle()
    assert inner.writes == []
    with pytest.raises(PortClosedError):
        paced.write_nowait(b"more")
    paced.close_nowait()  # idempotent


async def test_smart_meter_reads_through_a_paced_uart() -> None:
    """A whole session works when output comes in USB packets, and is split into them."""
    sim = Simulator("BP35C2", timing="instant", speed=50.0, uart_timing=UartTiming())
    async with sim.smart_meter() as meter:
        for _ in range(3):
            watts = await meter.instant_power()
            (reply,) = Frame.decode(sim.payloads_from_meter[-1]).properties
            assert reply.epc == 0xE7
            assert watts == int.from_bytes(reply.edt, "big", signed=True)
        assert sim.uart_packets >= math.ceil(len(sim.output) / UartTiming().payload_size)
        assert sim.uart_packets > sim.frames_from_meter
        during = sim.uart_packets
    assert sim.uart_packets >= during  # still readable, like the other ground truth


async def test_without_uart_timing_nothing_is_paced() -> None:
    sim = Simulator("BP35C2", timing="instant")
    async with sim.smart_meter() as meter:
        await meter.instant_power()
    assert sim.uart_timing is None
    assert sim.uart_packets == 0


async def test_unplug_and_close_with_a_paced_uart_leave_no_task() -> None:
    sim = Simulator("BP35A1", timing="instant", speed=50.0, uart_timing=UartTiming())
    before = asyncio.all_tasks()
    async with sim.memory() as host:
        await host.write(b"SKVER\r\n")
        reply = b""
        async with asyncio.timeout(5):
            while b"OK\r\n" not in reply:
                reply += await host.read()
        assert b"EVER " in reply
        assert sim.uart_packets >= 1
        sim.unplug()
        sim.replug()
    assert asyncio.all_tasks() == before
