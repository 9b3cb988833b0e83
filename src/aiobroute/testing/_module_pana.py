"""PANA and the session of the simulated module: join, re-authentication, termination."""

from __future__ import annotations

import attrs

from aiobroute.skstack._events import EventNum
from aiobroute.skstack._registers import Register
from aiobroute.testing._module_core import PANA_PORT, SessionInfo, _Timeline
from aiobroute.testing._module_radio import _ModuleRadio
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._presets import PanConfig

__all__: list[str] = []


class _ModulePana(_ModuleRadio):
    """The PANA exchanges with the meter and the session's life."""

    def _pana_rx(self, paa: str, pan: PanConfig, data: bytes) -> None:
        self.rx_frames += 1
        self._send(
            self._rx_udp(paa, self.address, pan, data, ports=(PANA_PORT, PANA_PORT), secured=False)
        )

    def _pana_tx(self, paa: str, size: int = 64) -> None:
        self._account_tx(size)
        self._emit_event(EventNum.UDP_SENT, paa, 0x00)

    def _credentials_ok(self, pan: PanConfig) -> bool:
        return (
            pan.accepts_our_credentials
            and self.rbid == self._rbid_expected
            and self.password == self._password_expected
        )

    async def _join(self, paa: str, token: object) -> None:
        try:
            slow = self.faults.slow_factor
            timeline = _Timeline(self.clock)
            pan = self._pan_at(paa)
            if pan is None or self.silent:
                await self._unreachable(paa, timeline)
                return
            if paa not in self._neighbours:
                await timeline.after(self._draw(self.timing.tx_s))
                self._account_tx(0)
                self._emit_event(EventNum.UDP_SENT, paa, 0x02)
                await timeline.after(self._draw(self.timing.tx_s))
                self.rx_frames += 1
                self._emit_event(EventNum.NA_RECEIVED, paa)
                if self.radio.neighbor_cache:
                    self._neighbours[paa] = pan.mac
            else:
                self._account_tx(48)
            self._pana = PanaBuilder(self._rng)
            ok = await self._pana_exchange(paa, pan, timeline, start=True)
            if not ok:
                await timeline.after(self.timing.join_fail_s * slow)
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            self._established(paa, pan, announce=True)
        finally:
            self._release(token)

    async def _unreachable(self, paa: str, timeline: _Timeline) -> None:
        """No neighbour advertisement: PANA retransmits (2, 4, 8, 8, 8 s), then EVENT 24."""
        total = self.timing.join_unreachable_s * self.faults.slow_factor
        previous = 0.0
        for offset in (0, 2, 6, 14, 22, 30):
            point = total * offset / 38
            await timeline.after(point - previous)
            previous = point
            self._account_tx(0)
            self._emit_event(EventNum.UDP_SENT, paa, 0x02)
            self._emit_event(EventNum.UDP_SENT, paa, 0x01)
        await timeline.after(total - previous)
        self._emit_event(EventNum.PANA_FAILED, paa)

    async def _pana_exchange(
        self, paa: str, pan: PanConfig, timeline: _Timeline, *, start: bool
    ) -> bool:
        """The PAA's PANA-Auth-Requests and our answers; False if the PAA goes quiet."""
        pana = self._pana
        assert pana is not None  # noqa: S101
        step = self.timing.join_step_s
        slow = self.faults.slow_factor
        credentials_ok = self._credentials_ok(pan)
        count = self.pana_exchanges
        for index in range(count):
            await timeline.after(self._draw(step) * slow)
            if self.silent:
                return False
            last = index == count - 1
            if index == 0 and start:
                message = pana.auth_start()
            elif last and credentials_ok:
                lifetime = self.registers[Register.SESSION_LIFETIME]
                assert isinstance(lifetime, int)  # noqa: S101
                message = pana.auth_complete(lifetime)
            else:
                message = pana.auth_eap(index)
            if last and not credentials_ok and count > 1:
                return False
            self._pana_rx(paa, pan, message)
            await timeline.after(self._draw(self.timing.tx_s))
            self._pana_tx(paa)
        return credentials_ok

    def _established(self, paa: str, pan: PanConfig, *, announce: bool) -> None:
        lifetime = self.registers[Register.SESSION_LIFETIME]
        assert isinstance(lifetime, int)  # noqa: S101
        pana = self._pana
        self._session = SessionInfo(
            paa=paa,
            pan=pan,
            state="active",
            established_at=self.clock.monotonic(),
            lifetime_s=lifetime,
            session_id=pana.session_id if pana is not None else 0,
        )
        self._cancel_session_tasks()
        self._emit_event(EventNum.PANA_CONNECTED, paa)
        self._spawn(self._lifetime_timer(), session=True)
        self._spawn(self._push_loop(), session=True)
        if announce:
            self._spawn(self._startup_frames(self._session), session=True)

    def _lifetime_over(self) -> None:
        self._expire(reauth=self.registers[Register.AUTO_REAUTH] == 1, announce=True)

    def _expire(self, *, reauth: bool, announce: bool) -> bool:
        session = self._session
        if session is None:
            return False
        if announce:
            self._emit_event(EventNum.SESSION_EXPIRED, session.paa)
        if reauth:
            self._session = attrs.evolve(session, state="reauth")
            self._cancel_session_tasks()
            self._spawn(self._reauthenticate(session.paa))
        else:
            self._end_session()
        return True

    async def _reauth_fails(self, paa: str) -> None:
        timeline = _Timeline(self.clock)
        await timeline.after(self.timing.join_fail_s * self.faults.slow_factor)
        self._end_session()
        self._emit_event(EventNum.PANA_FAILED, paa)

    async def _reauthenticate(self, paa: str, *, token: object | None = None) -> None:
        """Re-authentication (automatic, or SKREJOIN when ``token`` is given)."""
        rejoin = token is not None
        try:
            session = self._session
            timeline = _Timeline(self.clock)
            pan = session.pan if session is not None else self._pan_at(paa)
            if pan is None or self.silent:
                await timeline.after(self.timing.join_unreachable_s * self.faults.slow_factor)
                self._end_session()
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            await timeline.after(self._draw(self.timing.tx_s))
            self._pana_tx(paa)
            if self._pana is None:
                self._pana = PanaBuilder(self._rng)
            await timeline.after(self._draw(self.timing.join_step_s))
            self._pana_rx(paa, pan, self._pana.reauth_answer())
            ok = await self._pana_exchange(paa, pan, timeline, start=False)
            if not ok:
                await timeline.after(self.timing.join_fail_s * self.faults.slow_factor)
                self._end_session()
                self._emit_event(EventNum.PANA_FAILED, paa)
                return
            self._established(paa, pan, announce=rejoin)
        finally:
            if token is not None:
                self._release(token)

    async def _terminate(self, session: SessionInfo) -> None:
        """After SKTERM sent PANA-Termination-Request: the answer (EVENT 27) or EVENT 28."""
        timeline = _Timeline(self.clock)
        if self.silent:
            await timeline.after(self.timing.join_unreachable_s * self.faults.slow_factor / 4)
            self._end_session()
            self._emit_event(EventNum.SESSION_TERMINATE_TIMEOUT, session.paa)
            return
        await timeline.after(self.timing.termination_s)
        pana = self._pana or PanaBuilder(self._rng)
        self._pana_rx(session.paa, session.pan, pana.termination_answer())
        self._end_session()
        self._emit_event(EventNum.SESSION_TERMINATED, session.paa)
