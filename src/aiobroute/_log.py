"""Logging helpers: the TRACE level, secret redaction and rate-limited warnings."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

__all__ = ["TRACE", "RateLimitedLog", "Redactor"]

#: Below DEBUG: raw lines exchanged with the module.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_MASK = "********"
# The credential commands, masked by their shape too: an echo garbled by one byte no
# longer contains the secret verbatim.
_SHAPES = re.compile(r"(SKSETPWD\s+\S+\s+|SKSETRBID\s+)\S+")


class Redactor:
    """Replaces registered secrets (B-route ID, password) by a fixed mask.

    The mask does not reveal the secret's length. Every log message, exception message
    and repr that may contain a command line passes through :meth:`redact`.
    """

    __slots__ = ("_lock", "_secrets")

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def add(self, *secrets: str) -> None:
        """Register secrets to mask (empty strings are ignored)."""
        with self._lock:
            merged = set(self._secrets) | {s for s in secrets if s}
            # Longest first, so a secret containing another is masked whole.
            self._secrets = tuple(sorted(merged, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """Return ``text`` with every registered secret, and credential argument, masked."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, _MASK)
        if "SKSET" in text:
            text = _SHAPES.sub(lambda m: m.group(1) + _MASK, text)
        return text

    def redact_bytes(self, data: bytes) -> str:
        """Render raw bytes for a log line (ASCII, escaped) with secrets masked."""
        return self.redact(data.decode("ascii", "backslashreplace"))


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
