"""Typed J11 responses and notifications (module to host), and the message reader.

:func:`decode_message` turns a frame into one small frozen class per message; a client
dispatches on their type. :class:`MessageReader` adds the frame reassembler.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any, ClassVar, Final, TypeAlias

import attrs

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11._frame import (
    HEADER_LENGTH,
    MAX_DATA_LENGTH,
    FrameReassembler,
    J11Frame,
    Skipped,
    UniqueCode,
    _Coded,
)
from aiobroute.j11._types import (
    _MASK,
    Command,
    PanaStatus,
    ResultCode,
    TransmitOutcome,
    _Cursor,
    _int_tuple,
    _ipv6,
    _mac,
    _opt_ipv6,
    _opt_mac,
    _opt_ranged,
    _opt_rssi,
    _opt_u8,
    _opt_u16,
    _pair_tuple,
    _ranged,
    _rssi,
    _signed,
    _u8,
    _u8b,
    _u16,
    _u16b,
    is_accepted,
    is_error_reply,
    is_response,
    link_local_address,
    request_code,
)

__all__ = [
    "Beacon",
    "BootCompleted",
    "Connection",
    "ConnectionListResponse",
    "ConnectionStatusChanged",
    "DataReceived",
    "EdScanResponse",
    "ErrorReply",
    "InitialSettingsResponse",
    "IpAddressResponse",
    "MacAddressResponse",
    "Malformed",
    "Message",
    "MessageReader",
    "PanIdResponse",
    "PanaKeyResponse",
    "PanaResult",
    "PingResult",
    "PortListResponse",
    "ReceptionFailure",
    "Response",
    "ResultResponse",
    "ScanResult",
    "StartRouteBResponse",
    "StatusResponse",
    "Terminal",
    "TerminalListResponse",
    "TransmitResponse",
    "UnknownMessage",
    "VersionResponse",
    "decode_message",
]


# --------------------------------------------------------------------------- module side


class _FromModule(_Coded):
    """Behaviour shared by responses and notifications: a RESPONSE frame."""

    __slots__ = ()
    unique_code: ClassVar[UniqueCode] = UniqueCode.RESPONSE


class _Result(_FromModule):
    """A response: the result byte, then fields present only on success."""

    __slots__ = ()
    result: int

    @property
    def ok(self) -> bool:
        """Whether the result is :attr:`ResultCode.SUCCESS`."""
        return self.result == ResultCode.SUCCESS

    @property
    def accepted(self) -> bool:
        """Success, or a result that means the wanted state already holds.

        True for :attr:`ResultCode.SUCCESS`, for 0x0A (port already open) answering Open
        UDP port, and for 0x58 (authentication information already set) answering Set
        route-B credentials (note §10.8, unverified that it happens).
        """
        return is_accepted(self.request_code, self.result)

    @property
    def request_code(self) -> int:
        """The code of the request this response answers."""
        return request_code(self.command)

    @property
    def meaning(self) -> str:
        """The meaning of the result byte."""
        return ResultCode.describe(self.result)

    def to_data(self) -> bytes:
        return _u8b(self.result) + (self._fields() if self.ok else b"")

    def _fields(self) -> bytes:
        return b""


_result_field = attrs.field(validator=_ranged(0, 0xFF, "the result byte"))


@attrs.frozen
class ResultResponse(_Result):
    """A response without typed fields (the result byte, then raw ``data``).

    Used for the responses that only carry a result (0x2005, 0x2006, 0x2051, 0x2054,
    0x2056, 0x2057, 0x2058, 0x205F, 0x20D2, 0x2101, 0x210A...) and for any other response
    code this codec does not type.
    """

    command: int = attrs.field(validator=_ranged(0x2000, 0x3FFF, "a response code"))
    result: int = _result_field
    data: bytes = attrs.field(default=b"", converter=bytes)

    @command.validator
    def _check_command(self, _attribute: Any, value: int) -> None:
        if value == Command.HEADER_CHECKSUM_ERROR:
            raise InvalidArgumentError("0x2FFF is an error reply, not a response")

    def to_data(self) -> bytes:
        return _u8b(self.result) + self.data


@attrs.frozen
class StatusResponse(_Result):
    """0x2001: global, route-B and HAN states (present only on success)."""

    code: ClassVar[int] = 0x2001
    result: int = _result_field
    global_state: int | None = attrs.field(default=None, validator=_opt_u8)
    route_b_state: int | None = attrs.field(default=None, validator=_opt_u8)
    han_state: int | None = attrs.field(default=None, validator=_opt_u8)

    def _fields(self) -> bytes:
        return bytes([self.global_state or 0, self.route_b_state or 0, self.han_state or 0])

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> StatusResponse:
        return cls(result, *cursor.take(3))


@attrs.frozen
class PortListResponse(_Result):
    """0x2007: the open UDP ports (716 and 19788 not listed)."""

    code: ClassVar[int] = 0x2007
    result: int = _result_field
    ports: tuple[int, ...] = attrs.field(default=(), converter=_int_tuple)

    def _fields(self) -> bytes:
        return _u8b(len(self.ports)) + b"".join(_u16b(port) for port in self.ports)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> PortListResponse:
        count = cursor.u8()
        return cls(result, tuple(cursor.u16() for _ in range(count)))


@attrs.frozen
class TransmitResponse(_Result):
    """0x2008: transmit result; on success the status and the first payload bytes.

    Attributes:
        status: high nibble = indirect queue state, low nibble = :class:`TransmitOutcome`.
        summary: the first 1-5 payload bytes (any length is accepted).
    """

    code: ClassVar[int] = 0x2008
    result: int = _result_field
    status: int | None = attrs.field(default=None, validator=_opt_u8)
    summary: bytes = attrs.field(default=b"", converter=bytes)

    @property
    def outcome(self) -> int | None:
        """The low nibble of ``status`` (:class:`TransmitOutcome`), ``None`` without one."""
        return None if self.status is None else self.status & 0x0F

    @property
    def sent(self) -> bool:
        """Whether the module reports the datagram as sent (result success, outcome 0)."""
        return self.ok and self.outcome == TransmitOutcome.SENT

    def _fields(self) -> bytes:
        if self.status is None:
            return b""
        return _u8b(self.status) + self.summary

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> TransmitResponse:
        rest = cursor.rest()
        if not rest:
            return cls(result)
        return cls(result, rest[0], rest[1:])


@attrs.frozen
class IpAddressResponse(_Result):
    """0x2009: the module's own IPv6 address."""

    code: ClassVar[int] = 0x2009
    result: int = _result_field
    address: ipaddress.IPv6Address | None = attrs.field(default=None, converter=_opt_ipv6)

    def _fields(self) -> bytes:
        return self.address.packed if self.address is not None else bytes(16)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> IpAddressResponse:
        return cls(result, cursor.take(16))


