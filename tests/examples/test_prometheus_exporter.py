"""examples/prometheus_exporter.py against the simulator.

The metrics logic runs against a fake gauge factory (always), and ``main()`` against
prometheus-client when it is installed and against a stand-in module otherwise, so the
example is exercised whether or not the optional dependency is present.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import math
import re
import sys
import threading
import types
import urllib.request
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from aiobroute import CommandError, InstantCurrent, ResponseTimeoutError, SmartMeter

Simulated = Any  # the conftest's SimulatedMeters

HAVE_PROMETHEUS = importlib.util.find_spec("prometheus_client") is not None
BACKENDS = ["stand-in", *(["prometheus_client"] if HAVE_PROMETHEUS else [])]


class FakeGauge:
    """Records what the exporter sets, per label values."""

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}
        self._key: tuple[str, ...] = ()

    def labels(self, *labelvalues: str) -> FakeGauge:
        assert len(labelvalues) == len(self.labelnames)
        child = FakeGauge(self.name, self.documentation)
        child.values = self.values
        child._key = labelvalues
        return child

    def set(self, value: float) -> None:
        self.values[self._key] = value


class FakeRegistry:
    """A tiny registry: the gauges made through it, by name."""

    def __init__(self) -> None:
        self.gauges: dict[str, FakeGauge] = {}

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> FakeGauge:
        assert name not in self.gauges
        self.gauges[name] = FakeGauge(name, documentation, labelnames)
        return self.gauges[name]

    def value(self, name: str, *labels: str) -> float:
        return self.gauges[name].values[labels]


def check_truth(value: Callable[..., float], simulated: Simulated) -> None:
    expected = simulated.truth()
    assert value("aiobroute_instant_power_watts") == expected["power_w"]
    assert Decimal(str(value("aiobroute_instant_current_amperes", "r"))) == expected["current_r_a"]
    assert Decimal(str(value("aiobroute_instant_current_amperes", "t"))) == expected["current_t_a"]
    assert (
        Decimal(str(value("aiobroute_cumulative_energy_kwh", "bought"))) == (expected["bought_kwh"])
    )
    assert Decimal(str(value("aiobroute_cumulative_energy_kwh", "sold"))) == expected["sold_kwh"]
    assert value("aiobroute_up") == 1
    assert value("aiobroute_last_read_timestamp_seconds") > 1.5e9


async def test_gauges_follow_the_meter(
    load_example: Callable[[str], ModuleType], simulated: Simulated
) -> None:
    example = load_example("prometheus_exporter")
    registry = FakeRegistry()
    metrics = example.MeterMetrics(registry.gauge)
    assert {name: g.labelnames for name, g in registry.gauges.items()} == {
        "aiobroute_instant_power_watts": (),
        "aiobroute_instant_current_amperes": ("phase",),
        "aiobroute_cumulative_energy_kwh": ("direction",),
        "aiobroute_up": (),
        "aiobroute_last_read_timestamp_seconds": (),
    }
    assert all(g.documentation for g in registry.gauges.values())
    async with simulated() as meter:
        await example.poll(meter, metrics, interval=0, count=2)
    check_truth(registry.value, simulated)


class FlakyMeter:
    """Stands in for a SmartMeter: one timeout, then a reading with gaps."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls = 0
        self.error = error or ResponseTimeoutError("no answer")

    async def get(self, *epcs: int) -> dict[int, object]:
        self.calls += 1
        assert epcs == (0xE7, 0xE8, 0xE0, 0xE3)
        if self.calls == 1:
            raise self.error
        return {0xE7: None, 0xE8: InstantCurrent(Decimal("1.5"), None), 0xE0: Decimal("12.3")}


