"""The core of the simulated J11 module: state, phases, boot and output messages.

:class:`~aiobroute.testing.SimulatedJ11Module` is built in layers, as the SKSTACK module
is: the base both share (tasks, power, output faults, the meter's answers:
``_module_base``); this core; the radio (scans, route B, transmissions and the meter:
``_j11module_radio``); PANA and the session (``_j11module_pana``); the request handlers
(``_j11module_commands``); and the UART front end with the runtime faults
(``_j11module``).
"""

from __future__ import annotations

import enum
import ipaddress
import logging
from typing import Final

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
from aiobroute.testing._module_base import MeterLike, _SimModuleBase
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


class _J11ModuleCore(_SimModuleBase[J11Timing]):
    """State, ground truth, lifecycle and output of the simulated J11 module."""

    _logger = _LOGGER
    _failure_message = "simulated J11 module task failed"

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
        super().__init__(
            clock=clock,
            meter=meter,
            timing=J11Timing.named(timing) if isinstance(timing, str) else timing,
            seed=seed,
            faults=faults,
            radio=radio,
            pan=pan or DEFAULT_J11_PAN,
            pair_id=rbid[-8:].upper(),
            neighbour_pan=neighbour_pan,
            mac=mac or DEFAULT_MODULE_MAC,
        )
        self.preset = preset
        self.j11_faults = j11_faults or J11Faults()
        self._mac_bytes = bytes.fromhex(self.mac)
        self._address = link_local_address(self._mac_bytes)
        self.address = _text(self._address)
        self._rbid_expected = rbid.upper()
        self._password_expected = password.upper()

        # Ground truth, kept across resets.
        self.requests_received: list[Request] = []
        self.events: list[Message] = []
        self.responses: list[Message] = []
        self._route_b_attempts = 0
        self._transmissions = 0

        self.hung = self.j11_faults.silent_module
        self._input = RequestInput(preset, self.timing.inter_byte_timeout_s)
        self._power_on()

    # ------------------------------------------------------------------ state

    def _power_on(self) -> None:
        super()._power_on()
        self.global_state = GlobalState.NOT_STARTED
        self.route_b_state = RouteBState.NOT_STARTED
        self.mode = 0xFF
        self.channel = 0xFF
        self.han_sleep = 0
        self.tx_power = 0
        self.ports: set[int] = set()
        self.neighbor_discovery = False
        self.flow_control = False
        self.booting = False
        self.firmware_mode = False
        self._pana_running = False
        self._route_pan: PanConfig | None = None
        self._pana_key = bytes(16)
        self._tx_limited_until: float | None = None
        self._input.clear()

    def _clear_input(self) -> None:
        self._input.clear()

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

    # ----------------------------------------------------------------- output

    def _garbage(self) -> bytes:
        return self._noise()

    def _garble(self, data: bytes) -> bytes:
        damaged = bytearray(data)
        index = self._frng.randrange(len(data))
        damaged[index] ^= self._frng.randrange(1, 256)
        return bytes(damaged)

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Write ``data`` (default: random line noise without a frame in it) now."""
        if data is None:
            data = self._noise().replace(b"\xd0", b"\x00")
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
