"""The core of the simulated J11 module: state, tasks, lifecycle and output.

:class:`~aiobroute.testing.SimulatedJ11Module` is built in layers, as the SKSTACK module
is: this core; the radio (scans, route B, transmissions and the meter:
``_j11module_radio``); PANA and the session (``_j11module_pana``); the request handlers
(``_j11module_commands``); and the UART front end with the runtime faults
(``_j11module``).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import ipaddress
import logging
import random
from collections.abc import Coroutine
from typing import Any, Final

import attrs

from aiobroute.errors import PortClosedError
from aiobroute.j11 import (
    BootCompleted,
    GlobalState,
    Message,
    Request,
    ResultResponse,
    RouteBState,
    link_local_address,
)
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._j11presets import J11Faults, J11Preset, J11Timing
from aiobroute.testing._j11uart import RequestInput
from aiobroute.testing._module import DevicePort, MeterLike, SessionInfo
from aiobroute.testing._presets import DEFAULT_MODULE_MAC, PanConfig, RadioConfig

__all__ = ["j11_channel", "rssi_from_lqi"]


#: The smallest audible scan duration when the radio does not say (the J11 boards share
#: the BP35C2's radio; real logs of that family need duration 5: unverified for J11).
_J11_BEACON_MIN_DURATION = 5

_LOGGER = logging.getLogger("aiobroute.testing._j11module")

ECHONET_PORT: Final = 3610
_MAX_USER_PORTS: Final = 10
_SESSION_LIFETIME_S: Final = 86400

#: The default meter PAN of a J11 simulator: J11 channel 15 (SKSTACK 55), not the
#: provisional channel 4 every host starts on, so a host must really use the scan.
DEFAULT_J11_PAN: Final = PanConfig(channel=0x37)

# HAN and OTA requests (note §3.1): known to the firmware, not allowed in Dual mode here.
_HAN_CODES: Final = frozenset(
    [*range(0x000A, 0x006B), 0x00D3, 0x00DA, *range(0x0103, 0x010A), 0x0201, 0x0202]
)


def j11_channel(skstack_channel: int) -> int:
    """The J11 channel (4..17) of a SKSTACK channel number (33..60)."""
    return 4 + (skstack_channel - 33) // 2


def rssi_from_lqi(lqi: int) -> int:
    """RSSI in dBm from an SKSTACK LQI (the conversion SKSTACK modules document)."""
    return max(-128, min(127, round(0.275 * lqi - 104.27)))


class _Phase(enum.Enum):
    GLOBAL_NOT_STARTED = 0x37
    NOT_STARTED = 0x10
    OPERATING = 0x34
    AUTHENTICATED = 0x35


_ALL = frozenset(_Phase)
_G, _N, _O, _A = (
    _Phase.GLOBAL_NOT_STARTED,
    _Phase.NOT_STARTED,
    _Phase.OPERATING,
    _Phase.AUTHENTICATED,
)
#: Command availability in Dual mode (note §2, 表18/表19). The refusal is the phase's value.
_AVAILABLE: Final[dict[int, frozenset[_Phase]]] = {
    **dict.fromkeys((0x0001, 0x0009, 0x000E, 0x0011, 0x0100, 0x0102, 0x0107, 0x010B), _ALL),
    **dict.fromkeys((0x006B, 0x00D9), _ALL),
    **dict.fromkeys((0x005F, 0x0101, 0x010A), frozenset({_G, _N})),
    **dict.fromkeys((0x0051, 0x00DB), frozenset({_N, _O, _A})),
    **dict.fromkeys((0x0005, 0x0006, 0x0007, 0x0008, 0x00D1), frozenset({_O, _A})),
    0x0054: frozenset({_N, _O}),
    0x0053: frozenset({_N}),
    **dict.fromkeys((0x0056, 0x0058), frozenset({_O})),
    0x005E: frozenset({_O, _A}),
    **dict.fromkeys((0x0057, 0x00D2, 0x0059), frozenset({_A})),
}


class _J11ModuleCore:
    """State, ground truth, task bookkeeping and output of the simulated J11 module."""

    def __init__(
        self,
        preset: J11Preset,
        *,
        clock: SimClock,
        meter: MeterLike,
        rbid: str,
        password: str,
        seed: int = 0,
        timing: J11Timing | str = "realistic",
        faults: FaultPlan | None = None,
        j11_faults: J11Faults | None = None,
        radio: RadioConfig | None = None,
        pan: PanConfig | None = None,
        neighbour_pan: PanConfig | None = None,
        mac: str | None = None,
    ) -> None:
        self.preset = preset
        self.clock = clock
        self.meter = meter
        self.timing = J11Timing.named(timing) if isinstance(timing, str) else timing
        self.faults = faults or FaultPlan()
        self.j11_faults = j11_faults or J11Faults()
        self.radio = radio or RadioConfig()
        pan = pan or DEFAULT_J11_PAN
        if pan.pair_id is None:
            pan = attrs.evolve(pan, pair_id=rbid[-8:].upper())
        self.pan = pan
        if neighbour_pan is None and self.faults.neighbour_pan:
            neighbour_pan = PanConfig.NEIGHBOUR
        self.neighbour_pan = neighbour_pan
        self.mac = (mac or DEFAULT_MODULE_MAC).upper()
        self._mac_bytes = bytes.fromhex(self.mac)
        self._address = link_local_address(self._mac_bytes)
        self.address = _text(self._address)
        self._rbid_expected = rbid.upper()
        self._password_expected = password.upper()
        self._rng = random.Random(seed)
        self._frng = random.Random(self.faults.seed)

        # Ground truth, kept across resets.
        self.requests_received: list[Request] = []
        self.commands_received: list[str] = []
        self.output: list[bytes] = []
        self.events: list[Message] = []
        self.responses: list[Message] = []
        self.payloads_to_meter: list[bytes] = []
        self.payloads_from_meter: list[bytes] = []
        self.flash_writes = 0
        self.resets = 0
        self.total_airtime_ms = 0.0
        self.errors: list[BaseException] = []
        self._route_b_attempts = 0
        self._transmissions = 0

        self.silent = self.faults.silent
        self.hung = self.j11_faults.silent_module
        self._port: DevicePort | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._session_tasks: set[asyncio.Task[None]] = set()
        self._finished: list[asyncio.Task[None]] = []
        self._frame_waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._input = RequestInput(preset, self.timing.inter_byte_timeout_s)
        self._power_on()

    # ------------------------------------------------------------------ state

    def _power_on(self) -> None:
        self.global_state = GlobalState.NOT_STARTED
        self.route_b_state = RouteBState.NOT_STARTED
        self.mode = 0xFF
        self.channel = 0xFF
        self.han_sleep = 0
        self.tx_power = 0
        self.rbid: str | None = None
        self.password: str | None = None
        self.ports: set[int] = set()
        self.neighbor_discovery = False
        self.flow_control = False
        self.booting = False
        self.firmware_mode = False
        self._busy: object | None = None
        self._pana_running = False
        self._route_pan: PanConfig | None = None
        self._session: SessionInfo | None = None
        self._pana_key = bytes(16)
        self._tx_limited_until: float | None = None
        self._input.clear()

    @property
    def session(self) -> SessionInfo | None:
        """The PANA session, or None."""
        return self._session

    @property
    def session_active(self) -> bool:
        """True while the PANA session is established and usable."""
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
        """Datagrams from the meter reported as 0x6018."""
        return len(self.payloads_from_meter)

    @property
    def discarded_bytes(self) -> int:
        """Input bytes discarded while hunting for a request (text, noise, bad frames)."""
        return self._input.discarded

    @property
    def meter_mac(self) -> bytes:
        """The meter's MAC address as the J11 module reports it (8 bytes)."""
        return bytes.fromhex(self.pan.mac)

    @property
    def meter_channel(self) -> int:
        """The meter's J11 channel (4..17)."""
        return j11_channel(self.pan.channel)

    # ------------------------------------------------------------- lifecycle

    def detach(self) -> None:
        """Power off: stop every activity and close the port."""
        self._cancel_tasks()
        if self._reader is not None:
            self._reader.cancel()
            self._finished.append(self._reader)
            self._reader = None
        port, self._port = self._port, None
        if port is not None:
            port.close_nowait()
        self._session = None

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
        """Restart as after 0x00D9 or a power glitch: settings lost, 0x6019 after booting."""
        self.resets += 1
        self._cancel_tasks()
        self._power_on()
        self._boot()

    def _boot(self) -> None:
        self.booting = True
        self._spawn(self._boot_done())

    async def _boot_done(self) -> None:
        await self._pause(self.preset.boot_s * self.timing.boot_factor)
        self.booting = False
        self._input.clear()
        self._notify(BootCompleted())

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

    def _start(self, coro: Coroutine[Any, Any, None], done: Any = None) -> asyncio.Task[None]:
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
            _LOGGER.error("simulated J11 module task failed", exc_info=exc)
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

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            await self.clock.sleep(seconds)

    def _draw(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    # ----------------------------------------------------------------- output

    def _write(self, data: bytes) -> None:
        if self._port is None:
            return
        if self.faults.garbage and self._frng.random() < self.faults.garbage:
            self._raw_write(
                bytes(self._frng.randrange(256) for _ in range(self._frng.randint(1, 24)))
            )
        if self.faults.garble and len(data) > 1 and self._frng.random() < self.faults.garble:
            damaged = bytearray(data)
            index = self._frng.randrange(len(data))
            damaged[index] ^= self._frng.randrange(1, 256)
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
        """Write ``data`` (default: random line noise without a frame in it) now."""
        if data is None:
            size = self._frng.randint(1, 24)
            data = bytes(self._frng.randrange(256) for _ in range(size)).replace(b"\xd0", b"\x00")
        self._raw_write(data)

    def _respond(self, message: Message) -> None:
        self.responses.append(message)
        self._write(message.encode())

    def _notify(self, message: Message) -> None:
        self.events.append(message)
        self._write(message.encode())

    def _result(self, request_code: int, result: int) -> None:
        self._respond(ResultResponse(request_code | 0x2000, result))


def _text(address: ipaddress.IPv6Address) -> str:
    """An address as SKSTACK prints it (upper case, uncompressed), like the other module."""
    return address.exploded.upper()
