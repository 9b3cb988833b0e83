"""Scan and join of the SKSTACK IP client: SKSCAN, credentials, SKJOIN, SKREJOIN, SKTERM."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from aiobroute._frozen import Frozen
from aiobroute.errors import (
    AuthenticationError,
    CommandError,
    InvalidArgumentError,
    JoinError,
    JoinTimeoutError,
    ScanError,
    ScanTimeoutError,
)
from aiobroute.skstack._commands import (
    SkAddNbr,
    SkJoin,
    SkLl64,
    SkRejoin,
    SkScan,
    SkSetPwd,
    SkSetRbid,
    SkSreg,
    SkTerm,
    check_addr64,
    check_password,
    check_range,
    check_rbid,
)
from aiobroute.skstack._core import _LOGGER, PortLost
from aiobroute.skstack._events import (
    AddressLine,
    ErrorCode,
    Event,
    EventNum,
    Message,
    PanDescriptor,
    RxUdp,
)
from aiobroute.skstack._exchange import _CommandClient
from aiobroute.skstack._registers import Register

__all__ = ["ALL_CHANNELS", "JoinedPan", "order_candidates"]

#: SKSCAN's channel mask for every channel.
ALL_CHANNELS = 0xFFFFFFFF
_SCAN_DONE = (EventNum.ACTIVE_SCAN_DONE, EventNum.ED_SCAN_DONE)


class JoinedPan(Frozen):
    """A PAN the client has joined: the descriptor used and the meter's IPv6 address."""

    __slots__ = ("ipaddr", "pan")
    pan: PanDescriptor
    ipaddr: str

    def __init__(self, pan: PanDescriptor, ipaddr: str) -> None:
        self._set("pan", pan)
        self._set("ipaddr", ipaddr)


