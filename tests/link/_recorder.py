"""A LinkListener that records what a link delivers, and helpers shared by the link tests.

Imported as ``tests.link._recorder`` (pytest puts the repository root on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from aiobroute.echonet import CONTROLLER, SMART_METER, Esv, Frame, Property
from aiobroute.link import LinkEvent, MeterDatagram, MeterLink
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator
from aiobroute.transport import MemoryStream

T = TypeVar("T")
L = TypeVar("L", bound=MeterLink)


class Recorder:
    """Collects datagrams and session events; tests wait on it with a timeout."""

    def __init__(self) -> None:
        self.datagrams: list[MeterDatagram] = []
        self.events: list[LinkEvent] = []
        self._changed = asyncio.Event()
        self.in_reader_task: list[str | None] = []

    def datagram_received(self, datagram: MeterDatagram) -> None:
        self.datagrams.append(datagram)
        self._note()

    def session_event(self, event: LinkEvent) -> None:
        self.events.append(event)
        self._note()

    def _note(self) -> None:
        task = asyncio.current_task()
        self.in_reader_task.append(task.get_name() if task is not None else None)
        self._changed.set()

    async def wait(self, found: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Wait until ``found()`` returns something other than None, and return it."""
        async with asyncio.timeout(timeout):
            while True:
                value = found()
                if value is not None:
                    return value
                self._changed.clear()
                await self._changed.wait()

    async def answer(self, tid: int) -> Frame:
        """The ECHONET Lite frame with this TID among the received datagrams."""

        def find() -> Frame | None:
            for datagram in self.datagrams:
                frame = Frame.decode(datagram.payload)
                if frame.tid == tid:
                    return frame
            return None

        return await self.wait(find)

    async def event_count(self, count: int) -> list[LinkEvent]:
        """Wait until at least ``count`` events were recorded; return them all."""
        return await self.wait(lambda: list(self.events) if len(self.events) >= count else None)


def get_e7(tid: int) -> Frame:
    """A Get of the instantaneous power (EPC 0xE7) from the controller to the meter."""
    return Frame(tid, CONTROLLER, SMART_METER, Esv.GET, (Property(0xE7),))


def watts_of(frame: Frame) -> int:
    """The instantaneous power carried by a Get_Res of EPC 0xE7."""
    assert frame.esv is Esv.GET_RES
    assert frame.properties[0].epc == 0xE7
    return int.from_bytes(frame.properties[0].edt, "big", signed=True)


@contextlib.asynccontextmanager
async def recorded(link: MeterLink, *, connect: dict[str, Any] | None) -> AsyncIterator[Recorder]:
    """Open ``link`` with a :class:`Recorder` as its listener; close it when done.

    Unless ``connect`` is None the link also joins the meter with the simulator's default
    credentials and ``connect`` as further arguments of ``connect()``.
    """
    recorder = Recorder()
    link.set_listener(recorder)
    try:
        await link.open()
        if connect is not None:
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, **connect)
        yield recorder
    finally:
        await link.close()


@contextlib.asynccontextmanager
async def sim_linked(
    sim: Simulator, make_link: Callable[[MemoryStream], L], *, connect: bool
) -> AsyncIterator[tuple[L, Recorder]]:
    """A link made by ``make_link`` on ``sim``'s memory pipe, recorded (see :func:`recorded`);
    with ``connect`` it has joined the meter with a scan of duration 3."""
    async with sim.memory() as stream:
        link = make_link(stream)
        async with recorded(link, connect={"durations": (6,)} if connect else None) as recorder:
            yield link, recorder


async def pump(
    sim: Simulator, recorder: Recorder, count: int, *, step: float = 1.0, steps: int = 600
) -> None:
    """Advance simulated time by ``step`` until ``count`` events were recorded.

    Fails after ``steps`` steps.
    """
    for _ in range(steps):
        if len(recorder.events) >= count:
            return
        sim.clock.advance(step)
        for _ in range(20):
            await asyncio.sleep(0)
    raise AssertionError(f"only {recorder.events!r} after {steps} simulated seconds")
