"""PANA and the session of the simulated J11 module."""

from __future__ import annotations

import attrs

from aiobroute.j11 import (
    Command,
    PanaResult,
    PanaStatus,
    ResultCode,
    RouteBState,
    link_local_address,
)
from aiobroute.testing._j11module_core import _SESSION_LIFETIME_S, _text
from aiobroute.testing._j11module_radio import _J11ModuleRadio
from aiobroute.testing._module_base import SessionInfo
from aiobroute.testing._presets import PanConfig

__all__: list[str] = []


class _J11ModulePana(_J11ModuleRadio):
    """PANA authentication, the session lifetime and re-authentication."""

    # ------------------------------------------------------------------- PANA

    def _start_pana(self, *, reauth: bool) -> None:
        code = Command.RESTART_PANA if reauth else Command.START_PANA
        if self.rbid is None or self.password is None:
            self._result(code, ResultCode.PANA_SETTINGS_MISSING)
            return
        if self._pana_running:
            self._result(code, ResultCode.PANA_ALREADY_RUNNING)
            return
        pan = self._route_pan
        assert pan is not None  # noqa: S101 - route B is operating or authenticated
        answers = not self.silent and not self.j11_faults.pana_no_answer
        late = answers and self.preset.pana_result_first
        if not late and (answers or self.preset.pana_response_without_answer):
            self._result(code, ResultCode.SUCCESS)
        self._pana_running = True
        self._spawn(
            self._pana(pan, reauth=reauth, answers=answers, respond=code if late else None),
            session=True,
        )

    def _credentials_ok(self, pan: PanConfig) -> bool:
        return (
            pan is self.pan
            and pan.accepts_our_credentials
            and self.rbid == self._rbid_expected
            and self.password == self._password_expected
        )

    async def _pana(
        self, pan: PanConfig, *, reauth: bool, answers: bool, respond: int | None = None
    ) -> None:
        slow = self.faults.slow_factor
        mac = bytes.fromhex(pan.mac)
        try:
            if not answers:
                wait = self.timing.reauth_no_answer_s if reauth else self.timing.pana_no_answer_s
                await self._pause(wait * slow)
                self._lose_session()
                self._notify(PanaResult(PanaStatus.NO_RESPONSE, mac))
                return
            if not self._credentials_ok(pan):
                await self._pause(self.timing.pana_reject_s * slow)
                self._lose_session()
                self._notify(PanaResult(PanaStatus.REJECTED, mac))
                if respond is not None:
                    self._result(respond, ResultCode.SUCCESS)
                return
            await self._pause(self._draw(self.timing.pana_s) * slow)
            self._pana_running = False
            self._established(pan)
            self._notify(PanaResult(PanaStatus.SUCCESS, mac))
            if respond is not None:
                self._result(respond, ResultCode.SUCCESS)
            if not reauth:
                self._spawn(self._startup_frames(), session=True)
        finally:
            self._pana_running = False

    def _lose_session(self) -> None:
        self._end_session()
        if self.route_b_state == RouteBState.AUTHENTICATED:
            self.route_b_state = RouteBState.OPERATING

    def _established(self, pan: PanConfig) -> None:
        self._cancel_session_tasks()
        self._pana_key = bytes(self._rng.getrandbits(8) for _ in range(16))
        self._session = SessionInfo(
            paa=_text(link_local_address(bytes.fromhex(pan.mac))),
            pan=pan,
            state="active",
            established_at=self.clock.monotonic(),
            lifetime_s=_SESSION_LIFETIME_S,
            session_id=self._rng.getrandbits(32),
        )
        self.route_b_state = RouteBState.AUTHENTICATED
        self._spawn(self._lifetime_timer(), session=True)
        self._spawn(self._push_loop(), session=True)

    def _lifetime_over(self) -> None:
        self._expire(reauth=True)

    def _expire(self, *, reauth: bool) -> bool:
        session = self._session
        if session is None:
            return False
        self._session = attrs.evolve(session, state="reauth")
        self._cancel_session_tasks()
        self._spawn(self._auto_reauth(session, succeed=reauth and not self.silent), session=True)
        return True

    async def _auto_reauth(self, session: SessionInfo, *, succeed: bool) -> None:
        slow = self.faults.slow_factor
        mac = bytes.fromhex(session.pan.mac)
        if not succeed:
            await self._pause(self.timing.reauth_no_answer_s * slow)
            self._lose_session()
            self._notify(PanaResult(PanaStatus.NO_RESPONSE, mac))
            return
        await self._pause(self._draw(self.timing.pana_s) * slow)
        self._established(session.pan)
        if self.preset.notify_reauth:
            self._notify(PanaResult(PanaStatus.SUCCESS, mac))
