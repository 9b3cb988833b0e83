"""``aiobroute exporter``: serve the meter's readings as Prometheus metrics, for months on end.

Every ``--interval`` seconds one frame reads power, currents and both counters; an HTTP
server (asyncio, in the command's event loop) answers ``GET /metrics``:

* ``aiobroute_up`` 1 while the last reading succeeded and is fresh, else 0
* ``aiobroute_last_reading_timestamp_seconds`` when the last good reading was taken
  (the meter's clock, as a Unix time)
* ``aiobroute_power_watts`` (negative while exporting),
  ``aiobroute_current_amperes{phase="r"|"t"}``, ``aiobroute_energy_kwh_total{direction=
  "bought"|"sold"}``: only while ``up`` is 1 (the last reading succeeded and is younger
  than ``--stale-after``), so a scrape never presents an old value as current; a value
  the meter has no data for is left out
* ``aiobroute_read_errors_total``, ``aiobroute_connection_state{state=...}``,
  ``aiobroute_meter_info{manufacturer=..., serial_number=...}``

The dongle and the meter may go away and come back; the exporter keeps serving (``up``
0 meanwhile), logs a rate-limited reason and reconnects. SIGTERM and Ctrl-C end the
meter session before exiting. Needs the ``prometheus`` extra
(``pip install 'aiobroute[prometheus]'``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple, TextIO

from aiobroute import cli, columns
from aiobroute.cli._service import (
    READING_EPCS,
    Backoff,
    RateLimitedLog,
    StatusLine,
    add_service_arguments,
    interval_seconds,
    read_round,
    reading_row,
    run_forever,
)
from aiobroute.echonet import manufacturer_name
from aiobroute.meter import SmartMeter
from aiobroute.models import MeterInfo
from aiobroute.supervisor import ConnectionState

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric
    from prometheus_client.registry import CollectorRegistry

__all__ = ["MeterCollector", "add_arguments", "run"]

#: How long one HTTP request may take to arrive, and how big its head may be.
_REQUEST_TIMEOUT = 10.0
_MAX_HEAD = 8192


class Listen(NamedTuple):
    """``--listen [HOST:]PORT``; host None: every interface."""

    host: str | None
    port: int


def _listen(text: str) -> Listen:
    match = re.fullmatch(r"(?:\[([^\]]+)\]:|([^:\[\]]*):)?(\d+)", text.strip())
    if match is None:
        raise argparse.ArgumentTypeError(f"not [HOST:]PORT: {text!r}")
    port = int(match[3])
    if not 0 <= port < 65536:
        raise argparse.ArgumentTypeError(f"port must be 0..65535, got {port}")
    return Listen(match[1] or match[2] or None, port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``aiobroute exporter`` (the common ones come from the parent parser)."""
    parser.add_argument(
        "--listen",
        type=_listen,
        default=Listen(None, 9848),
        metavar="[HOST:]PORT",
        help="where to serve /metrics (default 9848 on every interface; 0: any free port)",
    )
    parser.add_argument(
        "--interval",
        type=interval_seconds,
        default=30.0,
        help="seconds between readings (default 30)",
    )
    parser.add_argument(
        "--stale-after",
        type=interval_seconds,
        default=None,
        metavar="SECONDS",
        help="readings older than this are not served (default 3 x --interval, at least 60)",
    )
    add_service_arguments(parser)


class _Reading(NamedTuple):
    row: Mapping[str, object]
    at_unix: float  # the meter's clock
    at_monotonic: float  # the host's, for staleness


def _float(value: object) -> float | None:
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return float(value)
    return None


