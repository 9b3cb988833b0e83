"""``aiobroute mqtt``: publish the meter to Home Assistant over MQTT, for months on end.

Home Assistant MQTT discovery (retained): one device, sensors for power (W), the R and T
phase currents (A; no T sensor on a two-wire meter) and the energy bought and sold
(kWh, ``total_increasing``: they feed the energy dashboard). Every ``--interval``
seconds one JSON state on ``aiobroute/<node>/state`` with the keys of
:mod:`aiobroute.columns` (``time``, ``power_w``, ``current_r_a``, ``current_t_a``,
``bought_kwh``, ``sold_kwh``; null: no data). ``aiobroute/<node>/availability`` says
``online`` while readings flow and ``offline`` otherwise, on exit and, as the last will,
when the process dies. Sensors also expire (``expire_after``) when states stop coming.

The dongle, the meter and the broker may all go away and come back: the bridge logs a
rate-limited reason, waits (backoff capped at ``--retry-max``) and carries on. After a
broker restart, and when Home Assistant announces itself on ``<prefix>/status``, the
discovery is published again. SIGTERM and Ctrl-C publish ``offline`` and end the meter
session before exiting. Needs the ``mqtt`` extra (``pip install 'aiobroute[mqtt]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import re
import ssl
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from aiobroute import cli, columns
from aiobroute._version import __version__
from aiobroute.cli._service import (
    READING_EPCS,
    Backoff,
    RateLimitedLog,
    StatusLine,
    add_service_arguments,
    describe,
    interval_seconds,
    read_round,
    reading_row,
    run_forever,
    run_together,
)
from aiobroute.echonet import manufacturer_name
from aiobroute.meter import SmartMeter
from aiobroute.models import MeterInfo

if TYPE_CHECKING:
    import aiomqtt

__all__ = [
    "SENSORS",
    "Sensor",
    "Topics",
    "add_arguments",
    "discovery_configs",
    "node_id",
    "run",
    "state_payload",
]

_LOGGER = logging.getLogger("aiobroute.cli.mqtt")

#: Where the MQTT password comes from (never the command line).
PASSWORD_VARIABLE = "AIOBROUTE_MQTT_PASSWORD"  # noqa: S105 - a variable's name
SUPPORT_URL = "https://github.com/aiobroute/aiobroute"


class Sensor(NamedTuple):
    """One Home Assistant sensor: its key in the state JSON and its discovery fields."""

    key: str
    name: str
    unit: str
    device_class: str
    state_class: str
    precision: int


SENSORS = (
    Sensor(columns.POWER_W, "Power", "W", "power", "measurement", 0),
    Sensor(columns.CURRENT_R_A, "Current R", "A", "current", "measurement", 1),
    Sensor(columns.CURRENT_T_A, "Current T", "A", "current", "measurement", 1),
    Sensor(columns.BOUGHT_KWH, "Energy bought", "kWh", "energy", "total_increasing", 2),
    Sensor(columns.SOLD_KWH, "Energy sold", "kWh", "energy", "total_increasing", 2),
)


class Topics(NamedTuple):
    """Where everything is published for one meter."""

    node_id: str
    discovery_prefix: str = "homeassistant"
    base: str = "aiobroute"

    @property
    def state(self) -> str:
        """The JSON state of every sensor."""
        return f"{self.base}/{self.node_id}/state"

    @property
    def availability(self) -> str:
        """``online`` / ``offline``."""
        return f"{self.base}/{self.node_id}/availability"

    @property
    def ha_status(self) -> str:
        """Home Assistant's own birth/will topic (``online`` when it (re)starts)."""
        return f"{self.discovery_prefix}/status"

    def config(self, sensor: Sensor) -> str:
        """The discovery topic of one sensor."""
        return f"{self.discovery_prefix}/sensor/{self.node_id}/{sensor.key}/config"


def node_id(info: MeterInfo) -> str:
    """A stable MQTT-safe id of the meter: its serial number, else its address."""
    raw = info.serial_number or info.ipaddr.replace(":", "")[-16:] or "meter"
    return "broute_" + re.sub(r"[^A-Za-z0-9_-]", "_", raw.strip())


