"""ROHM J11 binary UART protocol: a pure (sans-I/O) codec.

The J11 firmware of the BP35C0-J11, BP35C1-J11-T01, BP35C2-J11-T01 and RATOC RS-WSUHA-J11
speaks binary frames instead of SKSTACK text. This package turns bytes into typed values
and back; it does no I/O and knows no time (it imports neither asyncio nor serial).

Layers, bottom up:

* :class:`J11Frame` -- one frame (unique code, command code, data) with
  :meth:`J11Frame.encode` and a strict :meth:`J11Frame.decode` that raises
  :class:`~aiobroute.errors.J11FrameError` (``reason`` + ``offset``).
  :func:`header_checksum` and :func:`data_checksum` are the plain byte sums of the spec.
* :class:`FrameReassembler` -- ``feed(bytes) -> list[J11Frame | Skipped]``. Hunts for the
  unique code, checks length and both checksums, drops exactly one byte after any
  mismatch and hunts again, so a good frame after garbage or inside a broken one is never
  lost. Discarded bytes come out as :class:`Skipped` (data + :class:`SkipReason`) for
  logging. At most one partial frame is buffered; :meth:`FrameReassembler.discard_partial`
  abandons one that stopped growing (the caller decides when, ~2 s).
* Typed messages -- one frozen attrs class per message:

  - requests (host to module), validated in their constructor, ``encode()`` to a whole
    frame: :class:`GetStatus`, :class:`GetVersion`, :class:`HardwareReset`,
    :class:`InitialSettings`, :class:`SetRouteBCredentials` (secrets masked in its repr),
    :class:`ActiveScan`, :class:`StartRouteB`, :class:`OpenUdpPort`, :class:`CloseUdpPort`,
    :class:`StartPana`, :class:`RestartPana`, :class:`TerminatePana`,
    :class:`TerminateRouteB`, :class:`TransmitData`, :class:`GetPanId`, :class:`Ping`
    and more (see :data:`Request`). :func:`decode_request` reads them back (the simulator uses it).
  - responses (a result byte first; typed fields only when the result is
    :attr:`ResultCode.SUCCESS`): :class:`StatusResponse`, :class:`VersionResponse`,
    :class:`StartRouteBResponse`, :class:`TransmitResponse`, :class:`PanIdResponse`...,
    and :class:`ResultResponse` for result-only or untyped responses. Every response has
    ``command``, ``result``, ``ok``, ``accepted`` (success, or "already so": 0x0A to Open
    UDP port, 0x58 to Set credentials; :func:`is_accepted`) and ``request_code`` (the
    request it answers: ``command & 0x1FFF``).
  - error replies 0x2FFF (bad header checksum) and 0xFFFF (not a request):
    :class:`ErrorReply`; :func:`is_error_reply` tells them apart so a client can route
    them to its one outstanding request.
  - notifications: :class:`ScanResult` (0x4051), :class:`DataReceived` (0x6018),
    :class:`BootCompleted` (0x6019), :class:`ConnectionStatusChanged` (0x601A),
    :class:`PanaResult` (0x6028), :class:`ReceptionFailure` (0x6038),
    :class:`PingResult` (0x60D1); anything else is an :class:`UnknownMessage`.

  :func:`decode_message` turns a module-to-host frame into one of these (raising
  :class:`~aiobroute.errors.J11FrameError` when the data does not fit the code).
* :class:`MessageReader` -- reassembler + :func:`decode_message`:
  ``feed(bytes) -> list[Message | Malformed | Skipped]``, never raises on input.

Helpers: :class:`ResultCode` (with ``meaning``), :class:`Command`, state enums
(:class:`GlobalState`, :class:`RouteBState`, :class:`ConnectionEvent`,
:class:`PanaStatus`, :class:`TransmitOutcome`...), :func:`link_local_address` (meter MAC
to FE80:: address), :func:`mac_from_link_local`, :func:`pairing_id` (last 8 characters of
the route-B ID), :func:`response_code` / :func:`request_code`.

Example::

    reader = MessageReader()
    port.write(InitialSettings(channel=4).encode())
    for item in reader.feed(received):
        match item:
            case ResultResponse(command=0x205F, result=ResultCode.SUCCESS): ...
            case ErrorReply(): ...  # route to the outstanding request
            case Skipped(data=junk): log.debug("skipped %r", junk)

RSSI fields are signed dBm (``rssi_dbm``); MAC addresses are 8 ``bytes``; IPv6
addresses are :class:`ipaddress.IPv6Address`.
"""

from __future__ import annotations

from aiobroute.j11._frame import (
    HEADER_LENGTH,
    MAX_DATA_LENGTH,
    MAX_FRAME_LENGTH,
    MAX_MESSAGE_LENGTH,
    FrameReassembler,
    J11Frame,
    Skipped,
    SkipReason,
    UniqueCode,
    data_checksum,
    header_checksum,
)
from aiobroute.j11._messages import (
    Beacon,
    BootCompleted,
    Connection,
    ConnectionListResponse,
    ConnectionStatusChanged,
    DataReceived,
    EdScanResponse,
    ErrorReply,
    InitialSettingsResponse,
    IpAddressResponse,
    MacAddressResponse,
    Malformed,
    Message,
    MessageReader,
    PanaKeyResponse,
    PanaResult,
    PanIdResponse,
    PingResult,
    PortListResponse,
    ReceptionFailure,
    Response,
    ResultResponse,
    ScanResult,
    StartRouteBResponse,
    StatusResponse,
    Terminal,
    TerminalListResponse,
    TransmitResponse,
    UnknownMessage,
    VersionResponse,
    decode_message,
)
from aiobroute.j11._requests import (
    ActiveScan,
    CloseUdpPort,
    EdScan,
    GetConnections,
    GetInitialSettings,
    GetIpAddress,
    GetMacAddress,
    GetNeighborDiscovery,
    GetPanaKey,
    GetPanId,
    GetStatus,
    GetTerminals,
    GetUartSettings,
    GetUdpPorts,
    GetVersion,
    HardwareReset,
    InitialSettings,
    OpenUdpPort,
    Ping,
    PingFormat,
    Request,
    RestartPana,
    SetNeighborDiscovery,
    SetRouteBCredentials,
    SetUartSettings,
    StartPana,
    StartRouteB,
    TerminatePana,
    TerminateRouteB,
    TransmitData,
    decode_request,
)
from aiobroute.j11._types import (
    MAX_UDP_PAYLOAD,
    Command,
    ConnectionEvent,
    GlobalState,
    OperationMode,
    PanaStatus,
    ReceptionFailureReason,
    ResultCode,
    RouteBState,
    TransmitOutcome,
    TxPower,
    is_accepted,
    is_error_reply,
    is_notification,
    is_response,
    link_local_address,
    mac_from_link_local,
    pairing_id,
    request_code,
    response_code,
)

__all__ = [
    "HEADER_LENGTH",
    "MAX_DATA_LENGTH",
    "MAX_FRAME_LENGTH",
    "MAX_MESSAGE_LENGTH",
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
    "FrameReassembler",
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
    "J11Frame",
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
    "SkipReason",
    "Skipped",
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
    "UniqueCode",
    "UnknownMessage",
    "VersionResponse",
    "data_checksum",
    "decode_message",
    "decode_request",
    "header_checksum",
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
