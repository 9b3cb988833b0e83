"""Logging helpers: the TRACE level, escaping of module data, secret redaction, rate limits.

Everything that came from the module (or from a peer over the radio) is escaped with
:func:`escape_bytes` / :func:`escape_text` before it reaches a log record: a control
byte (ESC, BEL, CR...) could otherwise clear a terminal or forge log lines.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

__all__ = ["FRAGMENT", "TRACE", "RateLimitedLog", "Redactor", "escape_bytes", "escape_text"]

#: Below DEBUG: raw lines exchanged with the module.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_MASK = "********"
# The credential commands, masked by their shape too: an echo garbled by one byte no
# longer contains the secret verbatim.
_SHAPES = re.compile(r"(SKSETPWD\s+\S+\s+|SKSETRBID\s+)\S+")
#: Any run of at least this many characters that also occurs in a secret is masked, so
#: no log record holds more than FRAGMENT - 1 consecutive characters of a secret, however
#: the module's echo of a credential command was split (an EVENT printed inside it, a
#: stray CR). Shorter runs are left: they occur in ordinary hex data too.
FRAGMENT = 6

# Printable ASCII stays; the backslash is doubled so that an escape cannot be forged;
# everything else (C0 controls, DEL, bytes 0x80-0xFF) becomes \r, \n, \t or \xNN.
_BYTE_TEXT = [chr(b) if 0x20 <= b < 0x7F and b != 0x5C else f"\\x{b:02x}" for b in range(256)]
_BYTE_TEXT[0x5C] = "\\\\"
_BYTE_TEXT[0x0D] = "\\r"
_BYTE_TEXT[0x0A] = "\\n"
_BYTE_TEXT[0x09] = "\\t"
_TABLE = str.maketrans({chr(code): t for code, t in enumerate(_BYTE_TEXT) if len(t) > 1})
_NEEDS_ESCAPE = re.compile(r"[^\x20-\x5b\x5d-\x7e]")
_WIDE = re.compile(r"[^\x00-\xff]")


def escape_bytes(data: bytes | bytearray | memoryview) -> str:
    """Render bytes for a log record: printable ASCII as is, everything else escaped."""
    return "".join([_BYTE_TEXT[b] for b in bytes(data)])


def _escape_wide(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def escape_text(text: str) -> str:
    """Like :func:`escape_bytes` for text decoded from module data."""
    if not _NEEDS_ESCAPE.search(text):  # the usual case: a clean ASCII line
        return text
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return _WIDE.sub(_escape_wide, text.translate(_TABLE))
    return "".join([_BYTE_TEXT[b] for b in data])


class Redactor:
    """Replaces registered secrets (B-route ID, password) by a fixed mask.

    The mask does not reveal the secret's length. Every log message, exception message
    and repr that may contain a command line passes through :meth:`redact`. Besides
    whole secrets, any run of :data:`FRAGMENT` or more characters shared with a secret
    (compared case-insensitively) is masked: a fragment of an echo split across lines
    is caught too.
    """

    __slots__ = ("_fragments", "_lock", "_runs", "_secrets")

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        # Every FRAGMENT-long piece of a secret (upper case), and a pattern finding the
        # runs of the secrets' characters long enough to hold one (a fast pre-filter).
        self._fragments: frozenset[str] = frozenset()
        self._runs: re.Pattern[str] | None = None
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        """Register secrets to mask (empty strings are ignored)."""
        with self._lock:
            known = set(self._secrets)
            merged = known | {s for s in secrets if s}
            if merged == known:  # nothing new (every command of a session comes here)
                return
            # Longest first, so a secret containing another is masked whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))
            self._fragments = frozenset(
                secret[i : i + FRAGMENT].upper()
                for secret in merged
                for i in range(len(secret) - FRAGMENT + 1)
            )
            chars = sorted({c for piece in self._fragments for c in piece + piece.lower()})
            self._runs = (
                re.compile(f"[{''.join(map(re.escape, chars))}]{{{FRAGMENT},}}") if chars else None
            )

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret, and credential argument, masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        if self._runs is not None and len(text) >= FRAGMENT:
            text = self._mask_fragments(self._runs, text)
        if "SKSET" in text:
            text = _SHAPES.sub(lambda m: m.group(1) + _MASK, text)
        return text

    def _mask_fragments(self, runs: re.Pattern[str], text: str) -> str:
        fragments = self._fragments
        starts: list[int] = []
        for run in runs.finditer(text):
            upper = run.group().upper()
            offset = run.start()
            starts.extend(
                offset + i
                for i in range(len(upper) - FRAGMENT + 1)
                if upper[i : i + FRAGMENT] in fragments
            )
        if not starts:
            return text
        # Merge the FRAGMENT-long windows into runs, each replaced by one mask.
        out: list[str] = []
        position = 0
        run_start = run_end = -1
        for start in starts:
            if start > run_end:
                if run_end >= 0:
                    out.append(text[position:run_start])
                    out.append(_MASK)
                    position = run_end
                run_start = start
            run_end = max(run_end, start + FRAGMENT)
        out.append(text[position:run_start])
        out.append(_MASK)
        out.append(text[run_end:])
        return "".join(out)

    def redact_bytes(self, data: bytes | bytearray | memoryview) -> str:
        """Render raw bytes for a log line (escaped, see :func:`escape_bytes`), secrets
        masked."""
        return escape_text(self.redact(bytes(data).decode("latin-1")))

    def redact_text(self, text: str) -> str:
        """Render module text for a log line: secrets masked, then escaped.

        An escape next to a masked-out piece can complete a fragment again (``\x1b`` and
        a secret's ``B4C5D6`` tail...): escaped text is masked once more.
        """
        masked = self.redact(text)
        escaped = escape_text(masked)
        return escaped if escaped == masked else self.redact(escaped)


class RateLimitedLog:
    """Logs one message at most once per ``interval`` seconds; counts what it held back.

    For warnings that a misbehaving peer or consumer could otherwise repeat for every
    message (a queue overflowing, a flood of junk). The first occurrence is logged at
    once; later ones within ``interval`` are only counted, and the next record logged
    says how many were suppressed. Thread-safe; the clock is injectable for tests.
    """

    __slots__ = ("_clock", "_interval", "_last", "_level", "_lock", "_logger", "_suppressed")

    def __init__(
        self,
        logger: logging.Logger,
        *,
        level: int = logging.WARNING,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._level = level
        self._interval = interval
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0
        self._lock = threading.Lock()

    @property
    def suppressed(self) -> int:
        """How many messages are held back since the last one logged."""
        return self._suppressed

    def log(self, message: str, *args: object) -> bool:
        """Log ``message % args`` unless one was logged less than ``interval`` ago.

        Returns True when the record was emitted.
        """
        now = self._clock()
        with self._lock:
            if self._last is not None and now - self._last < self._interval:
                self._suppressed += 1
                return False
            self._last = now
            held, self._suppressed = self._suppressed, 0
        if held:
            template = message + " (%d similar messages suppressed)"
            self._logger.log(self._level, template, *args, held)
        else:
            self._logger.log(self._level, message, *args)
        return True
