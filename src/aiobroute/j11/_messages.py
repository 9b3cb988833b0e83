"""Typed J11 messages: one small frozen class per request, response and notification.

Requests (host to module) validate their fields in the constructor and
:meth:`encode` to a complete frame. :func:`decode_request` reads them back (the simulator
does). Responses and notifications (module to host) come out of :func:`decode_message`;
a client dispatches on their type. Field layouts follow ROHM "J11 UART IF" §3.2.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Final, TypeAlias, TypeVar

import attrs

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11._frame import (
    HEADER_LENGTH,
    MAX_DATA_LENGTH,
    FrameReassembler,
    J11Frame,
    Skipped,
    UniqueCode,
)

__all__ = [
    "MAX_UDP_PAYLOAD",
    "ActiveScan",
    "Beacon",
    "BootCompleted",
    "CloseUdpPort",
    "Command",
    "Connection",
    "ConnectionEvent",
    "ConnectionListResponse",
    "ConnectionStatusChanged",
    "DataReceived",
    "EdScan",
    "EdScanResponse",
    "ErrorReply",
    "GetConnections",
    "GetInitialSettings",
    "GetIpAddress",
    "GetMacAddress",
    "GetNeighborDiscovery",
    "GetPanId",
    "GetPanaKey",
    "GetStatus",
    "GetTerminals",
    "GetUartSettings",
    "GetUdpPorts",
    "GetVersion",
    "GlobalState",
    "HardwareReset",
    "InitialSettings",
    "InitialSettingsResponse",
    "IpAddressResponse",
    "MacAddressResponse",
    "Malformed",
    "Message",
    "MessageReader",
    "OpenUdpPort",
    "OperationMode",
    "PanIdResponse",
    "PanaKeyResponse",
    "PanaResult",
    "PanaStatus",
    "Ping",
    "PingFormat",
    "PingResult",
    "PortListResponse",
    "ReceptionFailure",
    "ReceptionFailureReason",
    "Request",
    "Response",
    "RestartPana",
    "ResultCode",
    "ResultResponse",
    "RouteBState",
    "ScanResult",
    "SetNeighborDiscovery",
    "SetRouteBCredentials",
    "SetUartSettings",
    "StartPana",
    "StartRouteB",
    "StartRouteBResponse",
    "StatusResponse",
    "Terminal",
    "TerminalListResponse",
    "TerminatePana",
    "TerminateRouteB",
    "TransmitData",
    "TransmitOutcome",
    "TransmitResponse",
    "TxPower",
    "UnknownMessage",
    "VersionResponse",
    "decode_message",
    "decode_request",
    "is_accepted",
    "is_error_reply",
    "is_notification",
    "is_response",
    "link_local_address",
    "mac_from_link_local",
    "pairing_id",
    "request_code",
    "response_code",
]

MAX_UDP_PAYLOAD: Final = 1232
"""Largest UDP payload of Transmit Data (0x0008) and Data Received (0x6018)."""

_MASK: Final = "'********'"


# --------------------------------------------------------------------------- enums


class Command(enum.IntEnum):
    """Command codes used on the B route (表33). A response code is ``request | 0x2000``."""

    GET_STATUS = 0x0001
    OPEN_UDP_PORT = 0x0005
    CLOSE_UDP_PORT = 0x0006
    GET_UDP_PORTS = 0x0007
    TRANSMIT_DATA = 0x0008
    GET_IP_ADDRESS = 0x0009
    GET_MAC_ADDRESS = 0x000E
    GET_CONNECTIONS = 0x0011
    ACTIVE_SCAN = 0x0051
    START_ROUTE_B = 0x0053
    SET_ROUTE_B_CREDENTIALS = 0x0054
    START_PANA = 0x0056
    TERMINATE_PANA = 0x0057
    TERMINATE_ROUTE_B = 0x0058
    GET_PANA_KEY = 0x0059
    GET_PAN_ID = 0x005E
    INITIAL_SETTINGS = 0x005F
    GET_VERSION = 0x006B
    PING = 0x00D1
    RESTART_PANA = 0x00D2
    HARDWARE_RESET = 0x00D9
    ED_SCAN = 0x00DB
    GET_TERMINALS = 0x0100
    SET_NEIGHBOR_DISCOVERY = 0x0101
    GET_NEIGHBOR_DISCOVERY = 0x0102
    GET_INITIAL_SETTINGS = 0x0107
    SET_UART_SETTINGS = 0x010A
    GET_UART_SETTINGS = 0x010B
    # Notifications (module to host, unsolicited).
    SCAN_RESULT = 0x4051
    DATA_RECEIVED = 0x6018
    BOOT_COMPLETED = 0x6019
    CONNECTION_STATUS = 0x601A
    PANA_RESULT = 0x6028
    RECEPTION_FAILURE = 0x6038
    PING_RESULT = 0x60D1
    # Error replies (§2.10.7-2.10.8).
    HEADER_CHECKSUM_ERROR = 0x2FFF
    """Answers a request whose header checksum is wrong (its code cannot be trusted)."""
    INVALID_COMMAND = 0xFFFF
    """Answers a command code that is not a request."""


class ResultCode(enum.IntEnum):
    """The result byte that opens every response (表34). Only ``SUCCESS`` means success."""

    SUCCESS = 0x01
    ADDRESS_NOT_IN_DEVICE_LIST = 0x02
    INVALID_COMMAND = 0x03
    OUT_OF_RANGE = 0x04
    INVALID_DESTINATION = 0x06
    PORT_ALREADY_OPEN = 0x0A
    PORT_NOT_OPEN = 0x0B
    MAC_CONNECTION_FAILED = 0x0E
    NOT_ALLOWED_HAN_OPERATING = 0x0F
    NOT_ALLOWED_NOT_STARTED = 0x10
    INVALID_LENGTH = 0x11
    TOO_MANY_PORTS = 0x12
    RECEIVE_TIMEOUT = 0x13
    NOT_ALLOWED_IN_MODE = 0x14
    HAN_ACCEPTANCE_UNCHANGED = 0x20
    HAN_ACCEPTANCE_NOT_ALLOWED = 0x21
    NOT_ALLOWED_HAN_AUTHENTICATED = 0x33
    NOT_ALLOWED_ROUTE_B_OPERATING = 0x34
    NOT_ALLOWED_ROUTE_B_AUTHENTICATED = 0x35
    NOT_ALLOWED_GLOBAL_NOT_STARTED = 0x37
    PING_BUSY = 0x3C
    BUSY = 0x3D
    HAN_PAN_ID_CONFLICT = 0x3E
    DEEP_SLEEP_FAILED = 0x3F
    POLL_REQUEST_FAILED = 0x46
    PANA_SETTINGS_MISSING = 0x51
    PANA_ALREADY_RUNNING = 0x52
    PANA_NO_ENTRY = 0x53
    PANA_ALREADY_SET = 0x58
    PANA_TOO_MANY_ENTRIES = 0x59
    INVALID_OTA_STATE = 0x61
    HEADER_CHECKSUM_ERROR = 0xF0
    DATA_CHECKSUM_ERROR = 0xF1
    MESSAGE_TOO_SHORT = 0xF2
    MESSAGE_TOO_LONG = 0xF3

    @property
    def meaning(self) -> str:
        """A short English description of the code."""
        return _RESULT_MEANINGS[self]

    @staticmethod
    def describe(result: int) -> str:
        """The meaning of any result byte, known or not (``"unknown result 0x.."``)."""
        try:
            return ResultCode(result).meaning
        except ValueError:
            return f"unknown result 0x{result:02X}"


_RESULT_MEANINGS: Final = {
    ResultCode.SUCCESS: "success",
    ResultCode.ADDRESS_NOT_IN_DEVICE_LIST: "address not in the device list",
    ResultCode.INVALID_COMMAND: "invalid command code",
    ResultCode.OUT_OF_RANGE: "parameter out of range",
    ResultCode.INVALID_DESTINATION: "send error: invalid destination",
    ResultCode.PORT_ALREADY_OPEN: "port already open",
    ResultCode.PORT_NOT_OPEN: "port not open",
    ResultCode.MAC_CONNECTION_FAILED: "MAC connection failed (no beacon)",
    ResultCode.NOT_ALLOWED_HAN_OPERATING: "not allowed: HAN operating or wrong mode",
    ResultCode.NOT_ALLOWED_NOT_STARTED: "not allowed: route B or HAN not started, or wrong mode",
    ResultCode.INVALID_LENGTH: "parameter length out of range",
    ResultCode.TOO_MANY_PORTS: "too many open ports",
    ResultCode.RECEIVE_TIMEOUT: "receive timeout (more than 1 s between bytes)",
    ResultCode.NOT_ALLOWED_IN_MODE: "not allowed in this operation mode",
    ResultCode.HAN_ACCEPTANCE_UNCHANGED: "HAN acceptance mode already as requested",
    ResultCode.HAN_ACCEPTANCE_NOT_ALLOWED: "HAN acceptance switch not allowed in this mode",
    ResultCode.NOT_ALLOWED_HAN_AUTHENTICATED: "not allowed: HAN authenticated or wrong mode",
    ResultCode.NOT_ALLOWED_ROUTE_B_OPERATING: "not allowed: route B operating",
    ResultCode.NOT_ALLOWED_ROUTE_B_AUTHENTICATED: "not allowed: route B authenticated",
    ResultCode.NOT_ALLOWED_GLOBAL_NOT_STARTED: "not allowed: global not started",
    ResultCode.PING_BUSY: "ping before the previous ping's notification",
    ResultCode.BUSY: "busy: previous request or a notification in progress",
    ResultCode.HAN_PAN_ID_CONFLICT: "HAN PAN ID equals the route-B PAN ID or 0xFFFF",
    ResultCode.DEEP_SLEEP_FAILED: "deep sleep failed",
    ResultCode.POLL_REQUEST_FAILED: "poll request failed",
    ResultCode.PANA_SETTINGS_MISSING: "PANA: settings missing",
    ResultCode.PANA_ALREADY_RUNNING: "PANA: sequence already running",
    ResultCode.PANA_NO_ENTRY: "PANA: no entry for that address",
    ResultCode.PANA_ALREADY_SET: "PANA: authentication information already set",
    ResultCode.PANA_TOO_MANY_ENTRIES: "PANA: too many entries",
    ResultCode.INVALID_OTA_STATE: "invalid OTA client state",
    ResultCode.HEADER_CHECKSUM_ERROR: "header checksum error",
    ResultCode.DATA_CHECKSUM_ERROR: "data checksum error",
    ResultCode.MESSAGE_TOO_SHORT: "message length below 4",
    ResultCode.MESSAGE_TOO_LONG: "message length above 1353",
}


class GlobalState(enum.IntEnum):
    """Global block of Get status (§2.7)."""

    NOT_STARTED = 0x02
    STARTED = 0x03


class RouteBState(enum.IntEnum):
    """Route-B (and HAN) block of Get status (§2.7)."""

    NOT_STARTED = 0x01
    OPERATING = 0x02
    AUTHENTICATED = 0x03


class OperationMode(enum.IntEnum):
    """Operation mode of Initial settings (0x005F). Only ``DUAL`` runs route B."""

    HAN_PAN_COORDINATOR = 0x01
    HAN_COORDINATOR = 0x02
    HAN_END_DEVICE = 0x03
    DUAL = 0x05


class TxPower(enum.IntEnum):
    """Transmission power of Initial settings."""

    MW_20 = 0x00
    MW_10 = 0x01
    MW_1 = 0x02


class ConnectionEvent(enum.IntEnum):
    """State of a Connection status change (0x601A)."""

    MAC_CONNECTED = 0x01
    PANA_CONNECTED = 0x02
    MAC_DISCONNECTED = 0x03
    PANA_DISCONNECTED = 0x04


class PanaStatus(enum.IntEnum):
    """Result of a PANA result notification (0x6028)."""

    SUCCESS = 0x01
    REJECTED = 0x02
    NO_RESPONSE = 0x03


class ReceptionFailureReason(enum.IntEnum):
    """Reason of a Reception failure notification (0x6038)."""

    DECRYPTION = 0x01
    MAC = 0x02
    SIXLOWPAN = 0x20
    IP = 0x30
    UDP = 0x40


class TransmitOutcome(enum.IntEnum):
    """Low nibble of the transmit status (§3.2.3.3)."""

    SENT = 0x0
    RADIO_BUDGET_EXHAUSTED = 0x2
    CCA_FAILURE = 0x3
    NO_ACK = 0x5
    OTHER = 0x8
    QUEUED_ONLY = 0xF


# --------------------------------------------------------------------------- helpers


def response_code(request: int) -> int:
    """The response code of a request code: ``request | 0x2000``."""
    return request | 0x2000


def request_code(response: int) -> int:
    """The request code a response code answers (``response & 0x1FFF``).

    Meaningless for error replies (0x2FFF, 0xFFFF): check :func:`is_error_reply` first.
    """
    return response & 0x1FFF


def is_error_reply(code_or_message: int | Message) -> bool:
    """Whether a code (or message) is an error reply (0x2FFF or 0xFFFF).

    An error reply does not name the request it answers; route it to the one
    outstanding request.
    """
    code = code_or_message if isinstance(code_or_message, int) else code_or_message.command
    return code in (Command.HEADER_CHECKSUM_ERROR, Command.INVALID_COMMAND)


def is_accepted(request: int, result: int) -> bool:
    """Whether ``result`` answering ``request`` leaves things as the request wanted.

    :attr:`ResultCode.SUCCESS` always; also 0x0A ("port already open") for Open UDP port
    (0x0005) and 0x58 ("authentication information already set") for Set route-B
    credentials (0x0054).
    """
    if result == ResultCode.SUCCESS:
        return True
    return (request, result) in {
        (Command.OPEN_UDP_PORT, ResultCode.PORT_ALREADY_OPEN),
        (Command.SET_ROUTE_B_CREDENTIALS, ResultCode.PANA_ALREADY_SET),
    }


def is_response(code: int) -> bool:
    """Whether ``code`` is a response to a request (0x2000-0x3FFF, not 0x2FFF)."""
    return code & 0xE000 == 0x2000 and code != Command.HEADER_CHECKSUM_ERROR


def is_notification(code: int) -> bool:
    """Whether ``code`` is an unsolicited notification (0x4000-0x7FFF)."""
    return code & 0xC000 == 0x4000


def link_local_address(mac: bytes) -> ipaddress.IPv6Address:
    """The link-local IPv6 address of an 8-byte MAC (bit 0x02 of the first byte inverted)."""
    mac = _mac(mac)
    return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + bytes([mac[0] ^ 0x02]) + mac[1:])


def mac_from_link_local(address: ipaddress.IPv6Address | str) -> bytes:
    """The 8-byte MAC behind a link-local address (inverse of :func:`link_local_address`)."""
    packed = ipaddress.IPv6Address(address).packed
    if packed[:8] != b"\xfe\x80" + bytes(6):
        raise InvalidArgumentError(f"{address} is not a FE80::/64 link-local address")
    return bytes([packed[8] ^ 0x02]) + packed[9:]


def pairing_id(route_b_id: str) -> bytes:
    """The pairing ID of a meter for an active scan: the last 8 characters of its route-B ID."""
    return _route_b_id(route_b_id)[-8:].encode("ascii")


_HEX_ID = re.compile(r"[0-9A-F]{32}")
_PASSWORD = re.compile(r"[0-9A-Za-z]{12}")


def _route_b_id(value: str) -> str:
    text = str(value).upper()
    if _HEX_ID.fullmatch(text) is None:
        raise InvalidArgumentError("the route-B ID must be 32 hexadecimal characters")
    return text


def _password(value: str) -> str:
    text = str(value)
    if _PASSWORD.fullmatch(text) is None:
        raise InvalidArgumentError("the route-B password must be 12 letters or digits")
    return text


def _mac(value: bytes) -> bytes:
    mac = bytes(value)
    if len(mac) != 8:
        raise InvalidArgumentError(f"a MAC address is 8 bytes, got {len(mac)}")
    return mac


def _opt_mac(value: bytes | None) -> bytes | None:
    return None if value is None else _mac(value)


def _ipv6(value: ipaddress.IPv6Address | str | bytes) -> ipaddress.IPv6Address:
    try:
        return ipaddress.IPv6Address(value)
    except ValueError as exc:
        raise InvalidArgumentError(f"not an IPv6 address: {value!r}") from exc


def _opt_ipv6(value: ipaddress.IPv6Address | str | bytes | None) -> ipaddress.IPv6Address | None:
    return None if value is None else _ipv6(value)


def _ranged(low: int, high: int, what: str) -> Callable[[Any, Any, int], None]:
    def check(_instance: Any, _attribute: Any, value: int) -> None:
        if not low <= value <= high:
            raise InvalidArgumentError(f"{what} must be in {low}..{high}, got {value}")

    return check


def _opt_ranged(low: int, high: int, what: str) -> Callable[[Any, Any, int | None], None]:
    check = _ranged(low, high, what)

    def opt(instance: Any, attribute: Any, value: int | None) -> None:
        if value is not None:
            check(instance, attribute, value)

    return opt


_u8 = _ranged(0, 0xFF, "a byte field")
_u16 = _ranged(0, 0xFFFF, "a 16-bit field")
_opt_u8 = _opt_ranged(0, 0xFF, "a byte field")
_opt_u16 = _opt_ranged(0, 0xFFFF, "a 16-bit field")
_rssi = _ranged(-128, 127, "RSSI (dBm)")
_opt_rssi = _opt_ranged(-128, 127, "RSSI (dBm)")
_port = _ranged(1, 0xFFFF, "a UDP port")


def _int_tuple(value: Iterable[int]) -> tuple[int, ...]:
    return tuple(value)


def _pair_tuple(value: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    return tuple((int(a), int(b)) for a, b in value)


def _signed(byte: int) -> int:
    return byte - 0x100 if byte >= 0x80 else byte


def _u8b(value: int) -> bytes:
    return bytes([value & 0xFF])


def _u16b(value: int) -> bytes:
    return value.to_bytes(2, "big")


class _Cursor:
    """Reads the data of a frame, raising :class:`J11FrameError` with the frame offset."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data = data
        self.pos = 0
        self.what = what

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise J11FrameError(
                f"{self.what}: data ends after {len(self.data)} bytes, {self.pos + size} needed",
                HEADER_LENGTH + len(self.data),
            )
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def end(self) -> None:
        if self.pos != len(self.data):
            raise J11FrameError(
                f"{self.what}: {len(self.data) - self.pos} unexpected trailing bytes",
                HEADER_LENGTH + self.pos,
            )


