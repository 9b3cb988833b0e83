"""The simulator's own logs escape what the host sent (control bytes) like the client's."""

from __future__ import annotations

import logging

import pytest

from tests.testing._host import CRLF, echo_off, running


async def test_simulator_debug_log_escapes_host_bytes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="aiobroute.testing")
    async with running() as (_sim, host):
        await echo_off(host)
        await host.send(b"SK\x1b[2JVER \x07\x7f" + CRLF)
        await host.line()
    received = [r.getMessage() for r in caplog.records if "module received" in r.getMessage()]
    assert any("\\x1b[2J" in m for m in received)
    for message in received:
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in message), repr(message)
