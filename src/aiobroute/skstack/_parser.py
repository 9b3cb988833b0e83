"""Sans-I/O parser for the text output of an SKSTACK IP module.

:class:`LineParser` turns the bytes read from the module into typed messages
(:mod:`aiobroute.skstack._events`). It does no I/O and knows no time: feed it whatever
arrived, in chunks of any size, and it returns the messages completed so far.

Framing rules (see the SKSTACK IP reference, sections 1 and 3):

* A line ends at CRLF, at a lone CR or at a lone LF. The parser ends a line at the CR
  at once (``OK 01\\r`` answers ROPT on the BP35A1 and nothing may follow it) and
  swallows one LF if it comes next, even in a later chunk.
* An ``ERXUDP`` line is framed by its DATALEN, never by searching for a line end: its
  payload is either DATALEN raw bytes (which may contain anything) or 2 x DATALEN ASCII
  hex digits, decided per line by looking at the byte just after DATALEN payload bytes
  (an empty payload is reported as binary).
* The echo of ``SKSENDTO`` (register SFE = 1) runs up to the first CRLF, as the
  reference advises, because it may carry raw payload bytes.
* ``EPANDESC`` and ``EEDSCAN`` blocks end at their last line (or the first line that is
  not theirs); ``EADDR``/``ENEIGHBOR``/``EPORT`` tables run until their ``OK``, and
  ``EVENT``, ``ERXUDP`` and ``EPONG`` lines inside a table are passed through.
* A raw ``ERXUDP`` payload that fits neither framing is skipped through its declared
  end (DATALEN bytes) and then up to the next line end, so that bytes inside it (an
  ``OK`` or an ``EVENT`` carried as data) never come out as lines. The one exception is
  a payload that starts with ASCII hex digits directly followed by a line end: that is
  a hex line cut short, and the next line is kept.
* Harmless noise is tolerated. Control bytes (0x00-0x1F except CR and LF) and 0xFF at
  the start of a line, as seen after ``SKRESET`` or a UART glitch, are ignored (dropped
  before an ``ERXUDP`` line or an ``SKSENDTO`` echo, which are framed differently). In
  lines made of space-separated tokens (everything but echoes and ``ERXUDP``), runs of
  spaces count as one separator and leading or trailing spaces are ignored.
* Empty lines (or lines of noise and spaces only) outside a table are dropped. Anything
  else that cannot be understood becomes :class:`~aiobroute.skstack.Unrecognized`, which
  carries the line as received; :meth:`LineParser.feed` never raises.

Memory stays bounded: a line that reaches ``max_line_length`` bytes without a line
end is cut off, reported and the rest of it is discarded; blocks are capped too.
"""

from __future__ import annotations

import binascii
import logging
from typing import Final

from aiobroute._log import escape_bytes
from aiobroute.errors import InvalidArgumentError
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    Fail,
    Info,
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

__all__ = ["DEFAULT_MAX_LINE_LENGTH", "LineParser"]

_LOGGER = logging.getLogger(__name__)

#: Default limit on the length of one line (without its line end), in bytes.
DEFAULT_MAX_LINE_LENGTH: Final = 8192
_MIN_MAX_LINE_LENGTH: Final = 256

_CR: Final = 0x0D
_LF: Final = 0x0A
_HEX_DIGITS: Final = b"0123456789ABCDEFabcdef"
# Bytes ignored at the start of a line: line noise after SKRESET or a UART glitch.
_NOISE: Final = frozenset({*range(0x20), 0xFF} - {_CR, _LF})
_NOISE_BYTES: Final = bytes(sorted(_NOISE))

_ERXUDP: Final = b"ERXUDP "
_SKSENDTO: Final = b"SKSENDTO "
# The ERXUDP header must fit in this many bytes (a BP35C2 header with RSSI takes 126).
_RX_HEADER_WINDOW: Final = 192
# Checked ERXUDP address/port fields kept per parser (a B-route link has one peer).
_RX_FIELDS_CACHE_SIZE: Final = 16
# Tables and EPANDESC blocks longer than this are dropped as Unrecognized.
_MAX_BLOCK_LINES: Final = 256

