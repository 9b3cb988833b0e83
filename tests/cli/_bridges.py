"""Helpers of the bridge tests: a real MQTT broker, the CLI in a child process on a pty."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

from aiobroute.testing import JST, MeterConfig, SimClock, Simulator

#: Simulated seconds per real second: time stands still (the ground truth stays valid).
FROZEN = 1e-9
START = dt.datetime(2026, 5, 20, 14, 26, tzinfo=JST)
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Broker:
    """An amqtt broker in a child process on 127.0.0.1, which a test can restart."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.config = directory / "broker.yaml"
        self.config.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n",
            encoding="utf-8",
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        code = "import sys; from amqtt.scripts.broker_script import main; main()"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            "-c",
            str(self.config),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        async with asyncio.timeout(TIMEOUT):
            while True:  # ready when it accepts connections
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                return

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.kill()
        await asyncio.wait_for(self.process.wait(), TIMEOUT)

    async def restart(self) -> None:
        """Gone (retained messages too), then back on the same port."""
        await self.stop()
        await self.start()


@contextlib.asynccontextmanager
async def running_broker(directory: Path) -> AsyncIterator[Broker]:
    broker = Broker(directory)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def make_sim(meter: MeterConfig | None = None) -> Simulator:
    return Simulator(
        "BP35A1", seed=1, timing="instant", clock=SimClock(START, speed=FROZEN), meter=meter
    )


def truth(sim: Simulator) -> dict[str, Decimal | int | None]:
    """What every reading must say: the simulated meter at the frozen clock's time."""
    meter = sim.meter
    unit = meter.config.kwh_per_count
    r_phase, t_phase = meter.instant_current_deciamperes(START)
    return {
        "power_w": meter.instant_power_watts(START),
        "current_r_a": Decimal(r_phase) / 10,
        "current_t_a": None if t_phase is None else Decimal(t_phase) / 10,
        "bought_kwh": meter.cumulative_raw(START) * unit,
        "sold_kwh": meter.cumulative_raw(START, reverse=True) * unit,
    }


class Child:
    """``python -m aiobroute ...`` with its stderr read line by line."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.stderr: list[str] = []

    async def line_with(self, text: str) -> str:
        """Read stderr until a line containing ``text`` (within the timeout)."""
        assert self.process.stderr is not None
        async with asyncio.timeout(TIMEOUT):
            while True:
                raw = await self.process.stderr.readline()
                assert raw, f"stderr ended before {text!r}: {self.stderr}"
                line = raw.decode("utf-8", "replace")
                self.stderr.append(line)
                if text in line:
                    return line

    async def terminate(self) -> tuple[int, str]:
        """SIGTERM; the exit code and the rest of stderr."""
        self.process.send_signal(signal.SIGTERM)
        assert self.process.stderr is not None
        rest = await asyncio.wait_for(self.process.stderr.read(), TIMEOUT)
        code = await asyncio.wait_for(self.process.wait(), TIMEOUT)
        self.stderr.append(rest.decode("utf-8", "replace"))
        return code, "".join(self.stderr)

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


@contextlib.asynccontextmanager
async def aiobroute(sim: Simulator, *args: str) -> AsyncIterator[Child]:
    env = dict(os.environ, AIOBROUTE_RBID=sim.rbid, AIOBROUTE_PASSWORD=sim.password)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiobroute",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    child = Child(process)
    try:
        yield child
    finally:
        await child.kill()
