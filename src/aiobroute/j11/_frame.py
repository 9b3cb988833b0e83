"""J11 frames: encoding, strict decoding and a resynchronising reassembler (sans-I/O).

A frame (ROHM "J11 UART IF" §2.3-2.6) is::

    offset 0  4  unique code  D0 EA 83 FC (request) / D0 F9 EE 5D (response, notification)
           4  2  command code
           6  2  message length = 4 + data length
           8  2  header checksum = byte sum of offsets 0..7, modulo 0x10000
          10  2  data checksum = byte sum of the data, modulo 0x10000 (0 without data)
          12  n  data

All multi-byte fields are big-endian.
"""

from __future__ import annotations

import enum
from typing import ClassVar, Final

import attrs

from aiobroute.errors import InvalidArgumentError, J11FrameError

__all__ = [
    "HEADER_LENGTH",
    "MAX_DATA_LENGTH",
    "MAX_FRAME_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "FrameReassembler",
    "J11Frame",
    "SkipReason",
    "Skipped",
    "UniqueCode",
    "data_checksum",
    "header_checksum",
]

HEADER_LENGTH: Final = 12
"""Bytes before the data: unique code, command, length and both checksums."""
MAX_MESSAGE_LENGTH: Final = 1353
"""Largest message length field the module accepts (checksums + data)."""
MAX_DATA_LENGTH: Final = MAX_MESSAGE_LENGTH - 4
"""Largest data part of a frame (1349 bytes)."""
MAX_FRAME_LENGTH: Final = 8 + MAX_MESSAGE_LENGTH
"""Largest whole frame (1361 bytes)."""


class UniqueCode(enum.IntEnum):
    """The 4-byte marker that opens every frame; it also tells the direction."""

    REQUEST = 0xD0EA83FC
    """Host to module."""
    RESPONSE = 0xD0F9EE5D
    """Module to host: responses and notifications."""

    @property
    def marker(self) -> bytes:
        """The code as it appears on the wire."""
        return self.value.to_bytes(4, "big")


def data_checksum(data: bytes) -> int:
    """The data checksum of a frame: the byte sum of ``data`` modulo 0x10000."""
    return sum(data) & 0xFFFF


def header_checksum(unique_code: int, command: int, message_length: int) -> int:
    """The header checksum: the byte sum of the first 8 frame bytes modulo 0x10000.

    It is a sum of *bytes*, not of 16-bit words (the two differ once a high byte is non-zero).
    """
    head = (
        unique_code.to_bytes(4, "big")
        + command.to_bytes(2, "big")
        + message_length.to_bytes(2, "big")
    )
    return sum(head) & 0xFFFF


def _check_u16(value: int, what: str) -> None:
    if not 0 <= value <= 0xFFFF:
        raise InvalidArgumentError(f"{what} must fit in 16 bits, got {value}")


_SECRET_COMMANDS: Final = frozenset({0x0054, 0x2059})
"""Set route-B credentials and its PANA-key reply carry secrets: never shown in a repr."""


@attrs.frozen(repr=False)
class J11Frame:
    """One J11 frame: a command code and its data, in one direction.

    Attributes:
        command: the 16-bit command, response or notification code.
        data: the data part (at most :data:`MAX_DATA_LENGTH` bytes).
        unique_code: :attr:`UniqueCode.RESPONSE` (module to host, the default) or
            :attr:`UniqueCode.REQUEST` (host to module).
    """

    command: int
    data: bytes = attrs.field(default=b"", converter=bytes)
    unique_code: UniqueCode = attrs.field(default=UniqueCode.RESPONSE, converter=UniqueCode)

    def __attrs_post_init__(self) -> None:
        _check_u16(self.command, "command code")
        if len(self.data) > MAX_DATA_LENGTH:
            raise InvalidArgumentError(
                f"J11 frame data is limited to {MAX_DATA_LENGTH} bytes, got {len(self.data)}"
            )

    def __repr__(self) -> str:
        if self.command in _SECRET_COMMANDS and self.data:
            data = f"<{len(self.data)} bytes masked>"
        else:
            data = repr(self.data)
        return (
            f"J11Frame(command=0x{self.command:04X}, data={data}, "
            f"unique_code={self.unique_code.name})"
        )

    @property
    def is_request(self) -> bool:
        """Whether the frame travels from the host to the module."""
        return self.unique_code is UniqueCode.REQUEST

    @property
    def message_length(self) -> int:
        """The message length field: 4 + data length."""
        return 4 + len(self.data)

    def encode(self) -> bytes:
        """The frame as bytes, with both checksums."""
        length = self.message_length
        return (
            self.unique_code.marker
            + self.command.to_bytes(2, "big")
            + length.to_bytes(2, "big")
            + header_checksum(self.unique_code, self.command, length).to_bytes(2, "big")
            + data_checksum(self.data).to_bytes(2, "big")
            + self.data
        )

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, frame: bytes) -> J11Frame:
        """Parse exactly one frame; raise :class:`~aiobroute.errors.J11FrameError` otherwise."""
        frame = bytes(frame)
        if len(frame) < HEADER_LENGTH:
            raise J11FrameError(f"frame is {len(frame)} bytes, the header alone is 12", 0)
        try:
            unique = UniqueCode(int.from_bytes(frame[:4], "big"))
        except ValueError:
            raise J11FrameError(f"unknown unique code {frame[:4].hex().upper()}", 0) from None
        command, length, head_sum, body_sum = _header_fields(frame, 0)
        if not 4 <= length <= MAX_MESSAGE_LENGTH:
            raise J11FrameError(f"message length {length} is outside 4..{MAX_MESSAGE_LENGTH}", 6)
        expected = header_checksum(unique, command, length)
        if head_sum != expected:
            raise J11FrameError(
                f"header checksum is 0x{head_sum:04X}, expected 0x{expected:04X}", 8
            )
        if len(frame) != 8 + length:
            raise J11FrameError(
                f"frame is {len(frame)} bytes, its message length announces {8 + length}",
                min(len(frame), 8 + length),
            )
        data = frame[HEADER_LENGTH:]
        if body_sum != data_checksum(data):
            raise J11FrameError(
                f"data checksum is 0x{body_sum:04X}, expected 0x{data_checksum(data):04X}", 10
            )
        return cls(command, data, unique)