@attrs.frozen
class MacAddressResponse(_Result):
    """0x200E: the module's own MAC address."""

    code: ClassVar[int] = 0x200E
    result: int = _result_field
    mac: bytes | None = attrs.field(default=None, converter=_opt_mac)

    def _fields(self) -> bytes:
        return self.mac if self.mac is not None else bytes(8)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> MacAddressResponse:
        return cls(result, cursor.take(8))


@attrs.frozen
class StartRouteBResponse(_Result):
    """0x2053: on success the meter's channel, PAN ID, MAC address and RSSI."""

    code: ClassVar[int] = 0x2053
    result: int = _result_field
    channel: int | None = attrs.field(default=None, validator=_opt_u8)
    pan_id: int | None = attrs.field(default=None, validator=_opt_u16)
    mac: bytes | None = attrs.field(default=None, converter=_opt_mac)
    rssi_dbm: int | None = attrs.field(default=None, validator=_opt_rssi)

    def _fields(self) -> bytes:
        return (
            _u8b(self.channel or 0)
            + _u16b(self.pan_id or 0)
            + (self.mac or bytes(8))
            + _u8b(self.rssi_dbm or 0)
        )

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> StartRouteBResponse:
        channel = cursor.u8()
        pan_id = cursor.u16()
        mac = cursor.take(8)
        return cls(result, channel, pan_id, mac, _signed(cursor.u8()))