@pytest.mark.parametrize(
    "error",
    [ResponseTimeoutError("no answer"), CommandError(9, "SKSENDTO 1 ...", "UDP send failed")],
    ids=["timeout", "FAIL-ER09"],
)
async def test_a_failed_read_marks_down_and_missing_values_are_nan(
    error: Exception, load_example: Callable[[str], ModuleType]
) -> None:
    example = load_example("prometheus_exporter")
    registry = FakeRegistry()
    metrics = example.MeterMetrics(registry.gauge)
    meter = FlakyMeter(error)
    await example.poll(meter, metrics, interval=0, count=1)
    assert registry.value("aiobroute_up") == 0
    # Nothing stale: every value is NaN while the last read failed.
    assert math.isnan(registry.value("aiobroute_instant_power_watts"))
    assert math.isnan(registry.value("aiobroute_cumulative_energy_kwh", "bought"))
    await example.poll(meter, metrics, interval=0, count=1)
    assert registry.value("aiobroute_up") == 1
    assert math.isnan(registry.value("aiobroute_instant_power_watts"))
    assert registry.value("aiobroute_instant_current_amperes", "r") == 1.5
    assert math.isnan(registry.value("aiobroute_instant_current_amperes", "t"))
    assert registry.value("aiobroute_cumulative_energy_kwh", "bought") == 12.3
    assert math.isnan(registry.value("aiobroute_cumulative_energy_kwh", "sold"))


def stand_in_prometheus(registry: FakeRegistry) -> types.ModuleType:
    """A module with the three names the example uses from prometheus_client."""
    module = types.ModuleType("prometheus_client")
    servers: list[Any] = []

    def gauge(
        name: str, documentation: str, labelnames: Sequence[str] = (), *, registry: FakeRegistry
    ) -> FakeGauge:
        return registry.gauge(name, documentation, labelnames)

    class Server:
        server_port = 9999
        stopped = False

        def shutdown(self) -> None:
            self.stopped = True

        def server_close(self) -> None:
            pass

    def start_http_server(port: int, addr: str, registry: FakeRegistry) -> tuple[Any, Any]:
        servers.append(Server())
        thread = threading.Thread(target=lambda: None)
        thread.start()
        return servers[-1], thread

    module.Gauge = gauge  # type: ignore[attr-defined]
    module.REGISTRY = registry  # type: ignore[attr-defined]
    module.start_http_server = start_http_server  # type: ignore[attr-defined]
    module.servers = servers  # type: ignore[attr-defined]
    return module


@pytest.mark.parametrize("backend", BACKENDS)
def test_main_serves_the_readings(
    backend: str,
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    example = load_example("prometheus_exporter")
    scraped: list[str] = []
    if backend == "stand-in":
        fake = FakeRegistry()
        stand_in = stand_in_prometheus(fake)
        monkeypatch.setitem(sys.modules, "prometheus_client", stand_in)
        registry: Any = fake
        value: Callable[..., float] = fake.value
    else:
        import prometheus_client

        registry = prometheus_client.CollectorRegistry()

        def value(name: str, *labels: str) -> float:
            names = {
                "aiobroute_instant_current_amperes": "phase",
                "aiobroute_cumulative_energy_kwh": "direction",
            }
            sample = registry.get_sample_value(name, {names[name]: labels[0]} if labels else None)
            assert sample is not None, name
            return float(sample)

    @contextlib.asynccontextmanager
    async def connect_and_scrape() -> AsyncIterator[SmartMeter]:
        async with simulated() as meter:
            yield meter
        # After the reads, while the exporter still serves: scrape it over HTTP.
        if backend != "stand-in":
            port = re.findall(r":(\d+)/metrics", capsys.readouterr().err)[-1]
            url = f"http://127.0.0.1:{port}/metrics"

            def get() -> str:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return str(response.read().decode())

            scraped.append(await asyncio.to_thread(get))

    argv = ["--count", "2", "--interval", "0"]
    argv += ["--listen-address", "127.0.0.1", "--listen-port", "0"]
    assert example.main(argv, connect=connect_and_scrape, registry=registry) == 0
    check_truth(value, simulated)
    if backend == "stand-in":
        assert [server.stopped for server in stand_in.servers] == [True]
    else:
        (text,) = scraped
        power = simulated.truth()["power_w"]
        assert f"aiobroute_instant_power_watts {float(power)}" in text
        assert 'aiobroute_cumulative_energy_kwh{direction="bought"}' in text


def test_main_explains_the_missing_extra(
    load_example: Callable[[str], ModuleType],
    simulated: Simulated,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    example = load_example("prometheus_exporter")
    assert example.main([], connect=simulated) == 2
    assert "pip install 'aiobroute[prometheus]'" in capsys.readouterr().err
    assert simulated.sims == []  # gave up before connecting to the meter
