"""J11 simulators on a pseudo-terminal, through the real transport and from the command line."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from aiobroute.j11 import GetStatus, GetVersion, Message, MessageReader, StatusResponse
from aiobroute.j11 import VersionResponse as Version
from aiobroute.testing import Simulator
from aiobroute.testing.__main__ import main
from aiobroute.transport._serial import open_port
from tests.testing._serve import serving

pytestmark = pytest.mark.pty


async def test_j11_over_the_serial_transport() -> None:
    sim = Simulator("BP35C2_J11", timing="instant")
    async with sim.pty() as path:
        stream = await open_port(path)
        reader = MessageReader()
        got: list[Message] = []
        try:
            await stream.write(b"SKVER\r\n" + GetVersion().encode())
            async with asyncio.timeout(5):
                while not any(isinstance(m, Version) for m in got):
                    got.extend(
                        m for m in reader.feed(await stream.read()) if isinstance(m, Message)
                    )
        finally:
            await stream.close()
    assert [m.command for m in got] == [0x6019, 0x206B]
    assert got[-1] == Version(0x01, 0x0400, 1, 3, 1)


async def test_python_m_aiobroute_testing_serves_a_j11_model(tmp_path: Path) -> None:
    link = tmp_path / "ttyJ11"
    options = ("--model", "rs_wsuha_j11", "--timing", "instant")
    async with serving(link, "RS-WSUHA-J11", *options) as served:
        os.write(served.fd, GetStatus().encode())
        reader = MessageReader()
        got: list[object] = []
        async with asyncio.timeout(10):
            while not any(isinstance(m, StatusResponse) for m in got):
                got += reader.feed(await asyncio.to_thread(os.read, served.fd, 100))
        status = next(m for m in got if isinstance(m, StatusResponse))
        assert (status.result, status.global_state, status.route_b_state) == (1, 2, 1)
    assert served.code == 0
    assert served.rest == b"Stopped.\n"


def test_unknown_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "BP35C3-J11"])
    assert exit_info.value.code == 2
    assert "RS-WSUHA-J11" in capsys.readouterr().err
