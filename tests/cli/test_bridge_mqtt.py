"""``aiobroute mqtt`` end to end: a child process on a pty, a real broker, a real subscriber.

The simulated dongle is served on a pty by this test's event loop (so the test can unplug
it and read the ground truth); the bridge runs as ``python -m aiobroute mqtt`` against an
amqtt broker on 127.0.0.1; an aiomqtt subscriber checks every discovery payload against
Home Assistant's schema rules and every state against the simulated meter.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import aiomqtt
import pytest

from aiobroute.testing import MeterConfig, Simulator
from tests.cli._bridges import TIMEOUT, aiobroute, make_sim, running_broker, truth
from tests.cli._ha_schema import check_sensor_config

Message = tuple[str, bytes, bool]


class Subscriber:
    """Subscribes to everything; reconnects when the broker restarts."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[Message] = []
        self.arrived = asyncio.Event()
        self.subscribed = asyncio.Event()

    async def run(self) -> None:
        while True:
            try:
                async with aiomqtt.Client("127.0.0.1", self.port) as client:
                    await client.subscribe("#", qos=1)
                    self.subscribed.set()
                    async for message in client.messages:
                        payload = message.payload
                        assert isinstance(payload, bytes)
                        self.messages.append((str(message.topic), payload, message.retain))
                        self.arrived.set()
            except aiomqtt.MqttError:
                self.subscribed.clear()
                await asyncio.sleep(0.05)

    def mark(self) -> int:
        return len(self.messages)

    async def wait(self, matches: Callable[[Message], bool], since: int = 0) -> Message:
        async with asyncio.timeout(TIMEOUT):
            index = since
            while True:
                while index < len(self.messages):
                    if matches(self.messages[index]):
                        return self.messages[index]
                    index += 1
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def subscribed(port: int) -> AsyncIterator[Subscriber]:
    subscriber = Subscriber(port)
    task = asyncio.create_task(subscriber.run())
    try:
        await asyncio.wait_for(subscriber.subscribed.wait(), TIMEOUT)
        yield subscriber
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def topic_is(name: str, payload: bytes | None = None) -> Callable[[Message], bool]:
    def matches(message: Message) -> bool:
        return message[0].endswith(name) and (payload is None or message[1] == payload)

    return matches


def check_state(message: Message, sim: Simulator) -> None:
    state = json.loads(message[1])
    expected = truth(sim)
    assert set(state) == {"time", *expected}
    for key, value in expected.items():
        assert (None if state[key] is None else Decimal(str(state[key]))) == value, key


async def discovery(sub: Subscriber, since: int, count: int) -> dict[str, dict[str, object]]:
    configs: dict[str, dict[str, object]] = {}
    index = since
    while len(configs) < count:
        message = await sub.wait(lambda m: m[0].startswith("homeassistant/"), index)
        index = sub.messages.index(message, index) + 1
        if message[1]:
            configs[message[0]] = json.loads(message[1])
    return configs


def check_discovery(configs: dict[str, dict[str, object]], sim: Simulator) -> None:
    for topic, config in configs.items():
        assert check_sensor_config(topic, config, "homeassistant") == [], topic
    by_key = {topic.split("/")[-2]: config for topic, config in configs.items()}
    device = by_key["power_w"]["device"]
    assert isinstance(device, dict)
    assert device["manufacturer"] == "Toshiba"  # 0x000016, not a code
    assert device["serial_number"] == sim.meter.config.serial
    assert all(config["device"] == device for config in configs.values())  # one device
    assert len({config["unique_id"] for config in configs.values()}) == len(configs)
    energy = by_key["bought_kwh"]
    assert (energy["device_class"], energy["state_class"]) == ("energy", "total_increasing")
    origin = by_key["sold_kwh"]["origin"]
    assert isinstance(origin, dict)
    assert origin["name"] == "aiobroute"


