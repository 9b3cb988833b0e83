"""LineParser framing and robustness: line ends, limits, blocks, malformed lines, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.errors import InvalidArgumentError
from aiobroute.skstack import (
    AddressLine,
    AddressTable,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    Fail,
    LineParser,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    PortTable,
    Unrecognized,
)
from aiobroute.skstack._parser import DEFAULT_MAX_LINE_LENGTH
from tests.skstack._chunks import feed_chunks, split_at

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
EVENT_LINE = f"EVENT 21 {ADDR} 00\r\n".encode()
EVENT_MSG = Event(num=0x21, sender=ADDR, param=0)


# --- line ends ---------------------------------------------------------------------------


def test_cr_only_ok_is_emitted_without_waiting() -> None:
    parser = LineParser()
    assert parser.feed(b"OK 01\r") == [Ok("01")]
    assert parser.buffered == 0
    assert parser.feed(b"\n") == []  # the LF of a CRLF split across reads is swallowed
    assert parser.feed(b"OK\r\n") == [Ok()]


def test_only_one_lf_is_swallowed_after_cr() -> None:
    parser = LineParser()
    assert parser.feed(b"OK\r") == [Ok()]
    # the second LF ends an empty line, which is dropped; the EVENT still parses
    assert parser.feed(b"\n\n" + EVENT_LINE) == [EVENT_MSG]


@pytest.mark.parametrize(
    "stream",
    [
        b"OK\rOK 00\r" + EVENT_LINE,  # lone CRs
        b"OK\nOK 00\n" + EVENT_LINE,  # lone LFs
        b"OK\r\nOK 00\r\n" + EVENT_LINE,  # CRLF
        b"OK\r\r\nOK 00\n\r" + EVENT_LINE,  # odd mixes make empty lines, which are dropped
        b"\r\n\r\nOK\r\n\n\rOK 00\r\n\r\n" + EVENT_LINE,
    ],
)
def test_any_line_end(stream: bytes) -> None:
    want = [Ok(), Ok("00"), EVENT_MSG]
    assert feed_chunks([stream]) == want
    assert feed_chunks([bytes([b]) for b in stream]) == want


def test_cr_only_flag_is_documented_as_false() -> None:
    (msg,) = feed_chunks([b"OK 01\r"])
    assert msg == Ok("01", cr_only=False)


def test_sksendto_echo_runs_to_crlf() -> None:
    echo = f"SKSENDTO 1 {ADDR} 0E1A 1 0003 a\rb".encode()
    out = feed_chunks([echo + b"\r\n" + EVENT_LINE])
    assert out == [Echo(echo.decode()), EVENT_MSG]


def test_partial_line_is_buffered() -> None:
    parser = LineParser()
    assert parser.feed(b"EVENT 21 FE80") == []
    assert parser.buffered == len(b"EVENT 21 FE80")
    assert parser.feed(EVENT_LINE[len(b"EVENT 21 FE80") :]) == [EVENT_MSG]
    assert parser.buffered == 0
    assert parser.feed(b"") == []


def test_accepts_bytearray_and_memoryview() -> None:
    parser = LineParser()
    assert parser.feed(bytearray(b"OK\r\n")) == [Ok()]
    assert parser.feed(memoryview(b"OK\r\n")) == [Ok()]


# --- line length limit -------------------------------------------------------------------


def test_default_limit_is_8_kib() -> None:
    assert LineParser().max_line_length == DEFAULT_MAX_LINE_LENGTH == 8192


def test_too_small_limit_is_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        LineParser(max_line_length=100)


@pytest.mark.parametrize("limit", [256, 1000, 8192])
def test_line_just_under_the_limit_is_parsed(limit: int) -> None:
    line = b"SK" + b"X" * (limit - 3)
    assert len(line) == limit - 1
    assert feed_chunks([line + b"\r\n"], LineParser(limit)) == [Echo(line.decode())]


@pytest.mark.parametrize("limit", [256, 8192])
@pytest.mark.parametrize("chunk", [1, 100, 5000, 100_000])
def test_over_long_line_is_cut_reported_and_discarded(limit: int, chunk: int) -> None:
    line = b"SK" + b"X\r" * 2 + b"Y" * (limit + 500)
    stream = line.replace(b"\r", b"Z") + b"\r\n" + EVENT_LINE
    parser = LineParser(limit)
    out: list[Message] = []
    for i in range(0, len(stream), chunk):
        out += parser.feed(stream[i : i + chunk])
        assert parser.buffered < limit
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert "too long" in out[0].reason
    assert out[0].raw == stream[:limit]
    assert out[1] == EVENT_MSG


def test_line_of_exactly_the_limit_is_too_long_in_any_chunking() -> None:
    line = b"SK" + b"X" * 254
    stream = line + b"\r\n" + EVENT_LINE
    for chunks in ([stream], [line, b"\r\n" + EVENT_LINE], [bytes([b]) for b in stream]):
        out = feed_chunks(chunks, LineParser(256))
        assert out == [Unrecognized(line, "line too long"), EVENT_MSG]


def test_over_long_sksendto_echo_is_discarded_up_to_crlf() -> None:
    echo = b"SKSENDTO 1 " + b"\r" * 300 + b"\r\n"
    for chunks in ([echo + EVENT_LINE], [bytes([b]) for b in echo + EVENT_LINE]):
        out = feed_chunks(chunks, LineParser(256))
        assert len(out) == 2
        assert isinstance(out[0], Unrecognized)
        assert "too long" in out[0].reason
        assert out[1] == EVENT_MSG


def test_endless_garbage_keeps_memory_bounded() -> None:
    parser = LineParser(1024)
    blob = bytes(range(256)).replace(b"\r", b"").replace(b"\n", b"") * 4
    reports: list[Message] = []
    for _ in range(400):
        reports += parser.feed(blob)
        assert parser.buffered < 1024
    # One report for the cut; the rest of the endless line is discarded silently.
    assert reports == [Unrecognized((blob + blob)[:1024], "line too long")]
    assert parser.feed(b"\r\n" + EVENT_LINE) == [EVENT_MSG]


# --- malformed lines ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"HELLO", "unknown line"),
        (b"\xff\xfeOK", "not ASCII"),
        (b"EVENT", "EVENT number"),
        (b"EVENT 2X " + ADDR.encode(), "EVENT number"),
        (b"EVENT 21", "sender"),
        (b"EVENT 21 FE80::1 00", "sender"),
        (f"EVENT 21 {ADDR} 000".encode(), "SIDE/PARAM"),
        (f"EVENT 21 {ADDR} 00 0".encode(), "SIDE/PARAM"),
        (f"EVENT 21 {ADDR} 0 00 1".encode(), "too many"),
        (b"FAIL", "malformed FAIL"),
        (b"FAIL XX10", "malformed FAIL"),
        (b"EINFO a b c", "5 fields"),
        (f"EINFO {ADDR} 001D129012345678 2Z FFFF FFFE".encode(), "malformed EINFO"),
        (b"ESREG", "malformed ESREG"),
        (b"ESREG 1 2", "ESREG"),
        (b"EVER ", "EVER"),
        (b"EAPPVER ", "EAPPVER"),
        (b"EPONG FE80::1", "EPONG"),
        (b"FE80:0000:0000:0000:021D:1290:1234:567", "unknown line"),
    ],
)
def test_malformed_line_is_unrecognized(line: bytes, reason: str) -> None:
    out = feed_chunks([line + b"\r\n" + EVENT_LINE])
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[0].raw == line
    assert reason in out[0].reason
    assert out[1] == EVENT_MSG


def test_unknown_fail_code_is_still_a_status_line() -> None:
    # A client waiting for a status line must see FAIL ER11 as a failure, not time out.
    (fail,) = feed_chunks([b"FAIL ER11 busy\r\n"])
    assert isinstance(fail, Fail)
    assert fail.code == 11
    assert fail.error is None
    assert fail.text == "busy"
    (known,) = feed_chunks([b"FAIL ER05\r\n"])
    assert isinstance(known, Fail)
    assert known.error is ErrorCode.ER05
    assert known.meaning == "wrong number of arguments"


def test_ipaddr_line_is_an_address_line() -> None:
    assert feed_chunks([ADDR.encode() + b"\r\n"]) == [AddressLine(ADDR)]


# --- blocks ------------------------------------------------------------------------------

PANDESC_HEAD = b"EPANDESC\r\n  Channel:21\r\n  Channel Page:09\r\n  Pan ID:8888\r\n"


def test_incomplete_pandesc_is_unrecognized() -> None:
    out = feed_chunks([PANDESC_HEAD + EVENT_LINE])
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert "addr" in out[0].reason
    assert out[0].raw == PANDESC_HEAD.rstrip(b"\r\n")
    assert out[1] == EVENT_MSG


def test_pandesc_with_bad_value_is_unrecognized() -> None:
    block = PANDESC_HEAD + b"  Addr:12345678ABCDEF01\r\n  LQI:XY\r\n  PairID:AABBCCDD\r\n"
    (msg,) = feed_chunks([block])
    assert isinstance(msg, Unrecognized)
    assert "malformed EPANDESC" in msg.reason


def test_pandesc_ignores_unknown_keys_and_is_emitted_at_pairid() -> None:
    parser = LineParser()
    block = PANDESC_HEAD + b"  Addr:12345678ABCDEF01\r\n  LQI:E1\r\n  Relay:0\r\n"
    assert parser.feed(block) == []
    out = parser.feed(b"  PairID:AABBCCDD\r\n")
    assert out == [
        PanDescriptor(
            channel=0x21,
            channel_page=9,
            pan_id=0x8888,
            addr="12345678ABCDEF01",
            lqi=0xE1,
            pair_id="AABBCCDD",
        )
    ]


def test_pandesc_block_is_capped() -> None:
    out = feed_chunks([b"EPANDESC\r\n" + b"  Noise:1\r\n" * 300 + EVENT_LINE])
    assert isinstance(out[0], Unrecognized)
    assert "too long" in out[0].reason
    assert out[-1] == EVENT_MSG


def test_eedscan_without_data_line() -> None:
    out = feed_chunks([b"EEDSCAN\r\n" + EVENT_LINE])
    assert out == [Unrecognized(b"EEDSCAN", "EEDSCAN without its data line"), EVENT_MSG]
    out = feed_chunks([b"EEDSCAN\r\n21 04 22\r\n"])
    assert out[0] == Unrecognized(b"EEDSCAN", "EEDSCAN without its data line")
    assert isinstance(out[1], Unrecognized)


def test_eedscan_extra_empty_line_is_tolerated() -> None:
    out = feed_chunks([b"EEDSCAN\r\n21 04 3C 02\r\n\r\nOK\r\n"])
    assert out == [EdScan(((0x21, 4), (0x3C, 2))), Ok()]


def test_tables_pass_events_through() -> None:
    other = "FE80:0000:0000:0000:021D:1290:1234:5679"
    stream = f"EADDR\r\n{ADDR}\r\n".encode() + EVENT_LINE + f"{other}\r\nOK\r\n".encode()
    assert feed_chunks([stream]) == [EVENT_MSG, AddressTable((ADDR, other)), Ok()]


def test_table_interrupted_by_another_line_is_emitted_as_is() -> None:
    stream = f"ENEIGHBOR\r\n{ADDR} 001D129012345678 FFFF\r\nFAIL ER10\r\n".encode()
    out = feed_chunks([stream])
    assert out[0] == NeighborTable(((ADDR, "001D129012345678", "FFFF"),))
    assert len(out) == 2


def test_eport_table_header_then_ok() -> None:
    assert feed_chunks([b"EPORT\r\nOK\r\n"]) == [PortTable(udp_ports=()), Ok()]


def test_table_is_capped() -> None:
    stream = b"EADDR\r\n" + (ADDR.encode() + b"\r\n") * 300 + b"OK\r\n"
    out = feed_chunks([stream])
    assert isinstance(out[0], Unrecognized)
    assert "too long" in out[0].reason
    assert out[-1] == Ok()


# --- fuzzing -----------------------------------------------------------------------------

FRAGMENTS = [
    b"\r",
    b"\n",
    b"\r\n",
    b" ",
    b"  ",
    b"OK",
    b"FAIL ER10",
    b"EVENT 21 ",
    b"EVENT C0",
    ADDR.encode(),
    b" 0",
    b" 00",
    b"ERXUDP ",
    f"ERXUDP {ADDR} {ADDR} 0E1A 0E1A 001D129012345678 1 ".encode(),
    b"0005 ",
    b"0002 ",
    b"0000 ",
    b"1081",
    b"EPANDESC\r\n",
    b"  Channel:21",
    b"  LQI:E1",
    b"  PairID:AABBCCDD",
    b"  Addr:12345678ABCDEF01",
    b"EEDSCAN\r\n",
    b"21 04",
    b"EPORT\r\n",
    b"EADDR\r\n",
    b"ENEIGHBOR\r\n",
    b"3610",
    b"SKSENDTO 1 ",
    b"SK",
    b"ROPT\r",
    b"X" * 120,
]
token_soup = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)), max_size=40
).map(b"".join)


@given(data=st.binary(max_size=600), cuts=st.lists(st.integers(0, 600), max_size=10))
def test_arbitrary_bytes_never_raise_and_stay_bounded(data: bytes, cuts: list[int]) -> None:
    parser = LineParser(256)
    for chunk in split_at(data, cuts):
        for msg in parser.feed(chunk):
            assert isinstance(msg, Message)
            if isinstance(msg, Unrecognized):
                assert msg.reason != "internal parser error"
                assert len(msg.raw) <= 256 * 2
        assert parser.buffered < 256


@given(data=token_soup, cuts=st.lists(st.integers(0, 2000), max_size=10))
def test_chunking_never_changes_the_result(data: bytes, cuts: list[int]) -> None:
    """Protocol-like noise parses to the same messages whole or split anywhere."""
    whole = feed_chunks([data], LineParser(256))
    split = feed_chunks(split_at(data, cuts), LineParser(256))
    assert split == whole
    for msg in whole:
        assert not (isinstance(msg, Unrecognized) and msg.reason == "internal parser error")
