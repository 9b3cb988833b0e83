"""Logging helpers: the TRACE level and secret redaction."""

from __future__ import annotations

import logging
import re
import threading

__all__ = ["TRACE", "Redactor"]

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
