"""examples/mqtt_home_assistant.py against the simulator and a recording MQTT client."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
import types
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from aiobroute.testing import MeterConfig

Simulated = Any  # the conftest's SimulatedMeters

HAVE_AIOMQTT = importlib.util.find_spec("aiomqtt") is not None
BACKENDS = ["stand-in", *(["aiomqtt"] if HAVE_AIOMQTT else [])]


class Message(NamedTuple):
    topic: str
    payload: str | None
    qos: int
    retain: bool


class RecordingClient:
    """An MQTT client that records what is published (and the last will it was given)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.wills: list[str] = []
        self.connected = False

    @contextlib.asynccontextmanager
    async def __call__(self, availability: str) -> AsyncIterator[RecordingClient]:
        self.wills.append(availability)
        self.connected = True
        try:
            yield self
        finally:
            self.connected = False

    async def publish(
        self, topic: str, payload: str | None = None, qos: int = 0, retain: bool = False
    ) -> None:
        assert self.connected
        self.messages.append(Message(topic, payload, qos, retain))


def test_discovery_state_and_availability(
    load_example: Callable[[str], ModuleType], simulated: Simulated
) -> None:
    simulated.meter = MeterConfig(serial="AB-12 34", manufacturer_code=0x000008)
    example = load_example("mqtt_home_assistant")
    client = RecordingClient()
    argv = ["--count", "2", "--interval", "0", "--discovery-prefix", "ha"]
    assert example.main(argv, connect=simulated, client=client) == 0

    node = "broute_AB-12_34"  # the serial number, made safe for a topic
    state_topic = f"aiobroute/{node}/state"
    availability = f"aiobroute/{node}/availability"
    assert client.wills == [availability]
    configs = [m for m in client.messages if m.topic.endswith("/config")]
    states = [m for m in client.messages if m.topic == state_topic]
    presence = [m.payload for m in client.messages if m.topic == availability]
    assert len(client.messages) == len(configs) + len(states) + len(presence)
    assert client.messages[: len(configs)] == configs  # announced before any state
    assert presence == ["online", "offline"]

    keys = {"power_w", "current_r_a", "current_t_a", "bought_kwh", "sold_kwh"}
    assert {m.topic for m in configs} == {f"ha/sensor/{node}/{key}/config" for key in keys}
    assert all(m.retain and m.qos == 1 for m in configs)
    payloads = {m.topic.split("/")[3]: json.loads(m.payload or "") for m in configs}
    assert len({p["unique_id"] for p in payloads.values()}) == 5
    for key, config in payloads.items():
        assert config["state_topic"] == state_topic
        assert config["availability"] == [{"topic": availability}]
        assert re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", config["value_template"])[1] == key  # type: ignore[index]
        assert config["device"]["identifiers"] == [node]
        assert config["device"]["serial_number"] == "AB-12 34"
        assert config["device"]["manufacturer"] == "Daikin Industries"
        assert config["origin"]["name"] == "aiobroute"
    for key in ("bought_kwh", "sold_kwh"):
        assert payloads[key]["device_class"] == "energy"
        assert payloads[key]["state_class"] == "total_increasing"  # the energy dashboard
        assert payloads[key]["unit_of_measurement"] == "kWh"
    assert (payloads["power_w"]["device_class"], payloads["power_w"]["unit_of_measurement"]) == (
        "power",
        "W",
    )
    assert {payloads[k]["unit_of_measurement"] for k in ("current_r_a", "current_t_a")} == {"A"}

    assert len(states) == 2
    expected = simulated.truth()
    for message in states:
        state = json.loads(message.payload or "")
        assert set(state) == {"time", *keys}
        assert state["power_w"] == expected["power_w"]
        assert Decimal(str(state["current_r_a"])) == expected["current_r_a"]
        assert Decimal(str(state["current_t_a"])) == expected["current_t_a"]
        assert Decimal(str(state["bought_kwh"])) == expected["bought_kwh"]
        assert Decimal(str(state["sold_kwh"])) == expected["sold_kwh"]


def test_missing_values_are_null(
    load_example: Callable[[str], ModuleType], simulated: Simulated
) -> None:
    simulated.meter = MeterConfig(reverse_direction=False, single_phase_two_wire=True)
    example = load_example("mqtt_home_assistant")
    client = RecordingClient()
    assert example.main(["--count", "1"], connect=simulated, client=client) == 0
    (state,) = [json.loads(m.payload or "") for m in client.messages if m.topic.endswith("/state")]
    assert state["current_t_a"] is None
    assert state["sold_kwh"] is None
    assert state["power_w"] == simulated.truth()["power_w"]


def stand_in_aiomqtt() -> types.ModuleType:
    module = types.ModuleType("aiomqtt")

    class Will(NamedTuple):
        topic: str
        payload: str | None = None
        qos: int = 0
        retain: bool = False

    class Client:
        def __init__(self, hostname: str, port: int = 1883, **options: Any) -> None:
            self.hostname, self.port, self.options = hostname, port, options

    module.Will = Will  # type: ignore[attr-defined]
    module.Client = Client  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize("backend", BACKENDS)
async def test_the_real_client_gets_the_last_will(
    backend: str,
    load_example: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend == "stand-in":
        monkeypatch.setitem(sys.modules, "aiomqtt", stand_in_aiomqtt())
    import aiomqtt

    monkeypatch.setenv("AIOBROUTE_MQTT_PASSWORD", "broker-secret")
    example = load_example("mqtt_home_assistant")
    args = example.parse_args(
        ["--simulate", "--broker", "mqtt.local", "--mqtt-port", "8883", "--username", "ha"]
    )
    client = example.aiomqtt_client(args)("aiobroute/x/availability")
    assert isinstance(client, aiomqtt.Client)
    if backend == "stand-in":
        stand_in: Any = client  # the stand-in keeps what it was given
        assert (stand_in.hostname, stand_in.port) == ("mqtt.local", 8883)
        assert stand_in.options["username"] == "ha"
        assert stand_in.options["password"] == "broker-secret"
        assert stand_in.options["will"] == aiomqtt.Will(
            "aiobroute/x/availability", "offline", qos=1, retain=True
        )


def test_main_explains_the_missing_extra(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "aiomqtt", None)  # as if not installed
    example = load_example("mqtt_home_assistant")
    assert example.main([], connect=simulated) == 2
    assert "pip install 'aiobroute[mqtt]'" in capsys.readouterr().err
    assert simulated.sims == []
