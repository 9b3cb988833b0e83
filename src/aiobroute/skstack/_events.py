"""Typed messages printed by an SKSTACK IP module.

One small frozen class per kind of line (or block of lines). The parser
(:class:`aiobroute.skstack.LineParser`) produces them; the client dispatches on their type.
Field names follow the protocol; addresses are kept as the module prints them
(upper-case, uncompressed IPv6 text; 16 hex digits for a MAC address).
"""

from __future__ import annotations

import enum

from aiobroute._frozen import Frozen

__all__ = [
    "AddressLine",
    "AddressTable",
    "AppVersion",
    "Echo",
    "EdScan",
    "ErrorCode",
    "Event",
    "EventNum",
    "Fail",
    "Info",
    "Message",
    "NeighborTable",
    "Ok",
    "PanDescriptor",
    "Pong",
    "PortTable",
    "RegisterValue",
    "RxUdp",
    "Unrecognized",
    "Version",
]


class ErrorCode(enum.IntEnum):
    """``FAIL ERxx`` codes (SKSTACK IP command reference, chapter "error codes")."""

    ER01 = 1
    ER02 = 2
    ER03 = 3
    ER04 = 4
    ER05 = 5
    ER06 = 6
    ER07 = 7
    ER08 = 8
    ER09 = 9
    ER10 = 10

    @property
    def meaning(self) -> str:
        """A short English description of the code."""
        return _ERROR_MEANINGS.get(self, "reserved")


_ERROR_MEANINGS = {
    ErrorCode.ER04: "command not supported",
    ErrorCode.ER05: "wrong number of arguments",
    ErrorCode.ER06: "argument out of range or badly formatted",
    ErrorCode.ER09: "UART input error",
    ErrorCode.ER10: "command accepted but execution failed",
}


class EventNum(enum.IntEnum):
    """``EVENT`` numbers (hex on the wire) used on the B route."""

    NS_RECEIVED = 0x01
    NA_RECEIVED = 0x02
    ECHO_REQUEST_RECEIVED = 0x05
    ED_SCAN_DONE = 0x1F
    BEACON_RECEIVED = 0x20
    UDP_SENT = 0x21
    ACTIVE_SCAN_DONE = 0x22
    PANA_FAILED = 0x24
    PANA_CONNECTED = 0x25
    SESSION_TERMINATE_REQUESTED = 0x26
    SESSION_TERMINATED = 0x27
    SESSION_TERMINATE_TIMEOUT = 0x28
    SESSION_EXPIRED = 0x29
    TX_LIMIT_STARTED = 0x32
    TX_LIMIT_RELEASED = 0x33
    KEY_INDEX_MISMATCH = 0x45
    WOKE_UP = 0xC0


class Message(Frozen):
    """Base class of everything the parser produces."""

    __slots__ = ()


class Ok(Message):
    """``OK`` status line, with an optional value (``OK 01`` answers ROPT).

    ``cr_only`` is reserved: a line ends at its CR at once (the BP35A1 product commands
    answer with a lone CR and nothing may follow), so the parser cannot know whether an
    LF follows and always reports False.
    """

    __slots__ = ("cr_only", "value")
    value: str | None
    cr_only: bool

    def __init__(self, value: str | None = None, cr_only: bool = False) -> None:
        self._set("value", value)
        self._set("cr_only", cr_only)


class Fail(Message):
    """``FAIL ERxx`` status line. ``text`` keeps anything after the code.

    ``code`` is the number as printed (4 for ``ER04``); :attr:`error` gives the
    :class:`ErrorCode` when the number is a known one.
    """

    __slots__ = ("code", "text")
    code: int
    text: str | None

    def __init__(self, code: int, text: str | None = None) -> None:
        self._set("code", code)
        self._set("text", text)

    @property
    def error(self) -> ErrorCode | None:
        """The code as :class:`ErrorCode`, or None for a number the reference lacks."""
        try:
            return ErrorCode(self.code)
        except ValueError:
            return None

    @property
    def meaning(self) -> str:
        """A short English description of the code."""
        error = self.error
        return error.meaning if error is not None else "unknown error code"


