"""SkStackLink: the :class:`~aiobroute.link.MeterLink` of SKSTACK IP modules.

An adapter over :class:`~aiobroute.skstack.client.SkStackClient`: the client does the
commands, the link keeps the join state and translates what the module prints into the
dialect-independent datagrams and session events of :mod:`aiobroute.link`, synchronously
from the client's reader.
"""

from __future__ import annotations

import logging

from aiobroute._linkstate import LinkState
from aiobroute.errors import (
    ClientClosedError,
    CommandError,
    InvalidArgumentError,
    SendError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.link import (
    DIALECT_SKSTACK,
    ECHONET_PORT,
    LinkEvent,
    MeterDatagram,
    MeterPan,
    ModuleIdentity,
    ReauthenticationFailed,
    SendVerdict,
    SessionEnded,
    SessionEndReason,
    SessionExpired,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
)
from aiobroute.skstack._commands import check_password, check_range, check_rbid
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import ErrorCode, Event, EventNum, Message, PanDescriptor, RxUdp
from aiobroute.skstack._registers import Register
from aiobroute.skstack.client import (
    JoinedPan,
    PortLost,
    SkStackClient,
    SkTimeouts,
)
from aiobroute.transport._base import ByteStream

__all__ = ["SKSTACK_EVENT_MAP", "SkStackLink", "descriptor_of", "meter_pan_of"]

_LOGGER = logging.getLogger("aiobroute.skstack")

DIALECT = DIALECT_SKSTACK
_FIRST_CHANNEL = 0x21
_LAST_CHANNEL = 0x3C
_DEFAULT_DURATIONS = (4, 5, 6, 7)

#: How SKSTACK EVENT numbers map to link events, outside the host's own join, rejoin or
#: terminate (during those, EVENT 24/25/26/27/28/29 are the call's outcome, not events).
SKSTACK_EVENT_MAP: dict[EventNum, LinkEvent] = {
    EventNum.SESSION_EXPIRED: SessionExpired(source="EVENT 29"),
    EventNum.PANA_CONNECTED: SessionReauthenticated(source="EVENT 25"),
    EventNum.PANA_FAILED: ReauthenticationFailed(source="EVENT 24"),
    EventNum.SESSION_TERMINATE_REQUESTED: SessionEnded(
        source="EVENT 26", reason=SessionEndReason.BY_METER
    ),
    EventNum.SESSION_TERMINATED: SessionEnded(
        source="EVENT 27", reason=SessionEndReason.TERMINATED
    ),
    EventNum.SESSION_TERMINATE_TIMEOUT: SessionEnded(
        source="EVENT 28", reason=SessionEndReason.TERMINATE_TIMEOUT
    ),
    EventNum.TX_LIMIT_STARTED: TransmitLimitStarted(source="EVENT 32"),
    EventNum.TX_LIMIT_RELEASED: TransmitLimitReleased(source="EVENT 33"),
}
_TX_EVENTS = frozenset({EventNum.TX_LIMIT_STARTED, EventNum.TX_LIMIT_RELEASED})


class SkStackLink(LinkState[SkStackClient]):
    """A :class:`~aiobroute.link.MeterLink` over an SKSTACK IP module.

    Args:
        stream: an open byte stream to the module.
        family: force a module family (detected by :meth:`open` otherwise).
        timeouts: the SKSTACK timeouts; they bound every wait of the link's calls.

    The underlying :class:`~aiobroute.skstack.client.SkStackClient` is available as
    :attr:`client` for SKSTACK-specific commands (registers, ED scan...).
    """

    _logger = _LOGGER

    def __init__(
        self,
        stream: ByteStream,
        *,
        family: ModuleFamily | None = None,
        timeouts: SkTimeouts | None = None,
    ) -> None:
        super().__init__(SkStackClient(stream, family=family, timeouts=timeouts))
        self._client.add_listener(self._on_message)
        self._joined: JoinedPan | None = None
        self._limit_reported = False

    # ------------------------------------------------------------------ state

    @property
    def client(self) -> SkStackClient:
        """The SKSTACK client under this link."""
        return self._client

    @property
    def dialect(self) -> str:
        """``"skstack"``."""
        return DIALECT

    @property
    def meter_address(self) -> str | None:
        """The meter's IPv6 address once joined, or None."""
        return self._joined.ipaddr if self._joined is not None else None

    @property
    def tx_limited(self) -> bool:
        """True between EVENT 32 and EVENT 33."""
        return self._client.tx_limited

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("joined" if self.session_active else "open")
        return f"<SkStackLink {self._client.family.name} {state}>"

    # ------------------------------------------------------------------ receiving

    def _on_message(self, message: Message) -> None:
        """Translate one asynchronous SKSTACK message (called from the client's reader)."""
        if isinstance(message, RxUdp):
            if message.lport == ECHONET_PORT:
                self._deliver_datagram(_datagram(message))
            return
        if isinstance(message, PortLost):
            self._port_lost(message.reason)
            return
        if not isinstance(message, Event):
            return
        kind = message.kind
        if kind is None:
            return
        event = SKSTACK_EVENT_MAP.get(kind)
        if event is None:
            return
        if kind in _TX_EVENTS:
            self._limit_reported = kind is EventNum.TX_LIMIT_STARTED
        else:
            if self._own:
                return  # the outcome of our own join, rejoin or terminate
            if self._joined is None:
                return  # no session of ours to speak of
            self._session_active = kind is EventNum.PANA_CONNECTED
        self._deliver_event(event)

    # ------------------------------------------------------------------ calls

    async def open(self, *, reset: bool = False) -> ModuleIdentity:
        """Start the client's reader and initialise the module (never writes flash)."""
        if self._closing:
            raise ClientClosedError("link is closed")
        self._client.start()
        self._session_active = False
        info = await self._client.initialize(reset=reset)
        self._identity = ModuleIdentity(
            dialect=DIALECT,
            family=info.family.name,
            version=info.version,
            app_version=info.app_version,
            mac=info.mac,
        )
        return self._identity

    async def connect(
        self,
        *,
        rbid: str,
        password: str,
        pan: MeterPan | None = None,
        durations: tuple[int, ...] = (),
        channels: tuple[int, ...] = (),
    ) -> MeterPan:
        """Join the meter: ``pan`` without a scan, else scan (``channels`` 0x21..0x3C) and join."""
        check_rbid(rbid)
        check_password(password)
        self._client.add_secrets(rbid, password)
        if pan is not None and pan.dialect != DIALECT:
            raise InvalidArgumentError(
                f"a PAN remembered by a {pan.dialect!r} module cannot be joined by an SKSTACK one"
            )
        mask = 0
        for channel in channels:
            mask |= 1 << (check_range(channel, _FIRST_CHANNEL, _LAST_CHANNEL, "channel") - 0x21)
        self._credentials = (rbid, password)
        with self._own_change():
            self._session_active = False
            if pan is not None:
                joined = await self._client.join(descriptor_of(pan), rbid=rbid, password=password)
            else:
                pans = await self._client.scan(
                    durations=durations or _DEFAULT_DURATIONS, channel_mask=mask or 0xFFFFFFFF
                )
                joined = await self._client.join_best(pans, rbid=rbid, password=password)
            return self._joined_as(joined)

    async def rejoin(self) -> MeterPan:
        """Join the remembered PAN again (SKJOIN, no scan)."""
        if self._joined is None or self._credentials is None:
            raise SessionError("nothing to rejoin: the link never joined a PAN")
        rbid, password = self._credentials
        with self._own_change():
            self._session_active = False
            joined = await self._client.join(self._joined.pan, rbid=rbid, password=password)
            return self._joined_as(joined)

    def _joined_as(self, joined: JoinedPan) -> MeterPan:
        self._joined = joined
        self._session_active = True
        self._pan = meter_pan_of(joined.pan)
        return self._pan

    async def send(self, payload: bytes, *, port: int = ECHONET_PORT) -> SendVerdict:
        """``SKSENDTO`` to the meter (secured); EVENT 21 gives the verdict."""
        joined = self._joined
        if joined is None:
            raise SessionError("not joined: connect() first")
        try:
            confirmed = await self._client.send_to(joined.ipaddr, payload, port=port)
        except TransmitLimitError:
            raise
        except SendError:
            return SendVerdict.FAILED  # EVENT 21 01
        except CommandError as exc:
            if exc.transient:
                raise  # FAIL ER09: the line was damaged on the UART; sending again is safe
            raise SendError(f"the module refused to send: {exc}") from exc
        finally:
            # A stale limit (EVENT 33 lost) is re-read from register SFB by the client.
            self._sync_limit()
        return SendVerdict.SENT if confirmed else SendVerdict.UNCONFIRMED

    async def terminate(self) -> None:
        """``SKTERM``; waits for EVENT 27/28. No session (FAIL ER10) is not an error."""
        with self._own_change():
            try:
                await self._client.terminate()
            except CommandError as exc:
                if exc.code != ErrorCode.ER10:
                    raise
            finally:
                self._session_active = False

    async def transmit_time_ms(self) -> int | None:
        """Register SFD: the accumulated transmit time in ms."""
        value = await self._client.read_register(Register.TX_TIME)
        try:
            number = Register.TX_TIME.decode(value.strip())
        except ValueError:
            _LOGGER.warning("register SFD is not a hex number: %r", value[:40])
            return None
        assert isinstance(number, int)  # noqa: S101 - a HEX register decodes to an int
        return number

    async def refresh_tx_limit(self) -> bool:
        """Register SFB; reports :class:`TransmitLimitReleased` if a release was missed."""
        try:
            return await self._client.refresh_tx_limit()
        finally:
            self._sync_limit()

    def _sync_limit(self) -> None:
        """Report a change of the ARIB flag that came from register SFB, not an EVENT."""
        now = self._client.tx_limited
        if now == self._limit_reported:
            return
        self._limit_reported = now
        event = TransmitLimitStarted if now else TransmitLimitReleased
        self._deliver_event(event(source="register SFB"))


def _datagram(rx: RxUdp) -> MeterDatagram:
    return MeterDatagram(
        source=rx.sender,
        source_port=rx.rport,
        payload=rx.data,
        secured=rx.secured,
        rssi_dbm=None if rx.rssi is None else round(0.275 * rx.rssi - 104.27, 2),
        lqi=rx.rssi,
        multicast=rx.dest.upper().startswith("FF"),
    )


def meter_pan_of(pan: PanDescriptor) -> MeterPan:
    """An SKSTACK PAN descriptor (EPANDESC) as the dialect-independent MeterPan."""
    return MeterPan(
        dialect=DIALECT,
        channel=pan.channel,
        pan_id=pan.pan_id,
        mac=pan.addr,
        pair_id=pan.pair_id,
        lqi=pan.lqi,
        rssi_dbm=pan.rssi_dbm,
    )


def descriptor_of(pan: MeterPan) -> PanDescriptor:
    """A MeterPan of the SKSTACK dialect as the descriptor SKJOIN needs."""
    check_range(pan.channel, _FIRST_CHANNEL, _LAST_CHANNEL, "channel")
    return PanDescriptor(
        channel=pan.channel,
        channel_page=9,
        pan_id=pan.pan_id,
        addr=pan.mac,
        lqi=pan.lqi if pan.lqi is not None else 0,
        pair_id=pan.pair_id,
    )
