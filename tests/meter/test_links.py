"""SmartMeter over the MeterLink: dialect-tagged PANs, the cache, the link accessors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiobroute.errors import ClientClosedError
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK, MeterLink, MeterPan
from aiobroute.skstack import PanDescriptor, SkStackLink
from aiobroute.supervisor import PanCache
from tests.meter._sim import (
    assert_no_leaks,
    assert_reads_truth,
    make_meter,
    make_sim,
    running,
    scans,
)

OLD_ENTRY = {
    "version": 1,
    "channel": 0x21,
    "channel_page": 9,
    "pan_id": 0x8888,
    "addr": "001d129012345678",
    "lqi": 80,
    "family": "bp35c2",
}


def test_an_old_cache_entry_is_read_as_an_skstack_pan(tmp_path: Path) -> None:
    path = tmp_path / "pan.json"
    path.write_text(json.dumps(OLD_ENTRY))
    loaded = PanCache(path).load_pan()
    assert loaded == (
        MeterPan(
            dialect=DIALECT_SKSTACK, channel=0x21, pan_id=0x8888, mac="001D129012345678", lqi=80
        ),
        "bp35c2",
    )


def test_a_j11_pan_round_trips_and_is_no_skstack_descriptor(tmp_path: Path) -> None:
    cache = PanCache(tmp_path / "pan.json")
    pan = MeterPan(
        dialect=DIALECT_J11, channel=4, pan_id=0x1234, mac="001D129012345678", pair_id="ABCDEF01"
    )
    cache.save_pan(pan, "j11", {"release": "J"})
    loaded = cache.load_pan()
    assert loaded is not None
    assert loaded[0] == MeterPan(
        dialect=DIALECT_J11, channel=4, pan_id=0x1234, mac="001D129012345678", lqi=0
    )
    assert loaded[1] == "j11"
    assert "ABCDEF01" not in (tmp_path / "pan.json").read_text()  # the pairing ID is not kept
    assert cache.load() is None  # the SKSTACK view has nothing to join
    assert cache.load_attributes(pan.mac) == {"release": "J"}


@pytest.mark.parametrize(
    ("dialect", "channel"), [("zigbee", 0x21), (DIALECT_J11, 0x21), (DIALECT_SKSTACK, 4)]
)
def test_a_cache_entry_of_an_unknown_dialect_or_channel_is_ignored(
    dialect: str, channel: int, tmp_path: Path
) -> None:
    path = tmp_path / "pan.json"
    path.write_text(json.dumps({**OLD_ENTRY, "dialect": dialect, "channel": channel}))
    assert PanCache(path).load_pan() is None


async def test_the_meter_talks_through_its_link_and_tags_the_pan(tmp_path: Path) -> None:
    cache = tmp_path / "pan.json"
    sim = make_sim()
    async with running(sim, cache_path=cache) as meter:
        await assert_reads_truth(sim, meter)
        link = meter.link
        assert isinstance(link, MeterLink)
        assert isinstance(link, SkStackLink)
        assert meter.sk is link.client
        assert meter.ipaddr == link.meter_address
        assert meter.meter_pan == link.pan
        assert meter.meter_pan is not None
        assert meter.meter_pan.dialect == DIALECT_SKSTACK
        assert isinstance(meter.pan, PanDescriptor)
        assert meter.pan.pan_id == meter.meter_pan.pan_id
    saved = json.loads(cache.read_text())
    assert saved["dialect"] == DIALECT_SKSTACK
    assert meter.link is None
    with pytest.raises(ClientClosedError):
        _ = meter.sk
    assert_no_leaks()


async def test_a_remembered_pan_of_another_dialect_means_a_scan(tmp_path: Path) -> None:
    cache = tmp_path / "pan.json"
    sim = make_sim()
    async with running(sim, cache_path=cache) as meter:
        pan = meter.meter_pan
    assert pan is not None
    foreign = MeterPan(dialect=DIALECT_J11, channel=4, pan_id=pan.pan_id, mac=pan.mac)
    scanned = scans(sim)
    async with sim.memory():

        async def reopen() -> object:
            return sim.host_stream()

        async with make_meter(reopen, pan=foreign) as meter:
            await assert_reads_truth(sim, meter)
            assert meter.meter_pan == pan
    assert scans(sim) > scanned
    assert_no_leaks()


async def test_a_meter_pan_is_joined_without_a_scan() -> None:
    sim = make_sim()
    async with running(sim) as meter:
        pan = meter.meter_pan
    assert pan is not None
    scanned = scans(sim)
    async with sim.memory():

        async def reopen() -> object:
            return sim.host_stream()

        async with make_meter(reopen, pan=pan) as meter:
            await assert_reads_truth(sim, meter)
    assert scans(sim) == scanned
    assert_no_leaks()
