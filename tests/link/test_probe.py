"""probe_dialect: tells SKSTACK from J11 without upsetting either kind of module."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from aiobroute.errors import CommandTimeoutError, InvalidArgumentError, PortClosedError
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK, ProbeTimings, probe_dialect
from aiobroute.skstack import SkStackLink
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator
from aiobroute.transport import MemoryStream, memory_pipe
from tests.link._recorder import Recorder, get_e7, watts_of
from tests.link.test_skstack_link import FAST, make_sim

QUICK = ProbeTimings(listen=0.0, settle=0.0, skstack=2.0, j11=2.0)
J11_GET_VERSION = bytes.fromhex("D0EA83FC006B000403A80000")
# A made-up version reply (j11.md section 11).
J11_VERSION_REPLY = bytes.fromhex("D0F9EE5D206B000D03AC004E0104000102" + "00001234")


@pytest.mark.parametrize("model", ["BP35A1", "RL7023_IPS", "BP35C2", "RS-WSUHA-P", "RL7023_DSS"])
async def test_every_skstack_preset_is_recognised_and_stays_usable(model: str) -> None:
    sim = make_sim(model)
    async with sim.memory() as stream:
        assert await probe_dialect(stream, timings=QUICK) == DIALECT_SKSTACK
        # Only text lines were sent: no binary J11 request reached the module.
        assert sim.commands_received[-1] == "SKVER"
        assert all(c.isascii() for c in sim.commands_received)
        link = SkStackLink(stream, timeouts=FAST)
        recorder = Recorder()
        link.set_listener(recorder)
        try:
            await link.open()
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(6,))
            await link.send(get_e7(5).encode())
            assert watts_of(await recorder.answer(5)) == sim.meter.instant_power_watts()
        finally:
            await link.close()


async def test_unsolicited_skstack_output_decides_at_once() -> None:
    sim = Simulator("BP35C2", timing="instant")
    async with sim.memory() as stream:
        sim.module.inject_garbage(b"EVENT 33 FE80:0000:0000:0000:021D:1290:1234:5678 0\r\n")
        timings = ProbeTimings(listen=2.0, settle=0.0, skstack=0.0, j11=0.0)
        assert await probe_dialect(stream, timings=timings) == DIALECT_SKSTACK
        assert sim.commands_received == []  # nothing had to be sent


class FakeJ11:
    """A J11 module as far as the probe is concerned: silent to text, answers version."""

    def __init__(self, device: MemoryStream, *, reply: bytes = J11_VERSION_REPLY) -> None:
        self.device = device
        self.reply = reply
        self.received = bytearray()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        with contextlib.suppress(PortClosedError):
            while True:
                self.received += await self.device.read()
                if self.received.endswith(J11_GET_VERSION):
                    self.device.write_nowait(self.reply)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def fake_j11(reply: bytes = J11_VERSION_REPLY) -> AsyncIterator[tuple[MemoryStream, FakeJ11]]:
    host, device = memory_pipe()
    module = FakeJ11(device, reply=reply)
    try:
        yield host, module
    finally:
        await module.stop()


async def test_a_j11_module_is_recognised_by_its_version_reply() -> None:
    async with fake_j11() as (host, module):
        timings = ProbeTimings(listen=0.0, settle=0.0, skstack=0.05, j11=2.0)
        assert await probe_dialect(host, timings=timings) == DIALECT_J11
        # Text first (ignored by J11), then exactly one binary request.
        assert bytes(module.received) == b"\r\nSKVER\r\n" + J11_GET_VERSION


async def test_a_j11_error_reply_is_enough() -> None:
    error_reply = bytes.fromhex("D0F9EE5D2FFF0005044700F0F0")
    async with fake_j11(error_reply) as (host, _module):
        timings = ProbeTimings(listen=0.0, settle=0.0, skstack=0.05, j11=2.0)
        assert await probe_dialect(host, timings=timings) == DIALECT_J11


async def test_silence_is_a_timeout_and_ends_with_a_line_end() -> None:
    host, device = memory_pipe()
    timings = ProbeTimings(listen=0.0, settle=0.0, skstack=0.02, j11=0.02)
    with pytest.raises(CommandTimeoutError):
        await probe_dialect(host, timings=timings)
    sent = await device.read()
    assert sent == b"\r\nSKVER\r\n" + J11_GET_VERSION + b"\r\n"


async def test_a_closed_port_is_reported() -> None:
    host, device = memory_pipe()
    await device.close()
    with pytest.raises(PortClosedError):
        await probe_dialect(host, timings=QUICK)


def test_timings_are_validated() -> None:
    with pytest.raises(InvalidArgumentError):
        ProbeTimings(listen=-1.0)
