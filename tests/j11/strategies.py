"""Hypothesis strategies for every typed J11 message (shared by the codec and simulator tests)."""

from __future__ import annotations

import ipaddress

from hypothesis import strategies as st

from aiobroute.j11 import (
    MAX_UDP_PAYLOAD,
    ActiveScan,
    Beacon,
    BootCompleted,
    CloseUdpPort,
    Connection,
    ConnectionListResponse,
    ConnectionStatusChanged,
    DataReceived,
    EdScan,
    EdScanResponse,
    ErrorReply,
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
    InitialSettingsResponse,
    IpAddressResponse,
    MacAddressResponse,
    Message,
    OpenUdpPort,
    OperationMode,
    PanaKeyResponse,
    PanaResult,
    PanIdResponse,
    Ping,
    PingResult,
    PortListResponse,
    ReceptionFailure,
    Request,
    RestartPana,
    ResultResponse,
    ScanResult,
    SetNeighborDiscovery,
    SetRouteBCredentials,
    SetUartSettings,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    StatusResponse,
    Terminal,
    TerminalListResponse,
    TerminatePana,
    TerminateRouteB,
    TransmitData,
    TransmitResponse,
    TxPower,
    UnknownMessage,
    VersionResponse,
    is_error_reply,
    is_notification,
    is_response,
)

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
ports = st.integers(1, 0xFFFF)
rssi = st.integers(-128, 127)
macs = st.binary(min_size=8, max_size=8)
ipv6 = st.builds(ipaddress.IPv6Address, st.binary(min_size=16, max_size=16))
masks = st.integers(1, 0x3FFF).map(lambda bits: bits << 4)
payloads = st.binary(min_size=1, max_size=MAX_UDP_PAYLOAD)
failures = st.integers(0, 0xFF).filter(lambda r: r != 0x01)

requests: st.SearchStrategy[Request] = st.one_of(
    st.sampled_from(
        [
            GetStatus(),
            GetUdpPorts(),
            GetIpAddress(),
            GetMacAddress(),
            GetConnections(),
            GetTerminals(),
            StartRouteB(),
            StartPana(),
            TerminatePana(),
            TerminateRouteB(),
            GetPanaKey(),
            GetPanId(),
            GetVersion(),
            RestartPana(),
            HardwareReset(),
            GetNeighborDiscovery(),
            GetInitialSettings(),
            GetUartSettings(),
        ]
    ),
    st.builds(OpenUdpPort, ports),
    st.builds(CloseUdpPort, ports),
    st.builds(TransmitData, ipv6, ports, ports, payloads),
    st.builds(ActiveScan, st.integers(1, 14), masks, st.binary(min_size=8, max_size=8)),
    st.builds(ActiveScan, st.integers(1, 14), masks, st.none(), st.booleans()),
    st.builds(
        SetRouteBCredentials,
        st.text("0123456789ABCDEFabcdef", min_size=32, max_size=32),
        st.text(
            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            min_size=12,
            max_size=12,
        ),
    ),
    st.builds(
        InitialSettings,
        st.integers(4, 17),
        st.sampled_from(list(OperationMode)),
        st.booleans(),
        st.sampled_from(list(TxPower)),
    ),
    st.builds(EdScan, masks),
    st.builds(Ping, ipv6, st.integers(1, MAX_UDP_PAYLOAD), st.sampled_from([1, 2])),
    st.binary(min_size=1, max_size=200).flatmap(
        lambda data: st.builds(Ping, ipv6, st.just(len(data)), st.just(0), st.just(data))
    ),
    st.builds(SetNeighborDiscovery, st.booleans()),
    st.builds(SetUartSettings, st.booleans()),
)

_typed_response_codes = {
    0x2001,
    0x2007,
    0x2008,
    0x2009,
    0x200E,
    0x2053,
    0x2059,
    0x205E,
    0x206B,
    0x2107,
    0x20DB,
    0x2011,
    0x2100,
}


def _response(cls: type, *fields: st.SearchStrategy[object]) -> st.SearchStrategy[Message]:
    success = st.builds(cls, st.just(0x01), *fields)
    failure = st.builds(cls, failures)
    return st.one_of(success, failure)


beacons = st.builds(Beacon, macs, u16, rssi)

messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(
        ResultResponse,
        st.integers(0x2000, 0x3FFF).filter(
            lambda c: c not in _typed_response_codes and not is_error_reply(c)
        ),
        u8,
        st.binary(max_size=40),
    ),
    _response(StatusResponse, u8, u8, u8),
    _response(PortListResponse, st.lists(ports, max_size=10)),
    st.one_of(
        st.builds(TransmitResponse, st.just(0x01), u8, st.binary(max_size=5)),
        st.builds(TransmitResponse, st.just(0x01)),
        st.builds(TransmitResponse, failures),
    ),
    _response(IpAddressResponse, ipv6),
    _response(MacAddressResponse, macs),
    _response(StartRouteBResponse, u8, u16, macs, rssi),
    _response(PanaKeyResponse, st.binary(min_size=16, max_size=16)),
    _response(PanIdResponse, u16),
    _response(VersionResponse, u16, u8, u8, st.integers(0, 0xFFFFFFFF)),
    _response(InitialSettingsResponse, u8, u8, u8, u8),
    _response(EdScanResponse, st.lists(st.tuples(u8, u8), max_size=14)),
    st.builds(ConnectionListResponse, failures),
    st.builds(
        ConnectionListResponse,
        st.just(0x01),
        st.lists(st.builds(Connection, macs, u16, u8, u8, u8), max_size=8),
    ),
    _response(TerminalListResponse, u8, st.lists(st.builds(Terminal, ipv6, u8, u8), max_size=8)),
    st.builds(PingResult, st.just(False)),
    st.builds(PingResult, st.just(True), ipv6, u8, rssi, st.binary(max_size=64)),
    st.builds(ErrorReply, st.sampled_from([0x2FFF, 0xFFFF]), st.binary(max_size=4)),
    st.builds(ScanResult, u8, st.lists(beacons, max_size=20)),
    st.builds(DataReceived, ipv6, u16, u16, u16, u8, u8, rssi, payloads),
    st.just(BootCompleted()),
    st.builds(ConnectionStatusChanged, u8, macs, rssi),
    st.builds(PanaResult, u8, macs),
    st.builds(ReceptionFailure, u8, ipv6, u8, st.booleans(), u16, st.binary(max_size=5)),
    st.builds(
        UnknownMessage,
        u16.filter(
            lambda c: (
                not is_response(c)
                and not is_error_reply(c)
                and c not in {0x4051, 0x6018, 0x6019, 0x601A, 0x6028, 0x6038, 0x60D1}
            )
        ),
        st.binary(max_size=40),
    ),
)

__all__ = ["messages", "requests"]

assert is_notification(0x4051)