_T = TypeVar("_T")


# --------------------------------------------------------------------------- requests


class _Request:
    """Behaviour shared by requests: a fixed code, data, a REQUEST frame."""

    __slots__ = ()
    code: ClassVar[int]

    @property
    def command(self) -> int:
        """The request code."""
        return self.code

    def to_data(self) -> bytes:
        """The data part of the frame."""
        return b""

    def to_frame(self) -> J11Frame:
        """The request as a :class:`J11Frame`."""
        return J11Frame(self.code, self.to_data(), UniqueCode.REQUEST)

    def encode(self) -> bytes:
        """The complete request frame, checksums included."""
        return self.to_frame().encode()

    @classmethod
    def from_data(cls: type[_T], cursor: _Cursor) -> _T:
        """Build the request from its data (no data by default)."""
        return cls()


@attrs.frozen
class GetStatus(_Request):
    """0x0001: read the global, route-B and HAN states."""

    code: ClassVar[int] = Command.GET_STATUS


@attrs.frozen
class _PortRequest(_Request):
    port: int = attrs.field(validator=_port)

    def to_data(self) -> bytes:
        return _u16b(self.port)

    @classmethod
    def from_data(cls: type[_T], cursor: _Cursor) -> _T:
        return cls(cursor.u16())  # type: ignore[call-arg]


