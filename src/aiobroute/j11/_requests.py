"""Typed J11 requests (host to module): one small frozen class per command.

Each validates its fields in the constructor and :meth:`encode` gives the complete
frame. :func:`decode_request` reads them back (the simulator does).
"""

from __future__ import annotations

import enum
import ipaddress
from typing import Any, ClassVar, Final, TypeAlias

import attrs

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11._frame import (
    HEADER_LENGTH,
    J11Frame,
    UniqueCode,
    _Coded,
)
from aiobroute.j11._types import (
    _MASK,
    _T,
    MAX_UDP_PAYLOAD,
    Command,
    OperationMode,
    TxPower,
    _Cursor,
    _ipv6,
    _password,
    _port,
    _ranged,
    _route_b_id,
    _u8b,
    _u16b,
)

__all__ = [
    "ActiveScan",
    "CloseUdpPort",
    "EdScan",
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
    "HardwareReset",
    "InitialSettings",
    "OpenUdpPort",
    "Ping",
    "PingFormat",
    "Request",
    "RestartPana",
    "SetNeighborDiscovery",
    "SetRouteBCredentials",
    "SetUartSettings",
    "StartPana",
    "StartRouteB",
    "TerminatePana",
    "TerminateRouteB",
    "TransmitData",
    "decode_request",
]


# --------------------------------------------------------------------------- requests


class _Request(_Coded):
    """Behaviour shared by requests: a fixed code, a REQUEST frame."""

    __slots__ = ()
    unique_code: ClassVar[UniqueCode] = UniqueCode.REQUEST

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
