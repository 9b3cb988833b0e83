"""The radio of the simulated J11 module: scans, route B, transmissions and the meter."""

from __future__ import annotations

import datetime as dt

from aiobroute.j11 import (
    ActiveScan,
    Beacon,
    Command,
    DataReceived,
    EdScan,
    EdScanResponse,
    OperationMode,
    ReceptionFailure,
    ReceptionFailureReason,
    ResultCode,
    RouteBState,
    ScanResult,
    StartRouteBResponse,
    TransmitData,
    TransmitResponse,
    link_local_address,
)
from aiobroute.testing._j11module_core import (
    _J11_BEACON_MIN_DURATION,
    ECHONET_PORT,
    _J11ModuleCore,
    j11_channel,
    rssi_from_lqi,
)
from aiobroute.testing._presets import PanConfig

__all__: list[str] = []


class _J11ModuleRadio(_J11ModuleCore):
    """Active and ED scans, route B start, transmit data and the meter's datagrams."""

    # ------------------------------------------------------------------ radio

    def _pans(self) -> list[PanConfig]:
        pans = [self.pan]
        if self.neighbour_pan is not None:
            pans.append(self.neighbour_pan)
        return pans

    def _hears(self, pan: PanConfig) -> bool:
        if self.silent and pan is self.pan:
            return False
        return not self.faults.no_beacon

    async def _scan(self, request: ActiveScan) -> None:
        if self.preset.scan_response_first:
            self._result(request.command, ResultCode.SUCCESS)
        dwell = self.timing.scan_unit_s * 2**request.duration + self.timing.scan_overhead_s
        audible = self.radio.beacon_min_duration
        if audible is None:
            audible = _J11_BEACON_MIN_DURATION
        for channel in request.channels:
            await self._pause(dwell * self.faults.slow_factor)
            beacons = [
                Beacon(bytes.fromhex(pan.mac), pan.pan_id, rssi_from_lqi(pan.lqi))
                for pan in self._pans()
                if j11_channel(pan.channel) == channel
                and self._hears(pan)
                and request.duration >= audible
                and (
                    request.pairing_id is None
                    or request.pairing_id == (pan.pair_id or "").encode("ascii")
                )
            ]
            self._notify(ScanResult(channel, beacons))
        if not self.preset.scan_response_first:
            self._result(request.command, ResultCode.SUCCESS)

    async def _ed_scan(self, request: EdScan) -> None:
        channels = [ch for ch in range(4, 18) if request.channel_mask >> ch & 1]
        await self._pause(self.timing.ed_scan_s * len(channels))
        energies = []
        for channel in channels:
            busy = any(j11_channel(pan.channel) == channel for pan in self._pans())
            energies.append((channel, self._rng.randint(120, 180) if busy else 40))
        self._respond(EdScanResponse(ResultCode.SUCCESS, energies))

    async def _start_route_b(self) -> None:
        self._route_b_attempts += 1
        forced_failure = self._route_b_attempts <= self.j11_faults.route_b_failures
        candidates = [
            pan
            for pan in self._pans()
            if j11_channel(pan.channel) == self.channel and self._hears(pan)
        ]
        if self.mode != OperationMode.DUAL:
            self._result(Command.START_ROUTE_B, ResultCode.NOT_ALLOWED_IN_MODE)
            return
        if forced_failure or not candidates:
            await self._pause(self.timing.beacon_wait_s * self.faults.slow_factor)
            self._respond(StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED))
            return
        pan = candidates[0]
        await self._pause(self._draw(self.timing.route_b_s) * self.faults.slow_factor)
        self._route_pan = pan
        self.route_b_state = RouteBState.OPERATING
        self._respond(
            StartRouteBResponse(
                ResultCode.SUCCESS,
                j11_channel(pan.channel),
                pan.pan_id,
                bytes.fromhex(pan.mac),
                rssi_from_lqi(pan.lqi),
            )
        )

    # ------------------------------------------------------------------ meter

    async def _transmit(self, request: TransmitData) -> None:
        per_byte = self.timing.tx_per_byte_s * len(request.payload)
        await self._pause(self._draw(self.timing.tx_s) + per_byte)
        self._transmissions += 1
        payload = request.payload
        session = self._session
        meter = link_local_address(self.meter_mac)
        to_meter = request.destination == meter and self._route_pan is self.pan
        status = 0x00
        if self._tx_limited_until is not None:
            if self.clock.monotonic() < self._tx_limited_until:
                status = 0x02
            else:
                self._tx_limited_until = None
        if status == 0x00 and not request.destination.is_multicast:
            no_ack = self.silent or not to_meter
            no_ack = no_ack or self._transmissions <= self.j11_faults.no_ack_first
            no_ack = no_ack or (
                self.j11_faults.no_ack > 0 and self._frng.random() < self.j11_faults.no_ack
            )
            if no_ack:
                status = 0x05
        if status != 0x02:
            self.total_airtime_ms += self.radio.airtime_s(len(payload)) * 1000
        self._respond(TransmitResponse(ResultCode.SUCCESS, status, payload[:5]))
        if (
            status == 0x00
            and to_meter
            and session is not None
            and session.state == "active"
            and request.destination_port == ECHONET_PORT
        ):
            port = request.source_port
            self._deliver_to_meter(
                payload,
                lambda reply, delay: self._meter_says(reply, port, delay, multicast=False),
            )

    async def _meter_says(
        self, payload: bytes, port: int, delay: float, *, multicast: bool
    ) -> None:
        await self._pause(delay)
        session = self._session
        if session is None or session.state != "active" or self.silent:
            return
        source = link_local_address(bytes.fromhex(session.pan.mac))
        if port not in self.ports:
            self._notify(
                ReceptionFailure(
                    ReceptionFailureReason.UDP,
                    source,
                    self._rng.randrange(256),
                    False,
                    0,
                    payload[:5],
                )
            )
            return
        self.payloads_from_meter.append(payload)
        self._notify(
            DataReceived(
                source,
                ECHONET_PORT,
                port,
                session.pan.pan_id,
                0x01 if multicast else 0x00,
                0x02,
                rssi_from_lqi(session.pan.lqi),
                payload,
            )
        )

    async def _push(self, due: dt.datetime) -> None:
        for frame in self.meter.push_frames(due):
            await self._meter_says(frame, ECHONET_PORT, 0.0, multicast=False)

    async def _startup_frames(self) -> None:
        await self._pause(self._draw(self.timing.pana_s) / 4)
        for frame in self.meter.startup_frames():
            await self._meter_says(frame, ECHONET_PORT, 0.0, multicast=True)