@attrs.frozen
class OpenUdpPort(_PortRequest):
    """0x0005: open a UDP port (open 3610 before PANA). Answers 0x0A if already open."""

    code: ClassVar[int] = Command.OPEN_UDP_PORT


@attrs.frozen
class CloseUdpPort(_PortRequest):
    """0x0006: close a UDP port. Answers 0x0B if it was not open."""

    code: ClassVar[int] = Command.CLOSE_UDP_PORT


@attrs.frozen
class GetUdpPorts(_Request):
    """0x0007: list the open UDP ports (716 and 19788 are not listed)."""

    code: ClassVar[int] = Command.GET_UDP_PORTS


@attrs.frozen
class TransmitData(_Request):
    """0x0008: send one UDP datagram.

    Attributes:
        destination: the IPv6 destination (the meter's :func:`link_local_address`).
        source_port: the local port (3610 for ECHONET Lite).
        destination_port: the remote port (3610).
        payload: 1..1232 bytes.
    """

    code: ClassVar[int] = Command.TRANSMIT_DATA
    destination: ipaddress.IPv6Address = attrs.field(converter=_ipv6)
    source_port: int = attrs.field(validator=_port)
    destination_port: int = attrs.field(validator=_port)
    payload: bytes = attrs.field(converter=bytes)

    @payload.validator
    def _check_payload(self, _attribute: Any, value: bytes) -> None:
        if not 1 <= len(value) <= MAX_UDP_PAYLOAD:
            raise InvalidArgumentError(
                f"a UDP payload is 1..{MAX_UDP_PAYLOAD} bytes, got {len(value)}"
            )

    def to_data(self) -> bytes:
        return (
            self.destination.packed
            + _u16b(self.source_port)
            + _u16b(self.destination_port)
            + _u16b(len(self.payload))
            + self.payload
        )

    @classmethod
    def from_data(cls, cursor: _Cursor) -> TransmitData:
        destination = cursor.take(16)
        source_port = cursor.u16()
        destination_port = cursor.u16()
        payload = cursor.take(cursor.u16())
        cursor.end()
        return cls(destination, source_port, destination_port, payload)


