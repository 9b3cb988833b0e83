"""J11 values shared by requests and module messages: enums, address helpers, validators.

Field layouts follow ROHM "J11 UART IF" §3.2 and the result codes its table 34.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol, TypeVar

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11._frame import (
    HEADER_LENGTH,
)

__all__ = [
    "MAX_UDP_PAYLOAD",
    "Command",
    "ConnectionEvent",
    "GlobalState",
    "OperationMode",
    "PanaStatus",
    "ReceptionFailureReason",
    "ResultCode",
    "RouteBState",
    "TransmitOutcome",
    "TxPower",
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


class _HasCommand(Protocol):
    @property
    def command(self) -> int: ...


def is_error_reply(code_or_message: int | _HasCommand) -> bool:
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
