"""Malformed frames give typed errors; requests refuse bad values; secrets stay out of reprs."""

from __future__ import annotations

import pytest

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11 import (
    ActiveScan,
    FrameReassembler,
    InitialSettings,
    J11Frame,
    MessageReader,
    OpenUdpPort,
    PanaKeyResponse,
    SetRouteBCredentials,
    Skipped,
    SkipReason,
    StartRouteBResponse,
    TransmitData,
    UniqueCode,
    decode_message,
    decode_request,
    header_checksum,
    mac_from_link_local,
    pairing_id,
)
from aiobroute.j11 import Malformed as MalformedItem

RBID = "00000a1b2c3d4e5f60718293a4b5c6d7"
PASSWORD = "J11TESTPW0RD"
PAN_ID_REPLY = bytes.fromhex("D0F9EE5D205E00070399007901 4B2D".replace(" ", ""))


@pytest.mark.parametrize(
    ("wire", "offset", "words"),
    [
        (PAN_ID_REPLY[:11], 0, "header alone"),
        (b"\xd0\xf9\xee\x5e" + PAN_ID_REPLY[4:], 0, "unknown unique code"),
        (PAN_ID_REPLY[:6] + b"\x00\x03" + PAN_ID_REPLY[8:], 6, "message length"),
        (PAN_ID_REPLY[:6] + b"\x05\x4a" + PAN_ID_REPLY[8:], 6, "message length"),
        (PAN_ID_REPLY[:8] + b"\x00\x00" + PAN_ID_REPLY[10:], 8, "header checksum"),
        (PAN_ID_REPLY[:-1], 14, "announces"),
        (PAN_ID_REPLY + b"\x00", 15, "announces"),
        (PAN_ID_REPLY[:-1] + b"\x2e", 10, "data checksum"),
    ],
)
def test_strict_decode_errors(wire: bytes, offset: int, words: str) -> None:
    with pytest.raises(J11FrameError) as info:
        J11Frame.decode(wire)
    assert info.value.offset == offset
    assert words in info.value.reason


def test_header_checksum_is_a_byte_sum_not_a_word_sum() -> None:
    # 0x0107 with length 4: the byte sum differs from a 16-bit word sum.
    assert header_checksum(UniqueCode.REQUEST, 0x0107, 4) == 0x0339 + 0x01 + 0x07 + 0x04


@pytest.mark.parametrize(
    ("command", "data"),
    [
        (0x2053, b"\x01\x0f\x4b"),  # success but fields cut short
        (0x2053, bytes.fromhex("010F4B2D001234FFFE56789AB5FF")),  # trailing byte
        (0x2001, b""),  # no result byte
        (0x6028, b"\x01\x00"),
        (0x6018, bytes(27)[:-2] + b"\x00\x05"),  # payload size beyond the data
        (0x4051, b"\x00\x0f\x02" + bytes(11)),  # two beacons announced, one present
        (0x4051, b"\x00\x0f\x15" + bytes(11 * 21)),  # more than 20 beacons
    ],
)
def test_messages_that_do_not_fit_their_code(command: int, data: bytes) -> None:
    frame = J11Frame(command, data)
    with pytest.raises(J11FrameError):
        decode_message(frame)
    out = MessageReader().feed(frame.encode())
    assert len(out) == 1
    assert isinstance(out[0], MalformedItem)
    assert out[0].frame == frame


def test_a_failed_response_tolerates_stray_bytes() -> None:
    message = decode_message(J11Frame(0x2053, b"\x0e\x00\x00"))
    assert message == StartRouteBResponse(0x0E)


@pytest.mark.parametrize(
    ("command", "data", "cause"),
    [
        (0x005F, b"\x05\x00\x0f", False),  # too short
        (0x005F, b"\x05\x00\x03\x00", True),  # channel 3
        (0x005F, b"\x04\x00\x0f\x00", True),  # mode 4
        (0x005F, b"\x05\x02\x0f\x00", True),  # sleep 2
        (0x0005, b"\x00\x00", True),  # port 0
        (0x0051, b"\x07\x00\x03\xff\xf0\x02" + bytes(8), True),  # flag 2
        (0x0051, b"\x07\x00\x03\xff\xf0\x01\x41", False),  # short pairing ID
        (0x0051, b"\x0f\x00\x03\xff\xf0\x00", True),  # duration 15
        (0x0054, b"Z" * 32 + b"A" * 12, True),
        (0x0008, bytes(16) + b"\x0e\x1a\x0e\x1a\x00\x00", True),  # empty payload
        (0x0008, bytes(16) + b"\x0e\x1a\x0e\x1a\x00\x05\x01", False),
    ],
)
def test_bad_requests_give_typed_errors(command: int, data: bytes, cause: bool) -> None:
    with pytest.raises(J11FrameError) as info:
        decode_request(J11Frame(command, data, UniqueCode.REQUEST))
    assert isinstance(info.value.__cause__, InvalidArgumentError) is cause


