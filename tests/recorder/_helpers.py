"""Helpers of the recorder tests: a simulated meter on a clock that moves only when told."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from aiobroute.recorder import Reading, RecorderStatus
from aiobroute.testing import JST, Simulator

#: Simulated seconds per real second: time moves only with ``clock.advance()``.
FROZEN = 1e-9
START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)
HALF_HOUR = dt.timedelta(minutes=30)


class StatusWatch:
    """An ``on_status`` callback that lets a test wait for a condition on the status."""

    def __init__(self) -> None:
        self.status = RecorderStatus()
        self._changed = asyncio.Event()

    def __call__(self, status: RecorderStatus) -> None:
        self.status = status
        self._changed.set()

    async def until(self, predicate: Callable[[RecorderStatus], bool], timeout: float = 10) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.status):
                self._changed.clear()
                await self._changed.wait()


def floor(when: dt.datetime) -> dt.datetime:
    return when.replace(minute=when.minute - when.minute % 30, second=0, microsecond=0)


def instants(first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    out = []
    while first <= last:
        out.append(first)
        first += HALF_HOUR
    return out


def truth(sim: Simulator, at: dt.datetime, *, reverse: bool = False) -> Decimal:
    """The simulated meter's counter at ``at`` in kWh (its own model: the ground truth)."""
    return sim.meter.cumulative_kwh(at, reverse=reverse)


def assert_matches_truth(sim: Simulator, readings: list[Reading]) -> None:
    for reading in readings:
        assert reading.bought_kwh == truth(sim, reading.at), reading
        assert reading.sold_kwh == truth(sim, reading.at, reverse=True), reading
