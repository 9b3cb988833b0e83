"""The dialect-independent link to the smart meter: what the meter layer needs from a dongle.

A Wi-SUN dongle speaks one of several *dialects*: SKSTACK IP text commands (BP35A1,
BP35C0/C2, RL7023, RS-WSUHA-P) or ROHM's binary J11 protocol (BP35C0/C1/C2-J11,
RS-WSUHA-J11). Each dialect has its own client; each offers the same :class:`MeterLink`
to the meter layer, which therefore never cares which dongle it talks to::

    link: MeterLink = SkStackLink(stream)          # or J11Link(stream); see probe_dialect()
    link.set_listener(my_listener)                 # datagrams + session events, synchronously
    identity = await link.open()                   # initialise the module
    pan = await link.connect(rbid=..., password=..., pan=remembered)   # scan if needed, join
    verdict = await link.send(frame.encode())      # UDP to the meter's port 3610
    ...
    await link.close()

Data path
    Received datagrams and session events are delivered by **synchronous** calls into the
    :class:`LinkListener` registered with :meth:`MeterLink.set_listener`, made directly from
    the link's reader (no queue to poll, no extra task hop). A listener must therefore be
    quick and must not block; an exception it raises is logged by the link and swallowed,
    so a faulty listener can never kill the reader.

Session events
    :class:`SessionExpired`, :class:`SessionReauthenticated`,
    :class:`ReauthenticationFailed`, :class:`SessionEnded`, :class:`TransmitLimitStarted`,
    :class:`TransmitLimitReleased` and :class:`LinkLost` are the same for every dialect.
    Events that are the outcome of a call the host made itself (the PANA result of
    :meth:`~MeterLink.connect` or :meth:`~MeterLink.rejoin`, the end of the session after
    :meth:`~MeterLink.terminate`) are reported by that call, not as events.

Which dialect a dongle speaks can be found out on the open port with
:func:`probe_dialect`, which is harmless to both kinds of module.

This module imports no dialect; dialects import it.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

from aiobroute._frozen import Frozen
from aiobroute._probe import DIALECT_J11, DIALECT_SKSTACK, ProbeTimings, probe_dialect
from aiobroute.errors import InvalidArgumentError

__all__ = [
    "DIALECT_J11",
    "DIALECT_SKSTACK",
    "ECHONET_PORT",
    "LinkEvent",
    "LinkListener",
    "LinkLost",
    "MeterDatagram",
    "MeterLink",
    "MeterPan",
    "ModuleIdentity",
    "ProbeTimings",
    "ReauthenticationFailed",
    "SendVerdict",
    "SessionEndReason",
    "SessionEnded",
    "SessionExpired",
    "SessionReauthenticated",
    "TransmitLimitReleased",
    "TransmitLimitStarted",
    "probe_dialect",
]

#: UDP port of ECHONET Lite (0x0E1A), at both ends of the B route.
ECHONET_PORT = 3610


def _check_byte(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise InvalidArgumentError(f"{name} must be an integer in 0..255")
    return value


def _check_pan_id(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFF:
        raise InvalidArgumentError("the PAN ID must be an integer in 0..0xFFFF")
    return value


def _check_mac(value: str) -> str:
    text = value.upper() if isinstance(value, str) else value
    if not isinstance(text, str) or len(text) != 16 or any(c not in _HEX for c in text):
        raise InvalidArgumentError("a MAC address is 16 hex digits")
    return text


_HEX = frozenset("0123456789ABCDEF")


class MeterPan(Frozen):
    """The meter's PAN as found by a scan or remembered from an earlier join.

    Worth caching: a link joins it again without a scan (scans take 20 s to 2 min).
    Immutable; equal to another with the same fields; keyword arguments only.

    Attributes:
        dialect: the dialect whose numbering ``channel`` uses (``"skstack"``: 0x21..0x3C;
            ``"j11"``: 4..17). A link refuses a PAN of another dialect.
        channel: the radio channel in that dialect's numbering.
        pan_id: the 16-bit PAN ID.
        mac: the meter's 64-bit MAC address, 16 upper-case hex digits.
        pair_id: the 8-character pairing ID the meter advertised, when known.
        lqi: the link quality reported by the scan (SKSTACK), when known.
        rssi_dbm: the signal strength reported by the scan or the join, when known.
    """

    __slots__ = ("channel", "dialect", "lqi", "mac", "pair_id", "pan_id", "rssi_dbm")
    dialect: str
    channel: int
    pan_id: int
    mac: str
    pair_id: str | None
    lqi: int | None
    rssi_dbm: float | None

    def __init__(
        self,
        *,
        dialect: str,
        channel: int,
        pan_id: int,
        mac: str,
        pair_id: str | None = None,
        lqi: int | None = None,
        rssi_dbm: float | None = None,
    ) -> None:
        self._set("dialect", dialect)
        self._set("channel", _check_byte("channel", channel))
        self._set("pan_id", _check_pan_id(pan_id))
        self._set("mac", _check_mac(mac))
        self._set("pair_id", pair_id)
        self._set("lqi", lqi)
        self._set("rssi_dbm", rssi_dbm)


class ModuleIdentity(Frozen):
    """What the module told about itself when the link was opened.

    Attributes:
        dialect: ``"skstack"`` or ``"j11"``.
        family: the model family (``"BP35A1"``, ``"BP35C2"``, ``"J11"``).
        version: the firmware/stack version as text, when the module gave it.
        app_version: a second version (SKAPPVER), when the dialect has one.
        mac: the module's own MAC address (16 hex digits), when known.
    """

    __slots__ = ("app_version", "dialect", "family", "mac", "version")
    dialect: str
    family: str
    version: str | None
    app_version: str | None
    mac: str | None

    def __init__(
        self,
        *,
        dialect: str,
        family: str,
        version: str | None = None,
        app_version: str | None = None,
        mac: str | None = None,
    ) -> None:
        self._set("dialect", dialect)
        self._set("family", family)
        self._set("version", version)
        self._set("app_version", app_version)
        self._set("mac", mac)


class MeterDatagram(Frozen):
    """A UDP datagram to the ECHONET Lite port (3610) received from the B route.

    The link delivers only datagrams whose destination port is 3610 (PANA and other
    traffic stay inside it); checking the source address and port is the meter's job.

    Attributes:
        source: the sender's IPv6 address, upper case, uncompressed
            (``FE80:0000:0000:0000:021D:1290:1234:5678``), the same text for every dialect.
        source_port: the sender's UDP port (3610 for a meter).
        payload: the UDP payload (an ECHONET Lite frame, not yet decoded).
        secured: True when it came over the encrypted PANA session, False when it came
            in clear, None when the module did not say (old BP35A1 firmware).
        rssi_dbm: signal strength of the frame in dBm, when the module reported one.
        lqi: the module's raw link-quality value, when it reported one.
        multicast: True when it was sent to a multicast address, None when unknown.
    """

    __slots__ = ("lqi", "multicast", "payload", "rssi_dbm", "secured", "source", "source_port")
    source: str
    source_port: int
    payload: bytes
    secured: bool | None
    rssi_dbm: float | None
    lqi: int | None
    multicast: bool | None

    def __init__(
        self,
        *,
        source: str,
        source_port: int,
        payload: bytes,
        secured: bool | None = None,
        rssi_dbm: float | None = None,
        lqi: int | None = None,
        multicast: bool | None = None,
    ) -> None:
        self._set("source", source)
        self._set("source_port", source_port)
        self._set("payload", payload)
        self._set("secured", secured)
        self._set("rssi_dbm", rssi_dbm)
        self._set("lqi", lqi)
        self._set("multicast", multicast)


class SendVerdict(enum.Enum):
    """What the module said about a datagram handed to it by :meth:`MeterLink.send`.

    Refusals (no session, ARIB limit, bad state) are exceptions, not verdicts: a verdict
    means the module accepted the datagram and tried (or may have tried) to transmit it.
    """

    #: Transmitted (SKSTACK ``EVENT 21 00``; J11 status 0x00).
    SENT = "sent"
    #: Accepted, but no verdict came in time (SKSTACK ``OK`` without ``EVENT 21``): it was
    #: most likely sent. Treat like SENT, and let the answer's timeout decide.
    UNCONFIRMED = "unconfirmed"
    #: Transmitted but not acknowledged by the meter (J11 status 5). Usually transient:
    #: one or two resends help.
    NO_ACK = "no-ack"
    #: The channel was busy (J11 status 3, CCA failure). Transient.
    CHANNEL_BUSY = "channel-busy"
    #: The module reported a failed transmission for another or an unknown reason
    #: (SKSTACK ``EVENT 21 01``; J11 status 8 or an unknown status).
    FAILED = "failed"

    @property
    def transmitted(self) -> bool:
        """True for SENT and UNCONFIRMED: worth waiting for the meter's answer."""
        return self in (SendVerdict.SENT, SendVerdict.UNCONFIRMED)


