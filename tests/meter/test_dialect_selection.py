"""SmartMeter picks the dialect: detected, forced, remembered in the cache and across unplugs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from aiobroute.errors import AiobrouteError, InvalidArgumentError
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK
from aiobroute.testing import J11Preset, ModulePreset, Simulator
from aiobroute.transport import ByteStream
from tests.meter._sim import (
    assert_no_leaks,
    assert_reads_truth,
    make_meter,
    make_sim,
    running,
    scans,
    wait_for,
)

EVERY_PRESET = [p.name for p in ModulePreset.all()] + [p.name for p in J11Preset.all()]


def dialect_of(sim: Simulator) -> str:
    return DIALECT_J11 if sim.is_j11 else DIALECT_SKSTACK


def probes(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "dialect probe" in r.getMessage()]


@pytest.mark.parametrize("model", EVERY_PRESET)
async def test_every_preset_is_detected_without_a_model(
    model: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    sim = make_sim(model)
    async with running(sim) as meter:
        assert meter.link is not None
        assert meter.link.dialect == dialect_of(sim)
        assert meter.link.identity is not None
        assert meter.meter_pan is not None
        assert meter.meter_pan.dialect == dialect_of(sim)
        await assert_reads_truth(sim, meter)
        transmit = await meter.transmit_time_ms()
        assert (transmit is None) == sim.is_j11  # J11 modules keep no transmit-time count
    assert probes(caplog) == [f"dialect probe: {dialect_of(sim)}"]
    assert sim.flash_writes == 0
    assert_no_leaks()


@pytest.mark.parametrize(("model", "forced"), [("BP35C1-J11-T01", "j11"), ("BP35A1", "bp35a1")])
async def test_a_forced_model_is_not_probed(
    model: str, forced: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    sim = make_sim(model)
    async with running(sim, model=forced) as meter:
        await assert_reads_truth(sim, meter)
        assert meter.link is not None
        assert meter.link.dialect == dialect_of(sim)
    assert probes(caplog) == []


async def test_a_wrongly_forced_dialect_fails_without_harm() -> None:
    sim = make_sim("RS-WSUHA-J11")
    async with sim.memory() as stream:
        with pytest.raises(AiobrouteError):
            async with make_meter(stream, model="skstack"):
                pass
    assert sim.flash_writes == 0


def test_an_unknown_model_is_refused_at_once() -> None:
    with pytest.raises(InvalidArgumentError, match="unknown module model"):
        make_meter("/dev/null", model="bp35c9_j11")


@pytest.mark.parametrize("model", ["RS-WSUHA-J11", "BP35C2"])
async def test_a_warm_start_from_the_cache_neither_probes_nor_scans(
    model: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    cache = tmp_path / "pan.json"
    sim = make_sim(model)
    async with running(sim, cache_path=cache) as meter:
        await assert_reads_truth(sim, meter)
    assert json.loads(cache.read_text())["dialect"] == dialect_of(sim)
    assert len(probes(caplog)) == 1
    caplog.clear()
    scanned = scans(sim)
    async with running(sim, cache_path=cache) as meter:
        await assert_reads_truth(sim, meter)
    assert probes(caplog) == []  # the cached dialect opened the module directly
    assert scans(sim) == scanned  # and the cached PAN was joined without a scan
    assert_no_leaks()


async def test_a_replug_reopens_in_the_remembered_dialect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute")
    sim = make_sim("BP35C2-J11-T01")
    async with running(sim) as meter:
        caplog.clear()
        sim.unplug()
        await wait_for(lambda: meter.link is None or meter.link.closed)
        sim.replug()
        await wait_for(lambda: meter.reconnects >= 1, timeout=10)
        await assert_reads_truth(sim, meter)
    assert probes(caplog) == []
    assert "does not answer as" not in caplog.text
    assert_no_leaks()


async def test_another_kind_of_dongle_after_an_unplug_is_probed_and_scanned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute")
    cache = tmp_path / "pan.json"
    j11_sim, sk_sim = make_sim("RS-WSUHA-J11"), make_sim("RS-WSUHA-P")
    plugged = [j11_sim]

    async def reopen() -> ByteStream:
        return plugged[0].host_stream()

    async with j11_sim.memory(), sk_sim.memory(), make_meter(reopen, cache_path=cache) as meter:
        await assert_reads_truth(j11_sim, meter)
        plugged[0] = sk_sim  # the user swaps the dongle
        j11_sim.unplug()
        await wait_for(lambda: meter.reconnects >= 1, timeout=15)
        assert meter.link is not None
        assert meter.link.dialect == DIALECT_SKSTACK
        await assert_reads_truth(sk_sim, meter)
    assert "does not answer as j11" in caplog.text
    assert "dialect probe: skstack" in caplog.text
    assert scans(sk_sim) >= 1  # a J11 PAN is no use to an SKSTACK module
    assert json.loads(cache.read_text())["dialect"] == DIALECT_SKSTACK
    assert sk_sim.flash_writes == 0
    assert_no_leaks()


async def test_the_simulators_smart_meter_speaks_its_modules_dialect(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    sim = make_sim("RS-WSUHA-J11")
    async with sim.smart_meter() as meter:
        assert await meter.instant_power() == sim.meter.instant_power_watts()
        assert await meter.transmit_time_ms() is None
        assert meter.link is not None
        assert meter.link.dialect == DIALECT_J11
    assert probes(caplog) == []  # the simulator told the meter which dialect to use