def discovery_configs(
    topics: Topics, info: MeterInfo, *, interval: float, t_phase: bool
) -> dict[str, dict[str, object] | None]:
    """Discovery topic -> payload of every sensor (None: remove that sensor).

    ``t_phase`` False (a single-phase two-wire meter) removes the T-phase sensor.
    """
    device: dict[str, object] = {
        "identifiers": [topics.node_id],
        "name": "Smart meter",
        "manufacturer": manufacturer_name(info.manufacturer_code),
        "model": "Low-voltage smart electric energy meter (ECHONET Lite 0x0288)",
    }
    if info.serial_number:
        device["serial_number"] = info.serial_number
    if info.standard_version is not None:
        device["sw_version"] = f"Appendix release {info.standard_version.release}"
    origin = {"name": "aiobroute", "sw_version": __version__, "support_url": SUPPORT_URL}
    expire_after = max(int(interval * 3) + 1, 60)
    configs: dict[str, dict[str, object] | None] = {}
    for sensor in SENSORS:
        if sensor.key == columns.CURRENT_T_A and not t_phase:
            configs[topics.config(sensor)] = None
            continue
        configs[topics.config(sensor)] = {
            "name": sensor.name,
            "unique_id": f"{topics.node_id}_{sensor.key}",
            "state_topic": topics.state,
            "value_template": f"{{{{ value_json.{sensor.key} }}}}",
            "unit_of_measurement": sensor.unit,
            "device_class": sensor.device_class,
            "state_class": sensor.state_class,
            "suggested_display_precision": sensor.precision,
            "availability": [{"topic": topics.availability}],
            "payload_available": "online",
            "payload_not_available": "offline",
            "expire_after": expire_after,
            "device": device,
            "origin": origin,
        }
    return configs


def _json_number(value: object) -> object:
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    return value


def state_payload(row: Mapping[str, object]) -> str:
    """The state JSON of one :func:`~aiobroute.cli._service.reading_row` (numbers as numbers)."""
    return json.dumps({key: _json_number(value) for key, value in row.items()})


# ---------------------------------------------------------------------------- arguments


class Broker(NamedTuple):
    """``--broker HOST[:PORT]``."""

    host: str
    port: int | None


def _broker(text: str) -> Broker:
    host, port = text, None
    match = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?", text.strip())
    if match is None or not text.strip():
        raise argparse.ArgumentTypeError(f"not HOST[:PORT]: {text!r}")
    host = match[1] or match[3]
    digits = match[2] or match[4]
    if digits is not None:
        port = int(digits)
        if not 0 < port < 65536:
            raise argparse.ArgumentTypeError(f"port must be 1..65535, got {port}")
    return Broker(host, port)