# ---------------------------------------------------------------------- events


class LinkEvent(Frozen):
    """Base class of the session events a link reports to its listener.

    Attributes:
        source: what the module printed or sent, for logs (``"EVENT 29"``,
            ``"0x601A state 04"``); never contains a secret.
    """

    __slots__ = ("source",)
    source: str

    def __init__(self, *, source: str = "") -> None:
        self._set("source", source)


class SessionExpired(LinkEvent):
    """The PANA session's lifetime ended (SKSTACK EVENT 29; J11 does not notify it).

    The module (or the meter) normally re-authenticates by itself:
    :class:`SessionReauthenticated` or :class:`ReauthenticationFailed` follows. Until
    then, sends are likely to fail; the meter layer should hold its requests.
    """

    __slots__ = ()


class SessionReauthenticated(LinkEvent):
    """A re-authentication the host did not start succeeded; the session is usable.

    SKSTACK: EVENT 25 outside a join (after EVENT 29, or driven by the meter).
    J11: an unsolicited 0x6028 with result 0x01.
    """

    __slots__ = ()


class ReauthenticationFailed(LinkEvent):
    """A re-authentication the host did not start failed: the session is gone.

    SKSTACK: EVENT 24 outside a join. J11: an unsolicited 0x6028 with result 0x02/0x03.
    The meter layer should :meth:`~MeterLink.rejoin` (or connect again).
    """

    __slots__ = ()


