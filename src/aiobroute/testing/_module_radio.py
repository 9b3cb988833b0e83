"""The radio of the simulated module: scans, UDP datagrams, the meter and the ARIB limit."""

from __future__ import annotations

import datetime as dt

from aiobroute.skstack._commands import SkSendTo
from aiobroute.skstack._events import EdScan, ErrorCode, EventNum, PanDescriptor, Pong
from aiobroute.skstack._wire import CRLF, MULTICAST_ALL_NODES, encode
from aiobroute.testing._module_core import (
    ECHONET_PORT,
    SessionInfo,
    _CommandError,
    _ModuleCore,
    _Timeline,
)
from aiobroute.testing._presets import PanConfig

__all__: list[str] = []


class _ModuleRadio(_ModuleCore):
    """Active and ED scans, SKSENDTO on the air, the meter's datagrams, transmit time."""

    async def _scan(self, mode: int, mask: int, duration: int, side: int, token: object) -> None:
        try:
            channels = [0x21 + bit for bit in range(28) if mask & (1 << bit)]
            per_channel = self.timing.scan_slot_s * (2**duration + 1) * self.faults.slow_factor
            minimum = self.radio.beacon_min_duration
            if minimum is None:
                minimum = self.preset.beacon_min_duration
            hear = side == 0 and duration >= minimum
            if hear and mode != 0 and self.radio.beacon_miss:
                hear = self._rng.random() >= self.radio.beacon_miss
            timeline = _Timeline(self.clock)
            levels: list[tuple[int, int]] = []
            for channel in channels:
                await timeline.after(per_channel)
                on_channel = [pan for pan in self._pans() if pan.channel == channel]
                if mode == 0:
                    level = self._rng.randint(0x02, 0x12)
                    if on_channel:
                        level = max(level, max(pan.lqi for pan in on_channel) // 4)
                    levels.append((channel, level))
                    continue
                if not hear:
                    continue
                for pan in on_channel:
                    self.rx_frames += 1
                    self._write(
                        encode(self._event(EventNum.BEACON_RECEIVED, self.scan_event_address))
                        + encode(self._pan_descriptor(pan, mode))
                    )
                    self.events.append(
                        self._event(EventNum.BEACON_RECEIVED, self.scan_event_address)
                    )
            if mode == 0:
                block = encode(self._event(EventNum.ED_SCAN_DONE, self.scan_event_address))
                block += encode(EdScan(tuple(levels), side if self.preset.has_side else None))
                if self.preset.eedscan_blank_line:
                    block += CRLF
                self.events.append(self._event(EventNum.ED_SCAN_DONE, self.scan_event_address))
                self._write(block)
            else:
                self._emit_event(EventNum.ACTIVE_SCAN_DONE, self.scan_event_address)
        finally:
            self._release(token)

    def _pan_descriptor(self, pan: PanConfig, mode: int) -> PanDescriptor:
        return PanDescriptor(
            channel=pan.channel,
            channel_page=9,
            pan_id=pan.pan_id,
            addr=pan.mac,
            lqi=pan.lqi,
            side=0 if self.preset.has_side else None,
            pair_id=pan.pair_id if mode == 2 else None,
        )

    async def _pong(self, target: str) -> None:
        await self._pause(self.timing.ping_s)
        self.rx_frames += 1
        self._send(Pong(target))

    async def _sendto(self, command: SkSendTo) -> None:
        """One decoded SKSENDTO (its argument syntax already checked by the decoder)."""
        dest, port, sec = command.ipaddr, command.port, command.sec
        source_port = self._ports[command.handle - 1]
        if source_port == 0:
            raise _CommandError(ErrorCode.ER10)
        await self._pause(self.timing.command_s)
        if self.tx_limited:
            self._refuse_send(dest, self.preset.tx_limited_send)
            return
        session = self._session
        has_session = (
            session is not None
            and session.state == "active"
            and dest in (session.paa, MULTICAST_ALL_NODES)
        )
        if sec == 1 and not has_session:
            self._refuse_send(dest, self.preset.no_session_send)
            return
        secured = sec == 1 or (sec == 2 and has_session)
        await self._pause(self._draw(self.timing.tx_s))
        multicast = dest.startswith("FF")
        pan = self._pan_at(dest)
        reachable = multicast or dest == self.address or pan is not None
        if not multicast and dest not in self._neighbours and dest != self.address:
            self._account_tx(0)
            self._emit_event(EventNum.UDP_SENT, dest, 0x02)
            if pan is not None and not self.silent:
                self.rx_frames += 1
                if self.radio.neighbor_cache:
                    self._neighbours[dest] = pan.mac
            else:
                reachable = multicast or dest == self.address
        if reachable:
            self._account_tx(len(command.payload))
            self._emit_event(EventNum.UDP_SENT, dest, 0x00)
        else:
            self._emit_event(EventNum.UDP_SENT, dest, 0x01)
        self._ok()
        self._check_budget()
        if (
            reachable
            and secured
            and port == ECHONET_PORT
            and has_session
            and session is not None
            and not self.silent
        ):
            paa = session.paa
            self._deliver_to_meter(
                command.payload,
                lambda reply, delay: self._meter_says(reply, paa, self.address, source_port, delay),
            )

    def _refuse_send(self, dest: str, how: str) -> None:
        if how == "fail":
            raise _CommandError(ErrorCode.ER10)
        self._emit_event(EventNum.UDP_SENT, dest, 0x01)
        self._ok()

    async def _meter_says(
        self, payload: bytes, sender: str, dest: str, lport: int, delay: float
    ) -> None:
        await self._pause(delay)
        session = self._session
        if session is None or session.state != "active" or session.paa != sender or self.silent:
            return
        if lport not in self._ports:
            return
        self.rx_frames += 1
        self.payloads_from_meter.append(payload)
        self._send(
            self._rx_udp(
                sender, dest, session.pan, payload, ports=(ECHONET_PORT, lport), secured=True
            )
        )

    async def _push(self, due: dt.datetime) -> None:
        session = self._session
        if session is None or session.state != "active" or self.silent:
            return
        for frame in self.meter.push_frames(due):
            await self._meter_says(frame, session.paa, self.address, ECHONET_PORT, 0.0)

    async def _startup_frames(self, session: SessionInfo) -> None:
        await self._pause(self._draw(self.timing.join_step_s))
        for frame in self.meter.startup_frames():
            await self._meter_says(frame, session.paa, MULTICAST_ALL_NODES, ECHONET_PORT, 0.0)

    def inject_tx_limit(self, duration_s: float) -> None:
        """Force the ARIB limit: EVENT 32 now, EVENT 33 after ``duration_s`` simulated s."""
        if self._port is None:
            return
        was_limited = self.tx_limited
        until = self.clock.monotonic() + duration_s
        self._forced_limit_until = max(until, self._forced_limit_until or until)
        if not was_limited:
            self._emit_event(EventNum.TX_LIMIT_STARTED, self.address)
        self._watch_limit()

    def _account_tx(self, payload_len: int) -> None:
        airtime = self.radio.airtime_s(payload_len)
        self._sfd_ms += airtime * 1000
        self.total_airtime_ms += airtime * 1000
        self.tx_frames += 1
        self._tx_history.append((self.clock.monotonic(), airtime))

    def _window_sum(self, now: float) -> float:
        horizon = now - self.radio.tx_window_s
        while self._tx_history and self._tx_history[0][0] <= horizon:
            self._tx_history.popleft()
        return sum(airtime for _, airtime in self._tx_history)

    def _check_budget(self) -> None:
        if self._natural_limit:
            return
        if self._window_sum(self.clock.monotonic()) > self.radio.tx_budget_s:
            was_limited = self.tx_limited
            self._natural_limit = True
            if not was_limited:
                self._emit_event(EventNum.TX_LIMIT_STARTED, self.address)
            self._watch_limit()

    def _natural_release_time(self) -> float | None:
        total = sum(airtime for _, airtime in self._tx_history)
        release: float | None = None
        for sent_at, airtime in self._tx_history:
            if total <= self.radio.tx_budget_s:
                break
            total -= airtime
            release = sent_at + self.radio.tx_window_s
        return release

    def _watch_limit(self) -> None:
        if self._limit_watcher is None or self._limit_watcher.done():
            self._limit_watcher = self._start(self._limit_loop())
            self._tasks.add(self._limit_watcher)

    async def _limit_loop(self) -> None:
        while True:
            now = self.clock.monotonic()
            if self._forced_limit_until is not None and self._forced_limit_until <= now:
                self._forced_limit_until = None
            if self._natural_limit and self._window_sum(now) <= self.radio.tx_budget_s:
                self._natural_limit = False
            if not self.tx_limited:
                self._emit_event(EventNum.TX_LIMIT_RELEASED, self.address)
                return
            targets = [
                t for t in (self._forced_limit_until, self._natural_release_time()) if t is not None
            ]
            await self.clock.sleep_until(max(targets) if targets else now + 1.0)
