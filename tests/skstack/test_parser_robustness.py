"""LineParser robustness: extra spaces, leading noise bytes, mis-framed ERXUDP payloads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.skstack import (
    AddressLine,
    AddressTable,
    AppVersion,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    Fail,
    Info,
    LineParser,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    Pong,
    PortTable,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)
from tests.skstack._chunks import feed_chunks, split_at

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
METER = "FE80:0000:0000:0000:1034:5678:ABCD:EF01"
LLA = "12345678ABCDEF01"
CRLF = b"\r\n"
EVENT_LINE = f"EVENT 21 {ADDR} 00\r\n".encode()
EVENT_MSG = Event(num=0x21, sender=ADDR, param=0)
# A line no payload below contains, to check that the parser is in step afterwards.
SENTINEL = b"EVER SENTINEL\r\n"
SENTINEL_MSG = Version("SENTINEL")
RX_HEADER = f"ERXUDP {METER} {ADDR} 0E1A 0E1A {LLA} 1 0 "


def feed_both_ways(stream: bytes) -> list[Message]:
    """Feed ``stream`` whole and byte by byte; both must give the same messages."""
    whole = feed_chunks([stream])
    single = feed_chunks([stream[i : i + 1] for i in range(len(stream))])
    assert whole == single
    return whole


def rx_line(payload: bytes, *, datalen: int | None = None, hex_payload: bool = False) -> bytes:
    """An ERXUDP line (BP35C2 layout) with ``payload``; ``datalen`` may lie about its size."""
    size = len(payload) if datalen is None else datalen
    body = payload.hex().upper().encode() if hex_payload else payload
    return f"{RX_HEADER}{size:04X} ".encode() + body + CRLF


def rx_msg(payload: bytes, *, hex_payload: bool = False) -> RxUdp:
    return RxUdp(
        sender=METER,
        dest=ADDR,
        rport=0x0E1A,
        lport=0x0E1A,
        sender_lla=LLA,
        secured=True,
        side=0,
        data=payload,
        hex_payload=hex_payload,
    )


# --- 1a. extra spaces in token lines ----------------------------------------------------------

PANDESC_MSG = PanDescriptor(
    channel=0x21, channel_page=9, pan_id=0x8888, addr=LLA, lqi=0xE1, side=0, pair_id="AABBCCDD"
)

SPACED: list[tuple[str, bytes, Message]] = [
    ("EVENT trailing space", f"EVENT 25 {ADDR} ".encode(), Event(num=0x25, sender=ADDR)),
    (
        "EVENT doubled space",
        f"EVENT 21  {ADDR} 00".encode(),
        Event(num=0x21, sender=ADDR, param=0),
    ),
    (
        "EVENT C2 spaces everywhere",
        f"EVENT  21 {ADDR}  0   02  ".encode(),
        Event(num=0x21, sender=ADDR, side=0, param=2),
    ),
    ("EVENT C0 trailing space", b"EVENT C0 ", Event(num=0xC0, sender=None)),
    ("EVENT leading space", f" EVENT 29 {ADDR}".encode(), Event(num=0x29, sender=ADDR)),
    ("OK trailing space", b"OK ", Ok()),
    ("OK trailing spaces", b"OK   ", Ok()),
    ("OK value, doubled space", b"OK  01", Ok("01")),
    ("OK value, trailing space", b"OK 01 ", Ok("01")),
    ("FAIL doubled space", b"FAIL  ER04", Fail(ErrorCode.ER04)),
    ("FAIL trailing space", b"FAIL ER10 ", Fail(ErrorCode.ER10)),
    ("FAIL text, doubled space", b"FAIL ER10  busy ", Fail(ErrorCode.ER10, "busy")),
    ("EVER trailing space", b"EVER 1.2.10 ", Version("1.2.10")),
    ("EVER doubled space", b"EVER  1.5.2", Version("1.5.2")),
    ("EAPPVER trailing space", b"EAPPVER rev26e ", AppVersion("rev26e")),
    ("ESREG trailing space", b"ESREG 21 ", RegisterValue("21")),
    ("EPONG trailing space", f"EPONG {ADDR} ".encode(), Pong(ADDR)),
    (
        "EINFO doubled spaces",
        f"EINFO  {ADDR}  001D129012345678 21  FFFF FFFE ".encode(),
        Info(ipaddr=ADDR, addr64="001D129012345678", channel=0x21, pan_id=0xFFFF, field5="FFFE"),
    ),
    ("SKLL64 answer, trailing space", f"{ADDR} ".encode(), AddressLine(ADDR)),
]


@pytest.mark.parametrize(("name", "line", "expected"), SPACED, ids=[s[0] for s in SPACED])
def test_extra_spaces_are_tolerated(name: str, line: bytes, expected: Message) -> None:
    assert feed_both_ways(line + CRLF + EVENT_LINE) == [expected, EVENT_MSG]


@pytest.mark.parametrize("ending", [b"\r\n", b"\r", b"\n"])
def test_extra_spaces_with_every_line_end(ending: bytes) -> None:
    stream = b"OK  01 " + ending + b"EVER 1.2.10 " + ending
    assert feed_both_ways(stream) == [Ok("01"), Version("1.2.10")]


def test_blocks_tolerate_extra_spaces() -> None:
    stream = (
        b"EPORT \r\n3610 \r\n 716\r\n0  \r\n0\r\n0\r\n0\r\nOK \r\n"
        + f"EADDR\r\n{ADDR} \r\nOK\r\n".encode()
        + f"ENEIGHBOR\r\n{METER}  {LLA} FFFF \r\nOK\r\n".encode()
        + b"EPANDESC \r\n  Channel:21 \r\n  Channel  Page:09\r\n  Pan ID: 8888\r\n"
        + f"  Addr:{LLA}\r\n  LQI:E1  \r\n  Side:0\r\n   PairID:AABBCCDD \r\n".encode()
        + f"EVENT 1F {ADDR} \r\nEEDSCAN \r\n21 04  22 1A \r\n".encode()
    )
    assert feed_both_ways(stream + EVENT_LINE) == [
        PortTable(udp_ports=(3610, 716, 0, 0, 0, 0)),
        Ok(),
        AddressTable((ADDR,)),
        Ok(),
        NeighborTable(((METER, LLA, "FFFF"),)),
        Ok(),
        PANDESC_MSG,
        Event(num=0x1F, sender=ADDR),
        EdScan(((0x21, 0x04), (0x22, 0x1A))),
        EVENT_MSG,
    ]


def test_echoes_keep_their_spaces() -> None:
    """An echo is the command as the module saw it: spaces are part of it."""
    sksendto = f"SKSENDTO 1 {METER} 0E1A 1 0 0002 ".encode()
    stream = b"SKSREG  SFE 0 \r\n" + sksendto + b"\r\n\r\n" + b"ROPT \rOK 01 \r"
    assert feed_both_ways(stream) == [
        Echo("SKSREG  SFE 0 "),
        Echo(sksendto.decode()),
        Echo("ROPT "),
        Ok("01"),
    ]


def test_lines_of_spaces_are_empty_lines() -> None:
    assert feed_both_ways(b"   \r\n \r\n" + EVENT_LINE) == [EVENT_MSG]
    # An EEDSCAN data line of spaces is no data line.
    out = feed_both_ways(b"EEDSCAN\r\n  \r\n" + EVENT_LINE)
    assert out == [Unrecognized(b"EEDSCAN", "EEDSCAN without its data line"), EVENT_MSG]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"~ x ", "unknown line"),
        (b"HELLO  WORLD", "unknown line"),
        (b"EVENT  2X " + ADDR.encode() + b" ", "EVENT number"),
        (f"EVENT 21 {ADDR}  000 ".encode(), "SIDE/PARAM"),
        (b"FAIL  XX10 ", "malformed FAIL"),
        (b"ESREG 1  2", "ESREG"),
        (b"EVER  ", "EVER"),
        (b"EPONG  FE80::1 ", "EPONG"),
        (b"EINFO a  b c ", "5 fields"),
    ],
)
def test_spaced_garbage_is_unrecognized_as_received(line: bytes, reason: str) -> None:
    out = feed_both_ways(line + CRLF + EVENT_LINE)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[0].raw == line
    assert reason in out[0].reason
    assert out[1] == EVENT_MSG


@pytest.mark.parametrize(
    "payload",
    [b"  ", b" OK ", b"\x10\x81  \r\n OK \r\n", b"EVENT 25  " + METER.encode() + b" \r\n"],
)
def test_spaces_inside_erxudp_payloads_are_data(payload: bytes) -> None:
    for hex_payload in (False, True):
        stream = rx_line(payload, hex_payload=hex_payload) + SENTINEL
        assert feed_both_ways(stream) == [rx_msg(payload, hex_payload=hex_payload), SENTINEL_MSG]


# --- 1b. leading noise bytes ----------------------------------------------------------------

NOISE = sorted({*range(0x20), 0xFF} - {0x0D, 0x0A})
noise_prefixes = st.lists(st.sampled_from(NOISE), max_size=4).map(bytes)

# (line, messages): complete lines (or blocks) a module prints, each starting a line.
PANA_PAYLOAD = b"\x00\x00\x00\x10\r\nOK\r\n" + bytes(range(0x20))
LINES: list[tuple[bytes, list[Message]]] = [
    (b"OK\r\n", [Ok()]),
    (b"OK 01\r", [Ok("01")]),
    (b"FAIL ER04\r\n", [Fail(ErrorCode.ER04)]),
    (b"EVER 1.2.10\r\n", [Version("1.2.10")]),
    (f"EVENT 25 {METER}\r\n".encode(), [Event(num=0x25, sender=METER)]),
    (f"EVENT 21 {METER} 0 00\r\n".encode(), [Event(num=0x21, sender=METER, side=0, param=0)]),
    (rx_line(PANA_PAYLOAD), [rx_msg(PANA_PAYLOAD)]),
    (
        rx_line(b"\x10\x81\x00\x01", hex_payload=True),
        [rx_msg(b"\x10\x81\x00\x01", hex_payload=True)],
    ),
    (
        f"SKSENDTO 1 {METER} 0E1A 1 0 0004 ".encode() + b"\r\n\r\n",
        [Echo(f"SKSENDTO 1 {METER} 0E1A 1 0 0004 ")],
    ),
    (b"SKVER\r\n", [Echo("SKVER")]),
    (
        b"EPORT\r\n3610\r\n716\r\n0\r\n0\r\n0\r\n0\r\nOK\r\n",
        [PortTable((3610, 716, 0, 0, 0, 0)), Ok()],
    ),
    (
        b"EPANDESC\r\n  Channel:21\r\n  Channel Page:09\r\n  Pan ID:8888\r\n"
        + f"  Addr:{LLA}\r\n  LQI:E1\r\n  Side:0\r\n  PairID:AABBCCDD\r\n".encode(),
        [PANDESC_MSG],
    ),
]

LINE_IDS = [type(msgs[0]).__name__ + str(i) for i, (_, msgs) in enumerate(LINES)]


@pytest.mark.parametrize(
    "noise",
    [b"\x00", b"\xff", b"\x00\xff\x00", b"\x1b\x07\t", bytes(NOISE)],
    ids=["NUL", "FF", "NUL-FF-NUL", "ESC-BEL-TAB", "all"],
)
@pytest.mark.parametrize(("line", "expected"), LINES, ids=LINE_IDS)
def test_leading_noise_is_ignored(noise: bytes, line: bytes, expected: list[Message]) -> None:
    assert feed_both_ways(noise + line + SENTINEL) == [*expected, SENTINEL_MSG]


def test_noise_after_skreset() -> None:
    """What a module may print around a reset: NULs and 0xFF before and between lines."""
    stream = b"SKRESET\r\n\x00\x00OK\r\n\xff\r\n\x00\xffEVER 1.2.10\r\n" + EVENT_LINE
    assert feed_both_ways(stream) == [Echo("SKRESET"), Ok(), Version("1.2.10"), EVENT_MSG]


def test_noise_only_lines_are_empty_lines() -> None:
    stream = b"\x00\r\n\xff\xff\n\x00\x01 \r\n" + EVENT_LINE
    assert feed_both_ways(stream) == [EVENT_MSG]
    table = b"EPORT\r\n\x00\r\n3610\r\n\xff3610\r\n0\r\n0\r\n0\r\n0\r\nOK\r\n"
    assert feed_both_ways(table) == [PortTable((3610, 3610, 0, 0, 0, 0)), Ok()]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"\x00HELLO", "unknown line"),
        (b"\xff\xfeOK", "not ASCII"),
        (b"\x00\x80OK", "not ASCII"),
        (b"\x7fOK", "unknown line"),  # DEL is not one of the noise bytes
        (b"\x00EVENT 2X", "EVENT number"),
        (b"\x00\xffFAIL XX10", "malformed FAIL"),
    ],
)
def test_noise_before_garbage_is_still_unrecognized(line: bytes, reason: str) -> None:
    out = feed_both_ways(line + CRLF + EVENT_LINE)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[0].raw == line  # reported as received, noise included
    assert reason in out[0].reason
    assert out[1] == EVENT_MSG


def test_noise_before_a_cr_only_line_end_keeps_the_lf_rule() -> None:
    # The LF after "OK 01\r" is swallowed even when noise starts the next line.
    parser = LineParser()
    assert parser.feed(b"OK 01\r") == [Ok("01")]
    assert parser.feed(b"\nOK\r\n") == [Ok()]
    assert parser.feed(b"OK 00\r") == [Ok("00")]
    assert parser.feed(b"\x00OK\r") == [Ok()]
    assert parser.feed(b"\n\x00\xffOK\r\n") == [Ok()]
    assert parser.buffered == 0


def test_endless_noise_keeps_memory_bounded() -> None:
    parser = LineParser(256)
    out: list[Message] = []
    for _ in range(50):
        out += parser.feed(b"\x00" * 100)
        assert parser.buffered < 256
    out += parser.feed(CRLF + EVENT_LINE)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert "too long" in out[0].reason
    assert out[1] == EVENT_MSG


@given(
    picks=st.lists(
        st.tuples(st.sampled_from(range(len(LINES))), noise_prefixes), min_size=1, max_size=8
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=10),
)
def test_noise_before_any_line_in_any_chunking(
    picks: list[tuple[int, bytes]], cuts: list[int]
) -> None:
    stream = b"".join(noise + LINES[i][0] for i, noise in picks) + SENTINEL
    expected = [msg for i, _ in picks for msg in LINES[i][1]] + [SENTINEL_MSG]
    parser = LineParser()
    assert feed_chunks(split_at(stream, cuts), parser) == expected
    assert parser.buffered == 0


# --- 2. mis-framed ERXUDP payloads ------------------------------------------------------------

INJECTED = [
    b"\r\nOK\r\n",
    b"\r\nFAIL ER04\r\n",
    f"\r\nEVENT 25 {METER}\r\n".encode(),
    f"\nEVENT 21 {METER} 0 00\r".encode(),
    b"\rOK 01\r",
]


@pytest.mark.parametrize("inner", INJECTED)
@pytest.mark.parametrize("extra", [b"X", b"\x00", b"\x10\x81 junk"])
def test_payload_longer_than_datalen_injects_nothing(inner: bytes, extra: bytes) -> None:
    """A binary payload with more bytes than DATALEN is dropped whole, lines inside it too."""
    payload = b"\x10\x81\x00\x01" + inner + b"\x02"
    stream = EVENT_LINE + rx_line(payload + extra, datalen=len(payload)) + SENTINEL
    out = feed_both_ways(stream)
    assert len(out) == 3, out
    assert out[0] == EVENT_MSG
    assert isinstance(out[1], Unrecognized)
    assert out[1].raw == f"{RX_HEADER}{len(payload):04X} ".encode()
    assert "neither" in out[1].reason
    assert out[2] == SENTINEL_MSG


def test_misframed_payload_with_datalen_inside_injected_line() -> None:
    # DATALEN ends in the middle of "OK": binary framing fails at "K", the hex framing
    # fails at the CR; the "OK" must not be read as a status line.
    payload = b"\x10\x81\r\nO"
    stream = rx_line(payload + b"K", datalen=len(payload)) + b"OK\r\n"
    out = feed_both_ways(stream)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[1] == Ok()


def test_misframed_payload_waiting_for_more_bytes() -> None:
    """Nothing is decided before the byte after DATALEN payload bytes has arrived."""
    payload = b"\x10\x81\r\nOK\r\n"
    line = rx_line(payload + b"!", datalen=len(payload))
    parser = LineParser()
    head_len = len(line) - 3  # everything but "!\r\n"
    assert parser.feed(line[:head_len]) == []
    out = parser.feed(line[head_len:] + SENTINEL)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[1] == SENTINEL_MSG


def test_hex_line_cut_short_keeps_the_next_line() -> None:
    """Hex digits up to a line end inside the DATALEN window: a hex line cut short."""
    stream = (RX_HEADER + "0012 1081\r\n").encode() + EVENT_LINE + b"OK\r\n"
    out = feed_both_ways(stream)
    assert len(out) == 3
    assert isinstance(out[0], Unrecognized)
    assert out[1:] == [EVENT_MSG, Ok()]


def test_empty_prefix_counts_as_binary() -> None:
    # A payload that starts with CR LF is binary data (PANA and ECHONET payloads can),
    # not a hex line with no digits.
    payload = b"\r\nOK\r\n\x00"
    stream = rx_line(payload + b"?", datalen=len(payload)) + SENTINEL
    out = feed_both_ways(stream)
    assert len(out) == 2
    assert isinstance(out[0], Unrecognized)
    assert out[1] == SENTINEL_MSG


# Payloads as the B route carries them: they start with a byte that is not an ASCII hex
# digit (ECHONET Lite 0x10, PANA 0x00), so they cannot be taken for a hex line cut short.
first_bytes = st.integers(min_value=0, max_value=255).filter(
    lambda b: bytes([b]) not in b"0123456789ABCDEFabcdef"
)
payload_parts = st.one_of(
    st.binary(min_size=1, max_size=10),
    st.sampled_from([*INJECTED, b"\r\n", b"\r", b"\n", b"ERXUDP ", b"SKSENDTO 1 ", b"1081"]),
)
binary_payloads = st.builds(
    lambda first, parts: bytes([first]) + b"".join(parts),
    first_bytes,
    st.lists(payload_parts, max_size=8),
)
# Bytes after the declared payload and before the line end (none: a well-framed line).
overruns = st.binary(max_size=6).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b""))


@given(
    payload=binary_payloads,
    overrun=overruns,
    ending=st.sampled_from([b"\r\n", b"\r", b"\n"]),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_bytes_inside_a_binary_payload_never_become_messages(
    payload: bytes, overrun: bytes, ending: bytes, cuts: list[int]
) -> None:
    line = f"{RX_HEADER}{len(payload):04X} ".encode() + payload + overrun + ending
    parser = LineParser()
    out = feed_chunks(split_at(EVENT_LINE + line + SENTINEL, cuts), parser)
    assert len(out) == 3, out
    assert out[0] == EVENT_MSG
    if overrun:
        # Usually reported by its header; when payload + overrun happen to be exactly
        # 2 x DATALEN bytes the line is framed as hex and reported whole.
        assert isinstance(out[1], Unrecognized)
        assert out[1].raw.startswith(f"{RX_HEADER}{len(payload):04X} ".encode())
    else:
        assert out[1] == rx_msg(payload)
    assert out[2] == SENTINEL_MSG
    assert parser.buffered == 0
