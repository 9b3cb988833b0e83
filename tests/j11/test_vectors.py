"""The constructed frames of the J11 note §11: decode to typed values, encode to the same bytes."""

from __future__ import annotations

import ipaddress
import random

import pytest

from aiobroute.j11 import (
    ActiveScan,
    Beacon,
    CloseUdpPort,
    ConnectionEvent,
    ConnectionStatusChanged,
    DataReceived,
    ErrorReply,
    FrameReassembler,
    GetPanId,
    InitialSettings,
    J11Frame,
    Message,
    MessageReader,
    OperationMode,
    PanaResult,
    PanIdResponse,
    ReceptionFailure,
    ReceptionFailureReason,
    Request,
    ResultCode,
    ResultResponse,
    RouteBState,
    ScanResult,
    SetRouteBCredentials,
    Skipped,
    SkipReason,
    StartRouteBResponse,
    StatusResponse,
    TransmitData,
    TransmitOutcome,
    TransmitResponse,
    UniqueCode,
    VersionResponse,
    decode_message,
    decode_request,
    is_error_reply,
    link_local_address,
    pairing_id,
)

RBID = "00000A1B2C3D4E5F60718293A4B5C6D7"
PASSWORD = "J11TESTPW0RD"
MAC = bytes.fromhex("001234FFFE56789A")
METER = ipaddress.IPv6Address("FE80::0212:34FF:FE56:789A")
GET_E7 = bytes.fromhex("1081004205FF010288016201E700")
GET_RES_E7 = bytes.fromhex("1081004202880105FF017201E704000001F4")


def hexframe(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


REQUESTS: list[tuple[str, Request]] = [
    ("D0EA83FC 005F 0008 03A0 0014 05000F00", InitialSettings(channel=15)),
    (
        "D0EA83FC 0054 0030 03BD 0A61 "
        "3030303030413142324333443445354636303731383239334134423543364437 4A3131544553545057305244",
        SetRouteBCredentials(RBID, PASSWORD),
    ),
    (
        "D0EA83FC 0051 0012 039C 03DA 07 0003FFF0 01 4134423543364437",
        ActiveScan(7, 0x0003FFF0, pairing_id(RBID)),
    ),
    ("D0EA83FC 0006 0006 0345 0028 0E1A", CloseUdpPort(3610)),
    (
        "D0EA83FC 0008 0028 0369 0936 FE80000000000000021234FFFE56789A 0E1A 0E1A 000E "
        "1081004205FF010288016201E700",
        TransmitData(METER, 3610, 3610, GET_E7),
    ),
    ("D0EA83FC 005E 0004 039B 0000", GetPanId()),
]

MESSAGES: list[tuple[str, Message]] = [
    ("D0F9EE5D 4051 0006 03AB 000A 0109", ScanResult(9)),
    (
        "D0F9EE5D 4051 0012 03B7 04E8 00 0F 01 001234FFFE56789A 4B2D B5",
        ScanResult(15, [Beacon(MAC, 0x4B2D, -75)]),
    ),
    (
        "D0F9EE5D 2053 0011 0398 04E8 01 0F 4B2D 001234FFFE56789A B5",
        StartRouteBResponse(ResultCode.SUCCESS, 15, 0x4B2D, MAC, -75),
    ),
    ("D0F9EE5D 2053 0005 038C 000E 0E", StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED)),
    ("D0F9EE5D 2005 0005 033E 000A 0A", ResultResponse(0x2005, ResultCode.PORT_ALREADY_OPEN)),
    ("D0F9EE5D 6028 000D 03A9 03AC 01 001234FFFE56789A", PanaResult(0x01, MAC)),
    ("D0F9EE5D 2056 0005 038F 0052 52", ResultResponse(0x2056, ResultCode.PANA_ALREADY_RUNNING)),
    (
        "D0F9EE5D 2008 000B 0347 00DE 01 05 1081004205",
        TransmitResponse(ResultCode.SUCCESS, 0x05, bytes.fromhex("1081004205")),
    ),
    (
        "D0F9EE5D 6018 0031 03BD 0B72 FE80000000000000021234FFFE56789A 0E1A 0E1A 4B2D 00 02 B5 "
        "0012 1081004202880105FF017201E704000001F4",
        DataReceived(METER, 3610, 3610, 0x4B2D, 0x00, 0x02, -75, GET_RES_E7),
    ),
    (
        "D0F9EE5D 601A 000E 039C 0464 04 001234FFFE56789A B5",
        ConnectionStatusChanged(ConnectionEvent.PANA_DISCONNECTED, MAC, -75),
    ),
    (
        "D0F9EE5D 6038 001E 03CA 065B 01 FE80000000000000021234FFFE56789A 5A 00 0000 1081004202",
        ReceptionFailure(
            ReceptionFailureReason.DECRYPTION, METER, 0x5A, False, 0, bytes.fromhex("1081004202")
        ),
    ),
    (
        "D0F9EE5D 2001 0008 033D 0008 01 03 03 01",
        StatusResponse(ResultCode.SUCCESS, 0x03, RouteBState.AUTHENTICATED, 0x01),
    ),
    ("D0F9EE5D 205E 0007 0399 0079 01 4B2D", PanIdResponse(ResultCode.SUCCESS, 0x4B2D)),
    (
        "D0F9EE5D 206B 000D 03AC 004E 01 0400 01 02 00001234",
        VersionResponse(ResultCode.SUCCESS, 0x0400, 1, 2, 0x1234),
    ),
    ("D0F9EE5D 2FFF 0005 0447 00F0 F0", ErrorReply(0x2FFF, b"\xf0")),
]

