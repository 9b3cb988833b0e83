"""What reaches the logs from the module: no piece of a secret, no raw control byte.

Each scenario runs a tiny scripted module on a memory pipe and collects every log record
of the ``aiobroute`` tree at TRACE level (the lowest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from aiobroute._log import FRAGMENT, TRACE, Redactor, escape_bytes, escape_text
from aiobroute.errors import AiobrouteError
from aiobroute.skstack import LineParser
from aiobroute.skstack.client import SkStackClient, SkTimeouts
from aiobroute.transport import MemoryStream, memory_pipe

RBID = "0000001A2B3C4D5E6F708192A3B4C5D6"
PASSWORD = "Xy7Kq2Lm9Pz4"
FAST = SkTimeouts(
    command=0.2, reset_settle=0.0, scan_margin=0.2, join=0.5, send=0.2, send_event_grace=0.1
)
EVENT = "EVENT 21 FE80:0000:0000:0000:021D:1290:1234:5678 00\r\n"
#: How a module's echo gets broken: a stray CR or LF, an EVENT printed inside it (with or
#: without a line end before it), a control byte, a space.
BREAKS = ["\r", "\n", "\r\n", EVENT, "\r\n" + EVENT, "\x1b", " ", "\x00"]


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=0)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.messages.append(text)


async def run_with(
    device_script: Callable[[MemoryStream], Coroutine[Any, Any, None]],
    host_script: Callable[[SkStackClient], Awaitable[object]],
) -> list[str]:
    """Run the two scripts against each other; every log message of the run."""
    collector = Collector()
    logger = logging.getLogger("aiobroute")
    previous = logger.level
    logger.addHandler(collector)
    logger.setLevel(TRACE)
    try:
        host, device = memory_pipe()
        client = SkStackClient(host, timeouts=FAST)
        client._resync_needed = False
        client.start()
        module = asyncio.create_task(device_script(device))
        try:
            with contextlib.suppress(AiobrouteError):
                async with asyncio.timeout(5):
                    await host_script(client)
            await asyncio.sleep(0)
        finally:
            await client.close()
            module.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await module
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous)
    return collector.messages


async def read_line(device: MemoryStream) -> bytes:
    data = b""
    while not data.endswith(b"\r\n"):
        data += await device.read()
    return data


def echo_with_breaks(line: str, cuts: list[tuple[int, str]]) -> bytes:
    """``line`` + CRLF with each break inserted at its position (positions may repeat)."""
    text = line
    for position, piece in sorted(cuts, reverse=True):
        index = min(position, len(text))
        text = text[:index] + piece + text[index:]
    return (text + "\r\n").encode("latin-1")


def leaked(messages: list[str], secret: str, size: int = 8) -> list[str]:
    pieces = {secret[i : i + size].upper() for i in range(len(secret) - size + 1)}
    return [m for m in messages for p in pieces if p in m.upper()]


@settings(max_examples=80, deadline=None)
@given(
    which=st.sampled_from(["rbid", "password"]),
    cuts=st.lists(st.tuples(st.integers(0, 50), st.sampled_from(BREAKS)), min_size=1, max_size=4),
    reads=st.lists(st.integers(1, 80), max_size=5),
)
def test_no_piece_of_a_secret_reaches_any_log_record(
    which: str, cuts: list[tuple[int, str]], reads: list[int]
) -> None:
    args = ("SKSETRBID", RBID) if which == "rbid" else ("SKSETPWD", "C", PASSWORD)
    secret = RBID if which == "rbid" else PASSWORD

    async def module(device: MemoryStream) -> None:
        await read_line(device)
        echo = echo_with_breaks(" ".join(args), cuts)
        for size in reads:  # the echo may arrive in several reads
            piece, echo = echo[:size], echo[size:]
            device.write_nowait(piece)
            await asyncio.sleep(0)
        device.write_nowait(echo + b"OK\r\n")
        await asyncio.sleep(3600)

    async def host(client: SkStackClient) -> object:
        return await client.command(*args)

    messages = asyncio.run(run_with(module, host))
    assert messages  # TRACE saw the exchange
    assert leaked(messages, secret) == []


def test_the_reported_split_leaks_nothing_at_warning() -> None:
    """The outside report: an EVENT inside the echo left the tail as unrecognized output."""

    async def module(device: MemoryStream) -> None:
        for secret_line in (f"SKSETRBID {RBID}", f"SKSETPWD C {PASSWORD}"):
            await read_line(device)
            cut = len(secret_line) - (16 if "RBID" in secret_line else 8)
            device.write_nowait(
                (secret_line[:cut] + EVENT + secret_line[cut:] + "\r\nOK\r\n").encode()
            )
        await asyncio.sleep(3600)

    async def host(client: SkStackClient) -> None:
        await client.command("SKSETRBID", RBID)
        await client.command("SKSETPWD", "C", PASSWORD)

    messages = asyncio.run(run_with(module, host))
    assert any("unrecognized" in m for m in messages)  # the tail was still reported
    assert leaked(messages, RBID) == []
    assert leaked(messages, PASSWORD) == []


CONTROL = [chr(c) for c in (*range(0x20), 0x7F)]


def assert_no_control(messages: list[str]) -> None:
    for message in messages:
        # Our own formatting may use line breaks (tracebacks); module data may not.
        bad = [c for c in message if c in CONTROL and c != "\n"]
        assert bad == [], repr(message)
        assert "\n" not in message or "Traceback" in message, repr(message)


def test_control_bytes_from_the_module_are_escaped_in_every_record() -> None:
    hostile = [
        b"\x1b[2J\x1b[H\x07FAKE LOG LINE\r\n",  # clears the terminal, rings the bell
        b"\x7f\xff\xfe\x80junk\x1b]0;title\x07\r\n",
        b"EVENT 21 FE80:0000:0000:0000:021D:1290:1234:5678 00\x1b[31m\r\n",
    ]

    async def module(device: MemoryStream) -> None:
        line = await read_line(device)
        device.write_nowait(line)  # the echo
        for junk in hostile:
            device.write_nowait(junk)
        device.write_nowait(b"EVER 1.2.10\x1b[2J\x08\x08\r\nOK\r\n")
        line = await read_line(device)
        device.write_nowait(b"\x1b[1mEINFO\x07 FE80:0000:0000:0000:021D:1290:1234:5678\r\n")
        device.write_nowait(b"OK\r\n")
        await asyncio.sleep(3600)

    async def host(client: SkStackClient) -> None:
        await client.command("SKVER")
        await client.command("SKINFO")

    messages = asyncio.run(run_with(module, host))
    assert any("FAKE LOG LINE" in m for m in messages)  # reported, but escaped
    assert any("\\x1b[2J" in m for m in messages)
    assert_no_control(messages)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(min_size=1, max_size=200))
def test_parser_and_client_logs_never_carry_raw_control_bytes(data: bytes) -> None:
    async def module(device: MemoryStream) -> None:
        await read_line(device)
        device.write_nowait(data + b"\r\n" + data + b"EVER 1\r\nOK\r\n")
        await asyncio.sleep(3600)

    async def host(client: SkStackClient) -> None:
        await client.command("SKVER")

    assert_no_control(asyncio.run(run_with(module, host)))


def test_parser_noise_log_is_escaped(caplog: object) -> None:
    collector = Collector()
    logger = logging.getLogger("aiobroute")
    previous = logger.level
    logger.addHandler(collector)
    logger.setLevel(TRACE)
    try:
        parser = LineParser()
        messages = parser.feed(b"\x1b\x07\x00ERXUDP \x1b\r\n")
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous)
    assert messages
    assert any("noise" in m for m in collector.messages)
    assert_no_control(collector.messages)


def test_escape_helpers() -> None:
    assert (
        escape_bytes(b"A\x1b[2J\x07\x7f\xff\\x1b\r\n\t")
        == "A\\x1b[2J\\x07\\x7f\\xff\\\\x1b\\r\\n\\t"
    )
    assert escape_text("é\u2028\x1b") == "\\xe9\\u2028\\x1b"
    redactor = Redactor()
    redactor.add(RBID, PASSWORD)
    assert redactor.redact(f"tail {RBID[10:]} end") == "tail ******** end"
    assert redactor.redact(f"x{PASSWORD[:6].lower()}y") == "x********y"
    assert redactor.redact(f"x{PASSWORD[:5]}y") == f"x{PASSWORD[:5]}y"  # too short to say
    assert redactor.redact_bytes(b"\x1bSKSETPWD C ab\x07") == "\\x1bSKSETPWD C ********"


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        st.one_of(
            st.tuples(st.integers(0, 31), st.integers(1, 32)).map(
                lambda t: RBID[t[0] : t[0] + t[1]]
            ),
            st.tuples(st.integers(0, 11), st.integers(1, 12)).map(
                lambda t: PASSWORD[t[0] : t[0] + t[1]].lower()
            ),
            st.text(alphabet="0123456789ABCDEF \r\n\x1b:", max_size=8),
        ),
        max_size=8,
    )
)
# An escape can complete a fragment: "\x1b" then the ID's "4C5D6" shows "b4C5D6".
@example(pieces=["\x1b", "4C5D6"])
def test_redactor_leaves_no_run_of_fragment_length(pieces: list[str]) -> None:
    redactor = Redactor()
    redactor.add(RBID, PASSWORD)
    text = "".join(pieces)
    for shown in (redactor.redact(text), redactor.redact_text(text)):
        assert leaked([shown], RBID, FRAGMENT) == []
        assert leaked([shown], PASSWORD, FRAGMENT) == []