@attrs.frozen
class GetIpAddress(_Request):
    """0x0009: the module's own IPv6 address."""

    code: ClassVar[int] = Command.GET_IP_ADDRESS


@attrs.frozen
class GetMacAddress(_Request):
    """0x000E: the module's own MAC address."""

    code: ClassVar[int] = Command.GET_MAC_ADDRESS


@attrs.frozen
class GetConnections(_Request):
    """0x0011: the MAC-level connections (route B: the meter, once started)."""

    code: ClassVar[int] = Command.GET_CONNECTIONS


@attrs.frozen
class ActiveScan(_Request):
    """0x0051: active scan; one 0x4051 per channel, then the 0x2051 response.

    Attributes:
        duration: 1..14; the dwell per channel is 9.64 ms x 2**duration.
        channel_mask: bit n = channel n, channels 4..17 (``0x0003FFF0`` = all).
        pairing_id: 8 bytes (the last 8 characters of the route-B ID, see
            :func:`pairing_id`) so that only the meter answers, or ``None`` for no pairing ID.
        omit_pairing_id: with ``pairing_id=None``, leave the 8 pairing-ID bytes out instead
            of sending 8 zero bytes (the spec does not say which one the module wants).
    """

    code: ClassVar[int] = Command.ACTIVE_SCAN
    duration: int = attrs.field(validator=_ranged(1, 14, "the scan duration"))
    channel_mask: int = attrs.field(default=0x0003FFF0)
    pairing_id: bytes | None = attrs.field(default=None)
    omit_pairing_id: bool = False

    @channel_mask.validator
    def _check_mask(self, _attribute: Any, value: int) -> None:
        if value == 0 or value & ~0x0003FFF0:
            raise InvalidArgumentError(
                f"the channel mask must select channels 4..17 only, got 0x{value:08X}"
            )

    @pairing_id.validator
    def _check_pairing_id(self, _attribute: Any, value: bytes | None) -> None:
        if value is not None and (not isinstance(value, bytes) or len(value) != 8):
            raise InvalidArgumentError("the pairing ID must be 8 bytes")

    def __attrs_post_init__(self) -> None:
        if self.omit_pairing_id and self.pairing_id is not None:
            raise InvalidArgumentError("omit_pairing_id only applies without a pairing ID")

    @property
    def channels(self) -> tuple[int, ...]:
        """The channels the scan covers, in order."""
        return tuple(ch for ch in range(4, 18) if self.channel_mask >> ch & 1)

    def to_data(self) -> bytes:
        head = _u8b(self.duration) + self.channel_mask.to_bytes(4, "big")
        if self.pairing_id is not None:
            return head + b"\x01" + self.pairing_id
        return head + b"\x00" + (b"" if self.omit_pairing_id else bytes(8))

    @classmethod
    def from_data(cls, cursor: _Cursor) -> ActiveScan:
        duration = cursor.u8()
        mask = int.from_bytes(cursor.take(4), "big")
        flag = cursor.u8()
        if flag == 0x01:
            scan = cls(duration, mask, cursor.take(8))
        elif flag == 0x00:
            # Without a pairing ID, hosts either omit the 8 bytes or send zeros.
            omit = cursor.pos == len(cursor.data)
            if not omit:
                cursor.take(8)
            scan = cls(duration, mask, None, omit_pairing_id=omit)
        else:
            raise InvalidArgumentError(f"pairing ID flag must be 0 or 1, got {flag}")
        cursor.end()
        return scan


