"""Property tests: round trips of every typed message and robustness of the reassembler."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from aiobroute.errors import InvalidArgumentError, J11FrameError
from aiobroute.j11 import (
    FrameReassembler,
    J11Frame,
    Message,
    MessageReader,
    Request,
    Skipped,
    UniqueCode,
    decode_message,
    decode_request,
)
from tests.j11.strategies import messages, requests


@given(requests)
def test_request_round_trip(request: Request) -> None:
    wire = request.encode()
    frame = J11Frame.decode(wire)
    assert frame.is_request
    assert decode_request(frame) == request
    assert FrameReassembler(UniqueCode.REQUEST).feed(wire) == [frame]


@given(messages)
def test_message_round_trip(message: Message) -> None:
    wire = message.encode()
    assert decode_message(J11Frame.decode(wire)) == message
    assert MessageReader().feed(wire) == [message]


@given(st.integers(0, 0xFFFF), st.binary(max_size=80))
def test_decode_message_never_crashes(command: int, data: bytes) -> None:
    frame = J11Frame(command, data)
    error: J11FrameError | None = None
    try:
        message = decode_message(frame)
    except J11FrameError as exc:
        error = exc
    if error is not None:
        assert error.offset >= 12
    else:
        assert message.command == command


@given(st.integers(0, 0xFFFF), st.binary(max_size=80))
def test_decode_request_never_crashes(command: int, data: bytes) -> None:
    frame = J11Frame(command, data, UniqueCode.REQUEST)
    error: J11FrameError | None = None
    try:
        request = decode_request(frame)
    except J11FrameError as exc:
        error = exc
    if error is not None:
        assert isinstance(error.__cause__, InvalidArgumentError | None)
    else:
        assert request is None or request.command == command


@given(st.binary(max_size=64))
def test_strict_frame_decode_raises_only_typed_errors(data: bytes) -> None:
    try:
        frame = J11Frame.decode(data)
    except J11FrameError:
        return
    assert frame.encode() == data


chunk_sizes = st.lists(st.integers(1, 64), min_size=1, max_size=20)


@given(
    st.lists(st.tuples(st.binary(max_size=30), st.one_of(messages)), max_size=8),
    st.binary(max_size=30),
    chunk_sizes,
)
def test_every_valid_frame_comes_out_of_noise(
    pieces: list[tuple[bytes, Message]], tail: bytes, sizes: list[int]
) -> None:
    stream = b"".join(noise + message.encode() for noise, message in pieces) + tail
    reassembler = FrameReassembler()
    out: list[J11Frame | Skipped] = []
    pos = 0
    index = 0
    while pos < len(stream):
        size = sizes[index % len(sizes)]
        out += reassembler.feed(stream[pos : pos + size])
        pos += size
        index += 1
    # The end of the stream: the caller's stall timer gives up partial frames.
    for _ in range(len(stream) + 1):
        if reassembler.buffered < 12:
            break
        out += reassembler.discard_partial()
    frames = [item.encode() for item in out if isinstance(item, J11Frame)]
    wanted = [message.encode() for _, message in pieces]
    it = iter(frames)
    assert all(any(frame == want for frame in it) for want in wanted), "a valid frame was lost"
    assert reassembler.buffered <= 12 + max(len(tail), 3)
    skipped = sum(len(item.data) for item in out if isinstance(item, Skipped))
    assert skipped == reassembler.discarded_bytes
    assert skipped + sum(len(f) for f in frames) + reassembler.buffered == len(stream)


@given(st.binary(min_size=1, max_size=2000))
def test_random_bytes_keep_the_buffer_bounded(data: bytes) -> None:
    reassembler = FrameReassembler()
    for offset in range(0, len(data), 97):
        reassembler.feed(data[offset : offset + 97])
        assert reassembler.buffered <= 1361


def test_garbage_flood_is_bounded() -> None:
    reassembler = FrameReassembler()
    junk = bytes(range(256)) * 40 + b"\xd0\xf9\xee"
    out = reassembler.feed(junk)
    assert reassembler.buffered == 3
    assert sum(len(item.data) for item in out if isinstance(item, Skipped)) == len(junk) - 3


def test_every_unique_code_prefix_is_kept_and_reexamined() -> None:
    reply = J11Frame(0x205E, b"\x01\x4b\x2d").encode()
    for prefix in (b"\xd0", b"\xd0\xf9", b"\xd0\xf9\xee", b"\xd0\xd0\xf9"):
        reassembler = FrameReassembler()
        out = reassembler.feed(prefix) + reassembler.feed(reply)
        frames = [item for item in out if isinstance(item, J11Frame)]
        assert [f.encode() for f in frames] == [reply]
