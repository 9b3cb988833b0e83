"""Publish the meter to Home Assistant over MQTT (needs ``pip install 'aiobroute[mqtt]'``).

For a service that runs for months, use the ``aiobroute mqtt`` command (see the service
guide); this example shows how it is built on the library, in one loop::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=... AIOBROUTE_MQTT_PASSWORD=...
    python examples/mqtt_home_assistant.py --port /dev/ttyUSB0 --broker homeassistant.local \\
        --username aiobroute
    python examples/mqtt_home_assistant.py --simulate --broker localhost --interval 10

After the first reading it publishes the same Home Assistant MQTT discovery as
``aiobroute mqtt`` (``aiobroute.cli.mqtt.discovery_configs``: power, currents, energy
bought and sold; no T-phase sensor on a two-wire meter), then every ``--interval``
seconds one JSON state with the keys of ``aiobroute.columns``. The availability topic
says ``online``, ``offline`` while no reading comes, on exit, and as the last will.

Nothing recoverable stops it: a failed reading (timeout, ``FAIL ER09``, an unplugged
dongle being reconnected by the library) publishes ``offline`` and waits for the next
round; a broker that goes away (Mosquitto restarting with Home Assistant) is reconnected
with a growing delay and the discovery published again. SIGTERM and Ctrl-C publish
``offline`` and end the meter session.

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
import signal
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from aiobroute import (
    AiobrouteError,
    AuthenticationError,
    InstantCurrent,
    InvalidArgumentError,
    MeterInfo,
    SmartMeter,
)
from aiobroute.cli.mqtt import Topics, discovery_configs, node_id, state_payload

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


def recoverable(error: BaseException) -> bool:
    """Errors worth waiting out: every aiobroute error but bad credentials or arguments."""
    return isinstance(error, AiobrouteError) and not isinstance(
        error, AuthenticationError | InvalidArgumentError
    )


def state_of(meter: SmartMeter, values: Mapping[int, object]) -> dict[str, object]:
    """The state of a ``get(0xE7, 0xE8, 0xE0, 0xE3)`` result, keyed as aiobroute.columns."""
    current = values.get(0xE8)
    if not isinstance(current, InstantCurrent):
        current = InstantCurrent(None, None)
    return {
        "time": meter.meter_now().isoformat(timespec="seconds"),
        "power_w": values.get(0xE7),
        "current_r_a": current.r_amperes,
        "current_t_a": current.t_amperes,
        "bought_kwh": values.get(0xE0),
        "sold_kwh": values.get(0xE3),
    }


class Progress:
    """How many states were published, across broker reconnections (``--count``)."""

    def __init__(self, count: int | None) -> None:
        self.count = count
        self.states = 0

    @property
    def done(self) -> bool:
        """True once ``count`` states were published (never without a count)."""
        return self.count is not None and self.states >= self.count


async def publish_loop(
    meter: SmartMeter,
    client: Publisher,
    topics: Topics,
    info: MeterInfo,
    *,
    interval: float,
    progress: Progress,
) -> None:
    """Announce the sensors after the first reading, then a state every ``interval`` s."""
    announced = False
    online: bool | None = None  # what the availability topic says
    try:
        while not progress.done:
            if online is not None:
                await asyncio.sleep(interval)
            try:
                values = await meter.get(*EPCS)
            except AiobrouteError as error:
                if not recoverable(error):
                    raise
                print(f"warning: no reading: {type(error).__name__}: {error}", file=sys.stderr)
                if online is not False:
                    await client.publish(topics.availability, "offline", qos=1, retain=True)
                online = False
                continue
            state = state_of(meter, values)
            if not announced:
                announced = True
                configs = discovery_configs(
                    topics, info, interval=interval, t_phase=state["current_t_a"] is not None
                )
                for topic, config in configs.items():
                    payload = "" if config is None else json.dumps(config)
                    await client.publish(topic, payload, qos=1, retain=True)
            if not online:
                await client.publish(topics.availability, "online", qos=1, retain=True)
                online = True
            await client.publish(topics.state, state_payload(state), qos=0, retain=True)
            progress.states += 1
    finally:
        with contextlib.suppress(Exception):  # the broker may be the one that went away
            await client.publish(topics.availability, "offline", qos=1, retain=True)


async def run(
    connect: MeterFactory, client_factory: ClientFactory, args: argparse.Namespace
) -> None:
    """Connect to the meter, then to the broker (the will needs the meter's id), publish.

    When the broker connection breaks, or the meter cannot be reached, wait (1 s, 2 s ...
    60 s) and start again.
    """
    from aiomqtt import MqttError

    progress = Progress(args.count)
    meter_delay = broker_delay = 1.0
    while not progress.done:
        try:
            async with connect() as meter:
                info = await meter.info()
                topics = Topics(node_id(info), args.discovery_prefix)
                meter_delay = 1.0
                while not progress.done:
                    try:
                        async with client_factory(topics.availability) as client:
                            broker_delay = 1.0
                            await publish_loop(
                                meter,
                                client,
                                topics,
                                info,
                                interval=args.interval,
                                progress=progress,
                            )
                    except MqttError as error:  # the broker went away (a restart)
                        warn(f"MQTT broker: {error}", broker_delay)
                        await asyncio.sleep(broker_delay)
                        broker_delay = min(broker_delay * 2, 60.0)
        except AiobrouteError as error:
            if not recoverable(error):
                raise
            warn(f"cannot reach the meter: {type(error).__name__}: {error}", meter_delay)
            await asyncio.sleep(meter_delay)
            meter_delay = min(meter_delay * 2, 300.0)


def warn(text: str, delay: float) -> None:
    """One line on stderr (the delays grow, so these stay rare)."""
    print(f"warning: {text}; trying again in {delay:.0f} s", file=sys.stderr)


def aiomqtt_client(args: argparse.Namespace) -> ClientFactory:
    """The real client: aiomqtt, with ``offline`` as the last will (ImportError if absent)."""
    import aiomqtt

    def factory(availability: str) -> contextlib.AbstractAsyncContextManager[Publisher]:
        return aiomqtt.Client(
            args.broker,
            args.mqtt_port,
            username=args.username,
            password=os.environ.get("AIOBROUTE_MQTT_PASSWORD"),
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
    parser.add_argument("--username", help="MQTT user (password: $AIOBROUTE_MQTT_PASSWORD)")
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


async def until_sigterm(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro``; SIGTERM cancels it, so its ``finally`` and ``async with`` clean up."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        if not task.cancelled():
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(
    argv: Sequence[str] | None = None,
    *,
    connect: MeterFactory | None = None,
    client: ClientFactory | None = None,
) -> int:
    """Publish to MQTT until SIGTERM or Ctrl-C (or ``--count`` states); the exit status."""
    args = parse_args(argv)
    try:
        import aiomqtt  # noqa: F401
    except ImportError:
        print("this example needs aiomqtt: pip install 'aiobroute[mqtt]'", file=sys.stderr)
        return 2
    connect = connect or meter_factory(args)
    client = client or aiomqtt_client(args)
    try:
        asyncio.run(until_sigterm(run(connect, client, args)))
    except KeyboardInterrupt:
        return 0
    except AiobrouteError as error:  # not recoverable: wrong credentials, bad options
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
