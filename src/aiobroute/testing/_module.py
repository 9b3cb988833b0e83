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

import logging

import attrs

from aiobroute.errors import PortClosedError
from aiobroute.skstack._commands import (
    COMMANDS,
    CommandSyntaxError,
    SkAppVer,
    SkCommand,
    SkSendTo,
    SkSetPwd,
    SkSetRbid,
    decode_command,
)
from aiobroute.skstack._events import ErrorCode, EventNum, Fail
from aiobroute.skstack._wire import CRLF, encode
from aiobroute.testing._module_commands import _ModuleCommands
from aiobroute.testing._module_core import DevicePort, MeterLike, SessionInfo, _CommandError
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._uart import CommandLine, SendToCommand

__all__ = ["DevicePort", "MeterLike", "SessionInfo", "SimulatedModule"]

_LOGGER = logging.getLogger(__name__)

_PRODUCT_COMMANDS = frozenset(name for name, spec in COMMANDS.items() if spec.cr_only)
_SECRET_COMMANDS = (SkSetPwd.name, SkSetRbid.name)


class SimulatedModule(_ModuleCommands):
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

    def _supported(self, name: str) -> bool:
        """Whether this model knows the command at all (``FAIL ER04`` otherwise)."""
        if name not in COMMANDS:
            return False
        if name in _PRODUCT_COMMANDS:
            return self.preset.product_commands
        return not (name == SkAppVer.name and self.preset.app_version is None)

    def _decode(self, text: str, payload: bytes | None = None) -> SkCommand:
        """The typed command of a line, with the shared decoder; ``FAIL`` codes raised."""
        try:
            return decode_command(text, self.preset.family, payload=payload)
        except CommandSyntaxError as exc:
            raise _CommandError(exc.code) from None

    async def _handle_line(self, item: CommandLine) -> None:
        if item.overflow:
            self._send(Fail(ErrorCode.ER09))
            return
        text = item.text.decode("latin-1")
        if not text.strip():
            return
        self.commands_received.append(text)
        name = text.split()[0]
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
        if not self._supported(name):  # unknown to this model: always a CRLF line
            self._send(Fail(ErrorCode.ER04))
            return
        try:
            command = self._decode(text)
            await self._handlers()[type(command)](command)
        except _CommandError as error:
            if cr_only:  # product commands answer errors with the same lone CR
                self._write(encode(Fail(error.code))[:-2] + b"\r")
            else:
                self._send(Fail(error.code))

    async def _handle_sendto(self, item: SendToCommand) -> None:
        header = item.header.decode("latin-1")
        self.commands_received.append(header.rstrip(" "))
        _LOGGER.debug("module received SKSENDTO (%d bytes)", len(item.payload))
        if self.echo:
            self._write(item.header + CRLF)
        elif self._rng.random() < self.preset.sendto_lone_crlf:
            self._write(CRLF)
        try:
            command = self._decode(header, item.payload)
            assert isinstance(command, SkSendTo)  # noqa: S101
            await self._sendto(command)
        except _CommandError as error:
            self._send(Fail(error.code))

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
