"""ERXUDP framing: every field layout, binary and hex payloads, malformed lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.skstack import Event, LineParser, Ok, RxUdp, Unrecognized
from tests.skstack._chunks import feed_chunks, split_at

SENDER = "FE80:0000:0000:0000:1034:5678:ABCD:EF01"
DEST = "FE80:0000:0000:0000:021D:1290:1234:5678"
LLA = "12345678ABCDEF01"
EVENT_LINE = f"EVENT 21 {SENDER} 00\r\n".encode()
EVENT_MSG = Event(num=0x21, sender=SENDER, param=0)

# Fields between the LLA and DATALEN for each layout of spec 3.2, with what they mean.
LAYOUTS: dict[str, tuple[str, dict[str, object]]] = {
    "8 fields (2015 BP35A1)": ("", {"secured": None}),
    "9 fields (BP35A1)": ("1 ", {"secured": True}),
    "10 fields (BP35C2)": ("0 0 ", {"secured": False, "side": 0}),
    "10 fields (Skyley HAN)": ("C8 1 ", {"secured": True, "rssi": 0xC8}),
    "11 fields (BP35C2, SA2=1)": ("3A 1 1 ", {"secured": True, "side": 1, "rssi": 0x3A}),
}


def erxudp(payload: bytes, layout: str, *, hex_payload: bool, lport: str = "0E1A") -> bytes:
    middle = LAYOUTS[layout][0]
    body = payload.hex().upper().encode() if hex_payload else payload
    head = f"ERXUDP {SENDER} {DEST} 0E1A {lport} {LLA} {middle}{len(payload):04X} "
    return head.encode() + body + b"\r\n"


def expected(payload: bytes, layout: str, *, hex_payload: bool, lport: int = 0x0E1A) -> RxUdp:
    fields = LAYOUTS[layout][1]
    return RxUdp(
        sender=SENDER,
        dest=DEST,
        rport=0x0E1A,
        lport=lport,
        sender_lla=LLA,
        data=payload,
        # An empty payload looks the same in both modes; the parser calls it binary.
        hex_payload=hex_payload and bool(payload),
        **fields,  # type: ignore[arg-type]
    )


NASTY = [b"\r\n", b"\r", b"\n", b" ", b"ERXUDP ", b"OK\r\n", b"EVENT 21 ", b"\r\n\r\n", b"  "]
payloads = st.lists(
    st.one_of(st.binary(min_size=1, max_size=12), st.sampled_from(NASTY)), max_size=10
).map(b"".join)
layouts = st.sampled_from(sorted(LAYOUTS))
cut_lists = st.lists(st.integers(min_value=0, max_value=600), max_size=8)


@given(payload=payloads, layout=layouts, hex_mode=st.booleans(), cuts=cut_lists)
def test_erxudp_between_lines(payload: bytes, layout: str, hex_mode: bool, cuts: list[int]) -> None:
    """Raw binary payloads may hold anything (CR, LF, 'ERXUDP', 'OK\\r\\n'); hex ones too."""
    stream = EVENT_LINE + erxudp(payload, layout, hex_payload=hex_mode) + b"OK\r\n"
    out = feed_chunks(split_at(stream, cuts))
    assert out == [EVENT_MSG, expected(payload, layout, hex_payload=hex_mode), Ok()]


@given(
    items=st.lists(st.tuples(payloads, layouts, st.booleans()), min_size=1, max_size=3),
    cuts=cut_lists,
)
def test_back_to_back_mixed_modes(items: list[tuple[bytes, str, bool]], cuts: list[int]) -> None:
    stream = b"".join(erxudp(p, lay, hex_payload=h) for p, lay, h in items)
    out = feed_chunks(split_at(stream, cuts))
    assert out == [expected(p, lay, hex_payload=h) for p, lay, h in items]


@pytest.mark.parametrize(
    "payload",
    [
        b"\r\n",
        b"\r",
        b"\n",
        b"ERXUDP " + SENDER.encode(),
        b"OK\r\n",
        b"1081",  # raw bytes that happen to be hex digits
        b"ab\r",  # ends with CR, then the real CRLF
        b"\r\nERXUDP FE80 0E1A 0001 \r\n",
        erxudp(b"\x10\x81", "9 fields (BP35A1)", hex_payload=False),  # a whole line as data
        bytes(range(256)),
    ],
)
def test_binary_payload_examples(payload: bytes) -> None:
    layout = "10 fields (BP35C2)"
    stream = erxudp(payload, layout, hex_payload=False) + EVENT_LINE
    want = [expected(payload, layout, hex_payload=False), EVENT_MSG]
    assert feed_chunks([stream]) == want
    assert feed_chunks([stream[i : i + 1] for i in range(len(stream))]) == want


def test_lower_case_hex_payload_is_accepted() -> None:
    line = f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 0002 10ab\r\n".encode()
    (msg,) = feed_chunks([line])
    assert isinstance(msg, RxUdp)
    assert msg.data == b"\x10\xab"
    assert msg.hex_payload


def test_pana_port_and_datalen_zero() -> None:
    stream = (
        f"ERXUDP {SENDER} {DEST} 02CC 02CC {LLA} 0 0000 \r\n".encode()
        + f"ERXUDP {SENDER} {DEST} 02CC 02CC {LLA} 0 0000\r\n".encode()
    )
    out = feed_chunks([stream])
    assert len(out) == 2
    for msg in out:
        assert isinstance(msg, RxUdp)
        assert msg.data == b""
        assert msg.lport == 0x2CC


def test_cr_only_end_of_erxudp_then_lf_in_next_chunk() -> None:
    parser = LineParser()
    line = erxudp(b"\x01\x02", "9 fields (BP35A1)", hex_payload=False)
    out = parser.feed(line[:-1])  # everything up to and including the CR
    assert out == [expected(b"\x01\x02", "9 fields (BP35A1)", hex_payload=False)]
    assert parser.buffered == 0
    assert parser.feed(b"\nOK\r\n") == [Ok()]


def test_incomplete_payload_waits() -> None:
    parser = LineParser()
    line = erxudp(b"\r\n" * 10, "9 fields (BP35A1)", hex_payload=False)
    assert parser.feed(line[:-12]) == []
    assert parser.buffered == len(line) - 12
    assert parser.feed(line[-12:]) == [
        expected(b"\r\n" * 10, "9 fields (BP35A1)", hex_payload=False)
    ]
    assert parser.buffered == 0


HEADER = f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 "


@pytest.mark.parametrize(
    ("stream", "raw", "reason"),
    [
        (b"ERXUDP garbage\r\n", b"ERXUDP garbage", "malformed ERXUDP header"),
        (
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 0 0 0 0 0012 00\r\n".encode(),
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 0 0 0 0 0012 00".encode(),
            "malformed ERXUDP header",
        ),
        (
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 2 0001 A\r\n".encode(),
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 2 0001 A".encode(),
            "SECURED",
        ),
        (
            f"ERXUDP FE80::1 {DEST} 0E1A 0E1A {LLA} 1 0001 A\r\n".encode(),
            f"ERXUDP FE80::1 {DEST} 0E1A 0E1A {LLA} 1 0001 A".encode(),
            "address or port",
        ),
        (
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 0001 ZZ\r\n".encode(),
            f"ERXUDP {SENDER} {DEST} 0E1A 0E1A {LLA} 1 0001 ZZ".encode(),
            "neither",
        ),
        # Hex line cut short: the next line must survive.
        (
            (HEADER + "0012 1081\r\n").encode(),
            (HEADER + "0012 ").encode(),
            "neither",
        ),
        # Neither 2 raw bytes nor 4 hex digits are followed by the line end.
        ((HEADER + "0002 ABCDEF\r\n").encode(), (HEADER + "0002 ").encode(), "neither"),
        ((HEADER + "1000 AB\r\n").encode(), (HEADER + "1000 ").encode(), "too long"),
    ],
)
def test_malformed_erxudp_is_reported_and_skipped(stream: bytes, raw: bytes, reason: str) -> None:
    tail = EVENT_LINE + b"OK\r\n"
    for chunks in ([stream + tail], [bytes([b]) for b in stream + tail]):
        parser = LineParser(max_line_length=1024)
        out = feed_chunks(chunks, parser)
        assert len(out) == 3, out
        assert isinstance(out[0], Unrecognized)
        assert out[0].raw == raw
        assert reason in out[0].reason
        assert out[1:] == [EVENT_MSG, Ok()]


def test_header_without_line_end_is_cut_at_the_window() -> None:
    parser = LineParser()
    out = parser.feed(b"ERXUDP " + b"A" * 500)
    assert len(out) == 1
    assert isinstance(out[0], Unrecognized)
    assert parser.buffered == 0
    assert parser.feed(b"BBB\r\nOK\r\n") == [Ok()]


def test_erxudp_passes_through_a_table_and_ends_an_open_pandesc() -> None:
    rx = erxudp(b"\x00\r\n", "9 fields (BP35A1)", hex_payload=False)
    rx_msg = expected(b"\x00\r\n", "9 fields (BP35A1)", hex_payload=False)
    table = b"EPORT\r\n3610\r\n716\r\n" + rx + b"0\r\n0\r\n0\r\n0\r\nOK\r\n"
    out = feed_chunks([table])
    assert out[0] == rx_msg
    assert out[2:] == [Ok()]
    pandesc = b"EPANDESC\r\n  Channel:21\r\n  Channel Page:09\r\n  Pan ID:8888\r\n"
    pandesc += b"  Addr:12345678ABCDEF01\r\n  LQI:E1\r\n"
    out = feed_chunks([pandesc + rx])
    assert len(out) == 2
    assert out[1] == rx_msg
