"""Publish the meter to Home Assistant over MQTT (needs ``pip install 'aiobroute[mqtt]'``).

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=... MQTT_PASSWORD=...
    python examples/mqtt_home_assistant.py --port /dev/ttyUSB0 --broker homeassistant.local \\
        --username aiobroute
    python examples/mqtt_home_assistant.py --simulate --broker localhost --interval 10

On start it publishes Home Assistant MQTT discovery configs (retained) for five sensors
of one device: power (W), the R and T phase currents (A), energy bought and energy sold
(kWh, ``state_class: total_increasing``, so they feed the energy dashboard). Then every
``--interval`` seconds it publishes one JSON state message that the sensors read with
their ``value_template``. An availability topic says ``online``, and ``offline`` on
exit (also as the MQTT last will if the process dies).

The MQTT client is injectable: ``main(client=...)`` takes a callable that receives the
availability topic (for the last will) and returns an async context manager yielding
anything with aiomqtt's ``publish(topic, payload, qos=, retain=)``; tests pass a fake.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import NamedTuple, Protocol

from aiobroute import AiobrouteError, InstantCurrent, MeterInfo, SmartMeter

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]

EPCS = (0xE7, 0xE8, 0xE0, 0xE3)


class Publisher(Protocol):
    """What the example needs of an MQTT client (``aiomqtt.Client`` has it)."""

    async def publish(
        self, topic: str, payload: str | None = None, qos: int = 0, retain: bool = False
    ) -> None:
        """Publish one message."""


#: Receives the availability topic (for the last will); yields a connected publisher.
ClientFactory = Callable[[str], contextlib.AbstractAsyncContextManager[Publisher]]


class Sensor(NamedTuple):
    """One Home Assistant sensor: its key in the state JSON and its discovery fields."""

    key: str
    name: str
    unit: str
    device_class: str
    state_class: str


SENSORS = (
    Sensor("power_w", "Power", "W", "power", "measurement"),
    Sensor("current_r_a", "Current R", "A", "current", "measurement"),
    Sensor("current_t_a", "Current T", "A", "current", "measurement"),
    Sensor("energy_bought_kwh", "Energy bought", "kWh", "energy", "total_increasing"),
    Sensor("energy_sold_kwh", "Energy sold", "kWh", "energy", "total_increasing"),
)


class Topics(NamedTuple):
    """Where everything is published for one meter."""

    node_id: str
    discovery_prefix: str

    @property
    def state(self) -> str:
        """The JSON state of every sensor."""
        return f"aiobroute/{self.node_id}/state"

    @property
    def availability(self) -> str:
        """``online`` / ``offline``."""
        return f"aiobroute/{self.node_id}/availability"

    def config(self, sensor: Sensor) -> str:
        """The discovery topic of one sensor."""
        return f"{self.discovery_prefix}/sensor/{self.node_id}/{sensor.key}/config"


def node_id(info: MeterInfo) -> str:
    """A stable MQTT-safe id of the meter: its serial number, else its address."""
    raw = info.serial_number or info.ipaddr.replace(":", "")[-16:]
    return "broute_" + re.sub(r"[^A-Za-z0-9_-]", "_", raw.strip())


def discovery_configs(topics: Topics, info: MeterInfo) -> dict[str, dict[str, object]]:
    """Topic -> discovery payload of every sensor, all attached to one device."""
    maker = f"{info.manufacturer_code:06X}" if info.manufacturer_code is not None else "unknown"
    device = {
        "identifiers": [topics.node_id],
        "name": "Smart meter",
        "model": "Low-voltage smart electric energy meter (ECHONET Lite 0x0288)",
        "manufacturer": f"ECHONET Lite manufacturer code {maker}",
        "serial_number": info.serial_number or "",
        "sw_version": f"Appendix release {info.release or '?'}",
    }
    return {
        topics.config(sensor): {
            "name": sensor.name,
            "unique_id": f"{topics.node_id}_{sensor.key}",
            "state_topic": topics.state,
            "value_template": f"{{{{ value_json.{sensor.key} }}}}",
            "unit_of_measurement": sensor.unit,
            "device_class": sensor.device_class,
            "state_class": sensor.state_class,
            "availability_topic": topics.availability,
            "device": device,
        }
        for sensor in SENSORS
    }


def _number(value: object) -> float | int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return None


def state_of(values: Mapping[int, object]) -> dict[str, float | int | None]:
    """The state JSON from a ``get(0xE7, 0xE8, 0xE0, 0xE3)`` result (null: no data)."""
    current = values.get(0xE8)
    if not isinstance(current, InstantCurrent):
        current = InstantCurrent(None, None)
    return {
        "power_w": _number(values.get(0xE7)),
        "current_r_a": _number(current.r_amperes),
        "current_t_a": _number(current.t_amperes),
        "energy_bought_kwh": _number(values.get(0xE0)),
        "energy_sold_kwh": _number(values.get(0xE3)),
    }


async def publish_loop(
    meter: SmartMeter,
    client: Publisher,
    topics: Topics,
    info: MeterInfo,
    *,
    interval: float,
    count: int | None = None,
) -> None:
    """Announce the sensors, then publish the state every ``interval`` seconds."""
    for topic, config in discovery_configs(topics, info).items():
        await client.publish(topic, json.dumps(config), qos=1, retain=True)
    await client.publish(topics.availability, "online", qos=1, retain=True)
    try:
        rounds = 0
        while count is None or rounds < count:
            if rounds:
                await asyncio.sleep(interval)
            rounds += 1
            state = state_of(await meter.get(*EPCS))
            await client.publish(topics.state, json.dumps(state), qos=0, retain=True)
    finally:
        await client.publish(topics.availability, "offline", qos=1, retain=True)


async def run(
    connect: MeterFactory, client_factory: ClientFactory, args: argparse.Namespace
) -> None:
    """Connect to the meter, then to the broker (the will needs the meter's id), publish."""
    async with connect() as meter:
        info = await meter.info()
        topics = Topics(node_id(info), args.discovery_prefix)
        async with client_factory(topics.availability) as client:
            await publish_loop(
                meter, client, topics, info, interval=args.interval, count=args.count
            )


def aiomqtt_client(args: argparse.Namespace) -> ClientFactory:
    """The real client: aiomqtt, with ``offline`` as the last will (ImportError if absent)."""
    import aiomqtt

    def factory(availability: str) -> contextlib.AbstractAsyncContextManager[Publisher]:
        return aiomqtt.Client(
            args.broker,
            args.mqtt_port,
            username=args.username,
            password=os.environ.get("MQTT_PASSWORD"),
            will=aiomqtt.Will(availability, "offline", qos=1, retain=True),
        )

    return factory


def simulated_meter() -> contextlib.AbstractAsyncContextManager[SmartMeter]:
    """A SmartMeter connected to aiobroute's simulated dongle and meter (no hardware)."""
    from aiobroute.testing import Simulator

    return Simulator("BP35C2", timing="instant").smart_meter()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", default=os.environ.get("AIOBROUTE_PORT"), help="dongle path")
    parser.add_argument("--cache", help="JSON file remembering the PAN (skips the scan)")
    parser.add_argument("--simulate", action="store_true", help="use the built-in simulator")
    parser.add_argument("--broker", default="localhost", help="MQTT broker host")
    parser.add_argument("--mqtt-port", type=int, default=1883, help="MQTT broker port")
    parser.add_argument("--username", help="MQTT user (password from $MQTT_PASSWORD)")
    parser.add_argument("--discovery-prefix", default="homeassistant")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between states")
    parser.add_argument("--count", type=int, help="stop after this many states")
    return parser.parse_args(argv)


def meter_factory(args: argparse.Namespace) -> MeterFactory:
    """How to reach the meter: the simulator, or --port with the environment's credentials."""
    if args.simulate:
        return simulated_meter
    rbid, password = os.environ.get("AIOBROUTE_RBID"), os.environ.get("AIOBROUTE_PASSWORD")
    if not (args.port and rbid and password):
        print(
            "error: give --port (or --simulate) and set AIOBROUTE_RBID and AIOBROUTE_PASSWORD",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return functools.partial(
        SmartMeter, args.port, rbid=rbid, password=password, cache_path=args.cache
    )


def main(
    argv: Sequence[str] | None = None,
    *,
    connect: MeterFactory | None = None,
    client: ClientFactory | None = None,
) -> int:
    """Publish to MQTT until Ctrl-C (or ``--count`` states); returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    if client is None:
        try:
            client = aiomqtt_client(args)
        except ImportError:
            print("this example needs aiomqtt: pip install 'aiobroute[mqtt]'", file=sys.stderr)
            return 2
    try:
        asyncio.run(run(connect, client, args))
    except KeyboardInterrupt:
        return 0
    except AiobrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # aiomqtt.MqttError: the broker cannot be reached...
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
