"""socket:// and rfc2217:// ports, end to end through a local bridge to the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute import SmartMeter
from aiobroute.errors import TransportError
from aiobroute.meter import MeterTimeouts
from aiobroute.skstack.client import SkTimeouts
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator
from aiobroute.testing._clock import JST, SimClock
from aiobroute.transport import MemoryStream, open_port
from aiobroute.transport._rfc2217 import (
    COM_PORT_OPTION,
    DO,
    IAC,
    SB,
    SE,
    SET_BAUDRATE,
    WILL,
    TelnetCodec,
    escape,
)

FAST_SK = SkTimeouts(
    command=2.0, reset_settle=0.0, scan_margin=2.0, join=5.0, send=2.0, send_event_grace=0.5
)
FAST = MeterTimeouts(attempt=1.0, single=3.0, sequence=6.0, instance_list=0.3)


class TelnetServerSide:
    """An independent, minimal server-side Telnet filter for the test bridge."""

    def __init__(self) -> None:
        self.state = "data"
        self.sub = bytearray()
        self.subnegotiations: list[bytes] = []
        self.negotiations: list[tuple[int, int]] = []
        self.verb = 0

    def feed(self, chunk: bytes) -> bytes:
        out = bytearray()
        for byte in chunk:
            if self.state == "data":
                if byte == IAC:
                    self.state = "iac"
                else:
                    out.append(byte)
            elif self.state == "iac":
                if byte == IAC:
                    out.append(IAC)
                    self.state = "data"
                elif byte == SB:
                    self.sub.clear()
                    self.state = "sb"
                elif byte in (251, 252, 253, 254):
                    self.verb = byte
                    self.state = "option"
                else:
                    self.state = "data"
            elif self.state == "option":
                self.negotiations.append((self.verb, byte))
                self.state = "data"
            elif self.state == "sb":
                if byte == IAC:
                    self.state = "sb-iac"
                else:
                    self.sub.append(byte)
            elif byte == SE:
                self.subnegotiations.append(bytes(self.sub))
                self.state = "data"
            else:
                self.sub.append(byte)
                self.state = "sb"
        return bytes(out)


@contextlib.asynccontextmanager
async def bridge(
    device: Callable[[], MemoryStream], *, telnet: bool
) -> AsyncIterator[tuple[int, list[TelnetServerSide]]]:
    """A TCP server (ser2net-like) bridging each connection to the simulator's host end."""
    sessions: list[TelnetServerSide] = []
    tasks: set[asyncio.Task[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = device()
        side = TelnetServerSide()
        sessions.append(side)
        if telnet:  # the server opens negotiations too, as ser2net does
            writer.write(bytes((IAC, DO, COM_PORT_OPTION, IAC, WILL, 0, IAC, WILL, 3)))

        async def upstream() -> None:
            while chunk := await reader.read(4096):
                await stream.write(side.feed(chunk) if telnet else chunk)

        async def downstream() -> None:
            while True:
                data = await stream.read()
                writer.write(escape(data) if telnet else data)
                await writer.drain()

        try:
            async with asyncio.TaskGroup() as group:
                up = group.create_task(upstream())
                down = group.create_task(downstream())
                await up
                down.cancel()
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def spawn(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.create_task(handle(reader, writer))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    server = await asyncio.start_server(spawn, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, sessions
    finally:
        server.close()
        for task in list(tasks):
            task.cancel()
        for task in list(tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await server.wait_closed()


@pytest.mark.parametrize("scheme", ["socket", "rfc2217"])
@pytest.mark.parametrize("model", ["BP35A1", "RL7023_DSS"])
async def test_meter_over_a_network_port(scheme: str, model: str) -> None:
    clock = SimClock(dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST), speed=1e-9)
    sim = Simulator(model, seed=6, timing="instant", clock=clock)
    async with (
        sim.memory(),
        bridge(sim.host_stream, telnet=scheme == "rfc2217") as (
            port,
            sessions,
        ),
    ):
        url = f"{scheme}://127.0.0.1:{port}"
        async with SmartMeter(
            url,
            rbid=DEFAULT_RBID,
            password=DEFAULT_PASSWORD,
            min_interval=0,
            timeouts=FAST,
            sk_timeouts=FAST_SK,
        ) as meter:
            # Binary ERXUDP payloads with 0xFF bytes cross the Telnet escaping both ways.
            entries = await meter.history(2)
            assert [e.raw for e in entries] == list(sim.meter.history_raw(2))
            assert await meter.instant_power() == sim.meter.instant_power_watts()
        if scheme == "rfc2217":
            baud = [s for s in sessions[0].subnegotiations if s[:2] == bytes((44, SET_BAUDRATE))]
            assert baud == [bytes((44, SET_BAUDRATE)) + (115200).to_bytes(4, "big")]
            assert (251, 44) in sessions[0].negotiations  # WILL COM-PORT-OPTION


async def test_unreachable_network_ports_raise_transport_errors() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    for scheme in ("socket", "rfc2217"):
        with pytest.raises(TransportError):
            await open_port(f"{scheme}://127.0.0.1:{port}")
    with pytest.raises(TransportError):
        await open_port("spy:///dev/null")


def test_telnet_codec_answers_each_negotiation_once() -> None:
    codec = TelnetCodec()
    data = codec.feed(bytes((IAC, DO, 44, IAC, DO, 44, IAC, DO, 24, IAC, WILL, 1)) + b"ok")
    assert data == b"ok"
    assert bytes(codec.replies) == bytes((IAC, 251, 44, IAC, 252, 24, IAC, DO, 1))


def test_telnet_codec_keeps_subnegotiations_out_of_the_data() -> None:
    codec = TelnetCodec()
    frame = bytes((IAC, SB, 44, 101, 0, 1, IAC, IAC, 0, IAC, SE))
    assert codec.feed(b"A" + frame + b"B") == b"AB"
    assert codec.subnegotiations == [bytes((44, 101, 0, 1, IAC, 0))]


@given(st.binary(max_size=300), st.lists(st.integers(1, 50), max_size=20))
def test_escaped_data_survives_any_chunking(data: bytes, cuts: list[int]) -> None:
    wire = escape(data)
    codec = TelnetCodec()
    out = bytearray()
    position = 0
    for cut in cuts:
        out += codec.feed(wire[position : position + cut])
        position += cut
    out += codec.feed(wire[position:])
    assert bytes(out) == data
    assert not codec.replies


async def test_malformed_network_urls_are_argument_errors() -> None:
    from aiobroute.errors import InvalidArgumentError

    for url in (
        "rfc2217://host:port",
        "socket://:1234",
        "socket://host",
        "socket://[::1",  # urlsplit: Invalid IPv6 URL
        "rfc2217://[fe80::1:4000",
        "socket://host:99999",  # port out of range
        "socket://" + "a" * 64 + ".example:4000",  # a label IDNA refuses
    ):
        with pytest.raises(InvalidArgumentError):
            await open_port(url)


@pytest.mark.pty
async def test_a_device_is_opened_by_one_reader_only() -> None:
    sim = Simulator("BP35A1", timing="instant")
    async with sim.pty() as path:
        first = await open_port(path)
        try:
            with pytest.raises(TransportError):
                await open_port(path)
        finally:
            await first.close()
        again = await open_port(path)  # released on close
        await again.close()