@attrs.frozen
class StartRouteB(_Request):
    """0x0053: associate with the meter (MAC level); answers channel, PAN, MAC and RSSI."""

    code: ClassVar[int] = Command.START_ROUTE_B


@attrs.frozen
class SetRouteBCredentials(_Request):
    """0x0054: set the route-B ID (32 hexadecimal characters) and password (12 letters/digits).

    The ID is upper-cased. Neither value appears in the ``repr``.
    """

    code: ClassVar[int] = Command.SET_ROUTE_B_CREDENTIALS
    route_b_id: str = attrs.field(converter=_route_b_id, repr=lambda _: _MASK)
    password: str = attrs.field(converter=_password, repr=lambda _: _MASK)

    def to_data(self) -> bytes:
        return self.route_b_id.encode("ascii") + self.password.encode("ascii")

    @classmethod
    def from_data(cls, cursor: _Cursor) -> SetRouteBCredentials:
        route_b_id = cursor.take(32)
        password = cursor.take(12)
        cursor.end()
        return cls(route_b_id.decode("latin-1"), password.decode("latin-1"))


@attrs.frozen
class StartPana(_Request):
    """0x0056: start PANA authentication; the outcome comes in 0x6028."""

    code: ClassVar[int] = Command.START_PANA


@attrs.frozen
class TerminatePana(_Request):
    """0x0057: end the PANA session (the meter is informed); route B back to operating."""

    code: ClassVar[int] = Command.TERMINATE_PANA


