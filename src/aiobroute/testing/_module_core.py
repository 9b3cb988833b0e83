"""The core of the simulated SKSTACK IP module: registers, state and output lines.

:class:`~aiobroute.testing.SimulatedModule` is built in layers, one class per module:
the base it shares with the J11 module (tasks, power, output faults, the meter's
answers: ``_module_base``); this core; the radio (scan, UDP, meter, ARIB limit:
``_module_radio``); PANA and the session (``_module_pana``); the command handlers
(``_module_commands``); and the UART front end with the runtime faults (``_module``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque

from aiobroute._log import Redactor
from aiobroute.skstack._events import ErrorCode, Event, EventNum, Message, Ok, RxUdp
from aiobroute.skstack._registers import Register
from aiobroute.skstack._wire import CRLF, canonical_ipv6, encode, link_local_from_mac
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._module_base import DevicePort, MeterLike, SessionInfo, _SimModuleBase
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._presets import ModulePreset, PanConfig, RadioConfig, Timing
from aiobroute.testing._uart import UartInput

__all__ = ["DevicePort", "MeterLike", "SessionInfo"]

_LOGGER = logging.getLogger("aiobroute.testing._module")

ECHONET_PORT = 0x0E1A
PANA_PORT = 0x02CC
_DEFAULT_PORTS = (ECHONET_PORT, PANA_PORT, 0, 0, 0, 0)


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


class _ModuleCore(_SimModuleBase[Timing]):
    """State, ground truth and output of the simulated SKSTACK module."""

    _logger = _LOGGER
    _garble_min = 2  # the line end is spared

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
        super().__init__(
            clock=clock,
            meter=meter,
            timing=Timing.named(timing) if isinstance(timing, str) else timing,
            seed=seed,
            faults=faults,
            radio=radio,
            pan=pan or PanConfig(),
            pair_id=rbid[-8:],
            neighbour_pan=neighbour_pan,
            mac=mac or preset.module_mac,
        )
        self.preset = preset
        self.address = link_local_from_mac(self.mac)
        self.scan_event_address = (
            canonical_ipv6(scan_event_address) if scan_event_address else self.address
        )
        self.pana_exchanges = pana_exchanges
        self._rbid_expected = rbid
        self._password_expected = password
        self._redactor = Redactor()
        self._redactor.add(rbid, password)

        # Ground truth, kept across resets.
        self.events: list[Event] = []
        self.tx_frames = 0
        self.rx_frames = 0

        # Flash (survives resets).
        self.hex_payload = preset.default_hex
        self.uart_setting = 0x00
        self._saved_registers: dict[int, int | str] | None = None

        self._power_on()

    def _power_on(self) -> None:
        super()._power_on()
        self.registers: dict[int, int | str] = {reg: reg.spec.default for reg in Register}
        self.registers[Register.MAC] = int(self.mac, 16)
        if self.registers[Register.AUTO_LOAD] == 1 or (
            self._saved_registers is not None and self._saved_registers.get(Register.AUTO_LOAD) == 1
        ):
            self.registers.update(self._saved_registers or {})
        self._pana: PanaBuilder | None = None
        self._neighbours: dict[str, str] = {}
        self._ports = list(_DEFAULT_PORTS)
        self._sfd_ms = 0.0
        self._tx_history: deque[tuple[float, float]] = deque()
        self._natural_limit = False
        self._forced_limit_until: float | None = None
        self._limit_watcher: asyncio.Task[None] | None = None
        self._uart = UartInput()

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

    def reset(self) -> None:
        """Reset as if power-cycled (registers back, echo on, session gone); port stays."""
        self.resets += 1
        self._cancel_tasks()
        uart = self._uart
        self._power_on()
        self._uart = uart

    def _garbage(self) -> bytes:
        return self._noise() + CRLF

    def _garble(self, data: bytes) -> bytes:
        damaged = bytearray(data)
        index = self._frng.randrange(len(data) - 2)
        keep = (0x0A, 0x0D, damaged[index])  # line ends stay; the byte really changes
        damaged[index] = self._frng.choice([b for b in range(256) if b not in keep])
        return bytes(damaged)

    def _clear_input(self) -> None:
        self._uart = UartInput()

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Write ``data`` (default: a line of random bytes) to the UART now."""
        self._raw_write(self._garbage() if data is None else data)

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