class Echo(Message):
    """A command line echoed back by the module (register SFE = 1)."""

    __slots__ = ("line",)
    line: str

    def __init__(self, line: str) -> None:
        self._set("line", line)


class Version(Message):
    """``EVER <version>`` (answer to SKVER)."""

    __slots__ = ("version",)
    version: str

    def __init__(self, version: str) -> None:
        self._set("version", version)


class AppVersion(Message):
    """``EAPPVER <version>`` (answer to SKAPPVER)."""

    __slots__ = ("version",)
    version: str

    def __init__(self, version: str) -> None:
        self._set("version", version)


class Info(Message):
    """``EINFO <ipaddr> <addr64> <channel> <panid> <field5>`` (answer to SKINFO).

    ``field5`` is kept as printed: ``FFFE`` (a 16-bit short address) on the BP35A1
    family, a SIDE digit on the BP35C2 family.
    """

    __slots__ = ("addr64", "channel", "field5", "ipaddr", "pan_id")
    ipaddr: str
    addr64: str
    channel: int
    pan_id: int
    field5: str

    def __init__(self, ipaddr: str, addr64: str, channel: int, pan_id: int, field5: str) -> None:
        self._set("ipaddr", ipaddr)
        self._set("addr64", addr64)
        self._set("channel", channel)
        self._set("pan_id", pan_id)
        self._set("field5", field5)


class RegisterValue(Message):
    """``ESREG <value>`` (answer to ``SKSREG <reg>``), value as printed."""

    __slots__ = ("value",)
    value: str

    def __init__(self, value: str) -> None:
        self._set("value", value)


class AddressLine(Message):
    """A bare IPv6 address line: the answer to SKLL64 (which has no OK)."""

    __slots__ = ("ipaddr",)
    ipaddr: str

    def __init__(self, ipaddr: str) -> None:
        self._set("ipaddr", ipaddr)


class Event(Message):
    """``EVENT <num> [<sender>] [<side>] [<param>]``.

    ``sender`` is None only for ``EVENT C0``; ``side`` is set on the BP35C2 family;
    ``param`` is set for EVENT 21 (00 success, 01 failure, 02 neighbour solicitation)
    and EVENT 45.
    """

    __slots__ = ("num", "param", "sender", "side")
    num: int
    sender: str | None
    side: int | None
    param: int | None

    def __init__(
        self,
        num: int,
        sender: str | None,
        side: int | None = None,
        param: int | None = None,
    ) -> None:
        self._set("num", num)
        self._set("sender", sender)
        self._set("side", side)
        self._set("param", param)

    @property
    def kind(self) -> EventNum | None:
        """The event number as :class:`EventNum`, or None for a number we do not know."""
        try:
            return EventNum(self.num)
        except ValueError:
            return None


class PanDescriptor(Message):
    """An ``EPANDESC`` block: one PAN that answered an active scan.

    ``side`` is present on the BP35C2 family; ``pair_id`` only for scan mode 2.
    """

    __slots__ = ("addr", "channel", "channel_page", "lqi", "pair_id", "pan_id", "side")
    channel: int
    channel_page: int
    pan_id: int
    addr: str
    lqi: int
    side: int | None
    pair_id: str | None

    def __init__(  # noqa: PLR0917 - the fields in wire order, positional as before
        self,
        channel: int,
        channel_page: int,
        pan_id: int,
        addr: str,
        lqi: int,
        side: int | None = None,
        pair_id: str | None = None,
    ) -> None:
        self._set("channel", channel)
        self._set("channel_page", channel_page)
        self._set("pan_id", pan_id)
        self._set("addr", addr)
        self._set("lqi", lqi)
        self._set("side", side)
        self._set("pair_id", pair_id)

    @property
    def rssi_dbm(self) -> float:
        """Received signal strength estimated from the LQI (0.275 x LQI - 104.27 dBm)."""
        return round(0.275 * self.lqi - 104.27, 2)