def _topic_prefix(text: str) -> str:
    """A discovery prefix: topic levels without wildcards, control characters or blanks."""
    levels = text.split("/")
    if (
        not text
        or len(text.encode("utf-8")) > 200
        or any(not level or level.strip() != level for level in levels)
        or any(ch in "+#" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)
    ):
        raise argparse.ArgumentTypeError(
            f"not an MQTT topic prefix (levels without +, #, control characters, "
            f"blanks or empty levels): {text!r}"
        )
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aiobroute mqtt`` (the common ones come from the parent parser)."""
    parser.add_argument(
        "--broker",
        type=_broker,
        required=True,
        metavar="HOST[:PORT]",
        help="the MQTT broker (port 1883, or 8883 with --tls)",
    )
    parser.add_argument(
        "--interval",
        type=interval_seconds,
        default=30.0,
        help="seconds between states (default 30)",
    )
    parser.add_argument(
        "--username",
        default=os.environ.get("AIOBROUTE_MQTT_USERNAME"),
        help=f"MQTT user (default $AIOBROUTE_MQTT_USERNAME; the password comes from "
        f"${PASSWORD_VARIABLE})",
    )
    parser.add_argument("--tls", action="store_true", help="connect with TLS (system CAs)")
    parser.add_argument(
        "--discovery-prefix",
        type=_topic_prefix,
        default="homeassistant",
        help="Home Assistant's discovery prefix (default homeassistant)",
    )
    add_service_arguments(parser)


# ---------------------------------------------------------------------------- the bridge


class _Hub:
    """What the meter side learnt, for the broker side to publish."""

    def __init__(self) -> None:
        self.info: MeterInfo | None = None
        self.t_phase = True
        self.identified = asyncio.Event()
        self.row: dict[str, object] | None = None
        self.available = False
        self.rediscover = False
        self.changed = asyncio.Event()

    def identify(self, info: MeterInfo) -> None:
        if self.info is None or self.info != info:
            self.info = info
            self.rediscover = True
        self.changed.set()

    def reading(self, row: dict[str, object]) -> None:
        t_phase = row.get(columns.CURRENT_T_A) is not None
        if t_phase != self.t_phase:
            self.t_phase = t_phase
            self.rediscover = True
        self.row = row
        self.available = True
        # Discovery waits for the first reading: it tells whether there is a T phase.
        self.identified.set()
        self.changed.set()

    def unavailable(self) -> None:
        if self.available:
            self.available = False
            self.changed.set()


async def _meter_side(
    args: argparse.Namespace, hub: _Hub, status: StatusLine, log: RateLimitedLog
) -> None:
    async def body(meter: SmartMeter) -> None:
        backoff = Backoff(args.retry_max)
        try:
            hub.identify(await meter.info())
            while True:
                started = asyncio.get_running_loop().time()
                values = await read_round(
                    meter, READING_EPCS, log=log, status=status, backoff=backoff
                )
                if values is None:
                    hub.unavailable()
                else:
                    hub.reading(reading_row(values, cli._stamp(args, meter)))
                elapsed = asyncio.get_running_loop().time() - started
                await asyncio.sleep(max(0.0, args.interval - elapsed))
        finally:
            hub.unavailable()

    await run_forever(
        cli._service_meter(args), body, retry_max=args.retry_max, status=status, log=log
    )


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    return ssl.create_default_context() if args.tls else None


async def _broker_side(
    args: argparse.Namespace, hub: _Hub, status: StatusLine, log: RateLimitedLog
) -> None:
    import aiomqtt

    await hub.identified.wait()
    backoff = Backoff(args.retry_max)
    password = os.environ.get(PASSWORD_VARIABLE) or None
    port = args.broker.port or (8883 if args.tls else 1883)
    while True:
        if hub.info is None:  # pragma: no cover - identified means known
            raise RuntimeError("the meter is not identified yet")
        topics = Topics(node_id(hub.info), args.discovery_prefix)
        if status.state != "waiting":  # not again on each retry
            status("connecting", f"{args.broker.host}:{port}")
        try:
            async with aiomqtt.Client(
                args.broker.host,
                port,
                username=args.username,
                password=password,
                identifier=f"aiobroute-{topics.node_id}",
                will=aiomqtt.Will(topics.availability, "offline", qos=1, retain=True),
                tls_context=_tls(args),
                timeout=10,
            ) as client:
                backoff.reset()
                log.reset("broker")
                status("connected", f"{args.broker.host}:{port}")
                await _publish_until_cancelled(client, topics, args, hub)
        except aiomqtt.MqttError as exc:
            delay = backoff.next_delay()
            status("waiting", "the broker cannot be reached; retrying")
            log.report("broker", f"MQTT broker: {describe(exc)}; retrying in {delay:.0f} s")
            await asyncio.sleep(delay)


async def _publish_until_cancelled(
    client: aiomqtt.Client, topics: Topics, args: argparse.Namespace, hub: _Hub
) -> None:
    """Publish discovery, availability and states as they change; ``offline`` on the way out."""
    await client.subscribe(topics.ha_status, qos=1)
    listener = asyncio.create_task(_listen(client, topics, hub))
    hub.rediscover = True  # a new connection: the broker may have lost the retained configs
    available: bool | None = None
    published_row: dict[str, object] | None = None
    try:
        while True:
            hub.changed.clear()
            if listener.done():
                listener.result()  # the connection broke: raise its MqttError
            if hub.rediscover and hub.info is not None:
                hub.rediscover = False
                if node_id(hub.info) != topics.node_id:
                    return  # another meter: reconnect with its will and topics
                configs = discovery_configs(
                    topics, hub.info, interval=args.interval, t_phase=hub.t_phase
                )
                for topic, config in configs.items():
                    payload = "" if config is None else json.dumps(config)
                    await client.publish(topic, payload, qos=1, retain=True)
                available = None
            if hub.available != available:
                available = hub.available
                payload = "online" if available else "offline"
                await client.publish(topics.availability, payload, qos=1, retain=True)
            if hub.row is not None and hub.row is not published_row:
                published_row = hub.row
                await client.publish(topics.state, state_payload(hub.row), qos=0, retain=True)
            await _wait_either(hub.changed, listener)
    finally:
        await _cancel(listener)
        # Shutting down (or leaving): say so while the connection may still work.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(
                client.publish(topics.availability, "offline", qos=1, retain=True), 5
            )


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(BaseException):
        await task


async def _wait_either(event: asyncio.Event, task: asyncio.Task[Any]) -> None:
    waiter = asyncio.create_task(event.wait())
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        await _cancel(waiter)


async def _listen(client: aiomqtt.Client, topics: Topics, hub: _Hub) -> None:
    """Home Assistant announces ``online`` after a restart: publish the discovery again."""
    async for message in client.messages:
        if message.topic.matches(topics.ha_status) and message.payload == b"online":
            _LOGGER.info("Home Assistant restarted: publishing the discovery again")
            hub.rediscover = True
            hub.changed.set()


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Bridge the meter to MQTT until SIGTERM or Ctrl-C."""
    del out  # everything goes to the broker; the status line to stderr
    try:
        import aiomqtt  # noqa: F401
    except ImportError:
        raise cli.CliError(
            "aiobroute mqtt needs aiomqtt: pip install 'aiobroute[mqtt]'", cli.EXIT_USAGE
        ) from None
    hub = _Hub()
    log = RateLimitedLog()
    await run_together(
        _meter_side(args, hub, StatusLine("mqtt meter"), log),
        _broker_side(args, hub, StatusLine("mqtt broker"), log),
    )
    return cli.EXIT_OK