class SessionEndReason(enum.Enum):
    """Why a :class:`SessionEnded` event was reported."""

    #: The meter asked to end the session (SKSTACK EVENT 26; J11 0x601A state 0x04).
    BY_METER = "by-meter"
    #: The session was terminated (SKSTACK EVENT 27 outside our own terminate()).
    TERMINATED = "terminated"
    #: A termination handshake timed out; the session is closed anyway (EVENT 28).
    TERMINATE_TIMEOUT = "terminate-timeout"
    #: The MAC-level association was lost (J11 0x601A state 0x03).
    MAC_DISCONNECTED = "mac-disconnected"
    #: The module restarted by itself and lost every setting (J11 unsolicited 0x6019).
    MODULE_RESTARTED = "module-restarted"


class SessionEnded(LinkEvent):
    """The PANA session is gone; sending needs a :meth:`~MeterLink.rejoin` first.

    Attributes:
        reason: why.
    """

    __slots__ = ("reason",)
    reason: SessionEndReason

    def __init__(self, *, source: str = "", reason: SessionEndReason) -> None:
        super().__init__(source=source)
        self._set("reason", reason)


class TransmitLimitStarted(LinkEvent):
    """The ARIB STD-T108 hourly transmit-time limit is reached.

    SKSTACK: EVENT 32 (or register SFB read as 1). J11: the first transmit status 0x2
    (hourly radio budget exhausted). Sends raise
    :class:`~aiobroute.errors.TransmitLimitError` until :class:`TransmitLimitReleased`
    (SKSTACK refuses them at once; J11 still tries, the module decides); reception
    continues.
    """

    __slots__ = ()


class TransmitLimitReleased(LinkEvent):
    """The ARIB transmit-time limit is over.

    SKSTACK: EVENT 33 (or register SFB read as 0). J11: the next transmit status 0x0, or
    :meth:`MeterLink.refresh_tx_limit` an hour after the limit started.
    """

    __slots__ = ()


class LinkLost(LinkEvent):
    """The port vanished (unplugged, peer closed) or the reader failed: the link is dead.

    Always the last event a link reports. Every pending call has failed with
    :class:`~aiobroute.errors.PortClosedError`; a new link on a reopened port is needed.

    Attributes:
        reason: what happened, in words.
    """

    __slots__ = ("reason",)
    reason: str

    def __init__(self, *, source: str = "", reason: str) -> None:
        super().__init__(source=source)
        self._set("reason", reason)


# ---------------------------------------------------------------------- protocols


@runtime_checkable
class LinkListener(Protocol):
    """Receives what a link hears, synchronously, from the link's reader.

    Both methods run inside the reader's receive path: they must return quickly, never
    block and never await (schedule a task or set a future for slow work). Exceptions
    are logged and swallowed by the link.
    """

    def datagram_received(self, datagram: MeterDatagram) -> None:
        """A datagram to port 3610 arrived (see :class:`MeterDatagram`)."""
        ...

    def session_event(self, event: LinkEvent) -> None:
        """A session event happened (see :class:`LinkEvent` and its subclasses)."""
        ...


