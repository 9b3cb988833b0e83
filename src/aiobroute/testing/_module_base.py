"""What the simulated SKSTACK and J11 modules share: tasks, power, output and the meter.

:class:`~aiobroute.testing.SimulatedModule` and :class:`~aiobroute.testing.SimulatedJ11Module`
both stand on :class:`_SimModuleBase`: the environment both are built from (clock, meter,
fault plan, radio knobs, PANs, own MAC), the ground truth both keep, the task bookkeeping,
power (attach, port swap, detach, close), the UART output with the shared output faults,
the meter's answers to a delivered datagram, its periodic pushes and the session's tasks.
Each dialect adds its input, commands, radio and PANA on top, and fills in the hooks.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Callable, Coroutine
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

import attrs

from aiobroute.errors import PortClosedError
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._presets import PanConfig, RadioConfig

__all__ = ["DevicePort", "MeterLike", "SessionInfo"]


class MeterLike(Protocol):
    """What the module needs from the meter (``SimulatedMeter`` provides it)."""

    def handle_payload(self, payload: bytes) -> list[bytes]:
        """Process a datagram from the host; return the payloads to send back."""
        ...

    def startup_frames(self) -> list[bytes]:
        """The frames the meter multicasts once a session is up."""
        ...

    def next_push_time(self, after: dt.datetime) -> dt.datetime:
        """When the next periodic notification is due, strictly after ``after``."""
        ...

    def push_frames(self, at: dt.datetime) -> list[bytes]:
        """The periodic notification frames for the slot ``at``."""
        ...


class DevicePort(Protocol):
    """The device end of a byte stream (a :class:`MemoryStream`, or a pty master)."""

    async def read(self) -> bytes:
        """Bytes written by the host; raises PortClosedError once closed."""
        ...

    def write_nowait(self, data: bytes) -> None:
        """Send bytes to the host; raises PortClosedError once closed."""
        ...

    def close_nowait(self) -> None:
        """Close this end."""
        ...


@attrs.frozen
class SessionInfo:
    """A PANA session as the module sees it (ground truth for tests).

    Attributes:
        paa: The meter's link-local address.
        pan: The PAN it belongs to.
        state: ``"active"``, ``"reauth"`` (re-authenticating, sends refused) or
            ``"closing"`` (SKTERM sent).
        established_at: Simulated monotonic time of the last EVENT 25.
        lifetime_s: Session lifetime (register S16 at establishment).
        session_id: PANA session identifier.
    """

    paa: str
    pan: PanConfig
    state: Literal["active", "reauth", "closing"]
    established_at: float
    lifetime_s: int
    session_id: int


class _TimingLike(Protocol):
    """The delays both dialects' timing classes have (``Timing``, ``J11Timing``)."""

    @property
    def tx_s(self) -> tuple[float, float]: ...

    @property
    def response_s(self) -> tuple[float, float]: ...

    @property
    def push_jitter_s(self) -> tuple[float, float]: ...


_TimingT = TypeVar("_TimingT", bound=_TimingLike)

#: What a dialect does with one answer of the meter: a coroutine that reports it to the
#: host after the given delay (simulated seconds).
_Answer = Callable[[bytes, float], Coroutine[Any, Any, None]]


