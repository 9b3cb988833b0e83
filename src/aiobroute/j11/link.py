"""J11Link: the :class:`~aiobroute.link.MeterLink` of ROHM J11 modules.

The B-route sequences of j11.md section 5 on top of :class:`~aiobroute.j11.client.J11Client`:

* pairing (:meth:`J11Link.connect` without a PAN): reset and boot notification, initial
  settings (Dual mode, provisional channel 4), credentials, active scan with the pairing
  ID (escalating durations), then the join below on the channel found;
* join (``connect(pan=...)``, without a scan): reset, initial settings with the
  channel, credentials, start route B (resent on "MAC connection failed" 0x0E), a check
  that the MAC that answered is the expected meter's, open UDP 3610, start PANA and its
  result (0x6028, armed before the request: it may come before or after 0x2056, or
  without it);
* rejoin: when route B is still operating (the meter ended PANA), PANA only; else the
  join above;
* data: transmit (0x0008) with its status as a :class:`~aiobroute.link.SendVerdict`; data
  received (0x6018, port 3610) to the listener;
* unsolicited connection-status changes (0x601A), PANA results (0x6028) and boot
  notifications (0x6019) mapped to the session events of :mod:`aiobroute.link`.

Nothing is written to non-volatile memory: J11 settings live until the next reset.
"""

from __future__ import annotations

import asyncio
import logging

