"""What the simulated module reads on its UART: command lines and SKSENDTO frames.

Sans-I/O: :meth:`UartInput.feed` takes bytes as they arrive and returns the complete
commands. A line ends at CR, LF or CRLF (a LF right after a CR is part of the same
terminator), so CR-only product commands (``ROPT\\r``) work. ``SKSENDTO`` is special: its
header is followed by a space and DATALEN raw bytes, with no terminator; the header ends
at the first argument of exactly 4 hex digits in position 5 or later (DATALEN; HANDLE,
SEC and SIDE are single digits). A CRLF some clients add after the data comes out as an
empty line, which the module ignores.
"""

from __future__ import annotations

import attrs

__all__ = ["CommandLine", "SendToCommand", "UartInput"]

_CR = 0x0D
_LF = 0x0A
_SENDTO = b"SKSENDTO "
#: Longest line the module buffers; longer input answers FAIL ER09 (UART input error).
MAX_LINE = 512
#: SKSENDTO payloads are at most 0x4D0 bytes; a bigger DATALEN is not waited for.
MAX_PAYLOAD = 0x4D0


@attrs.frozen
class CommandLine:
    """One command line, terminator removed. ``overflow``: it was too long and was cut.

    ``ending`` is the terminator as received: ``b"\\r\\n"``, ``b"\\r"`` or ``b"\\n"``
    (a CR whose LF had not arrived yet counts as a lone CR, so it is not compared).
    """

    text: bytes
    overflow: bool = False
    ending: bytes = attrs.field(default=b"\r\n", eq=False)


@attrs.frozen
class SendToCommand:
    """An SKSENDTO command: its header as received (trailing space included) and its data.

    ``args`` are the header arguments after ``SKSENDTO``; ``oversized`` is set when
    DATALEN was beyond 0x4D0 (no data was consumed).
    """

    header: bytes
    args: tuple[str, ...]
    payload: bytes
    oversized: bool = False


def _is_datalen(token: bytes) -> bool:
    return len(token) == 4 and all(chr(c) in "0123456789ABCDEFabcdef" for c in token)


class UartInput:
    """Splits the host's byte stream into :class:`CommandLine` and :class:`SendToCommand`."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._swallow_lf = False
        self._overflow = False

    def feed(self, data: bytes) -> list[CommandLine | SendToCommand]:
        """Add received bytes; return the commands they complete, in order."""
        self._buf += data
        out: list[CommandLine | SendToCommand] = []
        while self._buf:
            if self._swallow_lf:
                self._swallow_lf = False
                if self._buf[0] == _LF:
                    del self._buf[0]
                    continue
            if not self._overflow and self._buf[: len(_SENDTO)] == _SENDTO[: len(self._buf)]:
                if len(self._buf) < len(_SENDTO):
                    break
                result = self._sendto()
                if result is None:
                    break
                if isinstance(result, SendToCommand):
                    out.append(result)
                    continue
            item = self._line()
            if item is None:
                break
            out.append(item)
        return out

    def _line(self) -> CommandLine | None:
        end = -1
        for index, byte in enumerate(self._buf):
            if byte in (_CR, _LF):
                end = index
                break
        if end < 0:
            if len(self._buf) > MAX_LINE:
                self._buf.clear()
                self._overflow = True
            return None
        text = bytes(self._buf[:end])
        too_long = end > MAX_LINE
        if self._buf[end] == _LF:
            ending = b"\n"
        elif end + 1 < len(self._buf) and self._buf[end + 1] == _LF:
            ending = b"\r\n"
            end += 1
        else:
            ending = b"\r"
            self._swallow_lf = True
        del self._buf[: end + 1]
        overflow, self._overflow = self._overflow or too_long, False
        return CommandLine(b"" if overflow else text, overflow=overflow, ending=ending)

    def _sendto(self) -> SendToCommand | bool | None:
        """Parse an SKSENDTO header. None: need more bytes; False: it is a plain line."""
        pos = len(_SENDTO)
        args: list[bytes] = []
        while True:
            space = -1
            for index in range(pos, len(self._buf)):
                byte = self._buf[index]
                if byte in (_CR, _LF):
                    return False
                if byte == 0x20:
                    space = index
                    break
            if space < 0:
                return False if len(self._buf) > MAX_LINE else None
            token = bytes(self._buf[pos:space])
            args.append(token)
            pos = space + 1
            if len(args) >= 5 and _is_datalen(token):
                length = int(token, 16)
                header = bytes(self._buf[:pos])
                decoded = tuple(arg.decode("latin-1") for arg in args)
                if length > MAX_PAYLOAD:
                    del self._buf[:pos]
                    return SendToCommand(header, decoded, b"", oversized=True)
                if len(self._buf) < pos + length:
                    return None
                payload = bytes(self._buf[pos : pos + length])
                del self._buf[: pos + length]
                return SendToCommand(header, decoded, payload)
            if len(args) >= 7:
                return False