_ECHO_PREFIXES: Final = (b"SK", b"ROPT", b"WOPT", b"RUART", b"WUART")
_PASS_THROUGH_IN_TABLE: Final = (b"EVENT ", b"EPONG ")

_REASON_RX_PAYLOAD: Final = (
    "ERXUDP payload is neither DATALEN raw bytes nor 2*DATALEN hex digits followed by a line end"
)

# Block kinds.
_PANDESC: Final = 1
_EDSCAN: Final = 2
_EADDR: Final = 3
_ENEIGHBOR: Final = 4
_EPORT: Final = 5

_TABLE_HEADERS: Final = {b"EADDR": _EADDR, b"ENEIGHBOR": _ENEIGHBOR, b"EPORT": _EPORT}

_PANDESC_KEYS: Final = {
    b"Channel": "channel",
    b"Channel Page": "channel_page",
    b"Pan ID": "pan_id",
    b"Addr": "addr",
    b"LQI": "lqi",
    b"Side": "side",
    b"PairID": "pair_id",
}
_PANDESC_REQUIRED: Final = ("channel", "channel_page", "pan_id", "addr", "lqi")


def _is_hex(token: bytes, width: int) -> bool:
    """True when ``token`` is exactly ``width`` hex digits."""
    return len(token) == width and not token.translate(None, _HEX_DIGITS)


def _is_ipaddr(token: bytes) -> bool:
    """True for the 39-character uncompressed IPv6 form the module prints.

    Groups must be ASCII letters or digits, not only hex digits, so that the
    anonymised captures of the reference (``02YY:YYYY:...``) still parse.
    """
    return len(token) == 39 and token[4::5] == b":::::::" and token.replace(b":", b"").isalnum()


def _is_addr64(token: bytes) -> bool:
    """True for a 16-character MAC address (letters allowed, as for :func:`_is_ipaddr`)."""
    return len(token) == 16 and token.isalnum()


def _is_digits(token: bytes) -> bool:
    return 0 < len(token) <= 5 and token.isdigit()


def _squeeze(line: bytes) -> bytes:
    """``line`` with runs of spaces made single and leading/trailing spaces removed."""
    if line[-1:] == b" " or line[:1] == b" " or b"  " in line:
        return b" ".join(filter(None, line.split(b" ")))
    return line


def _skip_noise(buf: bytes, pos: int) -> int:
    """Index of the first byte at or after ``pos`` that is not noise (``len(buf)`` if none)."""
    n = len(buf)
    while pos < n and buf[pos] in _NOISE:
        pos += 1
    return pos


def _find_eol(buf: bytes, start: int, end: int) -> int:
    """Index of the first CR or LF in ``buf[start:end]``, or -1."""
    lf = buf.find(b"\n", start, end)
    cr = buf.find(b"\r", start, end if lf < 0 else lf)
    return cr if cr >= 0 else lf


class _Block:
    """A multi-line block being collected (EPANDESC, EEDSCAN, a table)."""

    __slots__ = ("items", "kind", "lines", "open")

    def __init__(self, kind: int, header: bytes) -> None:
        self.kind = kind
        self.lines: list[bytes] = [header]
        self.items: list[bytes] = []
        #: False once the block has ended (its message, or why not, is in ``out``).
        self.open = True

    def offer(self, line: bytes, out: list[Message]) -> bool:
        """Offer ``line`` to the block; True if the block took it."""
        kind = self.kind
        if kind == _PANDESC:
            if line.startswith(b"  "):
                self.lines.append(line)
                if line.lstrip(b" ").startswith(b"PairID:"):
                    self._close_pandesc(out)
                elif len(self.lines) > _MAX_BLOCK_LINES:
                    self.open = False
                    out.append(Unrecognized(b"\r\n".join(self.lines), "EPANDESC block too long"))
                return True
            self._close_pandesc(out)
            return False
        if kind == _EDSCAN:
            self.open = False
            scan = _parse_edscan(line)
            if scan is None:
                out.append(Unrecognized(self.lines[0], "EEDSCAN without its data line"))
                return False
            out.append(scan)
            return True
        # Tables: run until OK.
        item = _squeeze(line)
        if item.startswith(_PASS_THROUGH_IN_TABLE):
            return False
        if kind == _EPORT:
            entry_ok = not item or _is_digits(item)
        elif kind == _EADDR:
            entry_ok = not item or _is_ipaddr(item)
        else:
            entry_ok = not item or _is_neighbor(item)
        if entry_ok:
            if item:
                self.items.append(item)
                if len(self.items) > _MAX_BLOCK_LINES:
                    self.open = False
                    out.append(Unrecognized(self.lines[0], "table too long"))
            return True
        self.open = False
        out.append(_table(self))
        return False

    def interrupt(self, out: list[Message]) -> None:
        """End an EPANDESC or EEDSCAN block interrupted by an ERXUDP line."""
        if self.kind == _PANDESC:
            self._close_pandesc(out)
        else:
            self.open = False
            out.append(Unrecognized(self.lines[0], "EEDSCAN without its data line"))

    def _close_pandesc(self, out: list[Message]) -> None:
        self.open = False
        out.append(_pandesc(self.lines))