from aiobroute._linkstate import LinkState
from aiobroute.errors import (
    ClientClosedError,
    CommandTimeoutError,
    InvalidArgumentError,
    J11CommandError,
    SendError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.j11 import (
    BootCompleted,
    ConnectionEvent,
    ConnectionStatusChanged,
    DataReceived,
    GetMacAddress,
    GetVersion,
    MacAddressResponse,
    Message,
    OpenUdpPort,
    PanaResult,
    PanaStatus,
    ReceptionFailure,
    ResultCode,
    TerminatePana,
    TerminateRouteB,
    TransmitData,
    TransmitOutcome,
    TransmitResponse,
    VersionResponse,
    link_local_address,
)
from aiobroute.j11._session import (
    _ALL_CHANNELS,
    _FIRST_CHANNEL,
    _LAST_CHANNEL,
    _address_text,
    _credentials,
    _J11Session,
    _scan_arguments,
)
from aiobroute.j11.client import J11Client, J11Timeouts, LinkDown
from aiobroute.link import (
    DIALECT_J11,
    ECHONET_PORT,
    LinkEvent,
    MeterDatagram,
    MeterPan,
    ModuleIdentity,
    ReauthenticationFailed,
    SendVerdict,
    SessionEnded,
    SessionEndReason,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
)
from aiobroute.transport._base import ByteStream

__all__ = ["J11Link"]

_LOGGER = logging.getLogger("aiobroute.j11")

_TX_LIMIT_WINDOW_S = 3600.0
_ANY_RESULT = range(256)
# Results of a refused transmit that mean "no session" (route B not authenticated...).
_NO_SESSION = frozenset(
    {
        ResultCode.NOT_ALLOWED_NOT_STARTED,
        ResultCode.NOT_ALLOWED_ROUTE_B_OPERATING,
        ResultCode.NOT_ALLOWED_GLOBAL_NOT_STARTED,
        ResultCode.NOT_ALLOWED_IN_MODE,
    }
)
_VERDICTS: dict[TransmitOutcome, SendVerdict] = {
    TransmitOutcome.SENT: SendVerdict.SENT,
    TransmitOutcome.CCA_FAILURE: SendVerdict.CHANNEL_BUSY,
    TransmitOutcome.NO_ACK: SendVerdict.NO_ACK,
    TransmitOutcome.OTHER: SendVerdict.FAILED,
    TransmitOutcome.QUEUED_ONLY: SendVerdict.UNCONFIRMED,
}


class J11Link(_J11Session, LinkState[J11Client]):
    """A :class:`~aiobroute.link.MeterLink` over a ROHM J11 module.

    Args:
        stream: an open byte stream to the module (115200 8N1, no flow control).
        timeouts: the J11 timeouts; they bound every wait of the link's calls.

    The underlying :class:`~aiobroute.j11.client.J11Client` is available as :attr:`client`.
    """

    _logger = _LOGGER

    def __init__(self, stream: ByteStream, *, timeouts: J11Timeouts | None = None) -> None:
        super().__init__(J11Client(stream, timeouts=timeouts))
        self._client.add_listener(self._on_message)
        self._mac: bytes | None = None
        self._tx_limited_since: float | None = None

    # ------------------------------------------------------------------ state

    @property
    def client(self) -> J11Client:
        """The J11 client under this link."""
        return self._client

    @property
    def timeouts(self) -> J11Timeouts:
        """The J11 timeouts in use."""
        return self._client.timeouts

    @property
    def dialect(self) -> str:
        """``"j11"``."""
        return DIALECT_J11

    @property
    def meter_address(self) -> str | None:
        """The meter's link-local IPv6 address once joined, or None."""
        return None if self._mac is None else _address_text(self._mac)

    @property
    def tx_limited(self) -> bool:
        """True since a transmit status 0x2 (hourly radio budget), until a send succeeds."""
        return self._tx_limited_since is not None

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("joined" if self.session_active else "open")
        return f"<J11Link {state}>"

    # ------------------------------------------------------------------ receiving

    def _on_message(self, message: Message | LinkDown) -> None:
        """Translate one notification (called synchronously from the client's reader)."""
        if isinstance(message, DataReceived):
            if message.destination_port == ECHONET_PORT:
                self._deliver_datagram(
                    MeterDatagram(
                        source=message.source.exploded.upper(),
                        source_port=message.source_port,
                        payload=message.payload,
                        secured=message.encrypted,
                        rssi_dbm=float(message.rssi_dbm),
                        multicast=message.multicast,
                    )
                )
            return
        if isinstance(message, LinkDown):
            self._port_lost(message.reason)
            return
        if isinstance(message, ReceptionFailure):
            _LOGGER.debug(
                "reception failure 0x%02X from %s", message.reason, message.source.exploded
            )
            return
        if self._own or self._mac is None:
            return  # our own reset/join/terminate, or no session of ours to speak of
        event = self._session_event(message)
        if event is not None:
            self._deliver_event(event)

    def _session_event(self, message: Message) -> LinkEvent | None:
        if isinstance(message, PanaResult):
            source = f"0x6028 result {message.result:02X}"
            if message.mac != self._mac:
                _LOGGER.debug("PANA result about another peer ignored")
                return None
            if message.result == PanaStatus.SUCCESS:
                self._session_active = True
                return SessionReauthenticated(source=source)
            self._session_active = False
            return ReauthenticationFailed(source=source)
        if isinstance(message, ConnectionStatusChanged):
            source = f"0x601A state {message.state:02X}"
            if message.state == ConnectionEvent.PANA_DISCONNECTED:
                self._session_active = False
                return SessionEnded(source=source, reason=SessionEndReason.BY_METER)
            if message.state == ConnectionEvent.MAC_DISCONNECTED:
                self._session_active = False
                return SessionEnded(source=source, reason=SessionEndReason.MAC_DISCONNECTED)
            if message.state == ConnectionEvent.PANA_CONNECTED and not self._session_active:
                self._session_active = True
                return SessionReauthenticated(source=source)
            return None
        if isinstance(message, BootCompleted):
            _LOGGER.warning("the J11 module restarted by itself; its settings are lost")
            self._session_active = False
            return SessionEnded(source="0x6019", reason=SessionEndReason.MODULE_RESTARTED)
        return None

    # ------------------------------------------------------------------ open

    async def open(self, *, reset: bool = False) -> ModuleIdentity:
        """Start the reader; reset if asked; read the version and the module's MAC.

        A module that does not answer the version request (still booting, or stuck) is
        reset once and asked again.
        """
        if self._closing:
            raise ClientClosedError("link is closed")
        self._client.start()
        if reset:
            await self._reset()
        try:
            version = await self._client.request(GetVersion())
        except CommandTimeoutError:
            if reset:
                raise
            # Still booting, or stuck in a long operation: a reset works in every state.
            _LOGGER.info("the J11 module did not answer; resetting it")
            await self._reset()
            version = await self._client.request(GetVersion())
        mac = await self._client.request(GetMacAddress())
        self._identity = ModuleIdentity(
            dialect=DIALECT_J11,
            family="J11",
            version=version.version if isinstance(version, VersionResponse) else None,
            mac=mac.mac.hex().upper() if isinstance(mac, MacAddressResponse) and mac.mac else None,
        )
        _LOGGER.info("J11 module ready: firmware %s", self._identity.version or "unknown")
        return self._identity

    async def _reset(self) -> None:
        with self._own_change():
            self._session_active = False
            await self._client.reset()

    # ------------------------------------------------------------------ join

    async def connect(
        self,
        *,
        rbid: str,
        password: str,
        pan: MeterPan | None = None,
        durations: tuple[int, ...] = (),
        channels: tuple[int, ...] = (),
    ) -> MeterPan:
        """Pair (scan with the pairing ID, channels 4..17) or join ``pan``; see the module doc."""
        credentials = _credentials(rbid, password)
        self._client.redactor.add(rbid, password, credentials.route_b_id)
        if pan is not None and pan.dialect != DIALECT_J11:
            raise InvalidArgumentError(
                f"a PAN remembered by a {pan.dialect!r} module cannot be joined by a J11 one"
            )
        mask, steps = _scan_arguments(durations, channels)
        if pan is not None and not _FIRST_CHANNEL <= pan.channel <= _LAST_CHANNEL:
            raise InvalidArgumentError(f"J11 channels are 4..17, got {pan.channel}")
        self._credentials = (credentials.route_b_id, credentials.password)
        with self._own_change():
            self._session_active = False
            if pan is not None:
                return await self._join(pan.channel, bytes.fromhex(pan.mac))
            candidates = await self._scan(credentials, steps, mask or _ALL_CHANNELS)
            return await self._join_candidates(candidates)

    async def rejoin(self) -> MeterPan:
        """Join the remembered PAN again, without a scan.

        When route B is still operating with the meter (after the meter ended PANA, 0x601A
        state 04), only PANA is started again (j11.md 6, recovery step 2); otherwise, or
        when the module refuses that, the join starts from a reset (j11.md 5.2).
        """
        pan = self._pan
        if pan is None or self._credentials is None:
            raise SessionError("nothing to rejoin: the link never joined a PAN")
        mac = bytes.fromhex(pan.mac)
        with self._own_change():
            self._session_active = False
            if await self._route_b_operating():
                try:
                    await self._client.request(
                        OpenUdpPort(ECHONET_PORT),
                        accept=(ResultCode.SUCCESS, ResultCode.PORT_ALREADY_OPEN),
                    )
                    await self._pana(mac)
                except J11CommandError as exc:
                    _LOGGER.info("restarting PANA was refused (%s); rejoining from a reset", exc)
                else:
                    self._mac = mac
                    self._session_active = True
                    _LOGGER.info("PANA session re-established with %s", _address_text(mac))
                    return pan
            return await self._join(pan.channel, mac)

    async def scan(
        self, *, durations: tuple[int, ...] = (), channels: tuple[int, ...] = ()
    ) -> list[MeterPan]:
        """Active scan without a pairing ID: every PAN in range, strongest first.

        For listing the meters around (``aiobroute scan``); :meth:`connect` scans by
        itself. The module is reset first, and the scan stops at the first duration
        that hears a beacon; no session is kept.

        Args:
            durations: scan exponents 1..14, escalating (default 6, 7, 8).
            channels: only these channels (4..17); empty: all.

        Raises:
            InvalidArgumentError: a bad duration or channel.
            ScanTimeoutError: a scan round never finished.
        """
        mask, steps = _scan_arguments(durations, channels)
        with self._own_change():
            self._session_active = False
            self._mac = None
            found = await self._scan(None, steps, mask or _ALL_CHANNELS)
        return [
            MeterPan(
                dialect=DIALECT_J11,
                channel=channel,
                pan_id=beacon.pan_id,
                mac=beacon.mac.hex().upper(),
                rssi_dbm=float(beacon.rssi_dbm),
            )
            for channel, beacon in found
        ]

    # ------------------------------------------------------------------ data

    async def send(self, payload: bytes, *, port: int = ECHONET_PORT) -> SendVerdict:
        """Transmit data (0x0008) to the meter; the transmit status gives the verdict."""
        mac = self._mac
        if mac is None:
            raise SessionError("not joined: connect() first")
        request = TransmitData(link_local_address(mac), ECHONET_PORT, port, payload)
        response = await self._client.request(
            request, timeout=self.timeouts.send, accept=_ANY_RESULT
        )
        if not isinstance(response, TransmitResponse):  # pragma: no cover - codec
            raise SendError("transmit data gave no status")
        if not response.ok:
            if response.result in _NO_SESSION:
                self._session_active = False
                raise SessionError(
                    f"the module refused to send: {ResultCode.describe(response.result)}"
                )
            raise SendError(f"the module refused to send: {ResultCode.describe(response.result)}")
        outcome = response.outcome
        if outcome == TransmitOutcome.RADIO_BUDGET_EXHAUSTED:
            self._limit_started()
            raise TransmitLimitError("the hourly radio budget is exhausted (transmit status 2)")
        if outcome == TransmitOutcome.SENT:
            self._limit_released("transmit status 0")
        if outcome is None:
            return SendVerdict.UNCONFIRMED
        try:
            return _VERDICTS[TransmitOutcome(outcome)]
        except (ValueError, KeyError):
            return SendVerdict.FAILED

    def _limit_started(self) -> None:
        if self._tx_limited_since is None:
            self._tx_limited_since = asyncio.get_running_loop().time()
            _LOGGER.warning("ARIB transmit-time limit reached (transmit status 2)")
            self._deliver_event(TransmitLimitStarted(source="0x2008 status 2"))

    def _limit_released(self, source: str) -> None:
        if self._tx_limited_since is not None:
            self._tx_limited_since = None
            _LOGGER.info("ARIB transmit-time limit released (%s)", source)
            self._deliver_event(TransmitLimitReleased(source=source))

    async def terminate(self) -> None:
        """End PANA (0x0057, the meter is told), then route B (0x0058); refusals are fine."""
        with self._own_change():
            try:
                for request in (TerminatePana(), TerminateRouteB()):
                    try:
                        await self._client.request(request)
                    except J11CommandError as exc:
                        _LOGGER.debug("%s refused: %s", type(request).__name__, exc)
            finally:
                self._session_active = False

    async def transmit_time_ms(self) -> int | None:
        """None: a J11 module does not report its transmit time."""
        return None

    async def refresh_tx_limit(self) -> bool:
        """J11 cannot be asked: the limit is assumed over an hour after it started."""
        since = self._tx_limited_since
        if since is not None and asyncio.get_running_loop().time() - since >= _TX_LIMIT_WINDOW_S:
            self._limit_released("one hour elapsed")
        return self.tx_limited
