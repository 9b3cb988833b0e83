"""``python -m aiobroute.testing``: prints the tty and credentials, serves, stops on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from aiobroute.testing import ModulePreset, SimulatedModule, UartTiming
from aiobroute.testing.__main__ import _parser, _simulator, main
from tests.testing._serve import serving

pytestmark = pytest.mark.pty


async def test_serves_on_a_pty_until_ctrl_c(tmp_path: Path) -> None:
    link = tmp_path / "ttySIM"
    options = ("--model", "BP35C2", "--timing", "instant", "--seed", "3", "--fault", "garble=0")
    async with serving(link, "BP35C2", *options) as served:
        os.write(served.fd, b"SKVER\r\n")
        received = b""
        async with asyncio.timeout(10):
            while not received.endswith(b"OK\r\n"):
                received += await asyncio.to_thread(os.read, served.fd, 100)
        assert received == b"SKVER\r\nEVER 1.5.2\r\nOK\r\n"
    assert served.code == 0
    assert served.rest == b"Stopped.\n"
    assert not link.exists()


@pytest.mark.parametrize("argv", [["--model", "XBee"], ["--fault", "boom@1"], ["--speed"]])
def test_bad_arguments_exit_with_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.parametrize(
    ("argv", "hex_payload"),
    [
        (["--model", "RS-WSUHA-P"], True),
        (["--model", "RS-WSUHA-P", "--erxudp", "binary"], False),
        (["--model", "BP35A1", "--erxudp", "hex"], True),
        (["--model", "BP35A1"], False),
    ],
)
def test_erxudp_option_sets_the_factory_payload_format(argv: list[str], hex_payload: bool) -> None:
    from aiobroute.testing.__main__ import _parser, _simulator

    sim = _simulator(_parser().parse_args(argv))
    assert isinstance(sim.module, SimulatedModule)
    assert sim.module.hex_payload is hex_payload
    assert isinstance(sim.preset, ModulePreset)
    assert sim.preset.default_hex is hex_payload


def test_uart_options_pace_the_output() -> None:
    plain = _simulator(_parser().parse_args([]))
    assert plain.uart_timing is None
    ftdi = _simulator(_parser().parse_args(["--uart"]))
    assert ftdi.uart_timing == UartTiming()
    fast = _simulator(_parser().parse_args(["--uart-latency-ms", "2"]))
    assert fast.uart_timing == UartTiming(latency_s=0.002)


def test_a_negative_uart_latency_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--uart-latency-ms", "-1"])
    assert exit_info.value.code == 2
    assert "latency_s must be zero or positive" in capsys.readouterr().err
