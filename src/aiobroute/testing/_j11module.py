"""The simulated J11 module: ROHM's binary UART protocol in front of the simulated meter.

:class:`SimulatedJ11Module` plays a BP35C0/C1/C2-J11 or RS-WSUHA-J11 on the device end
of a byte stream, built from :mod:`aiobroute.j11` (the codec in the module's role). It
shares the simulated meter, clock, PAN and fault plan with the SKSTACK module and offers
the same ground truth (payloads to and from the meter, session, output).

Behaviour (J11 reference, notes §1.6, §2, §3, §5, §7):

* Input: bytes are discarded silently until ``D0 EA 83 FC``; SKSTACK text is therefore
  ignored. A wrong header checksum answers 0x2FFF, a message length below 4 or above 1353
  answers 0xF2/0xF3, a wrong data checksum 0xF1, more than 1 s (simulated) between two
  bytes of a request 0x13 (the last three with ``request | 0x2000``, unverified), a code
  that is not a request 0xFFFF, a wrong data length 0x11 and a value out of range 0x04.
  The bad request is dropped.
* One command at a time: a request while one is still running (a scan, a transmission,
  0x0053's beacon wait) answers 0x3D. 0x00D9 is accepted at any time; it answers
  nothing, every setting returns to its default and 0x6019 follows after ``boot_s``. Input
  is ignored while booting. 0x6019 also follows power-up (attach).
* States and availability follow the table of note §2 (refusals 0x37, 0x10, 0x34, 0x35).
  HAN and OTA requests answer 0x14. 0x00F0 (firmware rewrite) puts the module in a
  mode where it ignores everything until it is power-cycled.
* Active scan: one 0x4051 per channel after its dwell, then 0x2051. With the ID flag only
  a PAN whose pairing ID matches answers; without it every PAN in range answers.
* 0x0053 associates with the PAN on the configured channel (the meter first) or answers
  0x0E after the 2.5 s beacon timer. PANA (0x0056) needs credentials (else 0x51) and
  reports 0x6028 0x01, 0x02 (wrong ID or password) or 0x03 (silent meter, after ~500 s).
  After success the meter multicasts its instance list (0x6018, destination type 0x01).
* Transmit: 0x2008 with status 0x00 and the first 5 payload bytes; status 0x05 when the
  meter does not ACK (silent meter, ``J11Faults.no_ack``), 0x02 while the radio budget is
  exhausted. Meter answers come as 0x6018 if port 3610 is open, else as 0x6038 (UDP).
* Session: the meter ending it gives 0x601A 0x04 (route B back to operating); an expiry
  re-authenticates by itself (0x6028 0x01 when ``notify_reauth``) or fails (0x6028 0x03).
* Nothing is written to flash: ``flash_writes`` stays 0 (every setting is volatile).

Channels: a :class:`~aiobroute.testing.PanConfig` uses SKSTACK numbers (33..60, 200 kHz
apart); J11 channel = 4 + (SKSTACK channel - 33) // 2 (400 kHz apart). RSSI in dBm is
derived from the PAN's LQI as SKSTACK does (0.275 x LQI - 104.27).
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

from aiobroute.errors import InvalidArgumentError, J11FrameError, PortClosedError
from aiobroute.j11 import (
    ActiveScan,
    Beacon,
    BootCompleted,
    CloseUdpPort,
    Command,
    Connection,
    ConnectionEvent,
    ConnectionListResponse,
    ConnectionStatusChanged,
    DataReceived,
    EdScan,
    EdScanResponse,
    ErrorReply,
    GetIpAddress,
    GetMacAddress,
    GetNeighborDiscovery,
    GetPanaKey,
    GetPanId,
    GetStatus,
    GetUartSettings,
    GetUdpPorts,
    GetVersion,
    GlobalState,
    InitialSettings,
    InitialSettingsResponse,
    IpAddressResponse,
    J11Frame,
    MacAddressResponse,
    Message,
    OpenUdpPort,
    OperationMode,
    PanaKeyResponse,
    PanaResult,
    PanaStatus,
    PanIdResponse,
    Ping,
    PingFormat,
    PingResult,
    PortListResponse,
    ReceptionFailure,
    ReceptionFailureReason,
    Request,
    ResultCode,
    ResultResponse,
    RouteBState,
    ScanResult,
    SetNeighborDiscovery,
    SetRouteBCredentials,
    SetUartSettings,
    StartRouteBResponse,
    StatusResponse,
    TerminalListResponse,
    TransmitData,
    TransmitResponse,
    VersionResponse,
    decode_request,
    link_local_address,
)
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._j11presets import J11Faults, J11Preset, J11Timing
from aiobroute.testing._j11uart import InputError, RequestInput
from aiobroute.testing._module import DevicePort, MeterLike, SessionInfo
from aiobroute.testing._presets import DEFAULT_MODULE_MAC, PanConfig, RadioConfig

__all__ = ["SimulatedJ11Module", "j11_channel", "rssi_from_lqi"]

#: The smallest audible scan duration when the radio does not say (the J11 boards share
#: the BP35C2's radio; real logs of that family need duration 5: unverified for J11).
_J11_BEACON_MIN_DURATION = 5

_LOGGER = logging.getLogger(__name__)

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


class SimulatedJ11Module:
    """A simulated J11 module on a device port (see the module docstring for behaviour).

    Args:
        preset: The model (``J11Preset.RS_WSUHA_J11`` ...), possibly evolved.
        clock: The simulated clock every delay runs on.
        meter: The smart meter at the other end of the radio link.
        rbid: The B-route ID the meter accepts.
        password: The B-route password the meter accepts.
        seed: Seed of the module's own random choices (latencies, keys).
        timing: ``"realistic"``, ``"instant"`` or a :class:`J11Timing`.
        faults: The shared fault plan (drops, delays, garbage, silent meter, no beacon...).
        j11_faults: J11-only faults (0x0053 failures, missing ACKs, PANA never answered).
        radio: Reception knobs (``beacon_min_duration``) and airtime accounting.
        pan: The meter's PAN (default: J11 channel 15; pairing ID = last 8 of ``rbid``).
        neighbour_pan: A second PAN in range (a neighbour's meter).
        mac: The module's own MAC address (16 hex digits; default
            :data:`DEFAULT_MODULE_MAC`).

    Ground truth: :attr:`requests_received`, :attr:`commands_received`, :attr:`output`,
    :attr:`events` (every notification sent), :attr:`responses`,
    :attr:`payloads_to_meter`, :attr:`payloads_from_meter`, :attr:`session`,
    :attr:`flash_writes`, :attr:`resets`, :attr:`discarded_bytes`.
    """

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

    def attach(self, port: DevicePort) -> None:
        """Power the module up on ``port``: read requests, send 0x6019 once booted."""
        if self._port is not None:
            raise RuntimeError("a port is already attached")
        self._power_on()
        self._port = port
        self._reader = self._start(self._read_loop(port), self._record_failure)
        self._boot()

    def swap_port(self, port: DevicePort) -> None:
        """Serve on ``port`` instead, without a power cycle (the host reopened the port).

        Settings, session and state are kept; a half-received request is lost with the
        old port.
        """
        if self._port is None:
            raise RuntimeError("no port is attached")
        if self._reader is not None:
            self._reader.cancel()
            self._finished = [task for task in self._finished if not task.done()]
            self._finished.append(self._reader)
        old, self._port = self._port, port
        old.close_nowait()
        self._input.clear()
        self._reader = self._start(self._read_loop(port), self._record_failure)

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

    # ------------------------------------------------------------------ input

    async def _read_loop(self, port: DevicePort) -> None:
        reading: asyncio.Task[bytes] | None = None
        try:
            while True:
                if reading is None:
                    reading = asyncio.get_running_loop().create_task(port.read())
                deadline = self._input.deadline
                if deadline is not None:
                    timer = asyncio.get_running_loop().create_task(self.clock.sleep_until(deadline))
                    try:
                        await asyncio.wait({reading, timer}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        timer.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await timer
                    if not reading.done():
                        self._on_timeout()
                        continue
                try:
                    data = await reading
                except PortClosedError:
                    return
                finally:
                    reading = None
                self._on_bytes(data)
        finally:
            if reading is not None:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, PortClosedError):
                    await reading

    def _on_timeout(self) -> None:
        error = self._input.expire()
        if error is not None and not self.booting and not self.firmware_mode:
            _LOGGER.debug("J11 module: request stalled past the inter-byte timeout")
            self._input_error(error)

    def _on_bytes(self, data: bytes) -> None:
        if self.hung:
            return  # the firmware reads nothing while it hangs
        for item in self._input.feed(data, self.clock.monotonic()):
            if self.booting or self.firmware_mode:
                continue  # not listening
            if isinstance(item, InputError):
                self._input_error(item)
            else:
                self._on_frame(item)

    def _input_error(self, error: InputError) -> None:
        if error.result is None or error.command is None:
            self._respond(ErrorReply(Command.HEADER_CHECKSUM_ERROR, self.preset.header_error_data))
        elif error.command >= 0x2000:
            self._respond(ErrorReply(Command.INVALID_COMMAND, self.preset.invalid_command_data))
        else:
            self._result(error.command, error.result)

    def _on_frame(self, frame: J11Frame) -> None:
        code = frame.command
        if code == Command.HARDWARE_RESET:
            self.commands_received.append("0x00D9 HardwareReset()")
            self.reset()
            return
        if code >= 0x2000:
            self.commands_received.append(f"0x{code:04X}")
            self._respond(ErrorReply(Command.INVALID_COMMAND, self.preset.invalid_command_data))
            return
        if self._busy is not None:
            self.commands_received.append(f"0x{code:04X} (busy)")
            self._result(code, ResultCode.BUSY)
            return
        if code == 0x00F0:
            self.commands_received.append("0x00F0 firmware rewrite")
            self.firmware_mode = True
            return
        try:
            request = decode_request(frame)
        except J11FrameError as exc:
            self.commands_received.append(f"0x{code:04X} (malformed)")
            bad_value = isinstance(exc.__cause__, InvalidArgumentError)
            self._result(code, ResultCode.OUT_OF_RANGE if bad_value else ResultCode.INVALID_LENGTH)
            return
        if request is None:
            self.commands_received.append(f"0x{code:04X}")
            if code in _HAN_CODES or code in _AVAILABLE:
                self._result(code, ResultCode.NOT_ALLOWED_IN_MODE)
            else:
                self._respond(ErrorReply(Command.INVALID_COMMAND, self.preset.invalid_command_data))
            return
        self.requests_received.append(request)
        self.commands_received.append(f"0x{code:04X} {request!r}")
        phase = self._phase()
        if phase not in _AVAILABLE.get(code, _ALL):
            self._result(code, phase.value)
            return
        token = object()
        self._busy = token
        self._spawn(self._run(request, token))

    def _phase(self) -> _Phase:
        if self.global_state != GlobalState.STARTED:
            return _Phase.GLOBAL_NOT_STARTED
        return {
            RouteBState.NOT_STARTED: _Phase.NOT_STARTED,
            RouteBState.OPERATING: _Phase.OPERATING,
            RouteBState.AUTHENTICATED: _Phase.AUTHENTICATED,
        }[self.route_b_state]

    async def _run(self, request: Request, token: object) -> None:
        try:
            await self._pause(self.timing.command_s)
            await self._execute(request)
        finally:
            # A command cancelled by a reset must not free a later command's slot.
            if self._busy is token:
                self._busy = None

    # --------------------------------------------------------------- commands

    async def _execute(self, request: Request) -> None:
        code = request.command
        match request:
            case GetStatus():
                self._respond(
                    StatusResponse(ResultCode.SUCCESS, self.global_state, self.route_b_state, 0x01)
                )
            case GetVersion():
                major, minor, revision = self.preset.version
                self._respond(
                    VersionResponse(
                        ResultCode.SUCCESS, self.preset.firmware_id, major, minor, revision
                    )
                )
            case InitialSettings():
                self.mode = request.mode
                self.han_sleep = int(request.han_sleep)
                self.channel = request.channel
                self.tx_power = request.tx_power
                self.global_state = GlobalState.STARTED
                self._result(code, ResultCode.SUCCESS)
            case SetRouteBCredentials():
                repeat = self.rbid is not None and self._session is not None
                self.rbid = request.route_b_id
                self.password = request.password.upper()
                self._result(
                    code, self.preset.repeat_credentials_result if repeat else ResultCode.SUCCESS
                )
            case ActiveScan():
                await self._scan(request)
            case EdScan():
                await self._ed_scan(request)
            case OpenUdpPort():
                if request.port in self.ports:
                    self._result(code, ResultCode.PORT_ALREADY_OPEN)
                elif len(self.ports) >= _MAX_USER_PORTS:
                    self._result(code, ResultCode.TOO_MANY_PORTS)
                else:
                    self.ports.add(request.port)
                    self._result(code, ResultCode.SUCCESS)
            case CloseUdpPort():
                if request.port not in self.ports:
                    self._result(code, ResultCode.PORT_NOT_OPEN)
                else:
                    self.ports.discard(request.port)
                    self._result(code, ResultCode.SUCCESS)
            case GetUdpPorts():
                self._respond(PortListResponse(ResultCode.SUCCESS, sorted(self.ports)))
            case GetIpAddress():
                self._respond(IpAddressResponse(ResultCode.SUCCESS, self._address))
            case GetMacAddress():
                self._respond(MacAddressResponse(ResultCode.SUCCESS, self._mac_bytes))
            case GetPanId():
                pan = self._route_pan
                self._respond(PanIdResponse(ResultCode.SUCCESS, pan.pan_id if pan else 0xFFFF))
            case GetPanaKey():
                self._respond(PanaKeyResponse(ResultCode.SUCCESS, self._pana_key))
            case SetNeighborDiscovery():
                self.neighbor_discovery = request.enabled
                self._result(code, ResultCode.SUCCESS)
            case GetNeighborDiscovery():
                self._respond(
                    ResultResponse(code | 0x2000, 0x01, bytes([int(self.neighbor_discovery)]))
                )
            case SetUartSettings():
                self.flow_control = request.enabled
                self._result(code, ResultCode.SUCCESS)
            case GetUartSettings():
                self._respond(ResultResponse(code | 0x2000, 0x01, bytes([int(self.flow_control)])))
            case _:
                await self._execute_route_b(request)

    async def _execute_route_b(self, request: Request) -> None:
        code = request.command
        if code == Command.GET_INITIAL_SETTINGS:
            self._respond(
                InitialSettingsResponse(
                    ResultCode.SUCCESS, self.mode, self.han_sleep, self.channel, self.tx_power
                )
            )
        elif code == Command.GET_CONNECTIONS:
            self._respond(self._connection_list())
        elif code == Command.GET_TERMINALS:
            self._respond(TerminalListResponse(ResultCode.SUCCESS, 0x00, ()))
        elif isinstance(request, Ping):
            await self._ping(request)
        elif code == Command.START_ROUTE_B:
            await self._start_route_b()
        elif code == Command.START_PANA:
            self._start_pana(reauth=False)
        elif code == Command.RESTART_PANA:
            self._start_pana(reauth=True)
        elif code == Command.TERMINATE_PANA:
            self._pana_running = False
            self._end_session()
            self.route_b_state = RouteBState.OPERATING
            self._result(code, ResultCode.SUCCESS)
        elif code == Command.TERMINATE_ROUTE_B:
            self.route_b_state = RouteBState.NOT_STARTED
            self._route_pan = None
            self.ports.clear()
            self._result(code, ResultCode.SUCCESS)
        elif isinstance(request, TransmitData):
            await self._transmit(request)
        else:  # pragma: no cover - every typed request is handled above
            self._result(code, ResultCode.INVALID_COMMAND)

    def _connection_list(self) -> ConnectionListResponse:
        pan = self._route_pan
        if pan is None or self.route_b_state == RouteBState.NOT_STARTED:
            return ConnectionListResponse(ResultCode.SUCCESS)
        state = 0x02 if self.route_b_state == RouteBState.AUTHENTICATED else 0x01
        entry = Connection(bytes.fromhex(pan.mac), pan.pan_id, 0x01, 0x07, state)
        return ConnectionListResponse(ResultCode.SUCCESS, [entry])

    async def _ping(self, request: Ping) -> None:
        self._result(request.command, ResultCode.SUCCESS)
        await self._pause(2 * self._draw(self.timing.tx_s))
        meter = link_local_address(self.meter_mac)
        reachable = request.destination == meter and self._route_pan is self.pan and not self.silent
        if not reachable:
            self._notify(PingResult(False))
            return
        if request.format == PingFormat.GIVEN:
            data = request.data
        elif request.format == PingFormat.ALPHABET:
            data = (b"abcdefghijklmnopqrstuvwxyz" * (request.size // 26 + 1))[: request.size]
        else:
            count = request.size // 4 + 1
            data = b"".join(f"{n:04d}".encode() for n in range(1, count + 1))[: request.size]
        encryption = 0x02 if self.session_active else 0x01
        self._notify(PingResult(True, meter, encryption, rssi_from_lqi(self.pan.lqi), data))

    # ------------------------------------------------------------------ radio

    def _pans(self) -> list[PanConfig]:
        pans = [self.pan]
        if self.neighbour_pan is not None:
            pans.append(self.neighbour_pan)
        return pans

    def _hears(self, pan: PanConfig) -> bool:
        if self.silent and pan is self.pan:
            return False
        return not self.faults.no_beacon

    async def _scan(self, request: ActiveScan) -> None:
        if self.preset.scan_response_first:
            self._result(request.command, ResultCode.SUCCESS)
        dwell = self.timing.scan_unit_s * 2**request.duration + self.timing.scan_overhead_s
        audible = self.radio.beacon_min_duration
        if audible is None:
            audible = _J11_BEACON_MIN_DURATION
        for channel in request.channels:
            await self._pause(dwell * self.faults.slow_factor)
            beacons = [
                Beacon(bytes.fromhex(pan.mac), pan.pan_id, rssi_from_lqi(pan.lqi))
                for pan in self._pans()
                if j11_channel(pan.channel) == channel
                and self._hears(pan)
                and request.duration >= audible
                and (
                    request.pairing_id is None
                    or request.pairing_id == (pan.pair_id or "").encode("ascii")
                )
            ]
            self._notify(ScanResult(channel, beacons))
        if not self.preset.scan_response_first:
            self._result(request.command, ResultCode.SUCCESS)

    async def _ed_scan(self, request: EdScan) -> None:
        channels = [ch for ch in range(4, 18) if request.channel_mask >> ch & 1]
        await self._pause(self.timing.ed_scan_s * len(channels))
        energies = []
        for channel in channels:
            busy = any(j11_channel(pan.channel) == channel for pan in self._pans())
            energies.append((channel, self._rng.randint(120, 180) if busy else 40))
        self._respond(EdScanResponse(ResultCode.SUCCESS, energies))

    async def _start_route_b(self) -> None:
        self._route_b_attempts += 1
        forced_failure = self._route_b_attempts <= self.j11_faults.route_b_failures
        candidates = [
            pan
            for pan in self._pans()
            if j11_channel(pan.channel) == self.channel and self._hears(pan)
        ]
        if self.mode != OperationMode.DUAL:
            self._result(Command.START_ROUTE_B, ResultCode.NOT_ALLOWED_IN_MODE)
            return
        if forced_failure or not candidates:
            await self._pause(self.timing.beacon_wait_s * self.faults.slow_factor)
            self._respond(StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED))
            return
        pan = candidates[0]
        await self._pause(self._draw(self.timing.route_b_s) * self.faults.slow_factor)
        self._route_pan = pan
        self.route_b_state = RouteBState.OPERATING
        self._respond(
            StartRouteBResponse(
                ResultCode.SUCCESS,
                j11_channel(pan.channel),
                pan.pan_id,
                bytes.fromhex(pan.mac),
                rssi_from_lqi(pan.lqi),
            )
        )

    # ------------------------------------------------------------------- PANA

    def _start_pana(self, *, reauth: bool) -> None:
        code = Command.RESTART_PANA if reauth else Command.START_PANA
        if self.rbid is None or self.password is None:
            self._result(code, ResultCode.PANA_SETTINGS_MISSING)
            return
        if self._pana_running:
            self._result(code, ResultCode.PANA_ALREADY_RUNNING)
            return
        pan = self._route_pan
        assert pan is not None  # noqa: S101 - route B is operating or authenticated
        answers = not self.silent and not self.j11_faults.pana_no_answer
        late = answers and self.preset.pana_result_first
        if not late and (answers or self.preset.pana_response_without_answer):
            self._result(code, ResultCode.SUCCESS)
        self._pana_running = True
        self._spawn(
            self._pana(pan, reauth=reauth, answers=answers, respond=code if late else None),
            session=True,
        )

    def _credentials_ok(self, pan: PanConfig) -> bool:
        return (
            pan is self.pan
            and pan.accepts_our_credentials
            and self.rbid == self._rbid_expected
            and self.password == self._password_expected
        )

    async def _pana(
        self, pan: PanConfig, *, reauth: bool, answers: bool, respond: int | None = None
    ) -> None:
        slow = self.faults.slow_factor
        mac = bytes.fromhex(pan.mac)
        try:
            if not answers:
                wait = self.timing.reauth_no_answer_s if reauth else self.timing.pana_no_answer_s
                await self._pause(wait * slow)
                self._lose_session()
                self._notify(PanaResult(PanaStatus.NO_RESPONSE, mac))
                return
            if not self._credentials_ok(pan):
                await self._pause(self.timing.pana_reject_s * slow)
                self._lose_session()
                self._notify(PanaResult(PanaStatus.REJECTED, mac))
                if respond is not None:
                    self._result(respond, ResultCode.SUCCESS)
                return
            await self._pause(self._draw(self.timing.pana_s) * slow)
            self._pana_running = False
            self._established(pan)
            self._notify(PanaResult(PanaStatus.SUCCESS, mac))
            if respond is not None:
                self._result(respond, ResultCode.SUCCESS)
            if not reauth:
                self._spawn(self._startup_frames(), session=True)
        finally:
            self._pana_running = False

    def _lose_session(self) -> None:
        self._end_session()
        if self.route_b_state == RouteBState.AUTHENTICATED:
            self.route_b_state = RouteBState.OPERATING

    def _established(self, pan: PanConfig) -> None:
        self._cancel_session_tasks()
        self._pana_key = bytes(self._rng.getrandbits(8) for _ in range(16))
        self._session = SessionInfo(
            paa=_text(link_local_address(bytes.fromhex(pan.mac))),
            pan=pan,
            state="active",
            established_at=self.clock.monotonic(),
            lifetime_s=_SESSION_LIFETIME_S,
            session_id=self._rng.getrandbits(32),
        )
        self.route_b_state = RouteBState.AUTHENTICATED
        self._spawn(self._lifetime_timer(), session=True)
        self._spawn(self._push_loop(), session=True)

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

    async def _lifetime_timer(self) -> None:
        session = self._session
        if session is None:
            return
        await self.clock.sleep_until(session.established_at + session.lifetime_s)
        self._expire(reauth=True)

    def _expire(self, *, reauth: bool) -> bool:
        session = self._session
        if session is None:
            return False
        self._session = attrs.evolve(session, state="reauth")
        self._cancel_session_tasks()
        self._spawn(self._auto_reauth(session, succeed=reauth and not self.silent), session=True)
        return True

    async def _auto_reauth(self, session: SessionInfo, *, succeed: bool) -> None:
        slow = self.faults.slow_factor
        mac = bytes.fromhex(session.pan.mac)
        if not succeed:
            await self._pause(self.timing.reauth_no_answer_s * slow)
            self._lose_session()
            self._notify(PanaResult(PanaStatus.NO_RESPONSE, mac))
            return
        await self._pause(self._draw(self.timing.pana_s) * slow)
        self._established(session.pan)
        if self.preset.notify_reauth:
            self._notify(PanaResult(PanaStatus.SUCCESS, mac))

    # ------------------------------------------------------------------ meter

    async def _transmit(self, request: TransmitData) -> None:
        per_byte = self.timing.tx_per_byte_s * len(request.payload)
        await self._pause(self._draw(self.timing.tx_s) + per_byte)
        self._transmissions += 1
        payload = request.payload
        session = self._session
        meter = link_local_address(self.meter_mac)
        to_meter = request.destination == meter and self._route_pan is self.pan
        status = 0x00
        if self._tx_limited_until is not None:
            if self.clock.monotonic() < self._tx_limited_until:
                status = 0x02
            else:
                self._tx_limited_until = None
        if status == 0x00 and not request.destination.is_multicast:
            no_ack = self.silent or not to_meter
            no_ack = no_ack or self._transmissions <= self.j11_faults.no_ack_first
            no_ack = no_ack or (
                self.j11_faults.no_ack > 0 and self._frng.random() < self.j11_faults.no_ack
            )
            if no_ack:
                status = 0x05
        if status != 0x02:
            self.total_airtime_ms += self.radio.airtime_s(len(payload)) * 1000
        self._respond(TransmitResponse(ResultCode.SUCCESS, status, payload[:5]))
        if (
            status == 0x00
            and to_meter
            and session is not None
            and session.state == "active"
            and request.destination_port == ECHONET_PORT
        ):
            self._deliver_to_meter(payload, request.source_port)

    def _deliver_to_meter(self, payload: bytes, source_port: int) -> None:
        self.payloads_to_meter.append(payload)
        for reply in self.meter.handle_payload(payload):
            latency = self._draw(self.timing.response_s)
            if self.faults.drop_reply and self._frng.random() < self.faults.drop_reply:
                continue
            if self.faults.delay_reply and self._frng.random() < self.faults.delay_reply:
                latency += self._frng.uniform(*self.faults.delay_reply_s)
            copies = 1
            if self.faults.duplicate_reply and self._frng.random() < self.faults.duplicate_reply:
                copies = 2
            for copy in range(copies):
                again = copy * self._draw(self.timing.tx_s)
                self._spawn(
                    self._meter_says(reply, source_port, latency + again, multicast=False),
                    session=True,
                )
        count = self.frames_to_meter
        for target, waiter in self._frame_waiters:
            if count >= target and not waiter.done():
                waiter.set_result(None)

    async def _meter_says(
        self, payload: bytes, port: int, delay: float, *, multicast: bool
    ) -> None:
        await self._pause(delay)
        session = self._session
        if session is None or session.state != "active" or self.silent:
            return
        source = link_local_address(bytes.fromhex(session.pan.mac))
        if port not in self.ports:
            self._notify(
                ReceptionFailure(
                    ReceptionFailureReason.UDP,
                    source,
                    self._rng.randrange(256),
                    False,
                    0,
                    payload[:5],
                )
            )
            return
        self.payloads_from_meter.append(payload)
        self._notify(
            DataReceived(
                source,
                ECHONET_PORT,
                port,
                session.pan.pan_id,
                0x01 if multicast else 0x00,
                0x02,
                rssi_from_lqi(session.pan.lqi),
                payload,
            )
        )

    async def _push_loop(self) -> None:
        while True:
            now = self.clock.now()
            due = self.meter.next_push_time(now)
            delay = max((due - now).total_seconds(), 1.0) + self._draw(self.timing.push_jitter_s)
            await self.clock.sleep_until(self.clock.monotonic() + delay)
            for frame in self.meter.push_frames(due):
                await self._meter_says(frame, ECHONET_PORT, 0.0, multicast=False)

    async def _startup_frames(self) -> None:
        await self._pause(self._draw(self.timing.pana_s) / 4)
        for frame in self.meter.startup_frames():
            await self._meter_says(frame, ECHONET_PORT, 0.0, multicast=True)

    # ----------------------------------------------------------- runtime faults

    def inject_session_expiry(self, *, reauth: bool = True, announce: bool = True) -> bool:
        """The PANA session reaches its lifetime now.

        ``reauth=True``: the module re-authenticates by itself (0x6028 0x01 when the
        preset's ``notify_reauth``); ``reauth=False``: it fails, 0x6028 0x03 after
        ``reauth_no_answer_s`` and route B falls back to operating. ``announce`` is
        accepted for symmetry with the SKSTACK module (J11 has no expiry notification).
        Returns False when there was no session.
        """
        del announce
        if self._session is None or self._port is None:
            return False
        return self._expire(reauth=reauth)

    def inject_termination(self) -> bool:
        """The meter ends the session: 0x601A 0x04, route B back to operating."""
        session = self._session
        if session is None or self._port is None:
            return False
        self._lose_session()
        self._notify(
            ConnectionStatusChanged(
                ConnectionEvent.PANA_DISCONNECTED,
                bytes.fromhex(session.pan.mac),
                rssi_from_lqi(session.pan.lqi),
            )
        )
        return True

    def inject_disconnect(self) -> bool:
        """The MAC link drops: 0x601A 0x03, route B not started (an unverified case)."""
        pan = self._route_pan
        if pan is None or self._port is None:
            return False
        self._end_session()
        self.route_b_state = RouteBState.NOT_STARTED
        self._route_pan = None
        self._notify(
            ConnectionStatusChanged(
                ConnectionEvent.MAC_DISCONNECTED, bytes.fromhex(pan.mac), rssi_from_lqi(pan.lqi)
            )
        )
        return True

    def inject_reception_failure(self, reason: int = ReceptionFailureReason.DECRYPTION) -> None:
        """A frame from the meter could not be delivered: 0x6038 with ``reason``."""
        source = link_local_address(self.meter_mac)
        self._notify(
            ReceptionFailure(reason, source, self._rng.randrange(256), False, 0, b"\x10\x81")
        )

    def set_silent(self, silent: bool) -> None:
        """Make the meter stop (or resume) answering anything on the radio."""
        self.silent = silent

    def set_hung(self, hung: bool) -> None:
        """The firmware hangs (True): it reads no request and writes nothing, not even a
        notification, until released (False). Settings and session are kept.
        """
        self.hung = hung

    def inject_tx_limit(self, duration_s: float) -> None:
        """The hourly radio budget is exhausted: transmissions get status 0x02 for a while."""
        self._tx_limited_until = self.clock.monotonic() + duration_s


def _text(address: ipaddress.IPv6Address) -> str:
    """An address as SKSTACK prints it (upper case, uncompressed), like the other module."""
    return address.exploded.upper()
