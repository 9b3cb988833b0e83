"""A small scripted J11 module for the J11Link tests: the codec in the module's role.

Behind it sits the public :class:`aiobroute.testing.SimulatedMeter`, so answers to ECHONET
Lite requests can be compared with ground truth. Imported as ``tests.link._fake_j11``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import attrs

from aiobroute.errors import PortClosedError
from aiobroute.j11 import (
    ActiveScan,
    Beacon,
    BootCompleted,
    FrameReassembler,
    GetMacAddress,
    GetStatus,
    GetVersion,
    HardwareReset,
    InitialSettings,
    J11Frame,
    MacAddressResponse,
    OpenUdpPort,
    PanaResult,
    PanaStatus,
    Request,
    ResultCode,
    ResultResponse,
    ScanResult,
    SetRouteBCredentials,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    StatusResponse,
    TerminatePana,
    TerminateRouteB,
    TransmitData,
    TransmitResponse,
    UniqueCode,
    VersionResponse,
    decode_request,
    link_local_address,
    response_code,
)
from aiobroute.j11 import (
    DataReceived as J11DataReceived,
)
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, SimClock, SimulatedMeter
from aiobroute.testing._clock import JST
from aiobroute.transport import MemoryStream, memory_pipe

METER_MAC = bytes.fromhex("001234FFFE56789A")
MODULE_MAC = bytes.fromhex("001D129012345678")
CHANNEL = 15
PAN_ID = 0x4B2D
START = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST)


@attrs.define
class Script:
    """What the fake module does; tests change it between steps.

    Attributes:
        pana: the PANA result (None: the meter never answers, no 0x6028).
        pana_first: send 0x6028 before the 0x2056 response.
        pana_response: send the 0x2056 response at all.
        start_failures: how many 0x0053 answer 0x0E (MAC connection failed) first.
        scan_response_first: answer 0x2051 before the 0x4051 notifications.
        tx_status: the transmit status of 0x2008 (0x00 sent, 0x05 no ACK...).
        busy_once: answer the next request with 0x3D (busy) once.
        meter_silent: the meter does not answer ECHONET Lite requests.
        answer_mac: the MAC reported by 0x2053 (another meter if different).
        reply_with: answer the next request (other than a reset) with these instead.
        reply_to: answer the next request of a type (by class name) with these instead.
        late: send these just before the answer to the next request (other than a
            reset): the late answers of an earlier request, as a slow module sends them.
    """

    pana: int | None = PanaStatus.SUCCESS
    pana_first: bool = False
    pana_response: bool = True
    start_failures: int = 0
    scan_response_first: bool = False
    tx_status: int = 0x00
    busy_once: bool = False
    meter_silent: bool = False
    answer_mac: bytes = METER_MAC
    reply_with: list[object] | None = None
    reply_to: dict[str, list[object]] = attrs.Factory(dict)
    late: list[object] = attrs.Factory(list)


class FakeJ11:
    """Reads requests with the codec and answers them as a J11 module in Dual mode."""

    def __init__(self, device: MemoryStream, meter: SimulatedMeter) -> None:
        self.device = device
        self.meter = meter
        self.script = Script()
        self.requests: list[Request] = []
        self.resets = 0
        self.channel: int | None = None
        self.credentials: tuple[str, str] | None = None
        self.route_b = False
        self.session = False
        self.ports: set[int] = set()
        self._frames = FrameReassembler(UniqueCode.REQUEST)
        self._task = asyncio.get_running_loop().create_task(self._run())

    @property
    def meter_address(self) -> str:
        return link_local_address(METER_MAC).exploded.upper()

    def names(self) -> list[str]:
        return [type(r).__name__ for r in self.requests]

    def send(self, *messages: object) -> None:
        for message in messages:
            self.device.write_nowait(message.encode())  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        with contextlib.suppress(PortClosedError):
            while True:
                data = await self.device.read()
                for item in self._frames.feed(data):
                    if isinstance(item, J11Frame):
                        request = decode_request(item)
                        if request is not None:
                            self.requests.append(request)
                            self._answer(request)

    def _ok(self, request: Request, result: int = ResultCode.SUCCESS) -> ResultResponse:
        return ResultResponse(response_code(request.command), result)

    def _answer(self, request: Request) -> None:
        script = self.script
        if isinstance(request, HardwareReset):
            self.resets += 1
            self.channel = self.credentials = None
            self.route_b = self.session = False
            self.ports.clear()
            self.send(BootCompleted())
            return
        if script.late:
            late, script.late = script.late, []
            self.send(*late)
        replies = script.reply_to.pop(type(request).__name__, None)
        if replies is not None:
            self.send(*replies)
            return
        if script.reply_with is not None:
            replies, script.reply_with = script.reply_with, None
            self.send(*replies)
            return
        if script.busy_once:
            script.busy_once = False
            self.send(self._ok(request, ResultCode.BUSY))
            return
        if isinstance(request, GetVersion):
            self.send(VersionResponse(ResultCode.SUCCESS, 0x0400, 1, 3, 0x00001234))
        elif isinstance(request, GetStatus):
            route_b = 3 if self.session else 2 if self.route_b else 1
            self.send(StatusResponse(ResultCode.SUCCESS, 3 if self.channel else 2, route_b, 1))
        elif isinstance(request, GetMacAddress):
            self.send(MacAddressResponse(ResultCode.SUCCESS, MODULE_MAC))
        elif isinstance(request, InitialSettings):
            self.channel = request.channel
            self.send(self._ok(request))
        elif isinstance(request, SetRouteBCredentials):
            self.credentials = (request.route_b_id, request.password)
            self.send(self._ok(request))
        elif isinstance(request, ActiveScan):
            self._scan(request)
        elif isinstance(request, StartRouteB):
            if self.channel == CHANNEL and script.start_failures <= 0:
                self.route_b = True
                self.send(
                    StartRouteBResponse(ResultCode.SUCCESS, CHANNEL, PAN_ID, script.answer_mac, -60)
                )
            else:
                script.start_failures -= 1
                self.send(StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED))
        elif isinstance(request, OpenUdpPort):
            already = request.port in self.ports
            self.ports.add(request.port)
            self.send(self._ok(request, ResultCode.PORT_ALREADY_OPEN if already else 1))
        elif isinstance(request, StartPana):
            self._pana(request)
        elif isinstance(request, TransmitData):
            self._transmit(request)
        elif isinstance(request, TerminatePana | TerminateRouteB):
            was = self.session if isinstance(request, TerminatePana) else self.route_b
            self.session = False
            if isinstance(request, TerminateRouteB):
                self.route_b = False
                self.ports.clear()
            self.send(self._ok(request, 1 if was else ResultCode.NOT_ALLOWED_NOT_STARTED))
        else:
            self.send(self._ok(request))

    def _scan(self, request: ActiveScan) -> None:
        notes = []
        for channel in request.channels:
            beacons: tuple[Beacon, ...] = ()
            if channel == CHANNEL and request.pairing_id == DEFAULT_RBID[-8:].encode():
                beacons = (Beacon(METER_MAC, PAN_ID, -60),)
            notes.append(ScanResult(channel, beacons))
        if self.script.scan_response_first:
            self.send(self._ok(request), *notes)
        else:
            self.send(*notes, self._ok(request))

    def _pana(self, request: StartPana) -> None:
        script = self.script
        if script.pana == PanaStatus.SUCCESS and self.credentials != (
            DEFAULT_RBID,
            DEFAULT_PASSWORD,
        ):
            outcome: int | None = PanaStatus.REJECTED
        else:
            outcome = script.pana
        answers: list[object] = []
        if script.pana_response:
            answers.append(self._ok(request))
        if outcome is not None:
            note = PanaResult(outcome, METER_MAC)
            answers.insert(0 if script.pana_first else len(answers), note)
            self.session = outcome == PanaStatus.SUCCESS
        self.send(*answers)

    def _transmit(self, request: TransmitData) -> None:
        if not self.session:
            self.send(TransmitResponse(ResultCode.NOT_ALLOWED_ROUTE_B_OPERATING))
            return
        status = self.script.tx_status
        self.send(TransmitResponse(ResultCode.SUCCESS, status, request.payload[:5]))
        if status != 0 or self.script.meter_silent:
            return
        for reply in self.meter.handle_payload(request.payload):
            self.send(self.datagram(reply))

    def datagram(self, payload: bytes, *, port: int = 3610, multicast: bool = False) -> object:
        return J11DataReceived(
            link_local_address(METER_MAC), 3610, port, PAN_ID, int(multicast), 0x02, -61, payload
        )


@contextlib.asynccontextmanager
async def fake_j11() -> AsyncIterator[tuple[MemoryStream, FakeJ11]]:
    """A fake J11 module on a memory pipe; yields the host end and the module."""
    host, device = memory_pipe(host_name="fake-j11://host", device_name="fake-j11://device")
    meter = SimulatedMeter(SimClock(START, speed=1e-9))
    module = FakeJ11(device, meter)
    try:
        yield host, module
    finally:
        await module.stop()
        device.close_nowait()
