"""The command handlers of the simulated module, one per SK command (decoded, typed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from aiobroute.skstack._commands import (
    Ropt,
    Ruart,
    SkAddNbr,
    SkAppVer,
    SkCommand,
    SkErase,
    SkInfo,
    SkJoin,
    SkLl64,
    SkLoad,
    SkPing,
    SkRejoin,
    SkReset,
    SkSave,
    SkScan,
    SkSetPwd,
    SkSetRbid,
    SkSreg,
    SkTable,
    SkTerm,
    SkUdpPort,
    SkVer,
    Wopt,
    Wuart,
)
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    ErrorCode,
    Info,
    NeighborTable,
    Ok,
    PortTable,
    RegisterValue,
    Version,
)
from aiobroute.skstack._registers import Register
from aiobroute.skstack._wire import link_local_from_mac
from aiobroute.testing._module_core import _CommandError
from aiobroute.testing._module_pana import _ModulePana

__all__: list[str] = []

#: A handler takes the decoded command of its own type.
_Handler = Callable[[Any], Awaitable[None]]


class _ModuleCommands(_ModulePana):
    """What each command does once the shared decoder has checked its syntax."""

    def _handlers(self) -> dict[type[SkCommand], _Handler]:
        return {
            SkVer: self._cmd_skver,
            SkAppVer: self._cmd_skappver,
            SkInfo: self._cmd_skinfo,
            SkReset: self._cmd_skreset,
            SkSreg: self._cmd_sksreg,
            SkSetPwd: self._cmd_sksetpwd,
            SkSetRbid: self._cmd_sksetrbid,
            SkScan: self._cmd_skscan,
            SkLl64: self._cmd_skll64,
            SkAddNbr: self._cmd_skaddnbr,
            SkJoin: self._cmd_skjoin,
            SkRejoin: self._cmd_skrejoin,
            SkTerm: self._cmd_skterm,
            SkTable: self._cmd_sktable,
            SkUdpPort: self._cmd_skudpport,
            SkSave: self._cmd_sksave,
            SkLoad: self._cmd_skload,
            SkErase: self._cmd_skerase,
            SkPing: self._cmd_skping,
            Ropt: self._cmd_ropt,
            Wopt: self._cmd_wopt,
            Ruart: self._cmd_ruart,
            Wuart: self._cmd_wuart,
        }

    async def _cmd_skver(self, command: SkVer) -> None:
        self._send(Version(self.preset.version))
        self._ok()

    async def _cmd_skappver(self, command: SkAppVer) -> None:
        if self.preset.app_version is None:  # pragma: no cover - refused before decoding
            raise _CommandError(ErrorCode.ER04)
        self._send(AppVersion(self.preset.app_version))
        self._ok()

    async def _cmd_skinfo(self, command: SkInfo) -> None:
        channel = self.registers[Register.CHANNEL]
        pan_id = self.registers[Register.PAN_ID]
        assert isinstance(channel, int)  # noqa: S101
        assert isinstance(pan_id, int)  # noqa: S101
        self._send(Info(self.address, self.mac, channel, pan_id, self.preset.einfo_field5))
        self._ok()

    async def _cmd_skreset(self, command: SkReset) -> None:
        self._ok()
        self.reset()
        await self._pause(self.timing.reset_s)

    async def _cmd_sksreg(self, command: SkSreg) -> None:
        if command.register[:1] != "S":
            raise _CommandError(ErrorCode.ER06)
        try:
            register = Register.parse(command.register)
        except ValueError:
            raise _CommandError(ErrorCode.ER06) from None
        if command.value is None:
            self._send(RegisterValue(register.encode(self._register_value(register))))
            self._ok()
            return
        if not register.spec.writable:
            raise _CommandError(ErrorCode.ER06)
        try:
            self.registers[register] = register.decode(command.value)
        except ValueError:
            raise _CommandError(ErrorCode.ER06) from None
        self._ok()

    def _register_value(self, register: Register) -> int | str:
        if register is Register.FRAME_COUNTER:
            return self.tx_frames & 0xFFFFFFFF
        if register is Register.TX_LIMITED:
            return int(self.tx_limited)
        if register is Register.TX_TIME:
            return int(self._sfd_ms)
        return self.registers[register]

    async def _cmd_sksetpwd(self, command: SkSetPwd) -> None:
        if not 1 <= command.length <= 32 or len(command.password) != command.length:
            raise _CommandError(ErrorCode.ER06)
        self.password = command.password
        self._ok()

    async def _cmd_sksetrbid(self, command: SkSetRbid) -> None:
        if len(command.rbid) != 32:
            raise _CommandError(ErrorCode.ER06)
        self.rbid = command.rbid
        self.registers[Register.PAIR_ID] = command.rbid[-8:]
        self._ok()

    async def _cmd_skscan(self, command: SkScan) -> None:
        token = self._claim()
        self._ok()
        side = command.side or 0
        self._spawn(self._scan(command.mode, command.mask, command.duration, side, token))

    async def _cmd_skll64(self, command: SkLl64) -> None:
        self._send(AddressLine(link_local_from_mac(command.addr)))

    async def _cmd_skaddnbr(self, command: SkAddNbr) -> None:
        if self.radio.neighbor_cache:
            self._neighbours[command.ipaddr] = command.addr
        self._ok()

    async def _cmd_skjoin(self, command: SkJoin) -> None:
        if self._session is not None:
            raise _CommandError(ErrorCode.ER10)
        token = self._claim()
        self._ok()
        self._spawn(self._join(command.ipaddr, token))

    async def _cmd_skrejoin(self, command: SkRejoin) -> None:
        session = self._session
        if session is None:
            raise _CommandError(ErrorCode.ER10)
        token = self._claim()
        self._session = attrs.evolve(session, state="reauth")
        self._cancel_session_tasks()
        self._ok()
        self._spawn(self._reauthenticate(session.paa, token=token))

    async def _cmd_skterm(self, command: SkTerm) -> None:
        session = self._session
        if session is None:
            raise _CommandError(ErrorCode.ER10)
        self._session = attrs.evolve(session, state="closing")
        self._cancel_session_tasks()
        await self._pause(self._draw(self.timing.tx_s))
        self._pana_tx(session.paa)
        self._ok()
        self._spawn(self._terminate(session))

    async def _cmd_sktable(self, command: SkTable) -> None:
        which = command.which.upper()
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

    async def _cmd_skudpport(self, command: SkUdpPort) -> None:
        self._ports[command.handle - 1] = command.port
        self._ok()

    async def _cmd_sksave(self, command: SkSave) -> None:
        self._saved_registers = {
            number: value
            for number, value in self.registers.items()
            if Register(number).spec.writable
        }
        self.flash_writes += 1
        self._ok()

    async def _cmd_skload(self, command: SkLoad) -> None:
        if self._saved_registers is None:
            raise _CommandError(ErrorCode.ER10)
        self.registers.update(self._saved_registers)
        self._ok()

    async def _cmd_skerase(self, command: SkErase) -> None:
        self._saved_registers = None
        self.flash_writes += 1
        self._ok()

    async def _cmd_skping(self, command: SkPing) -> None:
        self._ok()
        pan = self._pan_at(command.ipaddr)
        if pan is not None and not self.silent:
            self._account_tx(8)
            self._spawn(self._pong(command.ipaddr))

    def _product_ok(self, value: str | None = None) -> None:
        self._send(Ok(value, cr_only=self.preset.product_cr_only))

    async def _cmd_ropt(self, command: Ropt) -> None:
        self._product_ok(f"{int(self.hex_payload):02X}")

    async def _cmd_wopt(self, command: Wopt) -> None:
        self.hex_payload = bool(command.value)
        self.flash_writes += 1
        self._product_ok()

    async def _cmd_ruart(self, command: Ruart) -> None:
        self._product_ok(f"{self.uart_setting:02X}")

    async def _cmd_wuart(self, command: Wuart) -> None:
        if command.value & 0x07 > 6:
            raise _CommandError(ErrorCode.ER06)
        self.uart_setting = command.value
        self.flash_writes += 1
        self._product_ok()