@attrs.frozen
class PanaKeyResponse(_Result):
    """0x2059: the 16-byte PANA session key (kept out of the ``repr``)."""

    code: ClassVar[int] = 0x2059
    result: int = _result_field
    key: bytes | None = attrs.field(default=None, repr=lambda _: _MASK)

    @key.validator
    def _check_key(self, _attribute: Any, value: bytes | None) -> None:
        if value is not None and (not isinstance(value, bytes) or len(value) != 16):
            raise InvalidArgumentError("a PANA key is 16 bytes")

    def _fields(self) -> bytes:
        return self.key if self.key is not None else bytes(16)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> PanaKeyResponse:
        return cls(result, cursor.take(16))


@attrs.frozen
class PanIdResponse(_Result):
    """0x205E: the route-B PAN ID."""

    code: ClassVar[int] = 0x205E
    result: int = _result_field
    pan_id: int | None = attrs.field(default=None, validator=_opt_u16)

    def _fields(self) -> bytes:
        return _u16b(self.pan_id or 0)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> PanIdResponse:
        return cls(result, cursor.u16())


@attrs.frozen
class VersionResponse(_Result):
    """0x206B: firmware ID (0x0400 for the B-route dual stack) and version."""

    code: ClassVar[int] = 0x206B
    result: int = _result_field
    firmware_id: int | None = attrs.field(default=None, validator=_opt_u16)
    major: int | None = attrs.field(default=None, validator=_opt_u8)
    minor: int | None = attrs.field(default=None, validator=_opt_u8)
    revision: int | None = attrs.field(
        default=None, validator=_opt_ranged(0, 0xFFFFFFFF, "the revision")
    )

    @property
    def version(self) -> str:
        """``"major.minor.revision"`` (revision in hex), empty without fields."""
        if self.major is None:
            return ""
        return f"{self.major}.{self.minor}.{self.revision or 0:X}"

    def _fields(self) -> bytes:
        return (
            _u16b(self.firmware_id or 0)
            + bytes([self.major or 0, self.minor or 0])
            + (self.revision or 0).to_bytes(4, "big")
        )

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> VersionResponse:
        firmware_id = cursor.u16()
        major, minor = cursor.take(2)
        return cls(result, firmware_id, major, minor, int.from_bytes(cursor.take(4), "big"))


@attrs.frozen
class InitialSettingsResponse(_Result):
    """0x2107: the initial settings as read back."""

    code: ClassVar[int] = 0x2107
    result: int = _result_field
    mode: int | None = attrs.field(default=None, validator=_opt_u8)
    han_sleep: int | None = attrs.field(default=None, validator=_opt_u8)
    channel: int | None = attrs.field(default=None, validator=_opt_u8)
    tx_power: int | None = attrs.field(default=None, validator=_opt_u8)

    def _fields(self) -> bytes:
        return bytes([self.mode or 0, self.han_sleep or 0, self.channel or 0, self.tx_power or 0])

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> InitialSettingsResponse:
        return cls(result, *cursor.take(4))


@attrs.frozen
class EdScanResponse(_Result):
    """0x20DB: ``(channel, ED value)`` pairs; dBm = (275 x ED - 104270) / 1000."""

    code: ClassVar[int] = 0x20DB
    result: int = _result_field
    energies: tuple[tuple[int, int], ...] = attrs.field(default=(), converter=_pair_tuple)

    def _fields(self) -> bytes:
        return _u8b(len(self.energies)) + b"".join(bytes(pair) for pair in self.energies)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> EdScanResponse:
        count = cursor.u8()
        return cls(result, tuple((cursor.u8(), cursor.u8()) for _ in range(count)))