class EdScan(Message):
    """``EEDSCAN`` block: (channel, LQI) pairs from an energy-detect scan.

    BP35A1-family modules print the pairs alone; BP35C2-family modules put the SIDE
    (``0`` B route, ``1`` HAN) first: ``0 21 1A 22 19 ...``. ``side`` is None for the
    former.
    """

    __slots__ = ("levels", "side")
    levels: tuple[tuple[int, int], ...]
    side: int | None

    def __init__(self, levels: tuple[tuple[int, int], ...], side: int | None = None) -> None:
        self._set("levels", levels)
        self._set("side", side)


class AddressTable(Message):
    """``EADDR`` block (SKTABLE 1): our own IPv6 addresses."""

    __slots__ = ("addresses",)
    addresses: tuple[str, ...]

    def __init__(self, addresses: tuple[str, ...]) -> None:
        self._set("addresses", addresses)


class NeighborTable(Message):
    """``ENEIGHBOR`` block (SKTABLE 2): (ipaddr, addr64, addr16) per neighbour."""

    __slots__ = ("entries",)
    entries: tuple[tuple[str, str, str], ...]

    def __init__(self, entries: tuple[tuple[str, str, str], ...]) -> None:
        self._set("entries", entries)


class PortTable(Message):
    """``EPORT`` block (SKTABLE E): UDP ports of handles 1..6, then any extra ports."""

    __slots__ = ("extra_ports", "udp_ports")
    udp_ports: tuple[int, ...]
    extra_ports: tuple[int, ...]

    def __init__(self, udp_ports: tuple[int, ...], extra_ports: tuple[int, ...] = ()) -> None:
        self._set("udp_ports", udp_ports)
        self._set("extra_ports", extra_ports)


class Pong(Message):
    """``EPONG <sender>`` (answer to SKPING)."""

    __slots__ = ("sender",)
    sender: str

    def __init__(self, sender: str) -> None:
        self._set("sender", sender)


class RxUdp(Message):
    """``ERXUDP``: a UDP datagram received by the module.

    ``secured`` is None when the module printed no SECURED field (old BP35A1 firmware);
    ``side`` is set on the BP35C2 family; ``rssi`` is the extra field printed by the
    BP35C2 family when register SA2 = 1 (raw value as printed, LQI-like).
    ``hex_payload`` tells how the payload was printed (True: ASCII hex, False: raw bytes);
    ``data`` is always the decoded bytes.
    """

    __slots__ = (
        "data",
        "dest",
        "hex_payload",
        "lport",
        "rport",
        "rssi",
        "secured",
        "sender",
        "sender_lla",
        "side",
    )
    sender: str
    dest: str
    rport: int
    lport: int
    sender_lla: str
    secured: bool | None
    data: bytes
    side: int | None
    rssi: int | None
    hex_payload: bool

    def __init__(  # noqa: PLR0917 - the fields in wire order, positional as before
        self,
        sender: str,
        dest: str,
        rport: int,
        lport: int,
        sender_lla: str,
        secured: bool | None,
        data: bytes,
        side: int | None = None,
        rssi: int | None = None,
        hex_payload: bool = True,
    ) -> None:
        self._set("sender", sender)
        self._set("dest", dest)
        self._set("rport", rport)
        self._set("lport", lport)
        self._set("sender_lla", sender_lla)
        self._set("secured", secured)
        self._set("data", data)
        self._set("side", side)
        self._set("rssi", rssi)
        self._set("hex_payload", hex_payload)


class Unrecognized(Message):
    """A line the parser could not understand, kept raw for logging.

    ``reason`` says why (unknown line, malformed field, line too long...).
    """

    __slots__ = ("raw", "reason")
    raw: bytes
    reason: str

    def __init__(self, raw: bytes, reason: str) -> None:
        self._set("raw", raw)
        self._set("reason", reason)
