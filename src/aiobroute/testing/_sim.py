"""The simulator facade: a simulated module and meter, attached in memory or on a pty."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Coroutine
from typing import TYPE_CHECKING, Any, TypedDict

from aiobroute.errors import PortClosedError
from aiobroute.skstack._wire import link_local_from_mac
from aiobroute.testing._clock import SimClock
from aiobroute.testing._faults import FaultKind, FaultPlan, ScheduledFault
from aiobroute.testing._j11module import SimulatedJ11Module
from aiobroute.testing._j11presets import J11Faults, J11Preset, J11Timing
from aiobroute.testing._meter import MeterConfig, SimulatedMeter
from aiobroute.testing._module import DevicePort, SessionInfo, SimulatedModule
from aiobroute.testing._presets import (
    ModulePreset,
    PanConfig,
    RadioConfig,
    Timing,
)
from aiobroute.testing._pty import PtyPort
from aiobroute.testing._usb_serial import PacedPort, UartTiming
from aiobroute.transport._memory import MemoryStream, memory_pipe

if TYPE_CHECKING:
    from aiobroute.meter import SmartMeter

__all__ = ["DEFAULT_PASSWORD", "DEFAULT_RBID", "Simulator", "model_preset"]

#: The B-route ID the simulated meter accepts by default (test value, not a real one).
DEFAULT_RBID = "00112233445566778899AABBCCDDEEFF"
#: The B-route password the simulated meter accepts by default (test value).
DEFAULT_PASSWORD = "0123456789AB"  # noqa: S105 (a published test value)


def model_preset(name: str) -> ModulePreset | J11Preset:
    """The SKSTACK or J11 preset of a model name (case, ``-`` and ``_`` do not matter).

    Raises:
        ValueError: no preset has that name (the message lists the known ones).
    """
    j11 = J11Preset.find(name)
    if j11 is not None:
        return j11
    try:
        return ModulePreset.by_name(name)
    except ValueError:
        names = ", ".join([p.name for p in ModulePreset.all()] + [p.name for p in J11Preset.all()])
        raise ValueError(f"unknown module model {name!r}; known: {names}") from None


class _ModuleOptions(TypedDict):
    """The arguments both simulated modules take, as the simulator passes them."""

    clock: SimClock
    meter: SimulatedMeter
    rbid: str
    password: str
    seed: int
    faults: FaultPlan
    radio: RadioConfig | None
    pan: PanConfig | None
    neighbour_pan: PanConfig | None
    mac: str | None


class _GroundTruth:
    """What the simulated module and meter saw and did, for tests to compare against."""

    module: SimulatedModule | SimulatedJ11Module
    _paced: list[PacedPort]
    _paced_done: int

    @property
    def commands_received(self) -> list[str]:
        """Every command line the module read (SKSENDTO without its data), as sent."""
        return self.module.commands_received

    @property
    def output(self) -> bytes:
        """Everything the module wrote to the host so far."""
        return b"".join(self.module.output)

    @property
    def events(self) -> list[Any]:
        """Every EVENT the module printed (SKSTACK), or notification it sent (J11), in order.

        The items are :class:`aiobroute.skstack.Event` for an SKSTACK model and
        :mod:`aiobroute.j11` notification messages for a J11 model.
        """
        return self.module.events

    @property
    def flash_writes(self) -> int:
        """Flash writes so far (WOPT, WUART, SKSAVE, SKERASE; always 0 for J11)."""
        return self.module.flash_writes

    @property
    def frames_to_meter(self) -> int:
        """Datagrams that reached the meter over the secured session."""
        return self.module.frames_to_meter

    @property
    def frames_from_meter(self) -> int:
        """Datagrams from the meter printed as ERXUDP (or sent as 0x6018 by J11)."""
        return self.module.frames_from_meter

    @property
    def payloads_to_meter(self) -> list[bytes]:
        """The ECHONET Lite payloads that reached the meter."""
        return self.module.payloads_to_meter

    @property
    def payloads_from_meter(self) -> list[bytes]:
        """The ECHONET Lite payloads printed as ERXUDP from the meter."""
        return self.module.payloads_from_meter

    @property
    def uart_packets(self) -> int:
        """USB packets the paced UART delivered so far (0 without ``uart_timing``)."""
        return self._paced_done + sum(paced.packets for paced in self._paced)

    @property
    def airtime_ms(self) -> float:
        """Transmit time used by the module in total, in ms (across resets; SFD resets)."""
        return self.module.total_airtime_ms

    @property
    def session(self) -> SessionInfo | None:
        """The PANA session, or None."""
        return self.module.session

    @property
    def session_active(self) -> bool:
        """True while the PANA session is up and usable."""
        return self.module.session_active

    @property
    def meter_address(self) -> str:
        """The meter's link-local address (what SKLL64 of its MAC gives)."""
        return link_local_from_mac(self.module.pan.mac)

    @property
    def module_address(self) -> str:
        """The module's own link-local address."""
        return self.module.address