def _header_fields(buf: bytes | bytearray, pos: int) -> tuple[int, int, int, int]:
    """Command, message length, header checksum and data checksum at ``buf[pos:pos + 12]``."""
    return (
        (buf[pos + 4] << 8) | buf[pos + 5],
        (buf[pos + 6] << 8) | buf[pos + 7],
        (buf[pos + 8] << 8) | buf[pos + 9],
        (buf[pos + 10] << 8) | buf[pos + 11],
    )


class _Coded:
    """Behaviour shared by every typed message: a command code, data, a :class:`J11Frame`.

    Subclasses set ``code`` and ``unique_code`` (requests or responses) and override
    :meth:`to_data` when the message carries data.
    """

    __slots__ = ()
    code: ClassVar[int]
    unique_code: ClassVar[UniqueCode]

    @property
    def command(self) -> int:
        """The command, response or notification code."""
        return self.code

    def to_data(self) -> bytes:
        """The data part of the frame."""
        return b""

    def to_frame(self) -> J11Frame:
        """The message as a :class:`J11Frame`."""
        return J11Frame(self.command, self.to_data(), self.unique_code)

    def encode(self) -> bytes:
        """The complete frame, checksums included."""
        return self.to_frame().encode()


class SkipReason(enum.Enum):
    """Why a :class:`FrameReassembler` discarded bytes."""

    NO_UNIQUE_CODE = "no unique code"
    """Bytes before (or instead of) a unique code: line noise, text, a lost frame tail."""
    BAD_LENGTH = "message length out of range"
    """A unique code followed by a message length outside 4..1353."""
    BAD_HEADER_CHECKSUM = "header checksum mismatch"
    """A unique code whose header checksum does not match."""
    BAD_DATA_CHECKSUM = "data checksum mismatch"
    """A complete frame whose data checksum does not match (corrupt, or cut short)."""
    STALLED = "partial frame stalled"
    """A partial frame given up by :meth:`FrameReassembler.discard_partial`."""


@attrs.frozen
class Skipped:
    """Bytes a :class:`FrameReassembler` discarded, reported so that a client can log them.

    Consecutive discarded bytes are reported together, with the reason that started the run.

    Attributes:
        data: the discarded bytes (log them escaped, e.g. with ``repr`` or ``hex``).
        reason: why they were discarded.
    """

    data: bytes
    reason: SkipReason


