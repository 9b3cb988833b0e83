"""Simulated time for the simulator: a wall clock that can run faster than real time."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiobroute._time import JST

__all__ = ["JST", "SimClock"]

_DEFAULT_START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)


class SimClock:
    """Simulated wall time that runs ``speed`` times faster than the event loop's clock.

    ``now()`` is a timezone-aware datetime in Japan time. ``advance()`` jumps forward and
    wakes every :meth:`sleep` that is now due, so tests can cross :00/:30 instantly.
    Must be used from within a running event loop (``loop.time()`` is the time base).
    """

    def __init__(self, start: dt.datetime | None = None, *, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        start = start or _DEFAULT_START
        if start.tzinfo is None:
            start = start.replace(tzinfo=JST)
        self._start = start.astimezone(JST)
        self._speed = float(speed)
        self._anchor_real: float | None = None
        self._anchor_sim = 0.0
        self._changed = asyncio.Event() if _has_loop() else None

    def _real(self) -> float:
        loop_time = asyncio.get_running_loop().time()
        if self._anchor_real is None:
            self._anchor_real = loop_time
        return loop_time

    def _event(self) -> asyncio.Event:
        if self._changed is None:
            self._changed = asyncio.Event()
        return self._changed

    @property
    def start(self) -> dt.datetime:
        """The simulated wall time at which the clock started."""
        return self._start

    @property
    def speed(self) -> float:
        """How many simulated seconds pass per real second."""
        return self._speed

    @speed.setter
    def speed(self, value: float) -> None:
        if value <= 0:
            raise ValueError("speed must be positive")
        self._anchor_sim = self.monotonic()
        self._anchor_real = self._real()
        self._speed = float(value)
        self._notify()

    def monotonic(self) -> float:
        """Simulated seconds elapsed since the clock's start."""
        real = self._real()
        anchor = real if self._anchor_real is None else self._anchor_real
        return self._anchor_sim + (real - anchor) * self._speed

    def now(self) -> dt.datetime:
        """The simulated wall time (aware, Asia/Tokyo)."""
        return self._start + dt.timedelta(seconds=self.monotonic())

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` of simulated time forward, waking due sleepers."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self.monotonic()  # make sure the anchor exists
        self._anchor_sim += seconds
        self._notify()

    def _notify(self) -> None:
        event = self._event()
        event.set()
        self._changed = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await self.sleep_until(self.monotonic() + seconds)

    async def sleep_until(self, target: float) -> None:
        """Sleep until :meth:`monotonic` reaches ``target``."""
        while True:
            remaining = target - self.monotonic()
            if remaining <= 0:
                return
            event = self._event()
            try:
                async with asyncio.timeout(remaining / self._speed):
                    await event.wait()
            except TimeoutError:
                pass


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