@attrs.frozen
class Connection:
    """One entry of the connection list (0x2011)."""

    mac: bytes = attrs.field(converter=_mac)
    pan_id: int = attrs.field(validator=_u16)
    link: int = attrs.field(validator=_u8)
    """0x01 route B, 0x02 HAN."""
    role: int = attrs.field(validator=_u8)
    """0x01-0x03 HAN roles, 0x06 HAN hop, 0x07 route-B coordinator."""
    state: int = attrs.field(validator=_u8)
    """0x01 operating, 0x02 authenticated."""


def _connections(value: Iterable[Connection]) -> tuple[Connection, ...]:
    return tuple(value)


@attrs.frozen
class ConnectionListResponse(_Result):
    """0x2011: the MAC-level connections (empty: not connected)."""

    code: ClassVar[int] = 0x2011
    result: int = _result_field
    connections: tuple[Connection, ...] = attrs.field(default=(), converter=_connections)

    def _fields(self) -> bytes:
        if not self.connections:
            return b"\x00"
        out = bytearray([0x01, len(self.connections)])
        for c in self.connections:
            out += c.mac + _u16b(c.pan_id) + bytes([c.link, c.role, c.state])
        return bytes(out)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> ConnectionListResponse:
        if cursor.u8() == 0x00:
            return cls(result)
        entries = []
        for _ in range(cursor.u8()):
            mac = cursor.take(8)
            pan_id = cursor.u16()
            link, role, state = cursor.take(3)
            entries.append(Connection(mac, pan_id, link, role, state))
        return cls(result, entries)


@attrs.frozen
class Terminal:
    """One entry of the terminal list (0x2100)."""

    address: ipaddress.IPv6Address = attrs.field(converter=_ipv6)
    role: int = attrs.field(validator=_u8)
    state: int = attrs.field(validator=_u8)


def _terminals(value: Iterable[Terminal]) -> tuple[Terminal, ...]:
    return tuple(value)


@attrs.frozen
class TerminalListResponse(_Result):
    """0x2100: the operation mode (0x00 undecided) and the terminal list."""

    code: ClassVar[int] = 0x2100
    result: int = _result_field
    mode: int | None = attrs.field(default=None, validator=_opt_u8)
    terminals: tuple[Terminal, ...] = attrs.field(default=(), converter=_terminals)

    def _fields(self) -> bytes:
        out = bytearray([self.mode or 0, len(self.terminals)])
        for t in self.terminals:
            out += t.address.packed + bytes([t.role, t.state])
        return bytes(out)

    @classmethod
    def from_fields(cls, result: int, cursor: _Cursor) -> TerminalListResponse:
        mode = cursor.u8()
        terminals = []
        for _ in range(cursor.u8()):
            address = cursor.take(16)
            role, state = cursor.take(2)
            terminals.append(Terminal(address, role, state))
        return cls(result, mode, terminals)


Response: TypeAlias = (
    ResultResponse
    | StatusResponse
    | PortListResponse
    | TransmitResponse
    | IpAddressResponse
    | MacAddressResponse
    | StartRouteBResponse
    | PanaKeyResponse
    | PanIdResponse
    | VersionResponse
    | InitialSettingsResponse
    | EdScanResponse
    | ConnectionListResponse
    | TerminalListResponse
)
"""Every typed response (a result byte first)."""

_RESPONSE_TYPES: Final[dict[int, Any]] = {
    cls.code: cls
    for cls in (
        StatusResponse,
        PortListResponse,
        TransmitResponse,
        IpAddressResponse,
        MacAddressResponse,
        StartRouteBResponse,
        PanaKeyResponse,
        PanIdResponse,
        VersionResponse,
        InitialSettingsResponse,
        EdScanResponse,
        ConnectionListResponse,
        TerminalListResponse,
    )
}


