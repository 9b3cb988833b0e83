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

from aiobroute.errors import InvalidArgumentError, J11FrameError, PortClosedError
from aiobroute.j11 import (
    Command,
    ConnectionEvent,
    ConnectionStatusChanged,
    ErrorReply,
    GlobalState,
    J11Frame,
    ReceptionFailure,
    ReceptionFailureReason,
    Request,
    ResultCode,
    RouteBState,
    decode_request,
    link_local_address,
)
from aiobroute.testing._j11module_commands import _J11ModuleCommands
from aiobroute.testing._j11module_core import (
    _ALL,
    _AVAILABLE,
    _HAN_CODES,
    _LOGGER,
    _Phase,
    j11_channel,
    rssi_from_lqi,
)
from aiobroute.testing._j11uart import InputError
from aiobroute.testing._module_base import DevicePort

__all__ = ["SimulatedJ11Module", "j11_channel", "rssi_from_lqi"]


class SimulatedJ11Module(_J11ModuleCommands):
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

    # ------------------------------------------------------------- lifecycle

    def attach(self, port: DevicePort) -> None:
        """Power the module up on ``port``: read requests, send 0x6019 once booted."""
        super().attach(port)
        self._boot()

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
            self._release(token)

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

    def inject_tx_limit(self, duration_s: float) -> None:
        """The hourly radio budget is exhausted: transmissions get status 0x02 for a while."""
        self._tx_limited_until = self.clock.monotonic() + duration_s
