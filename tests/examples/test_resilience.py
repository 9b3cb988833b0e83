"""The long-running examples never die on a recoverable error, and stop cleanly on SIGTERM."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import aiomqtt
import pytest

import aiobroute
from aiobroute import CommandError, ResponseTimeoutError, SmartMeter

Simulated = Any  # the conftest's SimulatedMeters
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def fail_once(monkeypatch: pytest.MonkeyPatch, error: Exception, at_call: int = 2) -> None:
    """``SmartMeter.get`` raises ``error`` once, on call number ``at_call``."""
    original = SmartMeter.get
    calls = 0

    async def get(self: SmartMeter, *epcs: int) -> dict[int, object]:
        nonlocal calls
        calls += 1
        if calls == at_call:
            raise error
        return await original(self, *epcs)

    monkeypatch.setattr(SmartMeter, "get", get)


TRANSIENT = [
    CommandError(9, "SKSENDTO 1 FE80:...", "UDP send failed"),
    ResponseTimeoutError("the meter did not answer"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=["FAIL-ER09", "timeout"])
def test_watch_csv_keeps_going(  # noqa: PLR0917 - fixtures
    error: Exception,
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fail_once(monkeypatch, error)
    example = load_example("watch_csv")
    target = tmp_path / "power.csv"
    argv = ["--count", "3", "--interval", "0", "--output", str(target)]
    assert example.main(argv, connect=simulated) == 0
    assert "no reading this round" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert len(rows) == 3
    assert b"\r" not in target.read_bytes()


class BrokerThatRestarts:
    """A recording MQTT client whose broker goes away once, at one publish."""

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.publishes = 0
        self.messages: list[tuple[str, str | None]] = []
        self.connections = 0

    @contextlib.asynccontextmanager
    async def __call__(self, availability: str) -> AsyncIterator[BrokerThatRestarts]:
        self.connections += 1
        yield self

    async def publish(
        self, topic: str, payload: str | None = None, qos: int = 0, retain: bool = False
    ) -> None:
        self.publishes += 1
        if self.publishes == self.fail_at:
            raise aiomqtt.MqttError("Disconnected during message iteration")
        self.messages.append((topic, payload))


def test_mqtt_example_rides_through_a_broker_restart_and_a_failed_reading(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("asyncio.sleep", _no_sleep)
    fail_once(monkeypatch, TRANSIENT[0], at_call=3)
    example = load_example("mqtt_home_assistant")
    client = BrokerThatRestarts(fail_at=8)  # 5 configs, online, state, then the 2nd state
    assert example.main(["--count", "3", "--interval", "0"], connect=simulated, client=client) == 0
    err = capsys.readouterr().err
    assert "MQTT broker" in err
    assert "no reading" in err
    assert client.connections == 2
    configs = [topic for topic, _ in client.messages if topic.endswith("/config")]
    assert len(configs) == 10  # announced again on the new connection
    states = [json.loads(p or "") for t, p in client.messages if t.endswith("/state")]
    assert len(states) == 3
    presence = [p for t, p in client.messages if t.endswith("/availability")]
    # Online with the first state, offline after the failed reading, online again, and
    # offline at the end.
    assert presence[0] == "online"
    assert presence[-2:] == ["online", "offline"]
    assert "offline" in presence[1:-2]
    assert all(s["power_w"] == simulated.truth()["power_w"] for s in states)


_real_sleep = __import__("asyncio").sleep


async def _no_sleep(delay: float, result: object = None) -> object:
    return await _real_sleep(0, result)


def wait_for_rows(path: Path, rows: int, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while not (path.exists() and len(path.read_text("utf-8").splitlines()) > rows):
        assert child.poll() is None, "the example exited"
        assert time.monotonic() < deadline, "no rows"
        time.sleep(0.02)


@pytest.mark.parametrize("name", ["watch_csv", "mqtt_home_assistant", "prometheus_exporter"])
def test_examples_stop_cleanly_on_sigterm(name: str, tmp_path: Path) -> None:
    argv = [sys.executable, str(EXAMPLES / f"{name}.py"), "--simulate", "--interval", "0.05"]
    if name == "mqtt_home_assistant":
        argv += ["--broker", "127.0.0.1", "--mqtt-port", "1"]  # nothing there: it retries
    if name == "prometheus_exporter":
        argv += ["--listen-address", "127.0.0.1", "--listen-port", "0"]
    # This checkout's package, even from another directory.
    src = str(Path(aiobroute.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and script
        argv, cwd=tmp_path, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
    )
    assert child.stderr is not None
    if name == "watch_csv":
        wait_for_rows(tmp_path / "power.csv", 2, child)
    elif name == "prometheus_exporter":
        assert "metrics on http://127.0.0.1:" in child.stderr.readline()
    else:
        assert "MQTT broker" in child.stderr.readline()  # unreachable: waits, does not exit
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    if name == "watch_csv":
        assert err.endswith("stopped; the rows so far are in power.csv\n")