@attrs.frozen
class TerminateRouteB(_Request):
    """0x0058: stop route B (ports close; the meter is not informed)."""

    code: ClassVar[int] = Command.TERMINATE_ROUTE_B


@attrs.frozen
class GetPanaKey(_Request):
    """0x0059: read the PANA session key (kept out of every ``repr``)."""

    code: ClassVar[int] = Command.GET_PANA_KEY


@attrs.frozen
class GetPanId(_Request):
    """0x005E: the route-B PAN ID."""

    code: ClassVar[int] = Command.GET_PAN_ID


@attrs.frozen
class InitialSettings(_Request):
    """0x005F: operation mode, HAN sleep, channel (4..17) and transmission power.

    Defaults are what the B route needs: Dual mode, HAN sleep off, 20 mW.
    """

    code: ClassVar[int] = Command.INITIAL_SETTINGS
    channel: int = attrs.field(validator=_ranged(4, 17, "the channel"))
    mode: int = attrs.field(default=OperationMode.DUAL)
    han_sleep: bool = False
    tx_power: int = attrs.field(default=TxPower.MW_20)

    @mode.validator
    def _check_mode(self, _attribute: Any, value: int) -> None:
        if value not in OperationMode.__members__.values():
            raise InvalidArgumentError(f"unknown operation mode 0x{value:02X}")

    @tx_power.validator
    def _check_power(self, _attribute: Any, value: int) -> None:
        if value not in TxPower.__members__.values():
            raise InvalidArgumentError(f"unknown transmission power 0x{value:02X}")

    def to_data(self) -> bytes:
        return bytes([self.mode, int(self.han_sleep), self.channel, self.tx_power])

    @classmethod
    def from_data(cls, cursor: _Cursor) -> InitialSettings:
        mode, sleep, channel, power = cursor.take(4)
        cursor.end()
        if sleep not in (0, 1):
            raise InvalidArgumentError(f"HAN sleep must be 0 or 1, got {sleep}")
        return cls(channel, mode, bool(sleep), power)


