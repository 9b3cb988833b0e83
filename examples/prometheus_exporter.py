"""Expose the meter's readings to Prometheus (needs ``pip install 'aiobroute[prometheus]'``).

Usage::

    export AIOBROUTE_RBID=... AIOBROUTE_PASSWORD=...
    python examples/prometheus_exporter.py --port /dev/ttyUSB0 --listen-port 9848
    python examples/prometheus_exporter.py --simulate --interval 5
    curl -s localhost:9848/metrics | grep aiobroute_

Gauges (refreshed every ``--interval`` seconds with one ECHONET Lite frame):

* ``aiobroute_instant_power_watts`` (negative while exporting)
* ``aiobroute_instant_current_amperes{phase="r"|"t"}``
* ``aiobroute_cumulative_energy_kwh{direction="bought"|"sold"}``
* ``aiobroute_up`` (1 after a successful read, 0 after a failed one) and
  ``aiobroute_last_read_timestamp_seconds``

Values the meter has no data for are NaN, and so is every value while ``aiobroute_up`` is
0, so a scrape never shows an old reading as current. Nothing recoverable stops it (a
timeout, ``FAIL ER09``, an unplugged dongle being reconnected by the library: a warning
at most once a minute, ``up`` 0, and the next round); SIGTERM and Ctrl-C end the meter
session. For a service, the ``aiobroute exporter`` command does the same with its own
asyncio HTTP server (see the service guide). The metrics are built from a gauge factory, so
:class:`MeterMetrics` works with ``prometheus_client.Gauge`` or anything with the same
``labels()``/``set()`` shape (tests use a fake).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from aiobroute import (
    AiobrouteError,
    AuthenticationError,
    InstantCurrent,
    InvalidArgumentError,
    SmartMeter,
)

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

_LOGGER = logging.getLogger("prometheus_exporter")

MeterFactory = Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]

EPCS = (0xE7, 0xE8, 0xE0, 0xE3)


class Gauge(Protocol):
    """What the exporter needs of a gauge (``prometheus_client.Gauge`` has it)."""

    def labels(self, *labelvalues: str) -> Any:
        """The child gauge of these label values."""

    def set(self, value: float) -> None:
        """Set the value."""


#: ``(name, documentation, label names) -> Gauge``; e.g. ``partial(Gauge, registry=r)``.
GaugeFactory = Callable[[str, str, Sequence[str]], Gauge]


def _value(value: object) -> float:
    """A reading as a float; NaN when the meter had no data."""
    if isinstance(value, int | Decimal):
        return float(value)
    return math.nan


class MeterMetrics:
    """The exporter's gauges and how a reading updates them."""

    def __init__(self, gauge: GaugeFactory) -> None:
        self.power = gauge(
            "aiobroute_instant_power_watts",
            "Instantaneous power (E7) in W; negative while exporting.",
            (),
        )
        self.current = gauge(
            "aiobroute_instant_current_amperes",
            "Instantaneous current (E8) of the R and T phases in A.",
            ("phase",),
        )
        self.energy = gauge(
            "aiobroute_cumulative_energy_kwh",
            "Cumulative energy in kWh: bought from the grid (E0) and sold to it (E3).",
            ("direction",),
        )
        self.up = gauge("aiobroute_up", "1 when the last read of the meter succeeded.", ())
        self.last_read = gauge(
            "aiobroute_last_read_timestamp_seconds",
            "Unix time of the last successful read.",
            (),
        )

    def update(self, values: Mapping[int, object], now: float | None = None) -> None:
        """Set every gauge from a ``SmartMeter.get(0xE7, 0xE8, 0xE0, 0xE3)`` result."""
        current = values.get(0xE8)
        if not isinstance(current, InstantCurrent):
            current = InstantCurrent(None, None)
        self.power.set(_value(values.get(0xE7)))
        self.current.labels("r").set(_value(current.r_amperes))
        self.current.labels("t").set(_value(current.t_amperes))
        self.energy.labels("bought").set(_value(values.get(0xE0)))
        self.energy.labels("sold").set(_value(values.get(0xE3)))
        self.up.set(1)
        self.last_read.set(time.time() if now is None else now)

    def failed(self) -> None:
        """Mark the last read as failed; the values become NaN (they are not current)."""
        self.up.set(0)
        self.power.set(math.nan)
        for phase in ("r", "t"):
            self.current.labels(phase).set(math.nan)
        for direction in ("bought", "sold"):
            self.energy.labels(direction).set(math.nan)