ALL_FRAMES = [hexframe(text) for text, _ in REQUESTS + MESSAGES]


@pytest.mark.parametrize(("text", "request_"), REQUESTS)
def test_request_vectors(text: str, request_: Request) -> None:
    wire = hexframe(text)
    assert request_.encode() == wire
    frame = J11Frame.decode(wire)
    assert frame.unique_code is UniqueCode.REQUEST
    assert decode_request(frame) == request_


@pytest.mark.parametrize(("text", "message"), MESSAGES)
def test_message_vectors(text: str, message: Message) -> None:
    wire = hexframe(text)
    assert message.encode() == wire
    frame = J11Frame.decode(wire)
    assert decode_message(frame) == message


@pytest.mark.parametrize(("text", "message"), MESSAGES)
def test_message_vectors_whole_bytewise_and_split(text: str, message: Message) -> None:
    wire = hexframe(text)
    assert MessageReader().feed(wire) == [message]
    reader = MessageReader()
    out = [item for byte in wire for item in reader.feed(bytes([byte]))]
    assert out == [message]
    assert reader.reassembler.buffered == 0
    rng = random.Random(wire)
    for _ in range(50):
        cuts = sorted(rng.sample(range(1, len(wire)), k=min(3, len(wire) - 1)))
        reader = MessageReader()
        out = []
        for a, b in zip([0, *cuts], [*cuts, len(wire)], strict=True):
            out += reader.feed(wire[a:b])
        assert out == [message]


def test_every_vector_inside_garbage() -> None:
    rng = random.Random(11)
    stream = bytearray()
    expected = []
    for wire in ALL_FRAMES:
        garbage = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        stream += garbage + wire
        expected.append(wire)
    stream += b"\xd0\xf9"
    for unique in UniqueCode:
        reassembler = FrameReassembler(unique)
        frames = [item for item in reassembler.feed(bytes(stream)) if isinstance(item, J11Frame)]
        wanted = [w for w in expected if w[:4] == unique.marker]
        assert [f.encode() for f in frames] == wanted


def test_resynchronisation_case_of_the_note() -> None:
    reply = hexframe("D0F9EE5D 205E 0007 0399 0079 01 4B2D")
    stream = b"SKVER\r\n" + b"\xd0" + reply
    for chunks in ([stream], [bytes([b]) for b in stream]):
        reader = MessageReader()
        out = [item for chunk in chunks for item in reader.feed(chunk)]
        messages = [item for item in out if not isinstance(item, Skipped)]
        assert messages == [PanIdResponse(ResultCode.SUCCESS, 0x4B2D)]
        skipped = b"".join(item.data for item in out if isinstance(item, Skipped))
        assert skipped == b"SKVER\r\n\xd0"
        assert reader.reassembler.buffered == 0
        assert reader.reassembler.discarded_bytes == 8


def test_vector_semantics() -> None:
    assert link_local_address(MAC) == METER
    transmit = decode_message(J11Frame.decode(hexframe(MESSAGES[7][0])))
    assert isinstance(transmit, TransmitResponse)
    assert transmit.outcome == TransmitOutcome.NO_ACK
    assert not transmit.sent
    assert transmit.request_code == 0x0008
    route_b = decode_message(J11Frame.decode(hexframe(MESSAGES[3][0])))
    assert isinstance(route_b, StartRouteBResponse)
    assert not route_b.ok
    assert route_b.meaning == "MAC connection failed (no beacon)"
    error = decode_message(J11Frame.decode(hexframe(MESSAGES[-1][0])))
    assert is_error_reply(error)
    assert isinstance(error, ErrorReply)
    assert error.result == 0xF0
    assert InitialSettings(channel=15).mode == OperationMode.DUAL
    received = MESSAGES[8][1]
    assert isinstance(received, DataReceived)
    assert received.encrypted
    assert not received.multicast


def test_bad_data_checksum_is_skipped_then_next_frame_found() -> None:
    good = hexframe("D0F9EE5D 205E 0007 0399 0079 01 4B2D")
    corrupt = bytearray(good)
    corrupt[-1] ^= 0x01
    out = FrameReassembler().feed(bytes(corrupt) + good)
    assert [type(item) for item in out] == [Skipped, J11Frame]
    first = out[0]
    assert isinstance(first, Skipped)
    assert first.reason is SkipReason.BAD_DATA_CHECKSUM
    assert first.data == bytes(corrupt)