class LineParser:
    """Incremental parser: bytes from an SKSTACK IP module in, typed messages out.

    It is sans-I/O: no asyncio, no serial port, no clock. One instance per byte stream.

    Args:
        max_line_length: the longest line (without its line end) accepted, in bytes.
            A longer line is reported as :class:`~aiobroute.skstack.Unrecognized` (cut at
            this length) and the rest of it, up to the next line end, is discarded.

    Raises:
        InvalidArgumentError: if ``max_line_length`` is below 256.

    Note:
        :attr:`Ok.cr_only <aiobroute.skstack.Ok.cr_only>` is always False in messages
        from this parser: a line is ended at its CR without waiting for the next byte
        (which may never come), so whether an LF follows is not known when the ``Ok``
        is produced. The LF, if it comes, is swallowed.

    Example:
        >>> parser = LineParser()
        >>> parser.feed(b"EVENT 21 FE80:0000:0000:0000:021D:1290:1234:5678 0 00\\r\\nO")
        [Event(num=33, sender='FE80:0000:0000:0000:021D:1290:1234:5678', side=0, param=0)]
        >>> parser.feed(b"K\\r\\n")
        [Ok(value=None, cr_only=False)]
    """

    __slots__ = (
        "_block",
        "_discard",
        "_max_line",
        "_rest",
        "_rx_fields",
        "_rx_header",
        "_skip_lf",
    )

    def __init__(self, max_line_length: int = DEFAULT_MAX_LINE_LENGTH) -> None:
        if max_line_length < _MIN_MAX_LINE_LENGTH:
            raise InvalidArgumentError(
                f"max_line_length must be at least {_MIN_MAX_LINE_LENGTH}, got {max_line_length}"
            )
        self._max_line = max_line_length
        self._rest = b""
        self._skip_lf = False
        # 0: normal; 1: discarding up to the next CR or LF; 2: up to the next CRLF.
        self._discard = 0
        self._block: _Block | None = None
        # Header of an ERXUDP line waiting for its payload (it sits at the buffer start).
        self._rx_header: tuple[list[bytes], int, int] | None = None
        self._rx_fields: dict[tuple[bytes, ...], tuple[str, str, int, int, str]] = {}

    @property
    def max_line_length(self) -> int:
        """The longest line accepted, in bytes (without its line end)."""
        return self._max_line

    @property
    def buffered(self) -> int:
        """Bytes of an incomplete line held until more data arrives."""
        return len(self._rest)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Add bytes read from the module and return the messages they complete.

        Args:
            data: the next bytes of the stream, in any chunking (may be empty).

        Returns:
            The messages completed by these bytes, in stream order. Bytes that do not
            complete a message yet are kept for the next call.
        """
        out: list[Message] = []
        if not data:
            return out
        buf = self._rest + bytes(data) if self._rest else bytes(data)
        try:
            pos = self._run(buf, out)
        except Exception:  # a bug must not kill the caller's reader loop
            _LOGGER.exception("internal error in the SKSTACK line parser; input dropped")
            out.append(Unrecognized(buf[: self._max_line], "internal parser error"))
            self._reset_state()
            pos = len(buf)
        self._rest = buf[pos:]
        return out

    def _reset_state(self) -> None:
        self._rx_header = None
        self._skip_lf = False
        self._discard = 0
        self._block = None

    # -- framing ---------------------------------------------------------------------

    def _run(self, buf: bytes, out: list[Message]) -> int:
        """Consume as many complete lines of ``buf`` as possible; return where it stopped."""
        n = len(buf)
        pos = 0
        max_line = self._max_line
        noise = _NOISE
        # Cached positions of the next LF / CR at or after ``pos`` (n when there is none).
        next_lf = -1
        next_cr = -1
        while pos < n:
            if self._skip_lf:
                self._skip_lf = False
                if buf[pos] == _LF:
                    pos += 1
                    continue
            if self._discard:
                new_pos = self._discard_line(buf, pos)
                if new_pos == pos:
                    return pos  # a lone CR that may start the CRLF ending the discarded line
                pos = new_pos
                continue
            if buf.startswith(_ERXUDP, pos):
                block = self._block
                if block is not None and block.kind in (_PANDESC, _EDSCAN):
                    block.interrupt(out)
                    self._block = None
                new_pos = self._rx_udp(buf, pos, out)
                if new_pos < 0:
                    return pos
                pos = new_pos
                continue
            if buf.startswith(_SKSENDTO, pos):
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    if n - pos >= max_line:
                        out.append(Unrecognized(buf[pos : pos + max_line], "line too long"))
                        self._discard = 2
                        pos += max_line
                        continue
                    return pos
                line = buf[pos:eol]
                pos = eol + 2
                if len(line) >= max_line:
                    out.append(Unrecognized(line[:max_line], "line too long"))
                    continue
                self._line(line, out)
                continue
            if buf[pos] in noise:
                # Noise before a line framed by length must go now; before other lines
                # it is ignored when the line is classified (and kept in reports).
                start = _skip_noise(buf, pos)
                if buf.startswith(_ERXUDP, start) or buf.startswith(_SKSENDTO, start):
                    _LOGGER.debug("dropped noise before a line: %s", escape_bytes(buf[pos:start]))
                    pos = start
                    continue
            # An ordinary line: find its end (the first CR or LF).
            if next_lf < pos:
                next_lf = buf.find(b"\n", pos)
                if next_lf < 0:
                    next_lf = n
            if next_cr < pos:
                next_cr = buf.find(b"\r", pos, next_lf)
                if next_cr < 0:
                    # No CR before the LF; look again once pos passes the LF.
                    next_cr = next_lf if next_lf < n else n
            eol = next_cr if next_cr < next_lf else next_lf
            if eol >= n:
                if n - pos >= max_line:
                    out.append(Unrecognized(buf[pos : pos + max_line], "line too long"))
                    self._discard = 1
                    pos += max_line
                    continue
                return pos
            line = buf[pos:eol]
            pos = self._after_eol(buf, eol)
            if len(line) >= max_line:
                out.append(Unrecognized(line[:max_line], "line too long"))
                continue
            self._line(line, out)
        return pos

    def _after_eol(self, buf: bytes, eol: int) -> int:
        """Position after the line end at ``eol``; note a CR whose LF may come later."""
        if buf[eol] == _CR:
            nxt = eol + 1
            if nxt < len(buf):
                return nxt + 1 if buf[nxt] == _LF else nxt
            self._skip_lf = True
            return nxt
        return eol + 1

    def _discard_line(self, buf: bytes, pos: int) -> int:
        """Drop bytes of an over-long or unframeable line up to its end."""
        n = len(buf)
        if self._discard == 2:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                # Keep a final CR: its LF may come in the next chunk.
                return n - 1 if buf[n - 1] == _CR else n
            self._discard = 0
            return eol + 2
        eol = _find_eol(buf, pos, n)
        if eol < 0:
            return n
        self._discard = 0
        return self._after_eol(buf, eol)

    # -- ERXUDP ------------------------------------------------------------------------

    def _rx_udp(self, buf: bytes, pos: int, out: list[Message]) -> int:
        """Parse the ERXUDP line at ``pos``; return the position after it, or -1 to wait."""
        cached = self._rx_header
        if cached is not None and pos == 0:
            # Same line as last time (it was kept at the start of the buffer).
            parts, k, header_len = cached
            self._rx_header = None
        else:
            header = self._rx_parse_header(buf, pos, out)
            if isinstance(header, int):
                return header
            parts, k, header_len = header
        n = len(buf)
        data_start = pos + header_len
        datalen = int(parts[k], 16)
        max_line = self._max_line
        if header_len + datalen >= max_line:
            out.append(
                Unrecognized(buf[pos:data_start], "ERXUDP DATALEN too large (line too long)")
            )
            self._discard = 1
            return data_start
        end = data_start + datalen
        if end >= n:
            self._rx_header = (parts, k, header_len)
            return -1
        if buf[end] in (_CR, _LF):
            return self._rx_finish(
                buf, pos, parts, k, data_start, eol=end, hex_payload=False, out=out
            )
        hex_end = data_start + 2 * datalen
        if header_len + 2 * datalen >= max_line or _find_eol(buf, data_start, min(n, hex_end)) >= 0:
            return self._rx_misframed(buf, pos, data_start, end, out)
        if hex_end >= n:
            self._rx_header = (parts, k, header_len)
            return -1
        if buf[hex_end] not in (_CR, _LF):
            # No line end in [data_start, hex_end): the line ends after hex_end.
            out.append(Unrecognized(buf[pos:data_start], _REASON_RX_PAYLOAD))
            self._discard = 1
            return hex_end
        return self._rx_finish(
            buf, pos, parts, k, data_start, eol=hex_end, hex_payload=True, out=out
        )

    def _rx_misframed(
        self, buf: bytes, pos: int, data_start: int, end: int, out: list[Message]
    ) -> int:
        """Report an ERXUDP payload that fits neither framing; return where to resume.

        ``buf[end]`` (the byte after DATALEN payload bytes, already buffered) is not a
        line end. The payload is then skipped through its declared end and the line is
        discarded up to the next line end: a CR or LF inside the DATALEN bytes may be
        payload, and what follows it must not be read as lines. Only when the bytes
        before the first line end are all hex digits is the line taken as a hex payload
        cut short, ending at that line end (binary B-route payloads never start so:
        ECHONET Lite frames start with 0x10, PANA messages with 0x00).
        """
        out.append(Unrecognized(buf[pos:data_start], _REASON_RX_PAYLOAD))
        self._discard = 1
        eol = _find_eol(buf, data_start, end)
        if eol > data_start and not buf[data_start:eol].translate(None, _HEX_DIGITS):
            return data_start
        return end

    def _rx_parse_header(
        self, buf: bytes, pos: int, out: list[Message]
    ) -> tuple[list[bytes], int, int] | int:
        """Split the ERXUDP header at ``pos``.

        Returns (tokens, index of DATALEN, header length including the space before the
        payload), or the position to continue from when the line was consumed as
        malformed (-1: wait for more bytes).
        """
        n = len(buf)
        window_end = min(n, pos + _RX_HEADER_WINDOW)
        eol = _find_eol(buf, pos, window_end)
        region = buf[pos : eol if eol >= 0 else window_end]
        parts = region.split(b" ", 10)
        # parts: ERXUDP SENDER DEST RPORT LPORT LLA [t6 .. t9] [rest]; DATALEN is the first
        # 4-hex-digit token after the LLA (within 4 tokens) and must be followed by a space.
        last = len(parts) - 1
        k = 6
        while k < last and k <= 9:
            token = parts[k]
            if len(token) == 4 and not token.translate(None, _HEX_DIGITS):
                return parts, k, sum(map(len, parts[: k + 1])) + k + 1
            k += 1
        if eol >= 0 and k == last and k <= 9 and parts[k] == b"0000":
            # DATALEN 0 printed without the space before the (empty) payload.
            return self._rx_finish(buf, pos, parts, k, eol, eol=eol, hex_payload=False, out=out)
        if eol >= 0:
            out.append(Unrecognized(region, "malformed ERXUDP header"))
            return self._after_eol(buf, eol)
        if window_end - pos >= _RX_HEADER_WINDOW:
            out.append(Unrecognized(region, "malformed ERXUDP header"))
            self._discard = 1
            return window_end
        return -1

    def _rx_finish(
        self,
        buf: bytes,
        pos: int,
        parts: list[bytes],
        k: int,
        data_start: int,
        *,
        eol: int,
        hex_payload: bool,
        out: list[Message],
    ) -> int:
        """Build the RxUdp of a framed ERXUDP line ending at ``eol``; return the next position."""
        after = self._after_eol(buf, eol)
        # The same peers and ports come again and again: keep their checked, decoded form.
        key = tuple(parts[1:6])
        fields = self._rx_fields.get(key)
        if fields is None:
            sender, dest, rport, lport, lla = key
            if not (
                _is_ipaddr(sender)
                and _is_ipaddr(dest)
                and _is_hex(rport, 4)
                and _is_hex(lport, 4)
                and _is_addr64(lla)
            ):
                out.append(Unrecognized(buf[pos:eol], "malformed ERXUDP address or port field"))
                return after
            fields = (
                sender.decode("ascii"),
                dest.decode("ascii"),
                int(rport, 16),
                int(lport, 16),
                lla.decode("ascii"),
            )
            if len(self._rx_fields) >= _RX_FIELDS_CACHE_SIZE:
                self._rx_fields.clear()
            self._rx_fields[key] = fields
        extras = _rx_extras(parts[6:k])
        if extras is None:
            out.append(Unrecognized(buf[pos:eol], "malformed ERXUDP SECURED/SIDE/RSSI field"))
            return after
        sec_tok, side_tok, rssi_tok = extras
        if hex_payload:
            try:
                data = binascii.unhexlify(buf[data_start:eol])
            except binascii.Error:
                out.append(Unrecognized(buf[pos:eol], _REASON_RX_PAYLOAD))
                return after
        else:
            data = buf[data_start:eol]
        out.append(
            RxUdp(
                sender=fields[0],
                dest=fields[1],
                rport=fields[2],
                lport=fields[3],
                sender_lla=fields[4],
                secured=None if sec_tok is None else sec_tok == b"1",
                data=data,
                side=None if side_tok is None else int(side_tok),
                rssi=None if rssi_tok is None else int(rssi_tok, 16),
                hex_payload=hex_payload,
            )
        )
        return after

    # -- lines and blocks ---------------------------------------------------------------

    def _line(self, line: bytes, out: list[Message]) -> None:
        """Handle one complete line (without its line end); never raises."""
        try:
            self._line_unsafe(line, out)
        except Exception:  # a parser bug must cost one line, not the caller's reader loop
            _LOGGER.exception("internal error in the SKSTACK line parser; line dropped")
            self._block = None
            out.append(Unrecognized(line, "internal parser error"))

    def _line_unsafe(self, line: bytes, out: list[Message]) -> None:
        block = self._block
        if block is not None:
            clean = line.lstrip(_NOISE_BYTES) if line and line[0] in _NOISE else line
            taken = block.offer(clean, out)
            if not block.open:
                self._block = None
            if taken:
                return
        if not line:
            return
        msg = _parse_line(line)
        if msg is None:
            return
        if isinstance(msg, _Block):
            self._block = msg
            return
        out.append(msg)


def _rx_extras(
    extra: list[bytes],
) -> tuple[bytes | None, bytes | None, bytes | None] | None:
    """The SECURED, SIDE and RSSI tokens of an ERXUDP line (None: malformed).

    ``extra`` holds the fields between the LLA and DATALEN: none (old firmware), SECURED,
    SECURED SIDE (BP35C2) or RSSI SECURED (Skyley HAN), RSSI SECURED SIDE (BP35C2 with
    SA2=1).
    """
    rssi_tok = side_tok = None
    if not extra:
        sec_tok = None
    elif len(extra) == 1:
        sec_tok = extra[0]
    elif len(extra) == 2:
        if len(extra[0]) == 2:
            rssi_tok, sec_tok = extra
        else:
            sec_tok, side_tok = extra
    else:
        rssi_tok, sec_tok, side_tok = extra
    if (
        (sec_tok is not None and sec_tok not in (b"0", b"1"))
        or (side_tok is not None and not (len(side_tok) == 1 and side_tok.isdigit()))
        or (rssi_tok is not None and not _is_hex(rssi_tok, 2))
    ):
        return None
    return sec_tok, side_tok, rssi_tok


def _table(block: _Block) -> Message:
    items = block.items
    if block.kind == _EPORT:
        ports = tuple(int(item) for item in items)
        return PortTable(udp_ports=ports[:6], extra_ports=ports[6:])
    if block.kind == _EADDR:
        return AddressTable(tuple(item.decode("ascii") for item in items))
    entries: list[tuple[str, str, str]] = []
    for item in items:
        ip, mac, short = item.decode("ascii").split(" ")
        entries.append((ip, mac, short))
    return NeighborTable(tuple(entries))


def _is_neighbor(line: bytes) -> bool:
    parts = line.split(b" ")
    return (
        len(parts) == 3 and _is_ipaddr(parts[0]) and _is_addr64(parts[1]) and _is_hex(parts[2], 4)
    )


def _pandesc(lines: list[bytes]) -> Message:
    raw = b"\r\n".join(lines)
    fields: dict[str, bytes] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(b":")
        name = _PANDESC_KEYS.get(_squeeze(key))
        if not sep or name is None:
            continue  # unknown keys (HAN models print more) are ignored
        fields[name] = value.strip(b" ")
    missing = [name for name in _PANDESC_REQUIRED if name not in fields]
    if missing:
        return Unrecognized(raw, f"incomplete EPANDESC block (missing {', '.join(missing)})")
    side = fields.get("side")
    pair_id = fields.get("pair_id")
    if not (
        _is_hex(fields["channel"], 2)
        and _is_hex(fields["channel_page"], 2)
        and _is_hex(fields["pan_id"], 4)
        and _is_addr64(fields["addr"])
        and _is_hex(fields["lqi"], 2)
        and (side is None or (len(side) == 1 and side.isdigit()))
        and (pair_id is None or (pair_id.isascii() and pair_id.decode("ascii").isprintable()))
    ):
        return Unrecognized(raw, "malformed EPANDESC field")
    return PanDescriptor(
        channel=int(fields["channel"], 16),
        channel_page=int(fields["channel_page"], 16),
        pan_id=int(fields["pan_id"], 16),
        addr=fields["addr"].decode("ascii"),
        lqi=int(fields["lqi"], 16),
        side=None if side is None else int(side),
        pair_id=None if pair_id is None else pair_id.decode("ascii"),
    )


def _parse_edscan(line: bytes) -> EdScan | None:
    """The EEDSCAN data line: pairs, or (BP35C2 family) a SIDE digit then pairs."""
    tokens = _squeeze(line).split(b" ")
    side: int | None = None
    if len(tokens) % 2 and len(tokens[0]) == 1 and tokens[0] in (b"0", b"1"):
        side = int(tokens[0])
        tokens = tokens[1:]
    if not tokens or len(tokens) % 2 or not all(_is_hex(tok, 2) for tok in tokens):
        return None
    values = [int(tok, 16) for tok in tokens]
    return EdScan(tuple(zip(values[0::2], values[1::2], strict=True)), side)


def _parse_event(line: bytes, tokens: list[bytes]) -> Message:
    """Parse an EVENT line split at single spaces into ``tokens``."""
    if len(tokens) < 2 or not _is_hex(tokens[1], 2):
        return _bad_event(line, tokens, "malformed EVENT number")
    num = int(tokens[1], 16)
    rest = tokens[2:]
    sender: str | None = None
    if rest and _is_ipaddr(rest[0]):
        sender = rest[0].decode("ascii")
        rest = rest[1:]
    elif num != 0xC0:
        return _bad_event(line, tokens, "EVENT without a valid sender address")
    side: int | None = None
    param: int | None = None
    if len(rest) == 1:
        tok = rest[0]
        if len(tok) == 1 and tok.isdigit():
            side = int(tok)
        elif _is_hex(tok, 2):
            param = int(tok, 16)
        else:
            return _bad_event(line, tokens, "malformed EVENT SIDE/PARAM field")
    elif len(rest) == 2:
        tok_side, tok_param = rest
        if not (len(tok_side) == 1 and tok_side.isdigit() and _is_hex(tok_param, 2)):
            return _bad_event(line, tokens, "malformed EVENT SIDE/PARAM field")
        side = int(tok_side)
        param = int(tok_param, 16)
    elif rest:
        return _bad_event(line, tokens, "too many EVENT fields")
    return Event(num=num, sender=sender, side=side, param=param)


def _bad_event(line: bytes, tokens: list[bytes], reason: str) -> Message:
    """An EVENT line that failed to parse: try again without empty tokens (extra spaces)."""
    if b"" in tokens:
        return _parse_event(line, [token for token in tokens if token])
    return Unrecognized(line, reason)


_KNOWN_CODES = frozenset(int(code) for code in ErrorCode)


def _parse_line(line: bytes) -> Message | _Block | None:
    """Parse one non-empty line outside a block.

    Leading noise bytes are ignored, and so are extra spaces between, before and after
    the tokens (not in echoes); an :class:`Unrecognized` still carries the line as received.
    Tidy lines are the common case and must stay fast: untidy ones are only looked at
    again when their first reading fails (see :func:`_parse_untidy`), or where extra
    spaces could change a value.
    """
    if line.startswith(_ECHO_PREFIXES):
        return Echo(line.decode("ascii", "backslashreplace"))
    if not line.isascii():
        return _parse_untidy(line, "not ASCII")
    head, _, rest = line.partition(b" ")
    if head == b"EVENT":
        return _parse_event(line, line.split(b" "))
    if head == b"OK":
        return Ok(_squeeze(rest).decode("ascii") or None) if rest else Ok()
    if head == b"FAIL":
        code, _, text = _squeeze(rest).partition(b" ")
        if len(code) == 4 and code.startswith(b"ER") and code[2:].isdigit():
            number = int(code[2:])
            known = ErrorCode(number) if number in _KNOWN_CODES else number
            return Fail(known, text.decode("ascii") or None)
        return Unrecognized(line, "malformed FAIL line")
    if not rest:
        if head == b"EPANDESC":
            return _Block(_PANDESC, head)
        if head == b"EEDSCAN":
            return _Block(_EDSCAN, head)
        table = _TABLE_HEADERS.get(head)
        if table is not None:
            return _Block(table, head)
        if _is_ipaddr(head):
            return AddressLine(head.decode("ascii"))
    if head == b"EVER":
        value = _squeeze(rest)
        return Version(value.decode("ascii")) if value else Unrecognized(line, "empty EVER")
    if head == b"EAPPVER":
        value = _squeeze(rest)
        return AppVersion(value.decode("ascii")) if value else Unrecognized(line, "empty EAPPVER")
    if head == b"ESREG":
        value = _squeeze(rest)
        if value and b" " not in value:
            return RegisterValue(value.decode("ascii"))
        return Unrecognized(line, "malformed ESREG line")
    if head == b"EINFO":
        return _parse_info(line, _squeeze(rest))
    if head == b"EPONG":
        value = _squeeze(rest)
        if _is_ipaddr(value):
            return Pong(value.decode("ascii"))
        return Unrecognized(line, "malformed EPONG line")
    return _parse_untidy(line, "unknown line")


def _parse_untidy(line: bytes, reason: str) -> Message | _Block | None:
    """Read ``line`` again without leading noise and extra spaces, if it has any.

    Returns :class:`Unrecognized` (``reason``) when the line is tidy already, None when
    nothing but noise and spaces is left (an empty line).
    """
    text = line.lstrip(_NOISE_BYTES)
    if text.startswith(_ECHO_PREFIXES):
        return Echo(text.decode("ascii", "backslashreplace"))  # verbatim, spaces and all
    if text:
        text = _squeeze(text)
    if text == line:
        return Unrecognized(line, reason)
    if not text:
        return None
    msg = _parse_line(text)
    if isinstance(msg, Unrecognized):
        return Unrecognized(line, msg.reason)  # report the line as received
    return msg


def _parse_info(line: bytes, rest: bytes) -> Message:
    fields = rest.split(b" ")
    if len(fields) != 5:
        return Unrecognized(line, "EINFO needs 5 fields")
    ip, mac, channel, pan_id, field5 = fields
    if not (
        _is_ipaddr(ip)
        and _is_addr64(mac)
        and _is_hex(channel, 2)
        and _is_hex(pan_id, 4)
        and field5
        and field5.isalnum()
    ):
        return Unrecognized(line, "malformed EINFO field")
    return Info(
        ipaddr=ip.decode("ascii"),
        addr64=mac.decode("ascii"),
        channel=int(channel, 16),
        pan_id=int(pan_id, 16),
        field5=field5.decode("ascii"),
    )
