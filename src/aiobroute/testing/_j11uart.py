"""What the simulated J11 module reads on its UART: requests, or input errors to answer.

Sans-I/O with simulated time (J11 note §1.6): bytes are discarded until the request
unique code; a wrong header checksum, a message length outside 4..1353 or a wrong data
checksum become an :class:`InputError` and the request is dropped; :meth:`RequestInput.expire`
is called when more than the inter-byte timeout passed since the last byte of a partial
request. Zero checksum fields are accepted when the preset says so (note §10.5).
"""

from __future__ import annotations

from typing import Final

import attrs

from aiobroute.j11 import (
    MAX_MESSAGE_LENGTH,
    J11Frame,
    ResultCode,
    UniqueCode,
    data_checksum,
    header_checksum,
)
from aiobroute.testing._j11presets import J11Preset

__all__ = ["InputError", "RequestInput"]

_MARKER: Final = UniqueCode.REQUEST.marker


@attrs.define
class InputError:
    """A request the module's input stage rejects (answered, then dropped).

    Attributes:
        command: the request code, when it could be read.
        result: the result byte to answer with; None answers 0x2FFF (header checksum).
    """

    command: int | None
    result: int | None  # None: answer 0x2FFF


class RequestInput:
    """The module's reading of its UART (sans-I/O; times are simulated seconds)."""

    def __init__(self, preset: J11Preset, timeout_s: float) -> None:
        self._preset = preset
        self._timeout = timeout_s
        self._buf = bytearray()
        self._last = 0.0
        self.discarded = 0

    @property
    def deadline(self) -> float | None:
        """When the partial request at the head of the buffer times out, if any."""
        if self._buf.startswith(_MARKER):
            return self._last + self._timeout
        return None

    def feed(self, data: bytes, now: float) -> list[J11Frame | InputError]:
        self._buf += data
        self._last = now
        out: list[J11Frame | InputError] = []
        buf = self._buf
        while True:
            found = buf.find(_MARKER)
            if found < 0:
                keep = next(
                    (k for k in range(min(3, len(buf)), 0, -1) if buf.endswith(_MARKER[:k])), 0
                )
                self.discarded += len(buf) - keep
                del buf[: len(buf) - keep]
                break
            self.discarded += found
            del buf[:found]
            if len(buf) < 12:
                break
            command = (buf[4] << 8) | buf[5]
            length = (buf[6] << 8) | buf[7]
            head_sum = (buf[8] << 8) | buf[9]
            body_sum = (buf[10] << 8) | buf[11]
            zero_ok = self._preset.accept_zero_checksum
            if head_sum != header_checksum(UniqueCode.REQUEST, command, length) and not (
                zero_ok and head_sum == 0
            ):
                out.append(InputError(None, None))
                del buf[:12]
                continue
            if length < 4 or length > MAX_MESSAGE_LENGTH:
                result = ResultCode.MESSAGE_TOO_SHORT if length < 4 else ResultCode.MESSAGE_TOO_LONG
                out.append(InputError(command, result))
                del buf[:12]
                continue
            total = 8 + length
            if len(buf) < total:
                break
            data_part = bytes(buf[12:total])
            del buf[:total]
            if body_sum != data_checksum(data_part) and not (zero_ok and body_sum == 0):
                out.append(InputError(command, ResultCode.DATA_CHECKSUM_ERROR))
                continue
            out.append(J11Frame(command, data_part, UniqueCode.REQUEST))
        return out

    def expire(self) -> InputError | None:
        """The inter-byte timeout fired: drop the partial request."""
        if not self._buf.startswith(_MARKER):
            return None
        command = (self._buf[4] << 8) | self._buf[5] if len(self._buf) >= 6 else None
        self.discarded += len(self._buf)
        self._buf.clear()
        if command is None:
            return None
        return InputError(command, ResultCode.RECEIVE_TIMEOUT)

    def clear(self) -> None:
        self._buf.clear()