class FrameReassembler:
    """Cut a J11 byte stream into frames, resynchronising after garbage or corruption.

    :meth:`feed` takes bytes in chunks of any size and returns, in stream order, every
    frame completed so far and a :class:`Skipped` for every run of discarded bytes. It never
    raises on input. The rules (J11 note §1.7):

    1. Bytes before the earliest unique code are discarded; without one, only a tail of
       up to 3 bytes that may start a unique code is kept.
    2. With 12 bytes, the message length (4..1353) and the header checksum are checked;
       on failure exactly **one** byte is dropped and the hunt restarts, so that a frame
       starting inside the bad header is found.
    3. With the whole frame, the data checksum is checked; on failure one byte is dropped
       and the hunt restarts (a frame cut short by the next one is found this way).
    4. A unique code inside data does not interrupt a frame being read.

    At most one partial frame (≤ :data:`MAX_FRAME_LENGTH` bytes) stays buffered between
    calls. A partial frame that stops growing is only detected with time, which this class
    does not know: a client may call :meth:`discard_partial` after ~2 s of silence.

    Args:
        unique_code: the marker to hunt for: :attr:`UniqueCode.RESPONSE` on the host side
            (the default), :attr:`UniqueCode.REQUEST` to read a host's requests.
    """

    def __init__(self, unique_code: UniqueCode = UniqueCode.RESPONSE) -> None:
        self._unique = UniqueCode(unique_code)
        self._marker = self._unique.marker
        self._buf = bytearray()
        self._discarded = 0
        self._frames = 0

    @property
    def unique_code(self) -> UniqueCode:
        """The unique code this reassembler hunts for."""
        return self._unique

    @property
    def buffered(self) -> int:
        """Bytes held back: a partial frame or a possible start of a unique code."""
        return len(self._buf)

    @property
    def partial(self) -> bool:
        """Whether a frame has started (unique code seen) but is not complete yet.

        A client starts its stall timer when this becomes true and restarts it whenever
        more bytes arrive; on expiry it calls :meth:`discard_partial`.
        """
        return self._buf.startswith(self._marker)

    @property
    def discarded_bytes(self) -> int:
        """Total bytes discarded since creation."""
        return self._discarded

    @property
    def frames_decoded(self) -> int:
        """Total frames emitted since creation."""
        return self._frames

    def feed(self, data: bytes) -> list[J11Frame | Skipped]:
        """Add received bytes; return the frames and skipped runs they complete, in order."""
        if not data:
            return []
        self._buf += data
        return self._drain()

    def discard_partial(self) -> list[J11Frame | Skipped]:
        """Give up the partial frame at the head of the buffer (it stopped growing).

        Drops one byte after its start, reports it as :attr:`SkipReason.STALLED` and hunts
        again through the rest of the buffer: any frame that starts inside the abandoned
        one is returned. Does nothing while the buffer holds no unique code.
        """
        if not self._buf.startswith(self._marker):
            return []
        out: list[J11Frame | Skipped] = [Skipped(bytes(self._buf[:1]), SkipReason.STALLED)]
        self._discarded += 1
        del self._buf[:1]
        out.extend(self._drain())
        return out

    def clear(self) -> bytes:
        """Forget everything buffered (e.g. after a module reset); return what was dropped."""
        dropped = bytes(self._buf)
        self._buf.clear()
        return dropped

    def _drain(self) -> list[J11Frame | Skipped]:
        buf = self._buf
        marker = self._marker
        out: list[J11Frame | Skipped] = []
        skip_start = 0
        skip_reason: SkipReason | None = None
        pos = 0
        end = len(buf)

        def begin_skip(reason: SkipReason) -> None:
            nonlocal skip_start, skip_reason
            if skip_reason is None:
                skip_start = pos
                skip_reason = reason

        def flush_skip() -> None:
            nonlocal skip_reason
            if skip_reason is not None:
                out.append(Skipped(bytes(buf[skip_start:pos]), skip_reason))
                skip_reason = None

        while True:
            found = buf.find(marker, pos)
            if found < 0:
                keep = _prefix_tail(buf, pos, marker)
                if end - keep > pos:
                    begin_skip(SkipReason.NO_UNIQUE_CODE)
                    pos = end - keep
                break
            if found > pos:
                begin_skip(SkipReason.NO_UNIQUE_CODE)
                pos = found
            if end - pos < HEADER_LENGTH:
                break
            command, length, head_sum, body_sum = _header_fields(buf, pos)
            if not 4 <= length <= MAX_MESSAGE_LENGTH:
                begin_skip(SkipReason.BAD_LENGTH)
                pos += 1
                continue
            if head_sum != header_checksum(self._unique, command, length):
                begin_skip(SkipReason.BAD_HEADER_CHECKSUM)
                pos += 1
                continue
            total = 8 + length
            if end - pos < total:
                break
            data = bytes(buf[pos + HEADER_LENGTH : pos + total])
            if sum(data) & 0xFFFF != body_sum:
                begin_skip(SkipReason.BAD_DATA_CHECKSUM)
                pos += 1
                continue
            flush_skip()
            out.append(J11Frame(command, data, self._unique))
            self._frames += 1
            pos += total
        flush_skip()
        self._discarded += sum(len(item.data) for item in out if isinstance(item, Skipped))
        del buf[:pos]
        return out


def _prefix_tail(buf: bytearray, pos: int, marker: bytes) -> int:
    """Length of the longest tail of ``buf[pos:]`` (< 4 bytes) that starts ``marker``."""
    for keep in range(min(len(marker) - 1, len(buf) - pos), 0, -1):
        if buf.endswith(marker[:keep]):
            return keep
    return 0
