"""The core of the simulated SKSTACK IP module: state, tasks, output and the radio budget.

:class:`~aiobroute.testing.SimulatedModule` is built in layers, one class per module:
this core; the radio (scan, UDP, meter, ARIB limit: ``_module_radio``); PANA and the
session (``_module_pana``); the command handlers (``_module_commands``); and the UART
front end with the runtime faults (``_module``).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, Literal, Protocol

import attrs

from aiobroute._log import Redactor
from aiobroute.errors import PortClosedError
from aiobroute.skstack._events import ErrorCode, Event, EventNum, Message, Ok, RxUdp
from aiobroute.skstack._registers import Register
from aiobroute.skstack._wire import CRLF, canonical_ipv6, encode, link_local_from_mac
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._presets import ModulePreset, PanConfig, RadioConfig, Timing
from aiobroute.testing._uart import UartInput

__all__ = ["DevicePort", "MeterLike", "SessionInfo"]

_LOGGER = logging.getLogger("aiobroute.testing._module")

ECHONET_PORT = 0x0E1A
PANA_PORT = 0x02CC
_DEFAULT_PORTS = (ECHONET_PORT, PANA_PORT, 0, 0, 0, 0)


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


class _CommandError(Exception):
    """Raised inside a handler to answer ``FAIL ERxx``."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


