"""The B-route session sequences of :class:`~aiobroute.j11.link.J11Link` (j11.md section 5).

Scan (with or without the pairing ID, escalating durations), join (settings, credentials,
start route B with its retries, port 3610, PANA) and the route B status check. They live
in a mixin of the link, which owns the state they set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiobroute.errors import (
    AuthenticationError,
    CommandTimeoutError,
    InvalidArgumentError,
    J11CommandError,
    JoinError,
    JoinTimeoutError,
    ScanError,
    ScanTimeoutError,
    SessionError,
)
from aiobroute.j11 import (
    ActiveScan,
    Beacon,
    GetStatus,
    GlobalState,
    InitialSettings,
    Message,
    OpenUdpPort,
    PanaResult,
    PanaStatus,
    ResultCode,
    RouteBState,
    ScanResult,
    SetRouteBCredentials,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    StatusResponse,
    link_local_address,
    pairing_id,
)
from aiobroute.j11.client import J11Client, LinkDown
from aiobroute.link import DIALECT_J11, ECHONET_PORT, MeterPan

_LOGGER = logging.getLogger("aiobroute.j11")

_FIRST_CHANNEL = 4
_LAST_CHANNEL = 17
_ALL_CHANNELS = 0x0003FFF0
_PROVISIONAL_CHANNEL = 4
_DEFAULT_DURATIONS = (6, 7, 8)
_DWELL_S = 0.00964
_START_ATTEMPTS = 3


class _J11Session:
    """The scan and join sequences; :class:`~aiobroute.j11.link.J11Link` owns the state."""

    _client: J11Client
    _credentials: tuple[str, str] | None
    _mac: bytes | None
    _pan: MeterPan | None
    _session_active: bool

    async def _route_b_operating(self) -> bool:
        """True when route B is associated (not authenticated) with the remembered meter."""
        try:
            status = await self._client.request(GetStatus())
        except J11CommandError:
            return False
        return (
            isinstance(status, StatusResponse)
            and status.global_state == GlobalState.STARTED
            and status.route_b_state == RouteBState.OPERATING
        )

    async def _scan(
        self, credentials: SetRouteBCredentials | None, durations: tuple[int, ...], mask: int
    ) -> list[tuple[int, Beacon]]:
        client = self._client
        await client.reset()
        await client.request(InitialSettings(channel=_PROVISIONAL_CHANNEL))
        pid: bytes | None = None
        if credentials is not None:
            await self._set_credentials(credentials)
            pid = pairing_id(credentials.route_b_id)
        expected = bin(mask).count("1")
        for duration in durations:
            collector = _ScanCollector(expected)
            budget = expected * _DWELL_S * 2**duration * 1.1 + 2 + self._client.timeouts.scan_margin
            deadline = asyncio.get_running_loop().time() + budget
            remove = client.add_listener(collector.add)
            try:
                _LOGGER.info("J11 active scan (duration %d, up to %.0f s)", duration, budget)
                try:
                    await client.request(
                        ActiveScan(duration=duration, channel_mask=mask, pairing_id=pid),
                        timeout=budget,
                    )
                except CommandTimeoutError:
                    raise ScanTimeoutError(
                        f"active scan (duration {duration}) did not finish within {budget:.0f} s"
                    ) from None
                # The response normally follows the last result; some modules send it first.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout_at(deadline):
                        await collector.complete.wait()
            finally:
                remove()
            found = collector.found
            client.check_usable()
            if found:
                found.sort(key=lambda item: item[1].rssi_dbm, reverse=True)
                for channel, beacon in found:
                    _LOGGER.info(
                        "found PAN %04X on channel %d (%d dBm)",
                        beacon.pan_id,
                        channel,
                        beacon.rssi_dbm,
                    )
                return found
        return []

    async def _join_candidates(self, candidates: list[tuple[int, Beacon]]) -> MeterPan:
        if not candidates:
            raise ScanError(
                "no smart meter answered the active scan: check the dongle's distance to the "
                "meter, the B-route ID, and that the B route has been activated"
            )
        fresh = True  # right after the scan: no reset needed for the first candidate
        for channel, beacon in candidates[:-1]:
            try:
                return await self._join(channel, beacon.mac, fresh=fresh)
            except (AuthenticationError, JoinError, JoinTimeoutError) as exc:
                _LOGGER.warning(
                    "join of PAN %04X failed (%s); trying the next PAN",
                    beacon.pan_id,
                    type(exc).__name__,
                )
            fresh = False
        channel, beacon = candidates[-1]
        return await self._join(channel, beacon.mac, fresh=fresh)

    async def _join(self, channel: int, mac: bytes, *, fresh: bool = False) -> MeterPan:
        """Reset, settings with ``channel``, credentials, route B, port 3610, PANA.

        ``fresh``: the module was just reset and given the credentials (pairing after a
        scan, j11.md 5.1 step 6): only the channel is set.
        """
        client = self._client
        if self._credentials is None:  # pragma: no cover - connect() sets them first
            raise SessionError("no credentials")
        rbid, password = self._credentials
        if not fresh:
            await client.reset()
        await client.request(InitialSettings(channel=channel))
        if not fresh:
            await self._set_credentials(SetRouteBCredentials(rbid, password))
        started = await self._start_route_b(channel)
        if started.mac != mac:
            raise JoinError(
                f"another meter answered on channel {channel} "
                f"({(started.mac or b'').hex().upper()}, expected {mac.hex().upper()})"
            )
        await client.request(
            OpenUdpPort(ECHONET_PORT),
            accept=(ResultCode.SUCCESS, ResultCode.PORT_ALREADY_OPEN),
        )
        await self._pana(mac)
        self._mac = mac
        self._session_active = True
        self._pan = MeterPan(
            dialect=DIALECT_J11,
            channel=channel,
            pan_id=started.pan_id if started.pan_id is not None else 0xFFFF,
            mac=mac.hex().upper(),
            pair_id=rbid[-8:],
            rssi_dbm=None if started.rssi_dbm is None else float(started.rssi_dbm),
        )
        _LOGGER.info("joined: PANA session established with %s", _address_text(mac))
        return self._pan

    async def _set_credentials(self, credentials: SetRouteBCredentials) -> None:
        # 0x58 "already set" is reported by some hosts as harmless (j11.md 10.8).
        await self._client.request(
            credentials, accept=(ResultCode.SUCCESS, ResultCode.PANA_ALREADY_SET)
        )

    async def _start_route_b(self, channel: int) -> StartRouteBResponse:
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                response = await self._client.request(
                    StartRouteB(), timeout=self._client.timeouts.start_route_b
                )
            except J11CommandError as exc:
                if exc.code != ResultCode.MAC_CONNECTION_FAILED:
                    raise
                if attempt == _START_ATTEMPTS:
                    raise JoinError(
                        f"no beacon from the meter on channel {channel} after {attempt} "
                        "attempts (MAC connection failed): scan again"
                    ) from exc
                _LOGGER.info("start route B: MAC connection failed; retrying")
                await asyncio.sleep(self._client.timeouts.start_retry)
                continue
            if not isinstance(response, StartRouteBResponse):  # pragma: no cover - codec
                raise JoinError("start route B gave no PAN details")
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def _pana(self, mac: bytes) -> None:
        client = self._client
        limit = self._client.timeouts.join
        with client.expect(PanaResult, lambda m: m.mac == mac) as result:
            # The result (0x6028) may come before the response (0x2056), after it, or
            # without it (j11.md 10.11): whichever comes first, the result decides.
            start = asyncio.ensure_future(client.request(StartPana()))
            try:
                async with asyncio.timeout(limit):
                    await asyncio.wait((start, result), return_when=asyncio.FIRST_COMPLETED)
                    if start.done() and not result.done():
                        try:
                            start.result()
                        except CommandTimeoutError:
                            _LOGGER.debug("no response to start PANA; waiting for its result")
                    outcome = await result
            except TimeoutError:
                raise JoinTimeoutError(
                    f"PANA authentication did not finish within {limit:.0f} s"
                ) from None
            finally:
                if not start.done():
                    start.cancel()
                await asyncio.gather(start, return_exceptions=True)
        if outcome.result == PanaStatus.SUCCESS:
            return
        if outcome.result == PanaStatus.REJECTED:
            raise AuthenticationError(
                "PANA authentication was rejected (0x6028 result 02): check the B-route ID "
                "and password, and that the grid company has activated the B route",
                peer_answered=True,
            )
        if outcome.result == PanaStatus.NO_RESPONSE:
            raise JoinTimeoutError("the meter did not answer PANA (0x6028 result 03)")
        raise JoinError(f"PANA failed (0x6028 result {outcome.result:02X})")


class _ScanCollector:
    """Collects the scan results (0x4051, one per channel) of one active scan."""

    def __init__(self, channels: int) -> None:
        self.channels = channels
        self.seen: set[int] = set()
        self.found: list[tuple[int, Beacon]] = []
        self.complete = asyncio.Event()

    def add(self, message: Message | LinkDown) -> None:
        if isinstance(message, ScanResult):
            self.seen.add(message.channel)
            self.found.extend((message.channel, beacon) for beacon in message.beacons)
            if len(self.seen) >= self.channels:
                self.complete.set()
        elif isinstance(message, LinkDown):
            self.complete.set()


def _scan_arguments(
    durations: tuple[int, ...], channels: tuple[int, ...]
) -> tuple[int, tuple[int, ...]]:
    """The channel mask (0: all) and the durations to use; validated."""
    mask = 0
    for channel in channels:
        if isinstance(channel, bool) or not _FIRST_CHANNEL <= channel <= _LAST_CHANNEL:
            raise InvalidArgumentError(f"J11 channels are 4..17, got {channel!r}")
        mask |= 1 << channel
    steps = durations or _DEFAULT_DURATIONS
    if any(isinstance(d, bool) or not 1 <= d <= 14 for d in steps):
        raise InvalidArgumentError("J11 scan durations are 1..14")
    return mask, steps


def _credentials(rbid: str, password: str) -> SetRouteBCredentials:
    """Validate before anything is sent; J11 takes the ID in upper case."""
    if not isinstance(rbid, str) or not isinstance(password, str):
        raise InvalidArgumentError("the B-route ID and password must be strings")
    try:
        return SetRouteBCredentials(rbid.upper(), password)
    except (InvalidArgumentError, ValueError):
        raise InvalidArgumentError(
            "J11 needs a 32-character hex B-route ID and a 12-character alphanumeric password"
        ) from None


def _address_text(mac: bytes) -> str:
    return link_local_address(mac).exploded.upper()