@attrs.frozen
class ErrorReply(_FromModule):
    """0x2FFF (header checksum error) or 0xFFFF (not a request code).

    Neither names the request it answers: route it to the one outstanding request.
    The data is unverified (probably one result byte, 0xF0 resp. 0x03); any is accepted.
    """

    command: int = attrs.field()
    data: bytes = attrs.field(default=b"", converter=bytes)

    @command.validator
    def _check_command(self, _attribute: Any, value: int) -> None:
        if not is_error_reply(value):
            raise InvalidArgumentError(f"0x{value:04X} is not an error reply code")

    @property
    def result(self) -> int | None:
        """The first data byte, if any."""
        return self.data[0] if self.data else None

    @property
    def meaning(self) -> str:
        """What the reply says."""
        if self.command == Command.HEADER_CHECKSUM_ERROR:
            return "header checksum error"
        return "invalid command code"

    def to_data(self) -> bytes:
        return self.data


# --------------------------------------------------------------------------- notifications


@attrs.frozen
class Beacon:
    """One coordinator heard by an active scan."""

    mac: bytes = attrs.field(converter=_mac)
    pan_id: int = attrs.field(validator=_u16)
    rssi_dbm: int = attrs.field(validator=_rssi)

    @property
    def address(self) -> ipaddress.IPv6Address:
        """The coordinator's link-local address."""
        return link_local_address(self.mac)


def _beacons(value: Iterable[Beacon]) -> tuple[Beacon, ...]:
    beacons = tuple(value)
    if len(beacons) > 20:
        raise InvalidArgumentError(f"a scan result carries at most 20 beacons, got {len(beacons)}")
    return beacons


@attrs.frozen
class ScanResult(_FromModule):
    """0x4051: the result of one scanned channel (``beacons`` empty: nothing heard)."""

    code: ClassVar[int] = Command.SCAN_RESULT
    channel: int = attrs.field(validator=_u8)
    beacons: tuple[Beacon, ...] = attrs.field(default=(), converter=_beacons)

    def to_data(self) -> bytes:
        if not self.beacons:
            return bytes([0x01, self.channel])
        out = bytearray([0x00, self.channel, len(self.beacons)])
        for beacon in self.beacons:
            out += beacon.mac + _u16b(beacon.pan_id) + _u8b(beacon.rssi_dbm)
        return bytes(out)

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> ScanResult:
        found = cursor.u8()
        channel = cursor.u8()
        if found != 0x00:
            return cls(channel)
        count = cursor.u8()
        beacons = []
        for _ in range(count):
            mac = cursor.take(8)
            pan_id = cursor.u16()
            beacons.append(Beacon(mac, pan_id, _signed(cursor.u8())))
        return cls(channel, beacons)


@attrs.frozen
class DataReceived(_FromModule):
    """0x6018: a UDP datagram from the radio.

    Attributes:
        destination_type: 0x00 unicast, 0x01 multicast (the *destination* address type).
        encryption: 0x01 not encrypted, 0x02 encrypted.
    """

    code: ClassVar[int] = Command.DATA_RECEIVED
    source: ipaddress.IPv6Address = attrs.field(converter=_ipv6)
    source_port: int = attrs.field(validator=_u16)
    destination_port: int = attrs.field(validator=_u16)
    pan_id: int = attrs.field(validator=_u16)
    destination_type: int = attrs.field(validator=_u8)
    encryption: int = attrs.field(validator=_u8)
    rssi_dbm: int = attrs.field(validator=_rssi)
    payload: bytes = attrs.field(converter=bytes)

    @payload.validator
    def _check_payload(self, _attribute: Any, value: bytes) -> None:
        if len(value) > MAX_DATA_LENGTH - 27:
            raise InvalidArgumentError(f"payload too long for one frame: {len(value)} bytes")

    @property
    def multicast(self) -> bool:
        """Whether the datagram was sent to a multicast address."""
        return self.destination_type == 0x01

    @property
    def encrypted(self) -> bool:
        """Whether the datagram was encrypted on the air."""
        return self.encryption == 0x02

    def to_data(self) -> bytes:
        return (
            self.source.packed
            + _u16b(self.source_port)
            + _u16b(self.destination_port)
            + _u16b(self.pan_id)
            + bytes([self.destination_type, self.encryption, self.rssi_dbm & 0xFF])
            + _u16b(len(self.payload))
            + self.payload
        )

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> DataReceived:
        source = cursor.take(16)
        source_port = cursor.u16()
        destination_port = cursor.u16()
        pan_id = cursor.u16()
        dest_type, encryption, rssi = cursor.take(3)
        payload = cursor.take(cursor.u16())
        return cls(
            source,
            source_port,
            destination_port,
            pan_id,
            dest_type,
            encryption,
            _signed(rssi),
            payload,
        )