def recoverable(error: BaseException) -> bool:
    """Errors worth waiting out: every aiobroute error but bad credentials or arguments."""
    return isinstance(error, AiobrouteError) and not isinstance(
        error, AuthenticationError | InvalidArgumentError
    )


async def poll(
    meter: SmartMeter, metrics: MeterMetrics, *, interval: float, count: int | None = None
) -> None:
    """Read the meter every ``interval`` seconds into ``metrics`` (``count`` times, or forever).

    A recoverable error (a timeout, ``FAIL ER09``, a reconnection in progress) marks
    ``aiobroute_up`` 0 and the loop goes on: the meter's supervisor re-establishes the
    session meanwhile. The reason is logged at most once a minute.
    """
    rounds = 0
    logged = -math.inf
    while count is None or rounds < count:
        if rounds:
            await asyncio.sleep(interval)
        rounds += 1
        try:
            values = await meter.get(*EPCS)
        except AiobrouteError as exc:
            if not recoverable(exc):
                raise
            if time.monotonic() - logged >= 60:
                logged = time.monotonic()
                _LOGGER.warning("read failed: %s: %s", type(exc).__name__, exc)
            metrics.failed()
            continue
        metrics.update(values)


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
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between reads")
    parser.add_argument("--count", type=int, help="stop after this many reads")
    parser.add_argument("--listen-address", default="0.0.0.0", help="HTTP address")  # noqa: S104
    parser.add_argument("--listen-port", type=int, default=9848, help="HTTP port (0: any)")
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


async def run(
    connect: MeterFactory,
    metrics: MeterMetrics,
    interval: float,
    count: int | None,
    *,
    ready: Callable[[], None] | None = None,
) -> None:
    """Connect and poll; if the dongle or the meter cannot be reached, wait and try again.

    SIGTERM cancels the loop, so the meter session ends before the process does;
    ``ready`` is called once that handler is in place.
    """
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    if task is not None:
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
    if ready is not None:
        ready()
    delay = 1.0
    try:
        while True:
            try:
                async with connect() as meter:
                    await poll(meter, metrics, interval=interval, count=count)
                    return
            except AiobrouteError as exc:
                if not recoverable(exc):
                    raise
                _LOGGER.warning("cannot reach the meter: %s; again in %.0f s", exc, delay)
                metrics.failed()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)
    except asyncio.CancelledError:
        if task is None or task.cancelling() == 0:
            raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


def main(
    argv: Sequence[str] | None = None,
    *,
    connect: MeterFactory | None = None,
    registry: CollectorRegistry | None = None,
) -> int:
    """Serve the metrics over HTTP while polling the meter; returns the exit status."""
    args = parse_args(argv)
    connect = connect or meter_factory(args)
    try:
        import prometheus_client
    except ImportError:
        print(
            "this example needs prometheus-client: pip install 'aiobroute[prometheus]'",
            file=sys.stderr,
        )
        return 2
    registry = registry if registry is not None else prometheus_client.REGISTRY
    metrics = MeterMetrics(functools.partial(prometheus_client.Gauge, registry=registry))
    server, thread = prometheus_client.start_http_server(
        args.listen_port, addr=args.listen_address, registry=registry
    )
    address = f"http://{args.listen_address}:{server.server_port}/metrics"
    try:
        asyncio.run(
            run(
                connect,
                metrics,
                args.interval,
                args.count,
                ready=lambda: print(f"metrics on {address}", file=sys.stderr, flush=True),
            )
        )
    except KeyboardInterrupt:
        return 0
    except AiobrouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(main())
