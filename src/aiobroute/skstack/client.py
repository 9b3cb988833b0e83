"""The asyncio SKSTACK IP client: one reader task, one command in flight, typed events.

Typical use (the meter layer does this for you)::

    stream = await open_port("/dev/ttyUSB0")
    async with SkStackClient(stream) as sk:
        await sk.initialize()
        pan = await sk.connect(rbid=..., password=...)     # scan + PANA join
        async with sk.subscribe() as events:
            await sk.send_to(pan.ipaddr, payload)
            async for message in events:
                ...
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import attrs

from aiobroute._log import escape_text
from aiobroute.errors import (
    CommandError,
    InvalidArgumentError,
    SendError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.skstack._commands import (
    MAX_PAYLOAD,
    SkAppVer,
    SkInfo,
    SkLl64,
    SkReset,
    SkSendTo,
    SkSreg,
    SkVer,
    check_addr64,
    check_ipaddr,
    check_range,
    check_token,
)
from aiobroute.skstack._core import CommandReply, PortLost, SkTimeouts, Subscription
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import (
    AddressLine,
    AppVersion,
    ErrorCode,
    Event,
    EventNum,
    Info,
    Message,
    RegisterValue,
    Version,
)
from aiobroute.skstack._registers import Register
from aiobroute.skstack._session import JoinedPan, _SessionClient, order_candidates  # noqa: F401
from aiobroute.transport._base import ByteStream

__all__ = [
    "ECHONET_PORT",
    "CommandReply",
    "JoinedPan",
    "ModuleInfo",
    "PortLost",
    "SkStackClient",
    "SkTimeouts",
    "Subscription",
]

_LOGGER = logging.getLogger("aiobroute.skstack")

#: UDP port of ECHONET Lite (0x0E1A).
ECHONET_PORT = 3610
_TX_LIMIT_STALE = 3600.0
_HEX = frozenset("0123456789ABCDEF")


@attrs.frozen
class ModuleInfo:
    """What the module told about itself during :meth:`SkStackClient.initialize`."""

    family: ModuleFamily
    version: str | None
    app_version: str | None
    ipaddr: str | None
    mac: str | None


class SkStackClient(_SessionClient):
    """Drives one SKSTACK IP module over a byte stream.

    One reader task parses everything the module prints; one command is in flight at a
    time; asynchronous messages (EVENT, EPANDESC, ERXUDP) go to every
    :meth:`subscribe`\\ r, including those arriving between a command and its OK.

    Args:
        stream: an open :class:`aiobroute.transport.ByteStream`.
        family: force a module family; by default it is detected in :meth:`initialize`
            and corrected automatically when the module answers ``FAIL ER05``.
        timeouts: the SKSTACK timeouts.
        allow_flash_write: permit commands that write flash (SKSAVE, SKERASE, WOPT, WUART).
    """

    def __init__(
        self,
        stream: ByteStream,
        *,
        family: ModuleFamily | None = None,
        timeouts: SkTimeouts | None = None,
        allow_flash_write: bool = False,
    ) -> None:
        super().__init__(
            stream, family=family, timeouts=timeouts, allow_flash_write=allow_flash_write
        )
        self.module_info: ModuleInfo | None = None

    # ------------------------------------------------------------------ simple commands

    async def version(self) -> str:
        """``SKVER``: the stack version (``1.2.10``...)."""
        return (await self._value(SkVer(), Version)).version

    async def app_version(self) -> str | None:
        """``SKAPPVER``: the firmware application version, or None if unsupported (ER04)."""
        try:
            return (await self._value(SkAppVer(), AppVersion)).version
        except CommandError as exc:
            if exc.code == ErrorCode.ER04:
                return None
            raise

    async def info(self) -> Info:
        """``SKINFO``: own address, MAC, channel, PAN ID and the fifth field."""
        return await self._value(SkInfo(), Info)

    async def read_register(self, register: str | Register) -> str:
        """``SKSREG <reg>``: a virtual register's value as printed.

        ``register`` is a :class:`~aiobroute.skstack.Register` or its name (``S02``,
        ``SFD``...); :meth:`Register.decode` turns the text into a value.
        """
        reply = await self._value(SkSreg(_register(register)), RegisterValue)
        return reply.value

    async def write_register(self, register: str | Register, value: str | int) -> None:
        """``SKSREG <reg> <value>``: ``value`` as text, or an integer a Register encodes."""
        if isinstance(value, int):
            if not isinstance(register, Register):
                raise InvalidArgumentError("an integer value needs a Register to encode it")
            try:
                text = register.encode(value)
            except (TypeError, ValueError) as exc:
                raise InvalidArgumentError(str(exc)) from None
        else:
            text = check_token(value.upper(), "value")
        await self._send_command(SkSreg(_register(register), text))

    async def reset(self) -> None:
        """``SKRESET``, then wait ``timeouts.reset_settle`` for the stack to settle."""
        await self._send_command(SkReset())
        await asyncio.sleep(self.timeouts.reset_settle)

    async def refresh_tx_limit(self) -> bool:
        """Read register SFB (ARIB transmit limit active) and return it.

        Useful when EVENT 33 may have been missed: a stale "limited" state would
        otherwise block every send.
        """
        text = (await self.read_register(Register.TX_LIMITED)).strip()
        try:
            self._tx_limited = Register.TX_LIMITED.decode(text) != 0
        except ValueError:  # not a flag: assume the limit is still on
            self._tx_limited = True
        return self._tx_limited

    async def link_local_address(self, mac: str) -> str:
        """``SKLL64``: the link-local IPv6 address of a MAC address."""
        return (await self._value(SkLl64(check_addr64(mac)), AddressLine)).ipaddr

    # ------------------------------------------------------------------ initialisation

    async def initialize(self, *, reset: bool = False) -> ModuleInfo:
        """Prepare the module: optional reset, echo off, versions, family detection.

        Never writes flash. The ERXUDP payload format (hex or binary) needs no setting:
        the parser handles both.
        """
        if reset:
            await self.reset()
        # Echo off. The echo of this very command may or may not appear; both are fine.
        await self.write_register(Register.ECHO, 0)
        version = await self.version()
        app_version = await self.app_version()
        info = await self.info()
        if not self._family_fixed:
            self._family = _family_from_info(info, version)
        self.module_info = ModuleInfo(
            family=self._family,
            version=version,
            app_version=app_version,
            ipaddr=info.ipaddr,
            mac=info.addr64,
        )
        _LOGGER.info(
            "module ready: %s family, SKVER %s, SKAPPVER %s",
            self._family.name,
            escape_text(version),
            escape_text(app_version or "n/a"),
        )
        return self.module_info

    # ------------------------------------------------------------------ send

    async def send_to(
        self,
        ipaddr: str,
        payload: bytes,
        *,
        port: int = ECHONET_PORT,
        handle: int = 1,
        security: int = 1,
    ) -> bool:
        """``SKSENDTO``: send one UDP datagram and wait for the module's verdict.

        Waits for OK and for EVENT 21 (``00`` sent, ``01`` failed), which may arrive
        before or shortly after the OK. Returns True when EVENT 21 ``00`` confirmed the
        transmission, False when no verdict came within ``timeouts.send_event_grace``.

        Raises:
            TransmitLimitError: the ARIB transmit-time limit is active (EVENT 32).
            SendError: the module reported a failed transmission (EVENT 21 01, FAIL ER10).
        """
        dest = check_ipaddr(ipaddr)
        check_range(port, 1, 0xFFFF, "port")
        check_range(handle, 1, 6, "handle")
        check_range(security, 0, 2, "security")
        if not 1 <= len(payload) <= MAX_PAYLOAD:
            raise InvalidArgumentError(f"payload must be 1 to {MAX_PAYLOAD} bytes")
        self._check_usable()
        if self._tx_limited:
            stale = asyncio.get_running_loop().time() - self._tx_limited_since > _TX_LIMIT_STALE
            # EVENT 33 may have been lost: after an hour, ask the module (register SFB).
            if not (stale and not await self.refresh_tx_limit()):
                raise TransmitLimitError("the ARIB transmit-time limit is active (EVENT 32)")
        command = SkSendTo(handle, dest, port, security, side=0, payload=bytes(payload))
        async with self._lock:
            self._sending = True
            try:
                return await self._request(
                    command,
                    accept=_udp_sent_message(dest),
                    until=self._send_verdict,
                    limit=self.timeouts.send_event_grace,
                    on_timeout=self._no_verdict,
                    timeout=self.timeouts.send,
                )
            except CommandError as exc:
                if exc.code != ErrorCode.ER10:
                    raise
                if self._tx_limited:
                    raise TransmitLimitError(str(exc)) from exc
                raise SessionError(f"module refused to send (no PANA session?): {exc}") from exc
            finally:
                self._sending = False

    def _send_verdict(self, message: Message) -> bool | None:
        """EVENT 21: ``00`` sent (True), ``01`` failed (raises), others not a verdict."""
        if not isinstance(message, Event) or message.param not in (0, 1):
            return None
        if self._orphan_verdicts:
            # Most likely the late verdict of an earlier send.
            self._orphan_verdicts -= 1
            return None
        if message.param == 0:
            return True
        if self._tx_limited:
            raise TransmitLimitError("transmission refused: ARIB limit active")
        raise SendError("the module reported a failed transmission (EVENT 21 01)")

    def _no_verdict(self) -> bool:
        _LOGGER.debug("no EVENT 21 verdict after SKSENDTO; assuming it was sent")
        # If it comes later, it must not be taken for the next send's verdict.
        self._orphan_verdicts = min(self._orphan_verdicts + 1, 8)
        return False


def _register(register: str | Register) -> str:
    """The name written in SKSREG: a Register's, or a checked ``S<hex>`` string."""
    if isinstance(register, Register):
        return register.token
    text = str(register).upper()
    if not (2 <= len(text) <= 3 and text[0] == "S" and set(text[1:]) <= _HEX):
        raise InvalidArgumentError(f"register must look like S02 or SFE, got {register!r}")
    return text


def _family_from_info(info: Info, version: str) -> ModuleFamily:
    field5 = info.field5.upper()
    if field5 == "FFFE" or len(field5) == 4:
        return ModuleFamily.BP35A1
    if field5 in ("0", "1"):
        return ModuleFamily.BP35C2
    _LOGGER.warning(
        "cannot tell the module family from SKINFO (%s) / SKVER %s; assuming BP35A1 and "
        "correcting on FAIL ER05",
        escape_text(field5),
        escape_text(version),
    )
    return ModuleFamily.BP35A1


def _udp_sent_message(dest: str) -> Callable[[Message], bool]:
    def accept(message: Message) -> bool:
        return isinstance(message, PortLost) or (
            isinstance(message, Event)
            and message.num == EventNum.UDP_SENT
            and (message.sender is None or message.sender == dest)
        )

    return accept