@attrs.frozen
class BootCompleted(_FromModule):
    """0x6019: the module (re)started; every setting is back to its default."""

    code: ClassVar[int] = Command.BOOT_COMPLETED

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> BootCompleted:
        return cls()


@attrs.frozen
class ConnectionStatusChanged(_FromModule):
    """0x601A: a connection change the host did not cause (:class:`ConnectionEvent`)."""

    code: ClassVar[int] = Command.CONNECTION_STATUS
    state: int = attrs.field(validator=_u8)
    mac: bytes = attrs.field(converter=_mac)
    rssi_dbm: int = attrs.field(validator=_rssi)

    def to_data(self) -> bytes:
        return _u8b(self.state) + self.mac + _u8b(self.rssi_dbm)

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> ConnectionStatusChanged:
        state = cursor.u8()
        mac = cursor.take(8)
        return cls(state, mac, _signed(cursor.u8()))


@attrs.frozen
class PanaResult(_FromModule):
    """0x6028: outcome of PANA authentication (:class:`PanaStatus`) with the meter's MAC."""

    code: ClassVar[int] = Command.PANA_RESULT
    result: int = attrs.field(validator=_u8)
    mac: bytes = attrs.field(converter=_mac)

    @property
    def ok(self) -> bool:
        """Whether authentication succeeded."""
        return self.result == PanaStatus.SUCCESS

    def to_data(self) -> bytes:
        return _u8b(self.result) + self.mac

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> PanaResult:
        result = cursor.u8()
        return cls(result, cursor.take(8))


@attrs.frozen
class ReceptionFailure(_FromModule):
    """0x6038: a received frame the module could not deliver.

    Attributes:
        reason: :class:`ReceptionFailureReason`.
        fragmented: whether the frame was a fragment (flag 0x01).
        head: the first 1-5 received bytes.
    """

    code: ClassVar[int] = Command.RECEPTION_FAILURE
    reason: int = attrs.field(validator=_u8)
    source: ipaddress.IPv6Address = attrs.field(converter=_ipv6)
    sequence: int = attrs.field(validator=_u8)
    fragmented: bool
    fragment_tag: int = attrs.field(validator=_u16)
    head: bytes = attrs.field(default=b"", converter=bytes)

    def to_data(self) -> bytes:
        return (
            _u8b(self.reason)
            + self.source.packed
            + bytes([self.sequence, int(self.fragmented)])
            + _u16b(self.fragment_tag)
            + self.head
        )

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> ReceptionFailure:
        reason = cursor.u8()
        source = cursor.take(16)
        sequence, fragmented = cursor.take(2)
        tag = cursor.u16()
        return cls(reason, source, sequence, fragmented != 0x00, tag, cursor.rest())


@attrs.frozen
class PingResult(_FromModule):
    """0x60D1: outcome of a Ping. Beware: 0x01 means a reply came (0x00: none).

    The other fields are present only when a reply came.
    """

    code: ClassVar[int] = Command.PING_RESULT
    replied: bool
    source: ipaddress.IPv6Address | None = attrs.field(default=None, converter=_opt_ipv6)
    encryption: int | None = attrs.field(default=None, validator=_opt_u8)
    rssi_dbm: int | None = attrs.field(default=None, validator=_opt_rssi)
    data: bytes = attrs.field(default=b"", converter=bytes)

    def to_data(self) -> bytes:
        if not self.replied:
            return b"\x00"
        return (
            b"\x01"
            + (self.source.packed if self.source is not None else bytes(16))
            + bytes([self.encryption or 0, (self.rssi_dbm or 0) & 0xFF])
            + _u16b(len(self.data))
            + self.data
        )

    @classmethod
    def from_fields(cls, cursor: _Cursor) -> PingResult:
        if cursor.u8() != 0x01:
            return cls(False)
        source = cursor.take(16)
        encryption, rssi = cursor.take(2)
        data = cursor.take(cursor.u16())
        return cls(True, source, encryption, _signed(rssi), data)


