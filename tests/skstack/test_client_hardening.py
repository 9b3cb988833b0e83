"""Failure paths found in review: each test pins one fix of the SKSTACK client."""

from __future__ import annotations

import asyncio

import pytest

from aiobroute._log import TRACE
from aiobroute.errors import (
    CommandError,
    InvalidArgumentError,
    PortClosedError,
    SendError,
)
from aiobroute.skstack import Event, ModuleFamily
from aiobroute.skstack.client import SkStackClient

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
MAC = "001D129012345678"
PASSWORD = "0123456789AB"


def er05(module, line, payload):  # type: ignore[no-untyped-def]
    if line == "SKVER":
        module.send("EVER 1.2.10", "OK")
    else:
        module.send("FAIL ER05")


@pytest.mark.parametrize("call", ["scan", "send_to"])
async def test_two_wrong_arities_raise_instead_of_passing_silently(  # type: ignore[no-untyped-def]
    scripted, call: str
) -> None:
    client, module = scripted(er05)
    attempt = client.scan(durations=(2,)) if call == "scan" else client.send_to(ADDR, b"x")
    with pytest.raises(CommandError) as caught:
        await attempt
    assert caught.value.code == 5
    tried = [line for line in module.lines if line.startswith(("SKSCAN", "SKSENDTO"))]
    assert len(tried) == 2  # one switch of dialect, then the error


async def test_secrets_are_masked_even_in_garbled_or_split_echoes(  # type: ignore[no-untyped-def]
    scripted, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(TRACE, logger="aiobroute")

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line.startswith("SKSETPWD"):
            echo = f"{line}\r\n".encode()
            module.send(echo[:14], echo[14:])  # the echo arrives in two reads
            module.send(b"\x01SKSETPWD C 01234\x8a6789AB\r\n")  # and once garbled
        module.send("OK")

    client, _ = scripted(handler)
    await client.command("SKSETPWD", "C", PASSWORD)  # a direct call registers it too
    await asyncio.sleep(0.05)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SKSETPWD" in text
    assert PASSWORD not in text
    assert "6789AB" not in text
    assert "01234" not in text


async def test_a_failing_subscription_filter_harms_nobody_else(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.send(f"EVENT 29 {ADDR}", "EVER 1.2.10", "OK")

    client, _ = scripted(handler)

    def broken(_message: object) -> bool:
        raise RuntimeError("bug in a user's filter")

    bad = client.subscribe(broken)
    good = client.subscribe()
    assert await client.version() == "1.2.10"
    event = await good.get(timeout=1)
    assert isinstance(event, Event)
    assert event.num == 0x29
    assert bad.get_nowait() is None
    assert await client.version() == "1.2.10"  # the reader is still alive


async def test_payload_only_with_a_matching_sksendto(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(er05)
    with pytest.raises(InvalidArgumentError):
        await client.command("SKVER", payload=b"\r\nSKERASE\r\n")
    with pytest.raises(InvalidArgumentError):
        await client.command("SKSENDTO", "1", ADDR, "0E1A", "1", "0005", payload=b"abc")
    with pytest.raises(InvalidArgumentError):
        await client.command("SKSENDTO", "1", ADDR, "0E1A", "1", "0003")
    assert bytes(module.raw) == b""


async def test_a_late_send_verdict_is_not_the_next_sends(scripted) -> None:  # type: ignore[no-untyped-def]
    verdicts = iter(["late", "01"])

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        verdict = next(verdicts)
        module.send("OK")
        if verdict == "late":  # after the client's grace period: an orphan verdict
            asyncio.get_running_loop().call_later(0.3, module.send, f"EVENT 21 {ADDR} 00")
        else:
            asyncio.get_running_loop().call_later(0.15, module.send, f"EVENT 21 {ADDR} 01")

    client, _ = scripted(handler, family=ModuleFamily.BP35A1)
    await client.send_to(ADDR, b"first")  # no verdict within the grace: assumed sent
    # The first send's late "00" arrives during the second send, before its real "01".
    with pytest.raises(SendError, match="EVENT 21 01"):
        await client.send_to(ADDR, b"second")


async def test_refused_sendto_ends_the_line_and_resynchronises(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line.startswith("SKSENDTO"):
            module.send("FAIL ER06")
        elif line == "SKVER":
            module.send("EVER 1.2.10", "OK")

    client, module = scripted(handler, family=ModuleFamily.BP35A1)
    with pytest.raises(CommandError):
        await client.send_to(ADDR, b"\x10\x81")
    assert bytes(module.raw).endswith(b"\x10\x81\r\n")  # a CRLF closed the module's line
    assert await client.version() == "1.2.10"
    assert module.lines[-2:] == ["SKVER", "SKVER"]  # resync, then the call itself


async def test_an_abandoned_scan_is_waited_for(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line.startswith("SKSCAN"):
            module.send("OK")  # ... and EVENT 22 only much later
            asyncio.get_running_loop().call_later(0.4, module.send, f"EVENT 22 {ADDR}")
        elif line == "SKVER":
            module.send("EVER 1.2.10", "OK")

    client, _ = scripted(handler)
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.1):
            await client.scan(durations=(1,))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await client.version() == "1.2.10"
    assert loop.time() - started >= 0.25  # SKVER waited for the scan's EVENT 22


async def test_an_empty_read_means_the_port_is_gone() -> None:
    class EmptyStream:
        name = "empty://"
        closed = False

        async def read(self) -> bytes:
            return b""

        async def write(self, data: bytes) -> None:
            return None

        async def close(self) -> None:
            self.closed = True

    client = SkStackClient(EmptyStream())
    client.start()
    await asyncio.sleep(0.01)
    assert client.closed
    with pytest.raises(PortClosedError):
        await client.version()
    await client.close()