class _Timeline:
    """Absolute simulated deadlines for a chain of steps (exact under ``clock.advance``)."""

    def __init__(self, clock: SimClock) -> None:
        self._clock = clock
        self.t = clock.monotonic()

    async def after(self, seconds: float) -> None:
        self.t += max(0.0, seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            await self._clock.sleep_until(self.t)


class _ModuleCore:
    """State, ground truth, task bookkeeping and output of the simulated module."""

    def __init__(
        self,
        preset: ModulePreset,
        *,
        clock: SimClock,
        meter: MeterLike,
        rbid: str,
        password: str,
        seed: int = 0,
        timing: Timing | str = "realistic",
        faults: FaultPlan | None = None,
        radio: RadioConfig | None = None,
        pan: PanConfig | None = None,
        neighbour_pan: PanConfig | None = None,
        mac: str | None = None,
        scan_event_address: str | None = None,
        pana_exchanges: int = 4,
    ) -> None:
        if pana_exchanges < 1:
            raise ValueError("pana_exchanges must be at least 1")
        self.preset = preset
        self.clock = clock
        self.meter = meter
        self.timing = Timing.named(timing) if isinstance(timing, str) else timing
        self.faults = faults or FaultPlan()
        self.radio = radio or RadioConfig()
        pan = pan or PanConfig()
        if pan.pair_id is None:
            pan = attrs.evolve(pan, pair_id=rbid[-8:])
        self.pan = pan
        if neighbour_pan is None and self.faults.neighbour_pan:
            neighbour_pan = PanConfig.NEIGHBOUR
        self.neighbour_pan = neighbour_pan
        self.mac = (mac or preset.module_mac).upper()
        self.address = link_local_from_mac(self.mac)
        self.scan_event_address = (
            canonical_ipv6(scan_event_address) if scan_event_address else self.address
        )
        self.pana_exchanges = pana_exchanges
        self._rbid_expected = rbid
        self._password_expected = password
        self._redactor = Redactor()
        self._redactor.add(rbid, password)
        self._rng = random.Random(seed)
        self._frng = random.Random(self.faults.seed)

        # Ground truth, kept across resets.
        self.commands_received: list[str] = []
        self.output: list[bytes] = []
        self.events: list[Event] = []
        self.flash_writes = 0
        self.payloads_to_meter: list[bytes] = []
        self.payloads_from_meter: list[bytes] = []
        self.tx_frames = 0
        self.rx_frames = 0
        self.total_airtime_ms = 0.0
        self.resets = 0
        self.errors: list[BaseException] = []

        # Flash (survives resets).
        self.hex_payload = preset.default_hex
        self.uart_setting = 0x00
        self._saved_registers: dict[int, int | str] | None = None

        # Environment.
        self.silent = self.faults.silent
        self.hung = False
        self._port: DevicePort | None = None
        self._reader: asyncio.Task[None] | None = None
        self._radio_tasks: set[asyncio.Task[None]] = set()
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._finished: list[asyncio.Task[None]] = []
        self._frame_waiters: list[tuple[int, asyncio.Future[None]]] = []

        self._power_on()

    def _power_on(self) -> None:
        self.registers: dict[int, int | str] = {reg: reg.spec.default for reg in Register}
        self.registers[Register.MAC] = int(self.mac, 16)
        if self.registers[Register.AUTO_LOAD] == 1 or (
            self._saved_registers is not None and self._saved_registers.get(Register.AUTO_LOAD) == 1
        ):
            self.registers.update(self._saved_registers or {})
        self.rbid: str | None = None
        self.password: str | None = None
        self._session: SessionInfo | None = None
        self._pana: PanaBuilder | None = None
        self._neighbours: dict[str, str] = {}
        self._ports = list(_DEFAULT_PORTS)
        self._busy: object | None = None
        self._sfd_ms = 0.0
        self._tx_history: deque[tuple[float, float]] = deque()
        self._natural_limit = False
        self._forced_limit_until: float | None = None
        self._limit_watcher: asyncio.Task[None] | None = None
        self._uart = UartInput()

    @property
    def session(self) -> SessionInfo | None:
        """The PANA session, or None."""
        return self._session

    @property
    def session_active(self) -> bool:
        """True while a PANA session is established and usable."""
        return self._session is not None and self._session.state == "active"

    @property
    def echo(self) -> bool:
        """Register SFE: the module echoes command lines."""
        return self.registers[Register.ECHO] == 1

    @property
    def airtime_ms(self) -> float:
        """Accumulated transmit time since the last reset (register SFD), in ms."""
        return self._sfd_ms

    @property
    def tx_limited(self) -> bool:
        """True while the ARIB transmit-time limit blocks sending (register SFB)."""
        return self._natural_limit or self._forced_limit_until is not None

    @property
    def frames_to_meter(self) -> int:
        """Datagrams delivered to the meter over the secured session."""
        return len(self.payloads_to_meter)

    @property
    def frames_from_meter(self) -> int:
        """Datagrams from the meter printed as ERXUDP."""
        return len(self.payloads_from_meter)

    @property
    def attached(self) -> bool:
        """True while a port is attached (the module is powered)."""
        return self._port is not None

    def detach(self) -> None:
        """Power off: stop every activity and close the port (tasks are awaited by close).

        Ground truth (counters, logs, :attr:`airtime_ms`) stays readable until the next
        :meth:`attach`; the session is gone.
        """
        self._cancel_radio()
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

    def reset(self) -> None:
        """Reset as if power-cycled (registers back, echo on, session gone); port stays."""
        self.resets += 1
        self._cancel_radio()
        uart = self._uart
        self._power_on()
        self._uart = uart

    def _cancel_radio(self) -> None:
        for task in (*self._radio_tasks, *self._session_tasks):
            task.cancel()
            self._finished.append(task)
        self._radio_tasks.clear()
        self._session_tasks.clear()
        self._finished = [task for task in self._finished if not task.done()]

    def _start(
        self,
        coro: Coroutine[Any, Any, None],
        done: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(done or self._finished_task)
        return task

    def _spawn(self, coro: Coroutine[Any, Any, None], *, session: bool = False) -> None:
        group = self._session_tasks if session else self._radio_tasks
        task = self._start(coro)
        group.add(task)

    def _finished_task(self, task: asyncio.Task[None]) -> None:
        self._radio_tasks.discard(task)
        self._session_tasks.discard(task)
        self._record_failure(task)

    def _finished_reader(self, task: asyncio.Task[None]) -> None:
        self._record_failure(task)

    def _record_failure(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            _LOGGER.error("simulated module task failed", exc_info=exc)
            self.errors.append(exc)

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

    def _write(self, data: bytes) -> None:
        if self._port is None:
            return
        if self.faults.garbage and self._frng.random() < self.faults.garbage:
            junk = bytes(self._frng.randrange(256) for _ in range(self._frng.randint(1, 24)))
            self._raw_write(junk + CRLF)
        if self.faults.garble and len(data) > 2 and self._frng.random() < self.faults.garble:
            damaged = bytearray(data)
            index = self._frng.randrange(len(data) - 2)
            keep = (0x0A, 0x0D, damaged[index])  # line ends stay; the byte really changes
            damaged[index] = self._frng.choice([b for b in range(256) if b not in keep])
            data = bytes(damaged)
        self._raw_write(data)

    def _raw_write(self, data: bytes) -> None:
        if self._port is None or self.hung:
            return
        self.output.append(data)
        try:
            self._port.write_nowait(data)
        except PortClosedError:
            _LOGGER.debug("device port closed; output dropped")

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Write ``data`` (default: a line of random bytes) to the UART now."""
        if data is None:
            size = self._frng.randint(1, 24)
            data = bytes(self._frng.randrange(256) for _ in range(size)) + CRLF
        self._raw_write(data)

    def _send(self, message: Message) -> None:
        if isinstance(message, Event):
            self.events.append(message)
        self._write(encode(message))

    def _event(self, num: EventNum, sender: str | None, param: int | None = None) -> Event:
        side = 0 if self.preset.has_side else None
        return Event(int(num), sender, side=side, param=param)

    def _emit_event(self, num: EventNum, sender: str | None, param: int | None = None) -> None:
        self._send(self._event(num, sender, param))

    def _rx_udp(
        self,
        sender: str,
        dest: str,
        pan: PanConfig,
        data: bytes,
        *,
        ports: tuple[int, int],
        secured: bool,
    ) -> RxUdp:
        rport, lport = ports
        has_side = self.preset.has_side
        rssi_on = self.preset.sa2_rssi and self.registers[Register.RSSI] == 1
        rssi = pan.lqi if has_side and rssi_on else None
        return RxUdp(
            sender=sender,
            dest=dest,
            rport=rport,
            lport=lport,
            sender_lla=pan.mac,
            secured=secured if self.preset.erxudp_secured_field else None,
            data=data,
            side=0 if has_side else None,
            rssi=rssi,
            hex_payload=self.hex_payload,
        )

    def _ok(self) -> None:
        self._send(Ok())

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            await self.clock.sleep(seconds)

    def _draw(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    def _pans(self) -> list[PanConfig]:
        pans = [] if self.silent or self.faults.no_beacon else [self.pan]
        if self.neighbour_pan is not None and not self.faults.no_beacon:
            pans.append(self.neighbour_pan)
        return pans

    def _claim(self) -> object:
        """Mark the radio busy (scan or join); ``FAIL ER10`` if it already is."""
        if self._busy is not None:
            raise _CommandError(ErrorCode.ER10)
        token = object()
        self._busy = token
        return token

    def _release(self, token: object) -> None:
        if self._busy is token:
            self._busy = None

    def _pan_at(self, address: str) -> PanConfig | None:
        """The PAN whose coordinator (meter) has ``address`` and that we are tuned to."""
        for pan in (self.pan, self.neighbour_pan):
            if (
                pan is not None
                and link_local_from_mac(pan.mac) == address
                and self.registers[Register.CHANNEL] == pan.channel
                and self.registers[Register.PAN_ID] == pan.pan_id
            ):
                return pan
        return None

    def set_hung(self, hung: bool) -> None:
        """The firmware hangs (True): it reads no command and prints nothing, not even
        an event or a received datagram, until released (False). The radio state (the
        session) is kept, as after a real hang that ends by itself.
        """
        self.hung = hung

    def set_silent(self, silent: bool) -> None:
        """Make the meter stop (or resume) answering anything on the radio."""
        self.silent = silent