def test_request_validation() -> None:
    with pytest.raises(InvalidArgumentError):
        InitialSettings(channel=18)
    with pytest.raises(InvalidArgumentError):
        OpenUdpPort(70000)
    with pytest.raises(InvalidArgumentError):
        TransmitData("FE80::1", 3610, 3610, b"x" * 1233)
    with pytest.raises(InvalidArgumentError):
        TransmitData("not an address", 3610, 3610, b"x")
    with pytest.raises(InvalidArgumentError):
        ActiveScan(7, 0x0000000F)
    with pytest.raises(InvalidArgumentError):
        ActiveScan(7, pairing_id=b"short")
    with pytest.raises(InvalidArgumentError):
        SetRouteBCredentials(RBID[:-1], PASSWORD)
    with pytest.raises(InvalidArgumentError):
        SetRouteBCredentials(RBID, "short")
    with pytest.raises(InvalidArgumentError):
        J11Frame(0x10000)
    with pytest.raises(InvalidArgumentError):
        J11Frame(0x2008, bytes(1350))
    with pytest.raises(InvalidArgumentError):
        mac_from_link_local("FE81::1")
    assert SetRouteBCredentials(RBID, PASSWORD).route_b_id == RBID.upper()
    assert pairing_id(RBID) == b"A4B5C6D7"
    assert ActiveScan(6, 0x00008010).channels == (4, 15)


def test_secrets_never_show_in_reprs_or_errors() -> None:
    request = SetRouteBCredentials(RBID, PASSWORD)
    frame = request.to_frame()
    key = PanaKeyResponse(0x01, bytes(range(16)))
    for text in (repr(request), str(request), repr(frame), repr(key), repr(key.to_frame())):
        assert RBID.upper() not in text
        assert PASSWORD not in text
        assert PASSWORD.encode().hex() not in text.lower()
        assert "A4B5C6D7" not in text
        assert bytes(range(16)).hex() not in text
        assert "masked" in text or "****" in text
    bad = bytearray(request.encode())
    bad[9] ^= 1  # header checksum
    with pytest.raises(J11FrameError) as info:
        J11Frame.decode(bytes(bad))
    assert PASSWORD not in str(info.value)
    assert RBID.upper() not in str(info.value)


def test_discard_partial_restarts_the_hunt_inside_the_stalled_frame() -> None:
    good = J11Frame(0x205E, b"\x01\x4b\x2d").encode()
    # A header announcing a long frame, then a complete good frame inside its data.
    stalled = J11Frame(0x2008, bytes(200)).encode()[:12]
    reassembler = FrameReassembler()
    assert reassembler.feed(stalled + good) == []
    assert reassembler.buffered == len(stalled) + len(good)
    out = reassembler.discard_partial()
    assert isinstance(out[0], Skipped)
    assert out[0].reason is SkipReason.STALLED
    frames = [item for item in out if isinstance(item, J11Frame)]
    assert [f.encode() for f in frames] == [good]
    assert reassembler.buffered == 0
    assert reassembler.discard_partial() == []


def test_clear_forgets_a_partial_frame() -> None:
    reassembler = FrameReassembler()
    reassembler.feed(PAN_ID_REPLY[:9])
    assert reassembler.clear() == PAN_ID_REPLY[:9]
    assert reassembler.buffered == 0
    assert [type(i) for i in reassembler.feed(PAN_ID_REPLY)] == [J11Frame]


def test_accepted_results() -> None:
    from aiobroute.j11 import ResultResponse, is_accepted

    assert ResultResponse(0x2005, 0x0A).accepted
    assert not ResultResponse(0x2005, 0x0A).ok
    assert ResultResponse(0x2054, 0x58).accepted
    assert not ResultResponse(0x2056, 0x58).accepted
    assert not ResultResponse(0x2006, 0x0A).accepted
    assert is_accepted(0x0001, 0x01)
    assert not is_accepted(0x0053, 0x0E)


def test_partial_tells_when_a_frame_has_started() -> None:
    reassembler = FrameReassembler()
    reassembler.feed(b"noise\xd0\xf9")
    assert not reassembler.partial
    reassembler.feed(b"\xee\x5d\x20")
    started: bool = reassembler.partial  # read again: feed() changes it
    assert started
    reassembler.feed(PAN_ID_REPLY[5:])
    started = reassembler.partial
    assert not started
