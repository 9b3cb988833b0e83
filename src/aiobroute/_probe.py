"""Telling a J11 module from an SKSTACK module on one open port (spec j11.md section 9).

The probe is safe for both kinds of module: a J11 module silently discards every byte
before its request unique code (``D0 EA 83 FC``), which ASCII never contains, so the text
probe cannot disturb it; an SKSTACK module only ever sees complete lines (``\\r\\n``,
``SKVER\\r\\n``), and the one binary request is sent only when no text answer came,
followed by a line end that flushes it from an SKSTACK line buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import attrs

from aiobroute._checks import seconds_field
from aiobroute.errors import CommandTimeoutError, InvalidArgumentError
from aiobroute.transport._base import ByteStream

__all__ = ["DIALECT_J11", "DIALECT_SKSTACK", "ProbeTimings", "probe_dialect"]

_LOGGER = logging.getLogger("aiobroute.link")

DIALECT_SKSTACK = "skstack"
DIALECT_J11 = "j11"

#: Start of every frame a J11 module sends (response / notification unique code).
_J11_REPLY = b"\xd0\xf9\xee\x5d"
#: J11 "get version" (0x006B), no data: header checksum 0x0339 + 0x6B + 0x04 = 0x03A8.
_J11_GET_VERSION = bytes.fromhex("D0EA83FC006B000403A80000")
_SKSTACK_ASYNC = (b"EVENT", b"ERXUDP", b"EPANDESC")
_SKSTACK_ANSWERS = (b"EVER", b"OK", b"FAIL ER")
_BUFFER_LIMIT = 65536


@attrs.frozen(kw_only=True)
class ProbeTimings:
    """How long each step of :func:`probe_dialect` waits, in seconds.

    Attributes:
        listen: listen before sending anything (a J11 module also drops a half-received
            request after 1 s of silence).
        settle: after the first line end, output discarded for this long.
        skstack: wait for an answer to ``SKVER``.
        j11: wait for any J11 frame after the J11 "get version" request.
    """

    listen: float = attrs.field(default=1.2, validator=seconds_field)
    settle: float = attrs.field(default=0.3, validator=seconds_field)
    skstack: float = attrs.field(default=2.0, validator=seconds_field)
    j11: float = attrs.field(default=3.0, validator=seconds_field)


class _Listener:
    def __init__(self, stream: ByteStream) -> None:
        self.stream = stream
        self.buffer = bytearray()

    async def collect(self, seconds: float, done: object) -> str | None:
        """Read for up to ``seconds``; return a dialect as soon as the input shows one."""
        if seconds <= 0:
            return _verdict(self.buffer, done)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    verdict = _verdict(self.buffer, done)
                    if verdict is not None:
                        return verdict
                    self.buffer += await self.stream.read()
                    if len(self.buffer) > _BUFFER_LIMIT:
                        del self.buffer[: len(self.buffer) - _BUFFER_LIMIT]
        return _verdict(self.buffer, done)


_ANY = object()
_TEXT_ANSWER = object()


def _verdict(buffer: bytearray, done: object) -> str | None:
    if _J11_REPLY in buffer:
        return DIALECT_J11
    lines = [line.strip() for line in bytes(buffer).replace(b"\r", b"\n").split(b"\n")]
    complete = lines[:-1]  # the last piece may be a partial line
    if any(line.startswith(_SKSTACK_ASYNC) for line in complete):
        return DIALECT_SKSTACK
    if done is _TEXT_ANSWER and any(line.startswith(_SKSTACK_ANSWERS) for line in complete):
        return DIALECT_SKSTACK
    return None


async def probe_dialect(
    stream: ByteStream, *, timings: ProbeTimings | None = None, excluding: str | None = None
) -> str:
    """Tell which dialect the module on ``stream`` speaks: ``"skstack"`` or ``"j11"``.

    Steps (j11.md section 9): listen; send a line end and discard the output; send
    ``SKVER`` and wait for ``EVER``/``OK``/``FAIL`` (SKSTACK); else send a J11 "get
    version" request and wait for any J11 frame, error replies included (J11). Bytes
    read by the probe are consumed; start the dialect's client afterwards. The total
    time is bounded by the sum of ``timings``.

    ``excluding`` names a dialect just tried on this port without an answer (its own
    client timed out): its step is skipped, and so is the initial listening, which
    that client's reader already did. The line ends are still sent.

    Raises:
        CommandTimeoutError: nothing answered either probe (a line end was sent last,
            so an SKSTACK module is left with an empty line buffer).
        PortClosedError: the port went away.
    """
    timings = timings or ProbeTimings()
    if excluding not in (None, DIALECT_SKSTACK, DIALECT_J11):
        raise InvalidArgumentError(f"unknown dialect {excluding!r}")
    listener = _Listener(stream)
    verdict = await listener.collect(0.0 if excluding else timings.listen, _ANY)
    if verdict is not None:
        _LOGGER.info("dialect probe: %s (unsolicited output)", verdict)
        return verdict
    await stream.write(b"\r\n")
    verdict = await listener.collect(timings.settle, _ANY)
    if verdict == DIALECT_J11:
        _LOGGER.info("dialect probe: %s", verdict)
        return verdict
    listener.buffer.clear()
    if excluding != DIALECT_SKSTACK:
        await stream.write(b"SKVER\r\n")
        verdict = await listener.collect(timings.skstack, _TEXT_ANSWER)
        if verdict is not None:
            _LOGGER.info("dialect probe: %s", verdict)
            return verdict
    if excluding == DIALECT_J11:
        raise CommandTimeoutError(
            f"{stream.name}: the module answered neither as {excluding} nor as SKSTACK"
        )
    await stream.write(_J11_GET_VERSION)
    verdict = await listener.collect(timings.j11, _TEXT_ANSWER)
    if verdict == DIALECT_J11:
        _LOGGER.info("dialect probe: %s", verdict)
        return verdict
    # A late SKSTACK answer, or nothing: end the line the binary request began.
    await stream.write(b"\r\n")
    if verdict is not None:
        _LOGGER.info("dialect probe: %s (late answer)", verdict)
        return verdict
    raise CommandTimeoutError(
        f"{stream.name}: no module answered the dialect probe (neither SKSTACK nor J11)"
    )