@attrs.frozen
class GetVersion(_Request):
    """0x006B: firmware ID and version."""

    code: ClassVar[int] = Command.GET_VERSION


class PingFormat(enum.IntEnum):
    """How the data of a Ping (0x00D1) is made."""

    GIVEN = 0x00
    """The request carries the data."""
    ALPHABET = 0x01
    """'a'..'z' repeated up to ``size`` bytes."""
    COUNTER = 0x02
    """ASCII "0001", "0002"... up to ``size`` bytes."""


@attrs.frozen
class Ping(_Request):
    """0x00D1: ICMPv6 echo to ``destination``; the outcome comes in 0x60D1.

    Attributes:
        destination: the address to ping (the meter's :func:`link_local_address`).
        size: bytes of echo data (1..1232); with ``data``, its length.
        format: :class:`PingFormat` (``GIVEN`` when ``data`` is given).
        data: the echo data, only with ``PingFormat.GIVEN``.
    """

    code: ClassVar[int] = Command.PING
    destination: ipaddress.IPv6Address = attrs.field(converter=_ipv6)
    size: int = attrs.field(validator=_ranged(1, MAX_UDP_PAYLOAD, "the ping size"))
    format: int = attrs.field(default=PingFormat.ALPHABET)
    data: bytes = attrs.field(default=b"", converter=bytes)

    def __attrs_post_init__(self) -> None:
        if self.format not in PingFormat.__members__.values():
            raise InvalidArgumentError(f"unknown ping format 0x{self.format:02X}")
        if self.format == PingFormat.GIVEN and len(self.data) != self.size:
            raise InvalidArgumentError("ping data must be exactly `size` bytes")
        if self.format != PingFormat.GIVEN and self.data:
            raise InvalidArgumentError("ping data is only sent with PingFormat.GIVEN")

    def to_data(self) -> bytes:
        return self.destination.packed + _u16b(self.size) + _u8b(self.format) + self.data

    @classmethod
    def from_data(cls, cursor: _Cursor) -> Ping:
        destination = cursor.take(16)
        size = cursor.u16()
        fmt = cursor.u8()
        data = cursor.take(size) if fmt == PingFormat.GIVEN else b""
        cursor.end()
        return cls(destination, size, fmt, data)


@attrs.frozen
class GetTerminals(_Request):
    """0x0100: the terminal list (HAN; on the B route the mode is 0x00 "undecided")."""

    code: ClassVar[int] = Command.GET_TERMINALS


@attrs.frozen
class RestartPana(_Request):
    """0x00D2: re-authenticate with the meter; the outcome comes in 0x6028."""

    code: ClassVar[int] = Command.RESTART_PANA


@attrs.frozen
class HardwareReset(_Request):
    """0x00D9: restart the module (accepted at any time; no response, then 0x6019)."""

    code: ClassVar[int] = Command.HARDWARE_RESET


@attrs.frozen
class EdScan(_Request):
    """0x00DB: energy-detection scan over the channels of a mask."""

    code: ClassVar[int] = Command.ED_SCAN
    channel_mask: int = attrs.field(default=0x0003FFF0)

    @channel_mask.validator
    def _check_mask(self, _attribute: Any, value: int) -> None:
        if value == 0 or value & ~0x0003FFF0:
            raise InvalidArgumentError(
                f"the channel mask must select channels 4..17 only, got 0x{value:08X}"
            )

    def to_data(self) -> bytes:
        return self.channel_mask.to_bytes(4, "big")

    @classmethod
    def from_data(cls, cursor: _Cursor) -> EdScan:
        mask = int.from_bytes(cursor.take(4), "big")
        cursor.end()
        return cls(mask)