@attrs.frozen
class UnknownMessage(_FromModule):
    """A notification (or other frame) this codec does not type; ignore or log it."""

    command: int = attrs.field(validator=_u16)
    data: bytes = attrs.field(default=b"", converter=bytes)

    def to_data(self) -> bytes:
        return self.data


Message: TypeAlias = (
    Response
    | ErrorReply
    | ScanResult
    | DataReceived
    | BootCompleted
    | ConnectionStatusChanged
    | PanaResult
    | ReceptionFailure
    | PingResult
    | UnknownMessage
)
"""Everything :func:`decode_message` returns."""

_NOTIFICATION_TYPES: Final[dict[int, Any]] = {
    cls.code: cls
    for cls in (
        ScanResult,
        DataReceived,
        BootCompleted,
        ConnectionStatusChanged,
        PanaResult,
        ReceptionFailure,
        PingResult,
    )
}


def decode_message(frame: J11Frame) -> Message:
    """The typed message in a module-to-host frame.

    Unknown notifications become :class:`UnknownMessage`; responses without typed fields
    :class:`ResultResponse`; 0x2FFF and 0xFFFF :class:`ErrorReply`.

    Raises:
        J11FrameError: the data does not fit the code (too short, trailing bytes, a
            response without its result byte).
    """
    code = frame.command
    what = f"0x{code:04X}"
    cursor = _Cursor(frame.data, what)
    try:
        if is_error_reply(code):
            return ErrorReply(code, frame.data)
        notification = _NOTIFICATION_TYPES.get(code)
        if notification is not None:
            value: Message = notification.from_fields(cursor)
            cursor.end()
            return value
        if is_response(code):
            result = cursor.u8()
            typed = _RESPONSE_TYPES.get(code)
            if typed is None:
                return ResultResponse(code, result, cursor.rest())
            if result != ResultCode.SUCCESS:
                # Fields follow only on success; tolerate stray bytes after a failure.
                return typed(result)  # type: ignore[no-any-return]
            value = typed.from_fields(result, cursor)
            cursor.end()
            return value
        return UnknownMessage(code, frame.data)
    except InvalidArgumentError as exc:
        raise J11FrameError(f"{what}: {exc}", HEADER_LENGTH) from exc


@attrs.frozen
class Malformed:
    """A frame with valid checksums whose data does not fit its code.

    Attributes:
        frame: the frame as received.
        error: what is wrong with it.
    """

    frame: J11Frame
    error: J11FrameError = attrs.field(eq=False)


class MessageReader:
    """Bytes from the module in, typed messages out: a :class:`FrameReassembler` plus
    :func:`decode_message`. :meth:`feed` never raises on input.

    It returns, in stream order, a :class:`Message` per good frame, a :class:`Malformed`
    per frame whose data does not fit its code and a :class:`Skipped` per run of
    discarded bytes (log those escaped).
    """

    def __init__(self) -> None:
        self._frames = FrameReassembler(UniqueCode.RESPONSE)

    @property
    def reassembler(self) -> FrameReassembler:
        """The underlying reassembler (counters, :meth:`FrameReassembler.discard_partial`)."""
        return self._frames

    def feed(self, data: bytes) -> list[Message | Malformed | Skipped]:
        """Add received bytes; return what they complete."""
        return [self._decode(item) for item in self._frames.feed(data)]

    def discard_partial(self) -> list[Message | Malformed | Skipped]:
        """Give up a partial frame that stopped growing (see the reassembler)."""
        return [self._decode(item) for item in self._frames.discard_partial()]

    @staticmethod
    def _decode(item: J11Frame | Skipped) -> Message | Malformed | Skipped:
        if isinstance(item, Skipped):
            return item
        try:
            return decode_message(item)
        except J11FrameError as exc:
            return Malformed(item, exc)