class MeterCollector:
    """A prometheus_client collector of the latest reading (nothing stale is served)."""

    def __init__(self, stale_after: float) -> None:
        self.stale_after = stale_after
        self.reading: _Reading | None = None
        self.ok = False  # the last attempt succeeded
        self.errors = 0
        self.state = ConnectionState.CLOSED
        self.info: MeterInfo | None = None

    def fresh(self, now: float | None = None) -> _Reading | None:
        """The last reading if the last attempt succeeded and it is younger than ``stale_after``."""
        reading = self.reading
        now = time.monotonic() if now is None else now
        if not self.ok or reading is None or now - reading.at_monotonic > self.stale_after:
            return None
        return reading

    def collect(self) -> Iterator[Metric]:
        """The metrics of one scrape."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        fresh = self.fresh()
        yield GaugeMetricFamily(
            "aiobroute_up", "1 while the last reading of the meter is fresh.", 1 if fresh else 0
        )
        if self.reading is not None:
            yield GaugeMetricFamily(
                "aiobroute_last_reading_timestamp_seconds",
                "When the last good reading was taken (meter clock, Unix time).",
                self.reading.at_unix,
            )
        yield CounterMetricFamily(
            "aiobroute_read_errors", "Readings that failed (recoverable errors).", self.errors
        )
        state = GaugeMetricFamily(
            "aiobroute_connection_state", "The connection state (1: current).", labels=["state"]
        )
        for each in ConnectionState:
            state.add_metric([each.value], 1 if each is self.state else 0)
        yield state
        if self.info is not None:
            info = GaugeMetricFamily(
                "aiobroute_meter_info",
                "The meter's maker and serial number (always 1).",
                labels=["manufacturer", "serial_number"],
            )
            info.add_metric(
                [manufacturer_name(self.info.manufacturer_code), self.info.serial_number or ""], 1
            )
            yield info
        if fresh is None:
            return
        row = fresh.row
        power = _float(row[columns.POWER_W])
        if power is not None:
            yield GaugeMetricFamily(
                "aiobroute_power_watts", "Instantaneous power (E7); negative exporting.", power
            )
        current = GaugeMetricFamily(
            "aiobroute_current_amperes", "Instantaneous current (E8) per phase.", labels=["phase"]
        )
        for phase, key in (("r", columns.CURRENT_R_A), ("t", columns.CURRENT_T_A)):
            value = _float(row[key])
            if value is not None:
                current.add_metric([phase], value)
        yield current
        energy = CounterMetricFamily(
            "aiobroute_energy_kwh",
            "Cumulative energy bought from (E0) and sold to (E3) the grid, in kWh.",
            labels=["direction"],
        )
        for direction, key in (("bought", columns.BOUGHT_KWH), ("sold", columns.SOLD_KWH)):
            value = _float(row[key])
            if value is not None:
                energy.add_metric([direction], value)
        yield energy


# ---------------------------------------------------------------------------- HTTP


async def _serve_http(
    registry: CollectorRegistry, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer one request: ``GET /metrics`` (HEAD too), ``/`` a link, else 404."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    try:
        async with asyncio.timeout(_REQUEST_TIMEOUT):
            head = await reader.readuntil(b"\r\n\r\n")
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
        writer.close()
        return
    try:
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
    except ValueError:
        method, target = "", ""
    path = target.split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        status, content_type, body = "405 Method Not Allowed", "text/plain", b"GET only\n"
    elif path == "/metrics":
        status, content_type, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest(registry)
    elif path == "/":
        status, content_type = "200 OK", "text/html; charset=utf-8"
        body = b'<html><body><a href="/metrics">metrics</a></body></html>\n'
    else:
        status, content_type, body = "404 Not Found", "text/plain", b"not found\n"
    header = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode("latin-1")
    with contextlib.suppress(OSError):
        writer.write(header + (b"" if method == "HEAD" else body))
        async with asyncio.timeout(_REQUEST_TIMEOUT):
            await writer.drain()
    with contextlib.suppress(OSError, TimeoutError):
        writer.close()
        async with asyncio.timeout(_REQUEST_TIMEOUT):
            await writer.wait_closed()


async def _safe_serve(
    registry: CollectorRegistry, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        await _serve_http(registry, reader, writer)
    except (OSError, TimeoutError):  # a scraper that went away mid-answer
        writer.close()


# ---------------------------------------------------------------------------- command


async def _poll(
    args: argparse.Namespace, collector: MeterCollector, status: StatusLine, log: RateLimitedLog
) -> None:
    async def body(meter: SmartMeter) -> None:
        backoff = Backoff(args.retry_max)
        states = asyncio.create_task(_follow_states(meter, collector))
        try:
            collector.info = await meter.info()
            while True:
                started = time.monotonic()
                values = await read_round(
                    meter, READING_EPCS, log=log, status=status, backoff=backoff
                )
                collector.ok = values is not None
                if values is None:
                    collector.errors += 1
                else:
                    when = cli._now(args, meter)
                    collector.reading = _Reading(
                        reading_row(values, when.isoformat(timespec="seconds")),
                        when.timestamp(),
                        time.monotonic(),
                    )
                await asyncio.sleep(max(0.0, args.interval - (time.monotonic() - started)))
        finally:
            states.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await states
            collector.state = ConnectionState.CLOSED
            collector.ok = False

    await run_forever(
        cli._service_meter(args), body, retry_max=args.retry_max, status=status, log=log
    )


async def _follow_states(meter: SmartMeter, collector: MeterCollector) -> None:
    async for state in meter.states():
        collector.state = state


async def run(args: argparse.Namespace, out: TextIO) -> int:
    """Serve the metrics until SIGTERM or Ctrl-C."""
    del out  # the status line goes to stderr
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        raise cli.CliError(
            "aiobroute exporter needs prometheus-client: pip install 'aiobroute[prometheus]'",
            cli.EXIT_USAGE,
        ) from None
    stale_after = args.stale_after or max(3 * args.interval, 60.0)
    collector = MeterCollector(stale_after)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    try:
        server = await asyncio.start_server(
            lambda r, w: _safe_serve(registry, r, w),
            args.listen.host,
            args.listen.port,
            limit=_MAX_HEAD,
        )
    except OSError as exc:
        raise cli.CliError(
            f"cannot listen on {args.listen.host or '*'}:{args.listen.port}: "
            f"{exc.strerror or exc}. Pick another --listen port.",
            cli.EXIT_USAGE,
        ) from exc
    async with server:
        for sock in server.sockets:
            host, port = sock.getsockname()[:2]
            print(f"aiobroute exporter: serving http://{host}:{port}/metrics", file=sys.stderr)
        sys.stderr.flush()
        await _poll(args, collector, StatusLine("exporter meter"), RateLimitedLog())
    return cli.EXIT_OK
