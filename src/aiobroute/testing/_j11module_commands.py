"""The request handlers of the simulated J11 module (availability by phase, note §2)."""

from __future__ import annotations

from aiobroute.j11 import (
    ActiveScan,
    CloseUdpPort,
    Command,
    Connection,
    ConnectionListResponse,
    EdScan,
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
    MacAddressResponse,
    OpenUdpPort,
    PanaKeyResponse,
    PanIdResponse,
    Ping,
    PingFormat,
    PingResult,
    PortListResponse,
    Request,
    ResultCode,
    ResultResponse,
    RouteBState,
    SetNeighborDiscovery,
    SetRouteBCredentials,
    SetUartSettings,
    StatusResponse,
    TerminalListResponse,
    TransmitData,
    VersionResponse,
    link_local_address,
)
from aiobroute.testing._j11module_core import _MAX_USER_PORTS, rssi_from_lqi
from aiobroute.testing._j11module_pana import _J11ModulePana

__all__: list[str] = []


class _J11ModuleCommands(_J11ModulePana):
    """What each request does once the front end accepted it."""

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
