"""Test helpers: a simulated Wi-SUN module and smart meter (public API).

The simulator plays both ends of the B route a HEMS application talks to: a Wi-SUN
dongle speaking SKSTACK IP on a serial port (BP35A1 and BP35C2 families, with their
quirks) and the low-voltage smart meter behind it (ECHONET Lite object 0x028801). Attach
a client to it in memory, on a pseudo-terminal, or from the command line
(``python -m aiobroute.testing``)::

    from aiobroute.testing import Simulator

    sim = Simulator("BP35C2", timing="instant")
    async with sim.pty() as path:
        ...  # open `path` with any serial client; B-route ID sim.rbid, password sim.password

The J11 models (``Simulator("RS_WSUHA_J11")``: BP35C1-J11-T01, BP35C2-J11-T01,
RS-WSUHA-J11, BP35C0-J11) speak ROHM's binary protocol (:mod:`aiobroute.j11`) in front of
the same meter; see :class:`J11Preset`, :class:`J11Faults` and :class:`SimulatedJ11Module`.

Time is simulated (:class:`SimClock`): ``speed`` scales it and ``clock.advance()`` jumps.
Faults (:class:`FaultPlan`) are seeded and deterministic; every kind can also be injected
at runtime (``sim.inject_session_expiry()``, ``sim.unplug()`` ...).
"""

from __future__ import annotations

from aiobroute.testing._clock import JST, SimClock
from aiobroute.testing._faults import FaultKind, FaultPlan, ScheduledFault
from aiobroute.testing._j11module import SimulatedJ11Module
from aiobroute.testing._j11presets import J11Faults, J11Preset, J11Timing
from aiobroute.testing._meter import MeterConfig, SimulatedMeter
from aiobroute.testing._module import DevicePort, MeterLike, SessionInfo, SimulatedModule
from aiobroute.testing._presets import (
    BP35C2_MODULE_MAC,
    DEFAULT_MODULE_MAC,
    ModulePreset,
    PanConfig,
    RadioConfig,
    SendRefusal,
    Timing,
)
from aiobroute.testing._pty import PtyPort
from aiobroute.testing._sim import DEFAULT_PASSWORD, DEFAULT_RBID, Simulator
from aiobroute.testing._usb_serial import PacedPort, UartTiming

__all__ = [
    "BP35C2_MODULE_MAC",
    "DEFAULT_MODULE_MAC",
    "DEFAULT_PASSWORD",
    "DEFAULT_RBID",
    "JST",
    "DevicePort",
    "FaultKind",
    "FaultPlan",
    "J11Faults",
    "J11Preset",
    "J11Timing",
    "MeterConfig",
    "MeterLike",
    "ModulePreset",
    "PacedPort",
    "PanConfig",
    "PtyPort",
    "RadioConfig",
    "ScheduledFault",
    "SendRefusal",
    "SessionInfo",
    "SimClock",
    "SimulatedJ11Module",
    "SimulatedMeter",
    "SimulatedModule",
    "Simulator",
    "Timing",
    "UartTiming",
]