@runtime_checkable
class MeterLink(Protocol):
    """What the meter layer needs from any dongle dialect.

    One link drives one module over one open byte stream; it is single-use (after
    :meth:`close` or :class:`LinkLost`, make a new one). Calls are serialised inside the
    link (one module command in flight); concurrent callers wait their turn.

    Errors (all from :mod:`aiobroute.errors`), common to every call below:

    * :class:`~aiobroute.errors.InvalidArgumentError`: a bad argument; nothing was sent.
    * :class:`~aiobroute.errors.ClientClosedError`: the link was closed (also raised in
      calls that were waiting when :meth:`close` was called).
    * :class:`~aiobroute.errors.PortClosedError`: the port vanished (also raised in
      calls that were waiting when it did).
    * :class:`~aiobroute.errors.CommandTimeoutError`: the module did not answer a
      command within the dialect's per-command timeout.
    * :class:`~aiobroute.errors.CommandError`: the module refused a command.

    Cancellation: every call may be cancelled; the cancellation propagates unchanged and
    the link stays usable (it resynchronises with the module before its next command).
    Every wait inside a call has a timeout from the dialect's timeout object
    (:class:`~aiobroute.skstack.client.SkTimeouts` for SKSTACK,
    :class:`~aiobroute.j11.client.J11Timeouts` for J11), so no call hangs.
    """

    @property
    def dialect(self) -> str:
        """``"skstack"`` or ``"j11"``: the numbering of :attr:`MeterPan.channel`."""
        ...

    @property
    def closed(self) -> bool:
        """True once the link was closed or its port was lost."""
        ...

    @property
    def identity(self) -> ModuleIdentity | None:
        """What the module told about itself in :meth:`open`, or None before it."""
        ...

    @property
    def pan(self) -> MeterPan | None:
        """The PAN of the last successful join (to cache), or None."""
        ...

    @property
    def meter_address(self) -> str | None:
        """The meter's IPv6 address (uncompressed, upper case) once joined, or None."""
        ...

    @property
    def session_active(self) -> bool:
        """True while a PANA session is believed usable (joined, not expired nor ended)."""
        ...

    @property
    def tx_limited(self) -> bool:
        """True while the ARIB transmit-time limit is active."""
        ...

    def set_listener(self, listener: LinkListener | None) -> None:
        """Register the one listener of datagrams and session events (None: stop).

        Set it before :meth:`connect`: the meter announces itself right after the join.
        """
        ...

    async def open(self, *, reset: bool = False) -> ModuleIdentity:
        """Start the reader and initialise the module (reset it first if asked).

        May be called again later to re-initialise the module on the same link (after it
        restarted, for instance); a session is not kept across that. Never writes the
        module's non-volatile memory.
        """
        ...

    async def connect(
        self,
        *,
        rbid: str,
        password: str,
        pan: MeterPan | None = None,
        durations: tuple[int, ...] = (),
        channels: tuple[int, ...] = (),
    ) -> MeterPan:
        """Join the household's meter and return its PAN.

        With ``pan`` (a remembered one) the link joins it without a scan; otherwise it
        scans (``durations``: the dialect's scan exponents, escalating; empty: the
        dialect's default; ``channels``: only these channels, in the dialect's numbering;
        empty: all) and joins the best candidate (pairing ID of ``rbid`` first).
        The credentials are masked in every log, error and repr from then on.

        Raises:
            InvalidArgumentError: malformed credentials, or ``pan`` of another dialect.
            ScanError: the scan found no meter.
            ScanTimeoutError: a scan round never finished.
            AuthenticationError: PANA was rejected (wrong ID/password most likely).
            JoinError: the meter could not be associated with (no beacon at the channel).
            JoinTimeoutError: PANA gave no result within the dialect's join timeout.
        """
        ...

    async def rejoin(self) -> MeterPan:
        """Join the remembered PAN again, without a scan (after a session loss).

        Raises:
            SessionError: nothing to rejoin (never joined).
            AuthenticationError, JoinError, JoinTimeoutError: as for :meth:`connect`.
        """
        ...

    async def send(self, payload: bytes, *, port: int = ECHONET_PORT) -> SendVerdict:
        """Send one UDP datagram (1..1232 bytes) to the meter's ``port`` over the session.

        Waits for the module's verdict, at most the dialect's send timeout (plus a short
        grace for a late SKSTACK verdict).

        Raises:
            TransmitLimitError: the ARIB limit is active; nothing was sent.
            SessionError: there is no session (never joined, or the module refused to
                send for lack of one).
            SendError: the module refused the datagram for another reason.
        """
        ...

    async def terminate(self) -> None:
        """End the PANA session politely (the meter is told); the link stays open.

        Waits at most the dialect's join timeout for the end; a refusal because there is
        no session is not an error.
        """
        ...

    async def transmit_time_ms(self) -> int | None:
        """The accumulated transmit time in ms (ARIB budget), or None if the dialect cannot tell."""
        ...

    async def refresh_tx_limit(self) -> bool:
        """Ask the module whether the ARIB limit is active (for a missed release event)."""
        ...

    async def close(self) -> None:
        """Stop the reader, fail every waiting call with ClientClosedError, close the stream.

        Idempotent; the stream is closed even when the caller is cancelled meanwhile.
        Does not terminate the session (call :meth:`terminate` first for that).
        """
        ...