@pytest.mark.pty
async def test_mqtt_bridge_rides_through_unplug_and_broker_restart(tmp_path: Path) -> None:
    sim = make_sim()
    async with (
        running_broker(tmp_path) as broker,
        subscribed(broker.port) as sub,
        sim.pty(link=tmp_path / "ttyWISUN") as path,
        aiobroute(
            sim,
            "mqtt",
            "--port",
            path,
            "--broker",
            f"127.0.0.1:{broker.port}",
            "--interval",
            "0.2",
            "--retry-max",
            "0.3",
        ) as child,
    ):
        await child.line_with("mqtt broker: connected")
        configs = await discovery(sub, 0, 5)
        check_discovery(configs, sim)
        await sub.wait(topic_is("/availability", b"online"))
        check_state(await sub.wait(topic_is("/state")), sim)

        # The dongle is unplugged: offline, then back with a fresh module.
        mark = sub.mark()
        sim.unplug()
        await sub.wait(topic_is("/availability", b"offline"), mark)
        await child.line_with("no reading")  # a logged reason
        mark = sub.mark()
        sim.replug()
        await sub.wait(topic_is("/availability", b"online"), mark)
        check_state(await sub.wait(topic_is("/state"), mark), sim)

        # The broker restarts and forgets everything: discovery and states come again.
        await broker.restart()
        await asyncio.wait_for(sub.subscribed.wait(), TIMEOUT)
        mark = sub.mark()
        check_discovery(await discovery(sub, mark, 5), sim)
        await sub.wait(topic_is("/availability", b"online"), mark)
        check_state(await sub.wait(topic_is("/state"), mark), sim)

        # systemd stops it: offline, the meter session ended, a clean exit.
        terms = sim.commands_received.count("SKTERM")
        mark = sub.mark()
        code, err = await child.terminate()
        assert code == 143
        assert "Traceback" not in err
        assert err.rstrip().endswith("terminated")
        await sub.wait(topic_is("/availability", b"offline"), mark)
        assert sim.commands_received.count("SKTERM") == terms + 1
        assert not sim.session_active


@pytest.mark.pty
async def test_two_wire_meter_has_no_t_phase_sensor(tmp_path: Path) -> None:
    sim = make_sim(MeterConfig(single_phase_two_wire=True))
    async with (
        running_broker(tmp_path) as broker,
        subscribed(broker.port) as sub,
        sim.pty() as path,
        aiobroute(sim, "mqtt", "--port", path, "--broker", f"127.0.0.1:{broker.port}") as child,
    ):
        await child.line_with("mqtt broker: connected")
        configs = await discovery(sub, 0, 4)
        assert sorted(topic.split("/")[-2] for topic in configs) == [
            "bought_kwh",
            "current_r_a",
            "power_w",
            "sold_kwh",
        ]
        removed = await sub.wait(topic_is("current_t_a/config"))
        assert removed[1] == b""  # an empty retained config removes the sensor
        check_state(await sub.wait(topic_is("/state")), sim)
        code, _ = await child.terminate()
        assert code == 143


@pytest.mark.parametrize(
    "argv",
    [
        ["mqtt", "--simulate"],  # no broker
        ["mqtt", "--simulate", "--broker", "host:99999"],
        ["mqtt", "--simulate", "--broker", "host", "--mqtt-password", "x"],  # never on argv
        ["mqtt", "--simulate", "--broker", "host", "--interval", "0"],
        # A wildcard or an empty level would make every publish fail at the broker.
        ["mqtt", "--simulate", "--broker", "host", "--discovery-prefix", "ha/#"],
        ["mqtt", "--simulate", "--broker", "host", "--discovery-prefix", "a/+/b"],
        ["mqtt", "--simulate", "--broker", "host", "--discovery-prefix", ""],
        ["mqtt", "--simulate", "--broker", "host", "--discovery-prefix", "ha//x"],
        ["mqtt", "--simulate", "--broker", "host", "--discovery-prefix", "ha\x00"],
    ],
)
def test_mqtt_options_are_checked(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from aiobroute.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_a_discovery_prefix_of_several_levels_is_taken() -> None:
    from aiobroute.cli import _parser

    argv = ["mqtt", "--simulate", "--broker", "b", "--discovery-prefix", "home/assistant"]
    assert _parser().parse_args(argv).discovery_prefix == "home/assistant"


def test_mqtt_broker_option_takes_ipv6_and_a_port() -> None:
    from aiobroute.cli import _parser

    args = _parser().parse_args(["mqtt", "--simulate", "--broker", "[::1]:1884"])
    assert (args.broker.host, args.broker.port) == ("::1", 1884)
    args = _parser().parse_args(["mqtt", "--simulate", "--broker", "broker.lan"])
    assert (args.broker.host, args.broker.port) == ("broker.lan", None)