class _SessionClient(_CommandClient):
    """Active scan, PANA join, re-join and termination."""

    async def scan(
        self,
        *,
        durations: Iterable[int] = (4, 5, 6, 7),
        channel_mask: int = ALL_CHANNELS,
        mode: int = 2,
        stop_when_found: bool = True,
    ) -> list[PanDescriptor]:
        """Active scan (``SKSCAN``) with escalating durations; returns every PAN heard.

        Each round lasts about 9.6 ms x (2^D + 1) per channel in ``channel_mask``. Rounds
        stop at the first that finds a PAN unless ``stop_when_found`` is false.
        Raises :class:`ScanTimeoutError` if a round never reports its end (EVENT 22).
        """
        check_range(channel_mask, 1, ALL_CHANNELS, "channel mask")
        if mode not in (2, 3):
            raise InvalidArgumentError("scan mode must be 2 (active, with PairID) or 3")
        steps = [check_range(d, 0, 14, "scan duration") for d in durations]
        if not steps:
            raise InvalidArgumentError("at least one scan duration is needed")
        self._check_usable()
        found: dict[tuple[int, str], PanDescriptor] = {}
        async with self._lock:
            for duration in steps:
                for pan in await self._scan_once(duration, channel_mask, mode):
                    found[(pan.pan_id, pan.addr)] = pan
                if found and stop_when_found:
                    break
        return list(found.values())

    async def _scan_once(self, duration: int, mask: int, mode: int) -> list[PanDescriptor]:
        channels = bin(mask & 0x0FFFFFFF).count("1") or 28
        expected = 0.0096 * (2**duration + 1) * channels
        limit = expected * 1.5 + self.timeouts.scan_margin
        pans: list[PanDescriptor] = []

        def started() -> None:
            _LOGGER.info("scanning (duration %d, about %.1f s)", duration, expected)
            # Until EVENT 22 the module is busy: if this wait is abandoned (timeout,
            # cancel), the next command waits for the scan's end first. EVENT 22 may
            # already be in: the subscription holds it, and it sets the flag again.
            self._scan_done.clear()
            self._scan_busy_until = asyncio.get_running_loop().time() + limit

        def until(message: Message) -> list[PanDescriptor] | None:
            if isinstance(message, PanDescriptor):
                _LOGGER.info(
                    "found PAN %04X on channel %02X (LQI %d)",
                    message.pan_id,
                    message.channel,
                    message.lqi,
                )
                pans.append(message)
            elif isinstance(message, Event) and message.num in _SCAN_DONE:
                self._scan_done.set()
                return pans
            return None

        def on_timeout() -> list[PanDescriptor]:
            raise ScanTimeoutError(
                f"active scan (duration {duration}) did not finish within {limit:.0f} s"
            )

        return await self._request(
            SkScan(mode, mask, duration, side=0),
            accept=_scan_message,
            until=until,
            limit=limit,
            on_timeout=on_timeout,
            started=started,
        )

    def add_secrets(self, *secrets: str) -> None:
        """Register strings to mask in every log record, error and repr."""
        self._redactor.add(*secrets)

    async def join(self, pan: PanDescriptor, *, rbid: str, password: str) -> JoinedPan:
        """Join one PAN: credentials, channel, PAN ID, SKLL64, SKADDNBR, SKJOIN.

        Works from a scanned descriptor or from a remembered one (no scan needed).

        Raises:
            AuthenticationError: EVENT 24 (wrong ID/password, or not the household's meter).
            JoinTimeoutError: neither EVENT 25 nor EVENT 24 arrived in time.
        """
        check_rbid(rbid)
        check_password(password)
        self._redactor.add(rbid, password)
        check_range(pan.channel, 0x21, 0x3C, "channel")
        check_range(pan.pan_id, 0, 0xFFFF, "PAN ID")
        mac = check_addr64(pan.addr)
        self._check_usable()
        async with self._lock:
            await self._command_locked(SkSetPwd(len(password), password))
            await self._command_locked(SkSetRbid(rbid))
            for register, value in ((Register.CHANNEL, pan.channel), (Register.PAN_ID, pan.pan_id)):
                await self._command_locked(SkSreg(register.token, register.encode(value)))
            reply = await self._command_locked(SkLl64(mac))
            ipaddr = next((v.ipaddr for v in reply.values if isinstance(v, AddressLine)), None)
            if ipaddr is None:  # pragma: no cover - Completion.LINE guarantees it
                raise JoinError("SKLL64 gave no address")
            try:
                await self._command_locked(SkAddNbr(ipaddr, mac))
            except CommandError as exc:
                _LOGGER.debug("SKADDNBR refused (%s); continuing", exc)
            try:
                await self._join_locked(SkJoin(ipaddr), pan)
            except CommandError as exc:
                if exc.code != ErrorCode.ER10:
                    raise
                # The stack still holds a (dead) session: end it, then join again.
                _LOGGER.info("SKJOIN refused (ER10): ending the previous session first")
                await self._terminate_locked()
                await self._join_locked(SkJoin(ipaddr), pan)
        _LOGGER.info("joined: PANA session established with %s", ipaddr)
        return JoinedPan(pan=pan, ipaddr=ipaddr)

    async def rejoin(self) -> None:
        """``SKREJOIN``: re-authenticate the existing session (FAIL ER10 without one)."""
        self._check_usable()
        async with self._lock:
            await self._join_locked(SkRejoin(), None)

    async def _join_locked(self, command: SkJoin | SkRejoin, pan: PanDescriptor | None) -> None:
        """SKJOIN or SKREJOIN, then EVENT 25 (joined) or EVENT 24 (refused)."""
        limit = self.timeouts.join

        def started() -> None:
            if pan is not None:
                _LOGGER.info("joining PAN %04X on channel %02X", pan.pan_id, pan.channel)

        def on_timeout() -> bool:
            raise JoinTimeoutError(f"PANA authentication did not finish within {limit:.0f} s")

        # A PANA datagram from the meter means it is there and took part: an EVENT 24
        # then is a refusal, not a meter out of reach (see AuthenticationError).
        heard = False

        def verdict(message: Message) -> bool | None:
            nonlocal heard
            if isinstance(message, RxUdp):
                heard = True
                return None
            return _pana_verdict(message, heard)

        await self._request(
            command,
            accept=_join_message,
            until=verdict,
            limit=limit,
            on_timeout=on_timeout,
            started=started,
        )

    async def connect(
        self,
        *,
        rbid: str,
        password: str,
        pan: PanDescriptor | None = None,
        durations: Iterable[int] = (4, 5, 6, 7),
        channel_mask: int = ALL_CHANNELS,
    ) -> JoinedPan:
        """Scan (unless ``pan`` is given) and join the household's meter.

        When several PANs answer, those whose PairID equals the last 8 characters of the
        B-route ID are tried first, in LQI order; if none matches, every PAN is tried in
        LQI order.
        """
        check_rbid(rbid)
        check_password(password)
        self._redactor.add(rbid, password)
        if pan is not None:
            return await self.join(pan, rbid=rbid, password=password)
        pans = await self.scan(durations=durations, channel_mask=channel_mask)
        return await self.join_best(pans, rbid=rbid, password=password)

    async def join_best(
        self, pans: Sequence[PanDescriptor], *, rbid: str, password: str
    ) -> JoinedPan:
        """Join the first PAN that accepts us, in :func:`order_candidates` order.

        Raises:
            ScanError: ``pans`` is empty.
            AuthenticationError, JoinTimeoutError: the last candidate failed too.
        """
        candidates = order_candidates(pans, rbid)
        if not candidates:
            raise ScanError(
                "no smart meter answered the active scan: check the dongle's distance to the "
                "meter and that the B route has been activated"
            )
        for candidate in candidates[:-1]:
            try:
                return await self.join(candidate, rbid=rbid, password=password)
            except (AuthenticationError, JoinTimeoutError) as exc:
                _LOGGER.warning(
                    "join of PAN %04X failed (%s); trying the next PAN",
                    candidate.pan_id,
                    exc.__class__.__name__,
                )
        return await self.join(candidates[-1], rbid=rbid, password=password)

    async def terminate(self) -> None:
        """``SKTERM``: end the PANA session (FAIL ER10 without one).

        Waits briefly for EVENT 27 (ended) or 28 (the meter did not answer; ended anyway).
        """
        self._check_usable()
        async with self._lock:
            await self._terminate_locked(raise_errors=True)

    async def _terminate_locked(self, *, raise_errors: bool = False) -> None:
        def on_timeout() -> bool:
            _LOGGER.debug("no EVENT 27/28 after SKTERM")
            return False

        try:
            await self._request(
                SkTerm(),
                accept=_term_message,
                until=lambda message: True,  # EVENT 27 or 28
                limit=self.timeouts.join,
                on_timeout=on_timeout,
            )
        except CommandError as exc:
            if raise_errors:
                raise
            _LOGGER.debug("SKTERM refused: %s", exc)


