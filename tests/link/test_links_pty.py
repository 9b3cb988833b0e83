"""Both links end to end over a pseudo-terminal: the real serial transport, probe included."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from aiobroute.j11.client import J11Timeouts
from aiobroute.j11.link import J11Link
from aiobroute.link import MeterLink, ProbeTimings, probe_dialect
from aiobroute.skstack import SkStackLink
from aiobroute.skstack.client import SkTimeouts
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, JST, SimClock, Simulator
from aiobroute.transport import open_port
from tests.link._recorder import Recorder, get_e7, watts_of

pytestmark = [
    pytest.mark.pty,
    pytest.mark.skipif(os.name != "posix", reason="POSIX pty"),
]


@pytest.mark.parametrize("model", ["BP35C2", "RS-WSUHA-J11"])
async def test_probe_then_link_over_a_pty(model: str) -> None:
    clock = SimClock(dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST), speed=1e-9)
    sim = Simulator(model, seed=4, timing="instant", clock=clock)
    async with sim.pty() as path:
        stream = await open_port(path)
        timings = ProbeTimings(listen=0.1, settle=0.05, skstack=2.0, j11=2.0)
        dialect = await probe_dialect(stream, timings=timings)
        link: MeterLink
        if dialect == "skstack":
            link = SkStackLink(stream, timeouts=SkTimeouts(command=3.0, join=5.0, send=3.0))
        else:
            link = J11Link(stream, timeouts=J11Timeouts(command=3.0, boot=3.0, join=5.0))
        recorder = Recorder()
        link.set_listener(recorder)
        try:
            await link.open()
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(6,))
            await link.send(get_e7(0x0101).encode())
            answer = await recorder.answer(0x0101)
            assert watts_of(answer) == sim.meter.instant_power_watts()
        finally:
            await link.close()
    assert dialect == ("j11" if "J11" in model else "skstack")
    assert sim.flash_writes == 0