class _SimModuleBase(Generic[_TimingT]):
    """Tasks, power, output, ground truth and the meter's side, for both dialects."""

    #: The dialect's logger (task failures, dropped output).
    _logger: ClassVar[logging.Logger]
    #: What is logged when one of the module's tasks fails.
    _failure_message: ClassVar[str] = "simulated module task failed"
    #: Output fault ``garble`` spares writes of at most this many bytes.
    _garble_min: ClassVar[int] = 1

    def __init__(
        self,
        *,
        clock: SimClock,
        meter: MeterLike,
        timing: _TimingT,
        seed: int,
        faults: FaultPlan | None,
        radio: RadioConfig | None,
        pan: PanConfig,
        pair_id: str,
        neighbour_pan: PanConfig | None,
        mac: str,
    ) -> None:
        self.clock = clock
        self.meter = meter
        self.timing = timing
        self.faults = faults or FaultPlan()
        self.radio = radio or RadioConfig()
        if pan.pair_id is None:
            pan = attrs.evolve(pan, pair_id=pair_id)
        self.pan = pan
        if neighbour_pan is None and self.faults.neighbour_pan:
            neighbour_pan = PanConfig.NEIGHBOUR
        self.neighbour_pan = neighbour_pan
        self.mac = mac.upper()
        self._rng = random.Random(seed)
        self._frng = random.Random(self.faults.seed)

        # Ground truth, kept across resets.
        self.commands_received: list[str] = []
        self.output: list[bytes] = []
        self.payloads_to_meter: list[bytes] = []
        self.payloads_from_meter: list[bytes] = []
        self.flash_writes = 0
        self.resets = 0
        self.total_airtime_ms = 0.0
        self.errors: list[BaseException] = []

        # Environment.
        self.silent = self.faults.silent
        self.hung = False
        self._port: DevicePort | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._finished: list[asyncio.Task[None]] = []
        self._frame_waiters: list[tuple[int, asyncio.Future[None]]] = []

    # ------------------------------------------------------------------ hooks

    def _power_on(self) -> None:
        """Settings back to their power-on values (a dialect extends this)."""
        self.rbid: str | None = None
        self.password: str | None = None
        self._session: SessionInfo | None = None
        self._busy: object | None = None

    async def _read_loop(self, port: DevicePort) -> None:
        """Read the host's input from ``port`` until it closes."""
        raise NotImplementedError

    def _clear_input(self) -> None:
        """Forget input half received (the port changed)."""
        raise NotImplementedError

    def _garbage(self) -> bytes:
        """What output fault ``garbage`` writes before a write."""
        raise NotImplementedError

    def _garble(self, data: bytes) -> bytes:
        """``data`` with one byte damaged (output fault ``garble``)."""
        raise NotImplementedError

    async def _push(self, due: dt.datetime) -> None:
        """Send the meter's periodic notification for the slot ``due``."""
        raise NotImplementedError

    def _lifetime_over(self) -> None:
        """The session reached its lifetime."""
        raise NotImplementedError

    # ------------------------------------------------------------ ground truth

    @property
    def session(self) -> SessionInfo | None:
        """The PANA session, or None."""
        return self._session

    @property
    def session_active(self) -> bool:
        """True while a PANA session is established and usable."""
        return self._session is not None and self._session.state == "active"

    @property
    def attached(self) -> bool:
        """True while a port is attached (the module is powered)."""
        return self._port is not None

    @property
    def frames_to_meter(self) -> int:
        """Datagrams delivered to the meter over the secured session."""
        return len(self.payloads_to_meter)

    @property
    def frames_from_meter(self) -> int:
        """Datagrams from the meter passed to the host (ERXUDP, or 0x6018 for J11)."""
        return len(self.payloads_from_meter)

    async def wait_frames(self, count: int) -> None:
        """Wait until at least ``count`` datagrams reached the meter."""
        if self.frames_to_meter >= count:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._frame_waiters.append((count, waiter))
        try:
            await waiter
        finally:
            self._frame_waiters = [(n, w) for n, w in self._frame_waiters if w is not waiter]

    # -------------------------------------------------------------- lifecycle

    def attach(self, port: DevicePort) -> None:
        """Power the module up on ``port`` and start reading its input."""
        if self._port is not None:
            raise RuntimeError("a port is already attached")
        self._power_on()
        self._port = port
        self._reader = self._start(self._read_loop(port), self._record_failure)

    def swap_port(self, port: DevicePort) -> None:
        """Serve on ``port`` instead, without a power cycle (the host reopened the port).

        The module keeps its settings, session and state (a hang too); input half
        received (a command line, a request) is lost with the old port.
        """
        if self._port is None:
            raise RuntimeError("no port is attached")
        if self._reader is not None:
            self._reader.cancel()
            self._finished = [task for task in self._finished if not task.done()]
            self._finished.append(self._reader)
        old, self._port = self._port, port
        old.close_nowait()
        self._clear_input()
        self._reader = self._start(self._read_loop(port), self._record_failure)

    def detach(self) -> None:
        """Power off: stop every activity and close the port (tasks are awaited by close).

        Ground truth (counters, logs) stays readable; the session is gone. What a power
        cycle clears (the SKSTACK module's :attr:`airtime_ms`) is cleared by the next
        :meth:`attach`.
        """
        self._cancel_tasks()
        if self._reader is not None:
            self._reader.cancel()
            self._finished.append(self._reader)
            self._reader = None
        port, self._port = self._port, None
        if port is not None:
            port.close_nowait()
        self._session = None
        self._busy = None

    async def aclose(self) -> None:
        """Detach and wait for every task; re-raise the first failure of a task."""
        self.detach()
        tasks, self._finished = self._finished, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for _, waiter in self._frame_waiters:
            waiter.cancel()
        self._frame_waiters.clear()
        if self.errors:
            raise RuntimeError("a simulated module task failed") from self.errors[0]

    def set_hung(self, hung: bool) -> None:
        """The firmware hangs (True): it reads no input and writes nothing, not even an
        event, a notification or a received datagram, until released (False). Settings
        and the radio state (the session) are kept, as after a real hang that ends by
        itself.
        """
        self.hung = hung

    def set_silent(self, silent: bool) -> None:
        """Make the meter stop (or resume) answering anything on the radio."""
        self.silent = silent

    # ------------------------------------------------------------------ tasks

    def _cancel_tasks(self) -> None:
        current = asyncio.current_task()
        for task in (*self._tasks, *self._session_tasks):
            if task is current:
                continue
            task.cancel()
            self._finished.append(task)
        self._tasks.clear()
        self._session_tasks.clear()
        self._finished = [task for task in self._finished if not task.done()]

    def _cancel_session_tasks(self) -> None:
        current = asyncio.current_task()
        for task in list(self._session_tasks):
            if task is current:
                continue
            task.cancel()
            self._finished.append(task)
            self._session_tasks.discard(task)

    def _end_session(self) -> None:
        self._session = None
        self._cancel_session_tasks()

    def _start(
        self,
        coro: Coroutine[Any, Any, None],
        done: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(done or self._finished_task)
        return task

    def _spawn(self, coro: Coroutine[Any, Any, None], *, session: bool = False) -> None:
        (self._session_tasks if session else self._tasks).add(self._start(coro))

    def _finished_task(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._session_tasks.discard(task)
        self._record_failure(task)

    def _record_failure(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._logger.error(self._failure_message, exc_info=exc)
            self.errors.append(exc)

    def _release(self, token: object) -> None:
        """Free the busy slot if ``token`` still holds it."""
        if self._busy is token:
            self._busy = None

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            await self.clock.sleep(seconds)

    def _draw(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    # ----------------------------------------------------------------- output

    def _noise(self) -> bytes:
        """1 to 24 random bytes (fault seed)."""
        return bytes(self._frng.randrange(256) for _ in range(self._frng.randint(1, 24)))

    def _write(self, data: bytes) -> None:
        if self._port is None:
            return
        if self.faults.garbage and self._frng.random() < self.faults.garbage:
            self._raw_write(self._garbage())
        if (
            self.faults.garble
            and len(data) > self._garble_min
            and self._frng.random() < self.faults.garble
        ):
            data = self._garble(data)
        self._raw_write(data)

    def _raw_write(self, data: bytes) -> None:
        if self._port is None or self.hung:
            return
        self.output.append(data)
        try:
            self._port.write_nowait(data)
        except PortClosedError:
            self._logger.debug("device port closed; output dropped")

    # ------------------------------------------------------------------ meter

    def _deliver_to_meter(self, payload: bytes, answer: _Answer) -> None:
        """Hand ``payload`` to the meter and schedule its answers (with reply faults)."""
        self.payloads_to_meter.append(payload)
        replies = self.meter.handle_payload(payload)
        for reply in replies:
            latency = self._draw(self.timing.response_s)
            if self.faults.drop_reply and self._frng.random() < self.faults.drop_reply:
                continue
            if self.faults.delay_reply and self._frng.random() < self.faults.delay_reply:
                latency += self._frng.uniform(*self.faults.delay_reply_s)
            copies = 1
            if self.faults.duplicate_reply and self._frng.random() < self.faults.duplicate_reply:
                copies = 2
            for copy in range(copies):
                again = copy * self._draw(self.timing.tx_s)  # a MAC retransmission
                self._spawn(answer(reply, latency + again), session=True)
        count = self.frames_to_meter
        for target, waiter in self._frame_waiters:
            if count >= target and not waiter.done():
                waiter.set_result(None)

    async def _push_loop(self) -> None:
        while True:
            now = self.clock.now()
            due = self.meter.next_push_time(now)
            # At least 1 s: a meter answering a past slot must not spin this loop.
            delay = max((due - now).total_seconds(), 1.0) + self._draw(self.timing.push_jitter_s)
            await self.clock.sleep_until(self.clock.monotonic() + delay)
            await self._push(due)

    async def _lifetime_timer(self) -> None:
        session = self._session
        if session is None:
            return
        await self.clock.sleep_until(session.established_at + session.lifetime_s)
        self._lifetime_over()