@attrs.frozen
class _FlagRequest(_Request):
    enabled: bool

    def to_data(self) -> bytes:
        return _u8b(int(self.enabled))

    @classmethod
    def from_data(cls: type[_T], cursor: _Cursor) -> _T:
        flag = cursor.u8()
        cursor.end()
        if flag not in (0, 1):
            raise InvalidArgumentError(f"flag must be 0 or 1, got {flag}")
        return cls(bool(flag))  # type: ignore[call-arg]


@attrs.frozen
class SetNeighborDiscovery(_FlagRequest):
    """0x0101: ``enabled`` = addresses by neighbour discovery instead of from beacons."""

    code: ClassVar[int] = Command.SET_NEIGHBOR_DISCOVERY


@attrs.frozen
class GetNeighborDiscovery(_Request):
    """0x0102: read the neighbour-discovery flag."""

    code: ClassVar[int] = Command.GET_NEIGHBOR_DISCOVERY


@attrs.frozen
class GetInitialSettings(_Request):
    """0x0107: read back the initial settings."""

    code: ClassVar[int] = Command.GET_INITIAL_SETTINGS


@attrs.frozen
class SetUartSettings(_FlagRequest):
    """0x010A: ``enabled`` = hardware flow control on (effective after the response)."""

    code: ClassVar[int] = Command.SET_UART_SETTINGS


@attrs.frozen
class GetUartSettings(_Request):
    """0x010B: read the UART flow-control flag."""

    code: ClassVar[int] = Command.GET_UART_SETTINGS


Request: TypeAlias = (
    GetStatus
    | OpenUdpPort
    | CloseUdpPort
    | GetUdpPorts
    | TransmitData
    | GetIpAddress
    | GetMacAddress
    | GetConnections
    | ActiveScan
    | StartRouteB
    | SetRouteBCredentials
    | StartPana
    | TerminatePana
    | TerminateRouteB
    | GetPanaKey
    | GetPanId
    | InitialSettings
    | GetVersion
    | Ping
    | GetTerminals
    | RestartPana
    | HardwareReset
    | EdScan
    | SetNeighborDiscovery
    | GetNeighborDiscovery
    | GetInitialSettings
    | SetUartSettings
    | GetUartSettings
)
"""Every typed request."""

_REQUEST_TYPES: Final[dict[int, Any]] = {
    cls.code: cls
    for cls in (
        GetStatus,
        OpenUdpPort,
        CloseUdpPort,
        GetUdpPorts,
        TransmitData,
        GetIpAddress,
        GetMacAddress,
        GetConnections,
        ActiveScan,
        StartRouteB,
        SetRouteBCredentials,
        StartPana,
        TerminatePana,
        TerminateRouteB,
        GetPanaKey,
        GetPanId,
        InitialSettings,
        GetVersion,
        Ping,
        GetTerminals,
        RestartPana,
        HardwareReset,
        EdScan,
        SetNeighborDiscovery,
        GetNeighborDiscovery,
        GetInitialSettings,
        SetUartSettings,
        GetUartSettings,
    )
}


def decode_request(frame: J11Frame) -> Request | None:
    """The typed request in a host-to-module frame; ``None`` for a code this codec lacks.

    Raises:
        J11FrameError: the data does not fit the command. When the data has the right
            length but a field is out of range, the error's ``__cause__`` is an
            :class:`~aiobroute.errors.InvalidArgumentError` (a module answers 0x04 to
            that, 0x11 to a wrong length).
    """
    cls = _REQUEST_TYPES.get(frame.command)
    if cls is None:
        return None
    request: Request = _decode_with(cls, frame)
    return request


def _decode_with(cls: Any, frame: J11Frame) -> Any:
    cursor = _Cursor(frame.data, f"0x{frame.command:04X}")
    try:
        value = cls.from_data(cursor)
        cursor.end()
    except InvalidArgumentError as exc:
        raise J11FrameError(f"0x{frame.command:04X}: {exc}", HEADER_LENGTH) from exc
    return value


# --------------------------------------------------------------------------- module side


class _FromModule:
    """Behaviour shared by responses and notifications: data and a RESPONSE frame."""

    __slots__ = ()
    code: ClassVar[int]

    @property
    def command(self) -> int:
        """The response or notification code."""
        return self.code

    def to_data(self) -> bytes:
        """The data part of the frame."""
        return b""

    def to_frame(self) -> J11Frame:
        """The message as a :class:`J11Frame`."""
        return J11Frame(self.command, self.to_data(), UniqueCode.RESPONSE)

    def encode(self) -> bytes:
        """The complete frame, checksums included."""
        return self.to_frame().encode()


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