class Simulator(_GroundTruth):
    """A simulated Wi-SUN module and smart meter, ready to attach to a client.

    Example::

        sim = Simulator("BP35C2", timing="instant")
        async with sim.memory() as stream:       # or: async with sim.pty() as path:
            await stream.write(b"SKVER\\r\\n")
            ...
        assert sim.meter.instant_power_watts() > 0

    Args:
        model: A :class:`ModulePreset` or :class:`J11Preset`, or a model name: SKSTACK
            ``"BP35A1"``, ``"RL7023_IPS"``, ``"BP35C2"``, ``"RS-WSUHA-P"``,
            ``"RL7023_DSS"``; J11 (binary protocol) ``"BP35C1-J11-T01"`` (or
            ``"bp35c1_j11"``), ``"BP35C2-J11-T01"`` (``"bp35c2_j11"``),
            ``"RS-WSUHA-J11"``, ``"BP35C0-J11"``. Case does not matter.
        seed: Seed of the module's random choices (the meter has its own in ``meter``).
        speed: Simulated seconds per real second (ignored when ``clock`` is given).
        timing: ``"realistic"``, ``"instant"``, a :class:`Timing` (SKSTACK) or a
            :class:`J11Timing` (J11).
        meter: The meter's configuration.
        faults: What goes wrong.
        rbid: The B-route ID the meter accepts.
        password: The password the meter accepts.
        clock: A clock to share (default: a new :class:`SimClock` at ``speed``).
        module_mac: The module's own MAC address (default: the preset's,
            :data:`DEFAULT_MODULE_MAC` or :data:`BP35C2_MODULE_MAC`).
        pan: The meter's PAN (channel, PAN ID, MAC, LQI, PairID).
        neighbour_pan: A neighbour's PAN also in range.
        radio: Airtime (ARIB) and reception knobs.
        scan_event_address: Address printed by EVENT 20/22 (default: the module's own).
        pana_exchanges: PANA-Auth-Request messages in a successful join (SKSTACK).
        j11_faults: Faults only a J11 module has (:class:`J11Faults`).
        uart_timing: Deliver the module's output as a UART behind a USB-serial bridge
            does (baud rate, USB packets, latency timer; see :class:`UartTiming`).
            None (the default): output arrives as the module writes it.

    With a J11 model, :attr:`module` is a :class:`SimulatedJ11Module` speaking ROHM's
    binary protocol (see :mod:`aiobroute.j11`), in front of the same meter; ``pan``
    defaults to J11 channel 15 and ``scan_event_address`` / ``pana_exchanges`` do not
    apply. :attr:`events` then lists the J11 notifications sent.
    """

    def __init__(
        self,
        model: str | ModulePreset | J11Preset = "BP35A1",
        *,
        seed: int = 0,
        speed: float = 1.0,
        timing: str | Timing | J11Timing = "realistic",
        meter: MeterConfig | None = None,
        faults: FaultPlan | None = None,
        rbid: str = DEFAULT_RBID,
        password: str = DEFAULT_PASSWORD,
        clock: SimClock | None = None,
        module_mac: str | None = None,
        pan: PanConfig | None = None,
        neighbour_pan: PanConfig | None = None,
        radio: RadioConfig | None = None,
        scan_event_address: str | None = None,
        pana_exchanges: int = 4,
        j11_faults: J11Faults | None = None,
        uart_timing: UartTiming | None = None,
    ) -> None:
        preset = model_preset(model) if isinstance(model, str) else model
        self.preset: ModulePreset | J11Preset = preset
        self.rbid = rbid
        self.password = password
        self.faults = faults or FaultPlan()
        self.clock = clock if clock is not None else SimClock(speed=speed)
        self.meter = SimulatedMeter(self.clock, meter)
        self.module: SimulatedModule | SimulatedJ11Module
        common = _ModuleOptions(
            clock=self.clock,
            meter=self.meter,
            rbid=rbid,
            password=password,
            seed=seed,
            faults=self.faults,
            radio=radio,
            pan=pan,
            neighbour_pan=neighbour_pan,
            mac=module_mac,
        )
        if isinstance(preset, J11Preset):
            if isinstance(timing, Timing):
                raise TypeError("a J11 model takes a J11Timing, not a Timing")
            self.module = SimulatedJ11Module(preset, timing=timing, j11_faults=j11_faults, **common)
        else:
            if isinstance(timing, J11Timing):
                raise TypeError("an SKSTACK model takes a Timing, not a J11Timing")
            self.module = SimulatedModule(
                preset,
                timing=timing,
                scan_event_address=scan_event_address,
                pana_exchanges=pana_exchanges,
                **common,
            )
        self.uart_timing = uart_timing
        self._paced: list[PacedPort] = []
        self._paced_done = 0  # packets of the paced ports of earlier sessions
        self._running = False
        self._mode: str | None = None
        self._link: str | None = None
        self._host: MemoryStream | None = None
        self._pty: PtyPort | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._started_at = 0.0

    @property
    def is_j11(self) -> bool:
        """True when the simulated module speaks ROHM's binary J11 protocol."""
        return isinstance(self.module, SimulatedJ11Module)

    # ------------------------------------------------------------- attaching

    @contextlib.asynccontextmanager
    async def memory(self) -> AsyncIterator[MemoryStream]:
        """Serve on an in-memory pipe; yields the host end.

        After :meth:`unplug` / :meth:`replug`, or after the host closed its end, the
        host end changes: get the current one from :meth:`host_stream`.
        """
        async with self._serving("memory"):
            yield self.host_stream()

    @contextlib.asynccontextmanager
    async def pty(self, link: str | os.PathLike[str] | None = None) -> AsyncIterator[str]:
        """Serve on a new pseudo-terminal (POSIX); yields the path to open.

        With ``link``, a symlink at that path points at the pty while it is "plugged in"
        and the yielded path is the link, so a client can close and reopen the same
        path across :meth:`unplug` / :meth:`replug`.
        """
        async with self._serving("pty", None if link is None else os.fspath(link)):
            yield self.tty_path

    @contextlib.asynccontextmanager
    async def smart_meter(self, **options: Any) -> AsyncIterator[SmartMeter]:
        """Serve in memory and yield a connected :class:`~aiobroute.SmartMeter`.

        The meter uses this simulator's credentials, ``min_interval=0`` and the
        simulated module's dialect (``model="j11"`` or ``"skstack"``: no probe) unless
        ``options`` say otherwise (``model=None`` lets it detect the dialect);
        ``options`` are passed to ``SmartMeter``. The port can be unplugged and
        replugged: the meter reopens :meth:`host_stream`::

            sim = Simulator("BP35C2", timing="instant")
            async with sim.smart_meter() as meter:
                assert await meter.instant_power() == sim.meter.instant_power_watts()
        """
        from aiobroute.meter import SmartMeter

        options.setdefault("min_interval", 0.0)
        options.setdefault("model", "j11" if self.is_j11 else "skstack")

        async def reopen() -> MemoryStream:
            return self.host_stream()

        async with (
            self.memory(),
            SmartMeter(reopen, rbid=self.rbid, password=self.password, **options) as meter,
        ):
            yield meter

    @contextlib.asynccontextmanager
    async def _serving(self, mode: str, link: str | None = None) -> AsyncIterator[None]:
        if self._running:
            raise RuntimeError("the simulator is already serving")
        self._running = True
        self._mode = mode
        self._link = link
        self._started_at = self.clock.monotonic()
        try:
            self._plug()
            for fault in self.faults.scheduled:
                self._spawn(self._scheduled(fault))
            yield
        finally:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._tasks.clear()
            for paced in self._paced:
                paced.close_nowait()
            for paced in self._paced:
                await paced.wait_closed()
            self._paced_done += sum(paced.packets for paced in self._paced)
            self._paced.clear()
            if self._host is not None:
                self._host.close_nowait()
            self._host = None
            self._pty = None
            self._running = False
            await self.module.aclose()

    def _plug(self) -> None:
        port: DevicePort
        if self._mode == "memory":
            host, device = memory_pipe(host_name="sim://host", device_name="sim://device")
            self._host = host
            port = device
        else:
            self._pty = PtyPort(self._link)
            port = self._pty
        if self.uart_timing is not None:
            port = PacedPort(port, self.uart_timing, self.clock)
            self._paced.append(port)
        self.module.attach(port)

    def host_stream(self) -> MemoryStream:
        """The host end of the current in-memory pipe.

        Raises:
            PortClosedError: the port is unplugged.
            RuntimeError: not serving in memory.
        """
        if self._mode != "memory" or not self._running:
            raise RuntimeError("the simulator is not serving in memory")
        if self._host is None or not self.module.attached:
            raise PortClosedError("sim://host: unplugged")
        if self._host.closed:
            # The host closed its end: like reopening a serial port, a new pipe to the
            # same module, still powered (its state and session are kept).
            host, device = memory_pipe(host_name="sim://host", device_name="sim://device")
            self._host = host
            self.module.swap_port(device)
        return self._host

    @property
    def tty_path(self) -> str:
        """The path a serial client opens (the link if one was given)."""
        if self._mode != "pty" or not self._running:
            raise RuntimeError("the simulator is not serving on a pty")
        if self._link is not None:
            return self._link
        if self._pty is None:
            raise PortClosedError("pty: unplugged")
        return self._pty.path

    @property
    def plugged(self) -> bool:
        """True while the port is present."""
        return self.module.attached

    def unplug(self) -> None:
        """The port goes away: the module loses power and the device end closes."""
        if not self.module.attached:
            return
        self.module.detach()
        self._pty = None

    def replug(self) -> None:
        """The port comes back (same link path on a pty), with a freshly powered module."""
        if not self._running or self.module.attached:
            return
        self._plug()

    # ----------------------------------------------------------------- faults

    def inject_session_expiry(self, *, reauth: bool = True, announce: bool = True) -> bool:
        """Expire the PANA session (see :meth:`SimulatedModule.inject_session_expiry`)."""
        return self.module.inject_session_expiry(reauth=reauth, announce=announce)

    def inject_termination(self) -> bool:
        """The meter ends the session (EVENT 26). False when there was no session."""
        return self.module.inject_termination()

    def inject_reset(self) -> None:
        """The module resets as if power-cycled; the port stays."""
        self.module.reset()

    def inject_tx_limit(self, duration_s: float) -> None:
        """ARIB limit now (EVENT 32), released after ``duration_s`` simulated seconds."""
        self.module.inject_tx_limit(duration_s)

    def inject_garbage(self, data: bytes | None = None) -> None:
        """Write garbage to the UART now (default: a line of random bytes)."""
        self.module.inject_garbage(data)

    def set_silent(self, silent: bool) -> None:
        """Make the meter stop (True) or resume (False) answering on the radio."""
        self.module.set_silent(silent)

    def set_hung(self, hung: bool) -> None:
        """Hang the module's firmware (True: no answer, no output) or release it (False)."""
        self.module.set_hung(hung)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _scheduled(self, fault: ScheduledFault) -> None:
        if fault.at_s is not None:
            await self.clock.sleep_until(self._started_at + fault.at_s)
        elif fault.after_frames is not None:
            await self.module.wait_frames(fault.after_frames)
        kind = fault.kind
        duration = fault.duration_s
        if kind is FaultKind.SESSION_EXPIRY:
            self.inject_session_expiry(reauth=True)
        elif kind is FaultKind.SESSION_EXPIRY_FAIL:
            self.inject_session_expiry(reauth=False)
        elif kind is FaultKind.REAUTH:
            self.inject_session_expiry(reauth=True, announce=False)
        elif kind is FaultKind.TERMINATION:
            self.inject_termination()
        elif kind is FaultKind.TX_LIMIT:
            self.inject_tx_limit(duration or 0.0)
        elif kind is FaultKind.RESET:
            self.inject_reset()
        elif kind is FaultKind.GARBAGE:
            self.inject_garbage()
        elif kind is FaultKind.UNPLUG:
            self.unplug()
            if duration is not None:
                await self.clock.sleep(duration)
                self.replug()
        elif kind is FaultKind.SILENT:
            self.set_silent(True)
            if duration is not None:
                await self.clock.sleep(duration)
                self.set_silent(False)
        elif kind is FaultKind.HANG:
            self.set_hung(True)
            if duration is not None:
                await self.clock.sleep(duration)
                self.set_hung(False)
