"""The simulated SKSTACK IP module: UART command set, PANA, radio, ARIB and faults.

:class:`SimulatedModule` plays the Wi-SUN dongle on the device end of a byte stream.
It reads commands, prints echoes, answers and asynchronous lines exactly like the model
of its :class:`~aiobroute.testing.ModulePreset`, and carries secured UDP datagrams to and
from a simulated meter. All delays are simulated seconds of a
:class:`~aiobroute.testing.SimClock`.

Choices on points the reference leaves open (each can be changed by a knob or is noted):

* Echo is decided when a line arrives, before it runs: ``SKSREG SFE 0`` is echoed when
  echo was on, ``SKSREG SFE 1`` is not echoed when it was off.
* Product commands (ROPT/WOPT/RUART/WUART) are echoed like other commands, and their
  echo, answer and ``FAIL`` end with a lone CR on models that use CR-only endings.
* SKSENDTO with echo on echoes its header (up to and including the space after DATALEN)
  followed by CRLF, never the data; with echo off it prints the lone CRLF of the preset.
* SKSENDTO with an argument count of the other family answers ``FAIL ER05`` after its
  DATALEN data bytes have been read, so the stream stays in step.
* ``EVENT 21 … 02`` (neighbour solicitation) shows on a send to a neighbour missing from
  the neighbour cache; SKJOIN and SKADDNBR fill the cache, so sends after a join show
  only ``00``/``01`` (as in the real captures).
* Empty lines are ignored (no echo, no answer). SKDSLEEP is not modelled (``FAIL ER04``).
* ``EVENT 20``/``22``/``1F`` carry the module's own link-local address unless
  ``scan_event_address`` says otherwise; ``EVENT 32``/``33`` carry the module's address.
* SKJOIN while a session is up, or while a scan or join runs, answers ``FAIL ER10``.
* The meter's startup INF goes out after each EVENT 25 of SKJOIN or SKREJOIN, not after
  automatic re-authentication. While re-authenticating, secured sends are refused like
  sends without a session.
* A silent meter answers nothing on the radio (no beacon, NA, PANA or ECHONET Lite), but
  sends still end with ``EVENT 21 … 00``: links die silently.
* The default session lifetime (register S16) is 86400 s; S17 (auto re-auth) is 1.
* Unplugging is a power cut: the registers, the session and SFD are lost, flash stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Literal, Protocol

import attrs

from aiobroute._log import Redactor
from aiobroute.errors import PortClosedError
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    EdScan,
    ErrorCode,
    Event,
    EventNum,
    Fail,
    Info,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    Pong,
    PortTable,
    RegisterValue,
    RxUdp,
    Version,
)
from aiobroute.skstack._wire import (
    CRLF,
    MULTICAST_ALL_NODES,
    canonical_ipv6,
    encode,
    link_local_from_mac,
)
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._presets import (
    ModulePreset,
    PanConfig,
    RadioConfig,
    Timing,
)
from aiobroute.testing._uart import CommandLine, SendToCommand, UartInput

__all__ = ["DevicePort", "MeterLike", "SessionInfo", "SimulatedModule"]

_LOGGER = logging.getLogger(__name__)

ECHONET_PORT = 0x0E1A
PANA_PORT = 0x02CC
_PRODUCT_COMMANDS = frozenset({"ROPT", "WOPT", "RUART", "WUART"})
_SECRET_COMMANDS = ("SKSETPWD", "SKSETRBID")
_HEX = frozenset("0123456789ABCDEFabcdef")
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


class _Reg:
    """One virtual register: kind, print width, default, writability."""

    __slots__ = ("default", "kind", "lo", "width", "writable")

    def __init__(
        self,
        kind: Literal["hex", "flag", "chars"],
        default: int | str,
        *,
        width: int = 0,
        writable: bool = True,
        lo: int = 0,
    ) -> None:
        self.kind = kind
        self.default = default
        self.width = width
        self.writable = writable
        self.lo = lo


_REGISTERS: dict[int, _Reg] = {
    0x01: _Reg("hex", 0, width=16, writable=False),
    0x02: _Reg("hex", 0x21, width=2, lo=0x21),
    0x03: _Reg("hex", 0xFFFF, width=4),
    0x07: _Reg("hex", 0, width=8, writable=False),
    0x0A: _Reg("chars", "00000000", width=8),
    0x15: _Reg("flag", 1),
    0x16: _Reg("hex", 86400, width=8, lo=0x3C),
    0x17: _Reg("flag", 1),
    0xA0: _Reg("flag", 0),
    0xA1: _Reg("flag", 1),
    0xA2: _Reg("flag", 0),
    0xFB: _Reg("flag", 0, writable=False),
    0xFD: _Reg("hex", 0, width=16, writable=False),
    0xFE: _Reg("flag", 1),
    0xFF: _Reg("flag", 0),
}
_MAX_CHANNEL = 0x3C


class _CommandError(Exception):
    """Raised inside a handler to answer ``FAIL ERxx``."""

    def __init__(self, code: ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


def _hex_int(text: str, max_digits: int) -> int:
    if not text or len(text) > max_digits or not set(text) <= _HEX:
        raise _CommandError(ErrorCode.ER06)
    return int(text, 16)


def _ipv6(text: str) -> str:
    try:
        return canonical_ipv6(text)
    except ValueError:
        raise _CommandError(ErrorCode.ER06) from None


def _arity(args: list[str], *counts: int) -> None:
    if len(args) not in counts:
        raise _CommandError(ErrorCode.ER05)


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


class SimulatedModule:
    """A simulated Wi-SUN module speaking SKSTACK IP on a device port.

    Args:
        preset: The model (``ModulePreset.BP35A1`` ...), possibly evolved.
        clock: The simulated clock every delay runs on.
        meter: The smart meter at the other end of the radio link.
        rbid: The B-route ID the meter accepts.
        password: The B-route password the meter accepts.
        seed: Seed of the module's own random choices (latencies, PANA ids, lone CRLF).
        timing: ``"realistic"``, ``"instant"`` or a :class:`Timing`.
        faults: What goes wrong (see :class:`FaultPlan`).
        radio: Airtime and reception knobs.
        pan: The meter's PAN; default :class:`PanConfig` with the B-route ID's PairID.
        neighbour_pan: A second PAN in range (a neighbour's meter); the fault plan's
            ``neighbour_pan`` flag adds ``PanConfig.NEIGHBOUR`` when this is None.
        mac: The module's own MAC address (default: the preset's).
        scan_event_address: Address printed by EVENT 20/22/1F (default: own link-local).
        pana_exchanges: PANA-Auth-Request messages of a successful join (at least 1).

    Ground truth (read-only for tests): :attr:`commands_received`, :attr:`output`,
    :attr:`events`, :attr:`flash_writes`, :attr:`payloads_to_meter`,
    :attr:`payloads_from_meter`, :attr:`tx_frames`, :attr:`rx_frames`,
    :attr:`airtime_ms`, :attr:`session`, :attr:`hex_payload`.
    """

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

    # ------------------------------------------------------------------ state

    def _power_on(self) -> None:
        self.registers: dict[int, int | str] = {
            number: reg.default for number, reg in _REGISTERS.items()
        }
        self.registers[0x01] = int(self.mac, 16)
        if self.registers[0xFF] == 1 or (
            self._saved_registers is not None and self._saved_registers.get(0xFF) == 1
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
        return self.registers[0xFE] == 1

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

    # ------------------------------------------------------------- lifecycle

    def attach(self, port: DevicePort) -> None:
        """Power the module up on ``port`` and start reading commands."""
        if self._port is not None:
            raise RuntimeError("a port is already attached")
        self._power_on()
        self._port = port
        self._reader = self._start(self._read_loop(port), self._finished_reader)

    def swap_port(self, port: DevicePort) -> None:
        """Serve on ``port`` instead, without a power cycle (the host reopened the port).

        The module keeps its registers, session and state (a hang too); a half-typed
        command line is lost with the old port.
        """
        if self._port is None:
            raise RuntimeError("no port is attached")
        if self._reader is not None:
            self._reader.cancel()
            self._finished = [task for task in self._finished if not task.done()]
            self._finished.append(self._reader)
        old, self._port = self._port, port
        old.close_nowait()
        self._uart = UartInput()
        self._reader = self._start(self._read_loop(port), self._finished_reader)

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

    # ----------------------------------------------------------------- output

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
        rssi = pan.lqi if has_side and self.preset.sa2_rssi and self.registers[0xA2] == 1 else None
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

    # ------------------------------------------------------------------ input

    async def _read_loop(self, port: DevicePort) -> None:
        while True:
            try:
                data = await port.read()
            except PortClosedError:
                return
            if self.hung:
                continue  # the firmware reads nothing while it hangs
            for item in self._uart.feed(data):
                if isinstance(item, SendToCommand):
                    await self._handle_sendto(item)
                else:
                    await self._handle_line(item)

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
        else:
            await self.clock.sleep(seconds)

    def _draw(self, bounds: tuple[float, float]) -> float:
        return self._rng.uniform(*bounds)

    async def _handle_line(self, item: CommandLine) -> None:
        if item.overflow:
            self._send(Fail(ErrorCode.ER09))
            return
        text = item.text.decode("latin-1")
        if not text.strip():
            return
        self.commands_received.append(text)
        name, *args = text.split()
        if _LOGGER.isEnabledFor(logging.DEBUG):
            shown = f"{name} ****" if name in _SECRET_COMMANDS else text
            _LOGGER.debug("module received %s", self._redactor.redact_text(shown))
        product = name in _PRODUCT_COMMANDS
        cr_only = product and self.preset.product_cr_only
        if self.echo:
            # Product commands are echoed with the line end the host sent (their answers
            # end with a lone CR); the SK commands' echo always ends with CRLF.
            self._write(text.encode("latin-1") + (item.ending if cr_only else CRLF))
        await self._pause(self.timing.command_s)
        handler = self._handlers().get(name)
        if handler is None or (product and not self.preset.product_commands):
            self._send(Fail(ErrorCode.ER04))
            return
        try:
            await handler(args)
        except _CommandError as error:
            if cr_only:  # product commands answer errors with the same lone CR
                self._write(encode(Fail(error.code))[:-2] + b"\r")
            else:
                self._send(Fail(error.code))

    def _handlers(self) -> dict[str, Callable[[list[str]], Awaitable[None]]]:
        return {
            "SKVER": self._cmd_skver,
            "SKAPPVER": self._cmd_skappver,
            "SKINFO": self._cmd_skinfo,
            "SKRESET": self._cmd_skreset,
            "SKSREG": self._cmd_sksreg,
            "SKSETPWD": self._cmd_sksetpwd,
            "SKSETRBID": self._cmd_sksetrbid,
            "SKSCAN": self._cmd_skscan,
            "SKLL64": self._cmd_skll64,
            "SKADDNBR": self._cmd_skaddnbr,
            "SKJOIN": self._cmd_skjoin,
            "SKREJOIN": self._cmd_skrejoin,
            "SKTERM": self._cmd_skterm,
            "SKTABLE": self._cmd_sktable,
            "SKUDPPORT": self._cmd_skudpport,
            "SKSAVE": self._cmd_sksave,
            "SKLOAD": self._cmd_skload,
            "SKERASE": self._cmd_skerase,
            "SKPING": self._cmd_skping,
            "ROPT": self._cmd_ropt,
            "WOPT": self._cmd_wopt,
            "RUART": self._cmd_ruart,
            "WUART": self._cmd_wuart,
        }

    # --------------------------------------------------------------- commands

    async def _cmd_skver(self, args: list[str]) -> None:
        _arity(args, 0)
        self._send(Version(self.preset.version))
        self._ok()

    async def _cmd_skappver(self, args: list[str]) -> None:
        if self.preset.app_version is None:
            raise _CommandError(ErrorCode.ER04)
        _arity(args, 0)
        self._send(AppVersion(self.preset.app_version))
        self._ok()

    async def _cmd_skinfo(self, args: list[str]) -> None:
        _arity(args, 0)
        channel = self.registers[0x02]
        pan_id = self.registers[0x03]
        assert isinstance(channel, int)  # noqa: S101
        assert isinstance(pan_id, int)  # noqa: S101
        self._send(Info(self.address, self.mac, channel, pan_id, self.preset.einfo_field5))
        self._ok()

    async def _cmd_skreset(self, args: list[str]) -> None:
        _arity(args, 0)
        self._ok()
        self.reset()
        await self._pause(self.timing.reset_s)

    async def _cmd_sksreg(self, args: list[str]) -> None:
        _arity(args, 1, 2)
        number = self._register_number(args[0])
        reg = _REGISTERS[number]
        if len(args) == 1:
            self._send(RegisterValue(self._register_text(number)))
            self._ok()
            return
        if not reg.writable:
            raise _CommandError(ErrorCode.ER06)
        value = args[1]
        if reg.kind == "flag":
            if value not in ("0", "1"):
                raise _CommandError(ErrorCode.ER06)
            self.registers[number] = int(value)
        elif reg.kind == "chars":
            if len(value) != reg.width:
                raise _CommandError(ErrorCode.ER06)
            self.registers[number] = value
        else:
            parsed = _hex_int(value, reg.width)
            if parsed < reg.lo or (number == 0x02 and parsed > _MAX_CHANNEL):
                raise _CommandError(ErrorCode.ER06)
            self.registers[number] = parsed
        self._ok()

    @staticmethod
    def _register_number(name: str) -> int:
        if len(name) < 2 or name[0] != "S":
            raise _CommandError(ErrorCode.ER06)
        number = _hex_int(name[1:], 2)
        if number not in _REGISTERS:
            raise _CommandError(ErrorCode.ER06)
        return number

    def _register_text(self, number: int) -> str:
        reg = _REGISTERS[number]
        if number == 0x07:
            value: int | str = self.tx_frames & 0xFFFFFFFF
        elif number == 0xFB:
            value = int(self.tx_limited)
        elif number == 0xFD:
            value = int(self._sfd_ms)
        else:
            value = self.registers[number]
        if reg.kind == "chars" or isinstance(value, str):
            return str(value)
        if reg.kind == "flag":
            return str(value)
        return f"{value:0{reg.width}X}"

    async def _cmd_sksetpwd(self, args: list[str]) -> None:
        _arity(args, 2)
        length = _hex_int(args[0], 2)
        if not 1 <= length <= 32 or len(args[1]) != length:
            raise _CommandError(ErrorCode.ER06)
        self.password = args[1]
        self._ok()

    async def _cmd_sksetrbid(self, args: list[str]) -> None:
        _arity(args, 1)
        if len(args[0]) != 32:
            raise _CommandError(ErrorCode.ER06)
        self.rbid = args[0]
        self.registers[0x0A] = args[0][-8:]
        self._ok()

    async def _cmd_skscan(self, args: list[str]) -> None:
        _arity(args, 4 if self.preset.has_side else 3)
        if args[0] not in ("0", "2", "3"):
            raise _CommandError(ErrorCode.ER06)
        mode = int(args[0])
        mask = _hex_int(args[1], 8)
        duration = _hex_int(args[2], 1)
        if duration > 14:
            raise _CommandError(ErrorCode.ER06)
        side = 0
        if self.preset.has_side:
            if args[3] not in ("0", "1"):
                raise _CommandError(ErrorCode.ER06)
            side = int(args[3])
        token = self._claim()
        self._ok()
        self._spawn(self._scan(mode, mask, duration, side, token))

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

    async def _scan(self, mode: int, mask: int, duration: int, side: int, token: object) -> None:
        try:
            channels = [0x21 + bit for bit in range(28) if mask & (1 << bit)]
            per_channel = self.timing.scan_slot_s * (2**duration + 1) * self.faults.slow_factor
            minimum = self.radio.beacon_min_duration
            if minimum is None:
                minimum = self.preset.beacon_min_duration
            hear = side == 0 and duration >= minimum
            if hear and mode != 0 and self.radio.beacon_miss:
                hear = self._rng.random() >= self.radio.beacon_miss
            timeline = _Timeline(self.clock)
            levels: list[tuple[int, int]] = []
            for channel in channels:
                await timeline.after(per_channel)
                on_channel = [pan for pan in self._pans() if pan.channel == channel]
                if mode == 0:
                    level = self._rng.randint(0x02, 0x12)
                    if on_channel:
                        level = max(level, max(pan.lqi for pan in on_channel) // 4)
                    levels.append((channel, level))
                    continue
                if not hear:
                    continue
                for pan in on_channel:
                    self.rx_frames += 1
                    self._write(
                        encode(self._event(EventNum.BEACON_RECEIVED, self.scan_event_address))
                        + encode(self._pan_descriptor(pan, mode))
                    )
                    self.events.append(
                        self._event(EventNum.BEACON_RECEIVED, self.scan_event_address)
                    )
            if mode == 0:
                block = encode(self._event(EventNum.ED_SCAN_DONE, self.scan_event_address))
                block += encode(EdScan(tuple(levels), side if self.preset.has_side else None))
                if self.preset.eedscan_blank_line:
                    block += CRLF
                self.events.append(self._event(EventNum.ED_SCAN_DONE, self.scan_event_address))
                self._write(block)
            else:
                self._emit_event(EventNum.ACTIVE_SCAN_DONE, self.scan_event_address)
        finally:
            self._release(token)

    def _pan_descriptor(self, pan: PanConfig, mode: int) -> PanDescriptor:
        return PanDescriptor(
            channel=pan.channel,
            channel_page=9,
            pan_id=pan.pan_id,
            addr=pan.mac,
            lqi=pan.lqi,
            side=0 if self.preset.has_side else None,
            pair_id=pan.pair_id if mode == 2 else None,
        )

    async def _cmd_skll64(self, args: list[str]) -> None:
        _arity(args, 1)
        if len(args[0]) != 16:
            raise _CommandError(ErrorCode.ER06)
        _hex_int(args[0], 16)
        self._send(AddressLine(link_local_from_mac(args[0].upper())))

    async def _cmd_skaddnbr(self, args: list[str]) -> None:
        _arity(args, 2)
        address = _ipv6(args[0])
        if len(args[1]) != 16:
            raise _CommandError(ErrorCode.ER06)
        _hex_int(args[1], 16)
        if self.radio.neighbor_cache:
            self._neighbours[address] = args[1].upper()
        self._ok()

    async def _cmd_skjoin(self, args: list[str]) -> None:
        _arity(args, 1)
        paa = _ipv6(args[0])
        if self._session is not None:
            raise _CommandError(ErrorCode.ER10)
        token = self._claim()
        self._ok()
        self._spawn(self._join(paa, token))

    async def _cmd_skrejoin(self, args: list[str]) -> None:
        _arity(args, 0)
        session = self._session
        if session is None:
            raise _CommandError(ErrorCode.ER10)
        token = self._claim()
        self._session = attrs.evolve(session, state="reauth")
        self._cancel_session_tasks()
        self._ok()
        self._spawn(self._reauthenticate(session.paa, token=token))

    async def _cmd_skterm(self, args: list[str]) -> None:
        _arity(args, 0)
        session = self._session
        if session is None:
            raise _CommandError(ErrorCode.ER10)
        self._session = attrs.evolve(session, state="closing")
        self._cancel_session_tasks()
        await self._pause(self._draw(self.timing.tx_s))
        self._pana_tx(session.paa)
        self._ok()
        self._spawn(self._terminate(session))

    async def _cmd_sktable(self, args: list[str]) -> None:
        _arity(args, 1)
        which = args[0].upper()
        if which == "1":
            self._send(AddressTable((self.address,)))
        elif which == "2":
            entries = tuple((ip, mac, "FFFF") for ip, mac in self._neighbours.items())
            self._send(NeighborTable(entries))
        elif which == "E":
            self._send(PortTable(tuple(self._ports), self.preset.eport_extra_ports))
        else:
            raise _CommandError(ErrorCode.ER06)
        self._ok()

    async def _cmd_skudpport(self, args: list[str]) -> None:
        _arity(args, 2)
        handle = _hex_int(args[0], 1)
        if not 1 <= handle <= 6:
            raise _CommandError(ErrorCode.ER06)
        self._ports[handle - 1] = _hex_int(args[1], 4)
        self._ok()

    async def _cmd_sksave(self, args: list[str]) -> None:
        _arity(args, 0)
        self._saved_registers = {
            number: value for number, value in self.registers.items() if _REGISTERS[number].writable
        }
        self.flash_writes += 1
        self._ok()

    async def _cmd_skload(self, args: list[str]) -> None:
        _arity(args, 0)
        if self._saved_registers is None:
            raise _CommandError(ErrorCode.ER10)
        self.registers.update(self._saved_registers)
        self._ok()

    async def _cmd_skerase(self, args: list[str]) -> None:
        _arity(args, 0)
        self._saved_registers = None
        self.flash_writes += 1
        self._ok()

    async def _cmd_skping(self, args: list[str]) -> None:
        _arity(args, 1, 2) if self.preset.has_side else _arity(args, 1)
        target = _ipv6(args[-1])
        self._ok()
        pan = self._pan_at(target)
        if pan is not None and not self.silent:
            self._account_tx(8)
            self._spawn(self._pong(target))

    async def _pong(self, target: str) -> None:
        await self._pause(self.timing.ping_s)
        self.rx_frames += 1
        self._send(Pong(target))

    def _product_ok(self, value: str | None = None) -> None:
        self._send(Ok(value, cr_only=self.preset.product_cr_only))

    async def _cmd_ropt(self, args: list[str]) -> None:
        _arity(args, 0)
        self._product_ok(f"{int(self.hex_payload):02X}")

    async def _cmd_wopt(self, args: list[str]) -> None:
        _arity(args, 1)
        value = _hex_int(args[0], 2)
        if len(args[0]) != 2 or value > 1:
            raise _CommandError(ErrorCode.ER06)
        self.hex_payload = bool(value)
        self.flash_writes += 1
        self._product_ok()

    async def _cmd_ruart(self, args: list[str]) -> None:
        _arity(args, 0)
        self._product_ok(f"{self.uart_setting:02X}")

    async def _cmd_wuart(self, args: list[str]) -> None:
        _arity(args, 1)
        value = _hex_int(args[0], 2)
        if len(args[0]) != 2 or value & 0x07 > 6:
            raise _CommandError(ErrorCode.ER06)
        self.uart_setting = value
        self.flash_writes += 1
        self._product_ok()

    # ---------------------------------------------------------------- SKSENDTO

    async def _handle_sendto(self, item: SendToCommand) -> None:
        header = item.header.decode("latin-1")
        self.commands_received.append(header.rstrip(" "))
        _LOGGER.debug("module received SKSENDTO (%d bytes)", len(item.payload))
        if self.echo:
            self._write(item.header + CRLF)
        elif self._rng.random() < self.preset.sendto_lone_crlf:
            self._write(CRLF)
        try:
            await self._sendto(item)
        except _CommandError as error:
            self._send(Fail(error.code))

    async def _sendto(self, item: SendToCommand) -> None:
        args = list(item.args)
        _arity(args, 6 if self.preset.has_side else 5)
        handle = _hex_int(args[0], 1)
        dest = _ipv6(args[1])
        port = _hex_int(args[2], 4)
        if args[3] not in ("0", "1", "2") or (self.preset.has_side and args[4] not in ("0", "1")):
            raise _CommandError(ErrorCode.ER06)
        sec = int(args[3])
        length = int(args[-1], 16)
        if item.oversized or not 1 <= handle <= 6 or length == 0:
            raise _CommandError(ErrorCode.ER06)
        source_port = self._ports[handle - 1]
        if source_port == 0:
            raise _CommandError(ErrorCode.ER10)
        await self._pause(self.timing.command_s)
        if self.tx_limited:
            self._refuse_send(dest, self.preset.tx_limited_send)
            return
        session = self._session
        has_session = (
            session is not None
            and session.state == "active"
            and dest in (session.paa, MULTICAST_ALL_NODES)
        )
        if sec == 1 and not has_session:
            self._refuse_send(dest, self.preset.no_session_send)
            return
        secured = sec == 1 or (sec == 2 and has_session)
        await self._pause(self._draw(self.timing.tx_s))
        multicast = dest.startswith("FF")
        pan = self._pan_at(dest)
        reachable = multicast or dest == self.address or pan is not None
        if not multicast and dest not in self._neighbours and dest != self.address:
            self._account_tx(0)
            self._emit_event(EventNum.UDP_SENT, dest, 0x02)
            if pan is not None and not self.silent:
                self.rx_frames += 1
                if self.radio.neighbor_cache:
                    self._neighbours[dest] = pan.mac
            else:
                reachable = multicast or dest == self.address
        if reachable:
            self._account_tx(len(item.payload))
            self._emit_event(EventNum.UDP_SENT, dest, 0x00)
        else:
            self._emit_event(EventNum.UDP_SENT, dest, 0x01)
        self._ok()
        self._check_budget()
        if (
            reachable
            and secured
            and port == ECHONET_PORT
            and has_session
            and session is not None
            and not self.silent
        ):
            self._deliver_to_meter(item.payload, session, source_port)

    def _refuse_send(self, dest: str, how: str) -> None:
        if how == "fail":
            raise _CommandError(ErrorCode.ER10)
        self._emit_event(EventNum.UDP_SENT, dest, 0x01)
        self._ok()

    def _pan_at(self, address: str) -> PanConfig | None:
        """The PAN whose coordinator (meter) has ``address`` and that we are tuned to."""
        for pan in (self.pan, self.neighbour_pan):
            if (
                pan is not None
                and link_local_from_mac(pan.mac) == address
                and self.registers[0x02] == pan.channel
                and self.registers[0x03] == pan.pan_id
            ):
                return pan
        return None

    # ------------------------------------------------------------------ meter

    def _deliver_to_meter(self, payload: bytes, session: SessionInfo, source_port: int) -> None:
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
                self._spawn(
                    self._meter_says(
                        reply, session.paa, self.address, source_port, latency + again
                    ),
                    session=True,
                )
        count = self.frames_to_meter
        for target, waiter in self._frame_waiters:
            if count >= target and not waiter.done():
                waiter.set_result(None)

    async def _meter_says(
        self, payload: bytes, sender: str, dest: str, lport: int, delay: float
    ) -> None:
        await self._pause(delay)
        session = self._session
        if session is None or session.state != "active" or session.paa != sender or self.silent:
            return
        if lport not in self._ports:
            return
        self.rx_frames += 1
        self.payloads_from_meter.append(payload)
        self._send(
            self._rx_udp(
                sender, dest, session.pan, payload, ports=(ECHONET_PORT, lport), secured=True
            )
        )

    async def _push_loop(self) -> None:
        while True:
            now = self.clock.now()
            due = self.meter.next_push_time(now)
            # At least 1 s: a meter answering a past slot must not spin this loop.
            delay = max((due - now).total_seconds(), 1.0) + self._draw(self.timing.push_jitter_s)
            await self.clock.sleep_until(self.clock.monotonic() + delay)
            session = self._session
            if session is None or session.state != "active" or self.silent:
                continue
            for frame in self.meter.push_frames(due):
                await self._meter_says(frame, session.paa, self.address, ECHONET_PORT, 0.0)

    async def _startup_frames(self, session: SessionInfo) -> None:
        await self._pause(self._draw(self.timing.join_step_s))
        for frame in self.meter.startup_frames():
            await self._meter_says(frame, session.paa, MULTICAST_ALL_NODES, ECHONET_PORT, 0.0)

    # ------------------------------------------------------------------- PANA

    def _pana_rx(self, paa: str, pan: PanConfig, data: bytes) -> None:
        self.rx_frames += 1
        self._send(
            self._rx_udp(paa, self.address, pan, data, ports=(PANA_PORT, PANA_PORT), secured=False)
        )

    def _pana_tx(self, paa: str, size: int = 64) -> None:
        self._account_tx(size)
        self._emit_event(EventNum.UDP_SENT, paa, 0x00)

    def _credentials_ok(self, pan: PanConfig) -> bool:
        return (
            pan.accepts_our_credentials
            and self.rbid == self._rbid_expected
            and self.password == self._password_expected
        )

    async def _join(self, paa: str, token: object) -> None:
        try:
            slow = self.faults.slow_factor
            timeline = _Timeline(self.clock)
            pan = self._pan_at(paa)
            if pan is None or self.silent:
                await self._unreachable(paa, timeline)
                return
            if paa not in self._neighbours:
                await timeline.after(self._draw(self.timing.tx_s))
                self._account_tx(0)
                self._emit_event(EventNum.UDP_SENT, paa, 0x02)
                await timeline.after(self._draw(self.timing.tx_s))
                self.rx_frames += 1
                self._emit_event(EventNum.NA_RECEIVED, paa)
                if self.radio.neighbor_cache:
                    self._neighbours[paa] = pan.mac
            else:
                self._account_tx(48)
            self._pana = PanaBuilder(self._rng)
            ok = await self._pana_exchange(paa, pan, timeline, start=True)
            if not ok:
                await timeline.after(self.timing.join_fail_s * slow)
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            self._established(paa, pan, announce=True)
        finally:
            self._release(token)

    async def _unreachable(self, paa: str, timeline: _Timeline) -> None:
        """No neighbour advertisement: PANA retransmits (2, 4, 8, 8, 8 s), then EVENT 24."""
        total = self.timing.join_unreachable_s * self.faults.slow_factor
        previous = 0.0
        for offset in (0, 2, 6, 14, 22, 30):
            point = total * offset / 38
            await timeline.after(point - previous)
            previous = point
            self._account_tx(0)
            self._emit_event(EventNum.UDP_SENT, paa, 0x02)
            self._emit_event(EventNum.UDP_SENT, paa, 0x01)
        await timeline.after(total - previous)
        self._emit_event(EventNum.PANA_FAILED, paa)

    async def _pana_exchange(
        self, paa: str, pan: PanConfig, timeline: _Timeline, *, start: bool
    ) -> bool:
        """The PAA's PANA-Auth-Requests and our answers; False if the PAA goes quiet."""
        pana = self._pana
        assert pana is not None  # noqa: S101
        step = self.timing.join_step_s
        slow = self.faults.slow_factor
        credentials_ok = self._credentials_ok(pan)
        count = self.pana_exchanges
        for index in range(count):
            await timeline.after(self._draw(step) * slow)
            if self.silent:
                return False
            last = index == count - 1
            if index == 0 and start:
                message = pana.auth_start()
            elif last and credentials_ok:
                lifetime = self.registers[0x16]
                assert isinstance(lifetime, int)  # noqa: S101
                message = pana.auth_complete(lifetime)
            else:
                message = pana.auth_eap(index)
            if last and not credentials_ok and count > 1:
                return False
            self._pana_rx(paa, pan, message)
            await timeline.after(self._draw(self.timing.tx_s))
            self._pana_tx(paa)
        return credentials_ok

    def _established(self, paa: str, pan: PanConfig, *, announce: bool) -> None:
        lifetime = self.registers[0x16]
        assert isinstance(lifetime, int)  # noqa: S101
        pana = self._pana
        self._session = SessionInfo(
            paa=paa,
            pan=pan,
            state="active",
            established_at=self.clock.monotonic(),
            lifetime_s=lifetime,
            session_id=pana.session_id if pana is not None else 0,
        )
        self._cancel_session_tasks()
        self._emit_event(EventNum.PANA_CONNECTED, paa)
        self._spawn(self._lifetime_timer(), session=True)
        self._spawn(self._push_loop(), session=True)
        if announce:
            self._spawn(self._startup_frames(self._session), session=True)

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
        self._expire(reauth=self.registers[0x17] == 1, announce=True)

    def _expire(self, *, reauth: bool, announce: bool) -> bool:
        session = self._session
        if session is None:
            return False
        if announce:
            self._emit_event(EventNum.SESSION_EXPIRED, session.paa)
        if reauth:
            self._session = attrs.evolve(session, state="reauth")
            self._cancel_session_tasks()
            self._spawn(self._reauthenticate(session.paa))
        else:
            self._end_session()
        return True

    async def _reauth_fails(self, paa: str) -> None:
        timeline = _Timeline(self.clock)
        await timeline.after(self.timing.join_fail_s * self.faults.slow_factor)
        self._end_session()
        self._emit_event(EventNum.PANA_FAILED, paa)

    async def _reauthenticate(self, paa: str, *, token: object | None = None) -> None:
        """Re-authentication (automatic, or SKREJOIN when ``token`` is given)."""
        rejoin = token is not None
        try:
            session = self._session
            timeline = _Timeline(self.clock)
            pan = session.pan if session is not None else self._pan_at(paa)
            if pan is None or self.silent:
                await timeline.after(self.timing.join_unreachable_s * self.faults.slow_factor)
                self._end_session()
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            await timeline.after(self._draw(self.timing.tx_s))
            self._pana_tx(paa)
            if self._pana is None:
                self._pana = PanaBuilder(self._rng)
            await timeline.after(self._draw(self.timing.join_step_s))
            self._pana_rx(paa, pan, self._pana.reauth_answer())
            ok = await self._pana_exchange(paa, pan, timeline, start=False)
            if not ok:
                await timeline.after(self.timing.join_fail_s * self.faults.slow_factor)
                self._end_session()
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            self._established(paa, pan, announce=rejoin)
        finally:
            if token is not None:
                self._release(token)

    async def _terminate(self, session: SessionInfo) -> None:
        """After SKTERM sent PANA-Termination-Request: the answer (EVENT 27) or EVENT 28."""
        timeline = _Timeline(self.clock)
        if self.silent:
            await timeline.after(self.timing.join_unreachable_s * self.faults.slow_factor / 4)
            self._end_session()
            self._emit_event(EventNum.SESSION_TERMINATE_TIMEOUT, session.paa)
            return
        await timeline.after(self.timing.termination_s)
        pana = self._pana or PanaBuilder(self._rng)
        self._pana_rx(session.paa, session.pan, pana.termination_answer())
        self._end_session()
        self._emit_event(EventNum.SESSION_TERMINATED, session.paa)

    # ----------------------------------------------------------- runtime faults

    def inject_session_expiry(self, *, reauth: bool = True, announce: bool = True) -> bool:
        """Expire the session now.

        ``reauth=True``: EVENT 29 then automatic re-authentication ending in EVENT 25;
        with ``announce=False`` the re-authentication comes without EVENT 29 (driven by
        the meter). ``reauth=False``: EVENT 29, then EVENT 24 after ``join_fail_s``.
        Returns False when there was no session.
        """
        if self._session is None or self._port is None:
            return False
        if not reauth:
            session = self._session
            self._emit_event(EventNum.SESSION_EXPIRED, session.paa)
            self._session = attrs.evolve(session, state="reauth")
            self._cancel_session_tasks()
            self._spawn(self._reauth_fails(session.paa))
            return True
        return self._expire(reauth=True, announce=announce)

    def inject_termination(self) -> bool:
        """The meter ends the session: PANA-Termination-Request, then EVENT 26."""
        session = self._session
        if session is None or self._port is None:
            return False
        pana = self._pana or PanaBuilder(self._rng)
        self._pana_rx(session.paa, session.pan, pana.termination_request())
        self._end_session()
        self._emit_event(EventNum.SESSION_TERMINATE_REQUESTED, session.paa)
        return True

    def set_hung(self, hung: bool) -> None:
        """The firmware hangs (True): it reads no command and prints nothing, not even
        an event or a received datagram, until released (False). The radio state (the
        session) is kept, as after a real hang that ends by itself.
        """
        self.hung = hung

    def set_silent(self, silent: bool) -> None:
        """Make the meter stop (or resume) answering anything on the radio."""
        self.silent = silent

    def inject_tx_limit(self, duration_s: float) -> None:
        """Force the ARIB limit: EVENT 32 now, EVENT 33 after ``duration_s`` simulated s."""
        if self._port is None:
            return
        was_limited = self.tx_limited
        until = self.clock.monotonic() + duration_s
        self._forced_limit_until = max(until, self._forced_limit_until or until)
        if not was_limited:
            self._emit_event(EventNum.TX_LIMIT_STARTED, self.address)
        self._watch_limit()

    # ------------------------------------------------------------------- ARIB

    def _account_tx(self, payload_len: int) -> None:
        airtime = self.radio.airtime_s(payload_len)
        self._sfd_ms += airtime * 1000
        self.total_airtime_ms += airtime * 1000
        self.tx_frames += 1
        self._tx_history.append((self.clock.monotonic(), airtime))

    def _window_sum(self, now: float) -> float:
        horizon = now - self.radio.tx_window_s
        while self._tx_history and self._tx_history[0][0] <= horizon:
            self._tx_history.popleft()
        return sum(airtime for _, airtime in self._tx_history)

    def _check_budget(self) -> None:
        if self._natural_limit:
            return
        if self._window_sum(self.clock.monotonic()) > self.radio.tx_budget_s:
            was_limited = self.tx_limited
            self._natural_limit = True
            if not was_limited:
                self._emit_event(EventNum.TX_LIMIT_STARTED, self.address)
            self._watch_limit()

    def _natural_release_time(self) -> float | None:
        total = sum(airtime for _, airtime in self._tx_history)
        release: float | None = None
        for sent_at, airtime in self._tx_history:
            if total <= self.radio.tx_budget_s:
                break
            total -= airtime
            release = sent_at + self.radio.tx_window_s
        return release

    def _watch_limit(self) -> None:
        if self._limit_watcher is None or self._limit_watcher.done():
            self._limit_watcher = self._start(self._limit_loop())
            self._radio_tasks.add(self._limit_watcher)

    async def _limit_loop(self) -> None:
        while True:
            now = self.clock.monotonic()
            if self._forced_limit_until is not None and self._forced_limit_until <= now:
                self._forced_limit_until = None
            if self._natural_limit and self._window_sum(now) <= self.radio.tx_budget_s:
                self._natural_limit = False
            if not self.tx_limited:
                self._emit_event(EventNum.TX_LIMIT_RELEASED, self.address)
                return
            targets = [
                t for t in (self._forced_limit_until, self._natural_release_time()) if t is not None
            ]
            await self.clock.sleep_until(max(targets) if targets else now + 1.0)
