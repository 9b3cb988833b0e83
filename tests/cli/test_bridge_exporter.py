"""``aiobroute exporter`` end to end: a child process on a pty, scraped over HTTP.

The metrics are parsed with prometheus_client's own text parser and compared with the
simulated meter's ground truth, through an unplug/replug of the dongle and a SIGTERM.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from aiobroute.cli import main
from tests.cli._bridges import START, TIMEOUT, aiobroute, make_sim, truth

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def http_get(port: int, path: str = "/metrics") -> tuple[str, dict[str, str], str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), TIMEOUT)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.decode("utf-8").partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


async def scrape(port: int) -> Samples:
    status, headers, body = await http_get(port)
    assert status == "HTTP/1.1 200 OK"
    assert headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


async def scrape_until(port: int, condition: Callable[[Samples], bool]) -> Samples:
    async with asyncio.timeout(TIMEOUT):
        while True:
            samples = await scrape(port)
            if condition(samples):
                return samples
            await asyncio.sleep(0.05)


def up(samples: Samples) -> float:
    return samples[("aiobroute_up", ())]


@pytest.mark.pty
async def test_exporter_serves_truth_and_rides_through_an_unplug(tmp_path: Path) -> None:
    sim = make_sim()
    expected = truth(sim)
    async with (
        sim.pty(link=tmp_path / "ttyWISUN") as path,
        aiobroute(
            sim,
            "exporter",
            "--port",
            path,
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "0.2",
            "--retry-max",
            "0.3",
        ) as child,
    ):
        line = await child.line_with("serving http://")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/metrics", line)
        assert match is not None
        port = int(match[1])

        samples = await scrape_until(port, lambda s: up(s) == 1)
        assert samples[("aiobroute_power_watts", ())] == expected["power_w"]
        assert samples[("aiobroute_current_amperes", (("phase", "r"),))] == float(
            expected["current_r_a"]  # type: ignore[arg-type]
        )
        assert samples[("aiobroute_current_amperes", (("phase", "t"),))] == float(
            expected["current_t_a"]  # type: ignore[arg-type]
        )
        bought = samples[("aiobroute_energy_kwh_total", (("direction", "bought"),))]
        assert bought == float(expected["bought_kwh"])  # type: ignore[arg-type]
        sold = samples[("aiobroute_energy_kwh_total", (("direction", "sold"),))]
        assert sold == float(expected["sold_kwh"])  # type: ignore[arg-type]
        stamp = samples[("aiobroute_last_reading_timestamp_seconds", ())]
        assert abs(stamp - START.timestamp()) < 120  # the meter's clock, not the host's
        assert samples[("aiobroute_connection_state", (("state", "ready"),))] == 1
        info = [key for key in samples if key[0] == "aiobroute_meter_info"]
        assert info == [
            (
                "aiobroute_meter_info",
                (("manufacturer", "Toshiba"), ("serial_number", sim.meter.config.serial)),
            )
        ]

        # Unplugged: up 0 and no value presented as current; the server keeps answering.
        sim.unplug()
        samples = await scrape_until(port, lambda s: up(s) == 0)
        assert not any(name == "aiobroute_power_watts" for name, _ in samples)
        assert not any(name == "aiobroute_energy_kwh_total" for name, _ in samples)
        assert samples[("aiobroute_last_reading_timestamp_seconds", ())] == stamp
        status, _, _ = await http_get(port, "/nothing")
        assert status == "HTTP/1.1 404 Not Found"

        sim.replug()
        samples = await scrape_until(port, lambda s: up(s) == 1)
        assert samples[("aiobroute_power_watts", ())] == expected["power_w"]
        assert samples[("aiobroute_read_errors_total", ())] >= 1

        terms = sim.commands_received.count("SKTERM")
        code, err = await child.terminate()
        assert code == 143
        assert "Traceback" not in err
        assert sim.commands_received.count("SKTERM") == terms + 1
        assert not sim.session_active


@pytest.mark.parametrize("listen", ["host:port", "70000", "a:b:c"])
def test_exporter_listen_option_is_checked(listen: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["exporter", "--simulate", "--listen", listen])
    assert exit_info.value.code == 2
    assert "--listen" in capsys.readouterr().err