def order_candidates(pans: Iterable[PanDescriptor], rbid: str) -> list[PanDescriptor]:
    """Order scanned PANs for joining: PairID matches first, each group by LQI (best first).

    When at least one PAN's PairID equals the last 8 characters of the B-route ID, only
    those are returned: the others belong to neighbours.
    """
    ordered = sorted(pans, key=lambda p: p.lqi, reverse=True)
    pair_id = rbid[-8:].upper()
    matching = [p for p in ordered if p.pair_id is not None and p.pair_id.upper() == pair_id]
    return matching or ordered


def _pana_verdict(message: Message, heard: bool) -> bool | None:
    if isinstance(message, Event):
        if message.num == EventNum.PANA_CONNECTED:
            return True
        if message.num == EventNum.PANA_FAILED:
            if heard:
                raise AuthenticationError(
                    "PANA authentication failed (EVENT 24) after the meter answered: check "
                    "the B-route ID and password, and that the grid company has activated "
                    "the B route for this meter",
                    peer_answered=True,
                )
            raise AuthenticationError(
                "PANA authentication failed (EVENT 24) with no answer from the meter: check "
                "the dongle's distance to the meter, the B-route ID and password, and that "
                "the grid company has activated the B route for this meter",
                peer_answered=False,
            )
    return None


def _scan_message(message: Message) -> bool:
    return isinstance(message, PanDescriptor | PortLost) or (
        isinstance(message, Event) and message.num in _SCAN_DONE
    )


def _join_message(message: Message) -> bool:
    return (
        isinstance(message, PortLost)
        or (isinstance(message, RxUdp) and message.lport == PANA_PORT)
        or (
            isinstance(message, Event)
            and message.num in (EventNum.PANA_CONNECTED, EventNum.PANA_FAILED)
        )
    )


#: UDP port of PANA (RFC 5191): the meter's side of a join arrives as ERXUDP to it.
PANA_PORT = 0x02CC


def _term_message(message: Message) -> bool:
    return isinstance(message, PortLost) or (
        isinstance(message, Event)
        and message.num in (EventNum.SESSION_TERMINATED, EventNum.SESSION_TERMINATE_TIMEOUT)
    )
