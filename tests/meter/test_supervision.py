"""Session supervision against injected faults: the next reading after recovery is correct."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
from pathlib import Path

import pytest

from aiobroute import AuthenticationError, ClientClosedError, ReconnectingError
from aiobroute.echonet import Esv, Frame
from aiobroute.meter import MeterTimeouts
from aiobroute.supervisor import ConnectionState, WatchdogSettings
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, FaultPlan
from tests.meter._sim import (
    assert_no_leaks,
    assert_reads_truth,
    joins,
    make_meter,
    make_sim,
    record_states,
    running,
    scans,
    wait_for,
)


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_expiry_with_automatic_reauthentication(model: str) -> None:
    sim = make_sim(model)
    states: list[ConnectionState] = []
    async with running(sim) as meter:
        recorder = asyncio.create_task(record_states(meter, states))
        await asyncio.sleep(0)
        joined = joins(sim)
        notified = len(sim.events)
        assert sim.inject_session_expiry(reauth=True)
        if sim.is_j11:
            # J11 announces no expiry, only the re-authentication's result (0x6028).
            await wait_for(lambda: len(sim.events) > notified)
        else:
            await wait_for(lambda: ConnectionState.REAUTHENTICATING in states)
        await wait_for(lambda: states[-1] is ConnectionState.READY)
        await assert_reads_truth(sim, meter)
        assert joins(sim) == joined  # the module re-authenticated by itself
    await recorder
    assert states[-1] is ConnectionState.CLOSED
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35C2", "BP35C2-J11-T01"])
async def test_expiry_followed_by_event_24_rejoins(model: str) -> None:
    sim = make_sim(model)
    async with running(sim) as meter:
        joined = joins(sim)
        scanned = scans(sim)  # the first join's escalating rounds (4, then 5 on a BP35C2)
        assert sim.inject_session_expiry(reauth=False)
        await wait_for(lambda: joins(sim) > joined and meter.state is ConnectionState.READY)
        await assert_reads_truth(sim, meter)
        assert scans(sim) == scanned  # rejoined the known PAN without scanning again
    assert_no_leaks()


@pytest.mark.parametrize("model", ["RL7023_DSS", "BP35C1-J11-T01"])
async def test_meter_initiated_termination_rejoins(model: str) -> None:
    sim = make_sim(model)
    async with running(sim) as meter:
        joined = joins(sim)
        assert sim.inject_termination()
        await wait_for(lambda: joins(sim) > joined and meter.state is ConnectionState.READY)
        await assert_reads_truth(sim, meter)
    assert_no_leaks()


async def test_arib_limit_holds_requests_until_released() -> None:
    sim = make_sim()
    async with running(
        sim, timeouts=MeterTimeouts(attempt=0.3, single=5.0, sequence=5.0, instance_list=0.3)
    ) as meter:
        sim.inject_tx_limit(600.0)
        await wait_for(lambda: meter.state is ConnectionState.RATE_LIMITED)
        pending = asyncio.create_task(meter.instant_power())
        await asyncio.sleep(0.2)
        assert not pending.done()  # held, not failed
        sim.clock.advance(601.0)  # EVENT 33
        assert await asyncio.wait_for(pending, 3) == sim.meter.instant_power_watts()
        assert meter.state is ConnectionState.READY
    assert_no_leaks()


async def test_twenty_percent_of_replies_lost() -> None:
    sim = make_sim(faults=FaultPlan(seed=7, drop_reply=0.2))
    timeouts = MeterTimeouts(attempt=0.08, single=2.0, sequence=4.0, instance_list=0.3)
    watchdog = WatchdogSettings(timeouts_before_probe=3, push_grace=None, probe_timeout=1.0)
    async with running(sim, retries=8, timeouts=timeouts, watchdog=watchdog) as meter:
        before = len(sim.payloads_to_meter)
        for _ in range(25):
            await assert_reads_truth(sim, meter)  # two Gets each
        gets = [Frame.decode(p) for p in sim.payloads_to_meter[before:]]
        assert all(frame.esv is Esv.GET for frame in gets)
        # More Gets reached the meter than readings were asked for: lost answers made the
        # meter send requests again, each time with a fresh TID.
        assert len(gets) > 2 * 25
        assert len({frame.tid for frame in gets}) == len(gets)
        assert meter.frames_sent == sim.frames_to_meter
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_silent_link_is_probed_then_recovered(model: str) -> None:
    sim = make_sim(model)
    states: list[ConnectionState] = []
    async with running(sim) as meter:
        recorder = asyncio.create_task(record_states(meter, states))
        sim.set_silent(True)
        with pytest.raises((TimeoutError, ReconnectingError)):
            await meter.instant_power()
        await wait_for(lambda: ConnectionState.RECONNECTING in states)
        sim.set_silent(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
        assert meter.reconnects >= 1
    await recorder
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35C2", "BP35C0-J11"])
async def test_module_reset_is_recovered(model: str) -> None:
    sim = make_sim(model)
    async with running(sim) as meter:
        joined = joins(sim)
        sim.inject_reset()
        with contextlib.suppress(ReconnectingError, TimeoutError):
            await meter.instant_power()
        await wait_for(lambda: joins(sim) > joined and meter.state is ConnectionState.READY)
        await assert_reads_truth(sim, meter)
        if not sim.is_j11:
            # Echo was back on after the reset; the client turned it off again.
            assert sim.commands_received.count("SKSREG SFE 0") >= 2
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_unplugged_port_is_reopened_in_memory(model: str) -> None:
    sim = make_sim(model)
    async with running(sim) as meter:
        sim.unplug()
        await wait_for(lambda: meter.state is ConnectionState.RECONNECTING)
        with pytest.raises(ReconnectingError):
            await meter.instant_power()
        await asyncio.sleep(0.2)
        sim.replug()
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
    assert_no_leaks()


@pytest.mark.pty
@pytest.mark.skipif(os.name != "posix", reason="pseudo-terminals are POSIX")
@pytest.mark.parametrize("model", ["BP35C2", "BP35C2-J11-T01"])
async def test_pty_closed_and_reopened_under_the_same_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, model: str
) -> None:
    sim = make_sim(model)
    link = tmp_path / "ttyBROUTE"
    async with (
        sim.pty(link=link) as path,
        make_meter(str(path), wait_for_reconnect=True) as meter,
    ):
        await assert_reads_truth(sim, meter)
        sim.unplug()
        await wait_for(lambda: meter.state is ConnectionState.RECONNECTING)
        await asyncio.sleep(0.3)
        sim.replug()
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
        assert meter.reconnects >= 1
    assert_no_leaks()
    # A vanished port is an expected event: reported as warnings, never as errors.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_restart_with_cache_file_skips_the_scan(tmp_path: Path, model: str) -> None:
    cache = tmp_path / "pan.json"
    sim = make_sim(model)
    async with running(sim, cache_path=cache) as meter:
        await assert_reads_truth(sim, meter)
    assert scans(sim) >= 1
    saved = json.loads(cache.read_text())
    assert meter.meter_pan is not None
    assert saved["pan_id"] == meter.meter_pan.pan_id
    assert saved["dialect"] == ("j11" if sim.is_j11 else "skstack")
    assert DEFAULT_RBID not in cache.read_text()
    assert DEFAULT_PASSWORD not in cache.read_text()
    assert saved["meter"]["get_map"]  # the attributes were cached too
    scanned = scans(sim)
    async with running(sim, cache_path=cache) as meter:
        before = sim.frames_to_meter
        await assert_reads_truth(sim, meter)
        # No connection reads: the maps and the scaling came from the cache file.
        assert sim.frames_to_meter - before == 2
        info = await meter.info()
        assert info.coefficient == (sim.meter.config.coefficient or 1)
        entries = await meter.history(1)  # learns the meter's clock first (97/98)
        assert entries[0].timestamp.date() == dt.date(2026, 5, 19)
        assert [e.raw for e in entries] == list(sim.meter.history_raw(1))
    assert scans(sim) == scanned  # the second process joined from the cache
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35A1", "BP35C2", "RS-WSUHA-J11"])
async def test_refused_credentials_at_the_cached_pan_fail_without_a_scan(
    tmp_path: Path, model: str
) -> None:
    # The meter there answered PANA and refused: scanning again finds the same meter.
    cache = tmp_path / "pan.json"
    sim = make_sim(model)
    async with running(sim, cache_path=cache):
        pass
    scanned, joined = scans(sim), joins(sim)
    with pytest.raises(AuthenticationError) as caught:
        async with running(sim, cache_path=cache, password="WRONGPASS123"):
            pass
    assert caught.value.peer_answered is True
    assert scans(sim) == scanned
    assert joins(sim) == joined + 1
    assert "WRONGPASS123" not in str(caught.value)
    assert_no_leaks()


async def test_stale_cache_falls_back_to_a_scan(tmp_path: Path) -> None:
    cache = tmp_path / "pan.json"
    cache.write_text(
        json.dumps(
            {
                "version": 1,
                "channel": 0x3B,
                "channel_page": 9,
                "pan_id": 0x1234,
                "addr": "0011223344556677",
                "lqi": 100,
                "pair_id": "CCDDEEFF",
                "family": "bp35a1",
            }
        )
    )
    sim = make_sim()
    async with running(sim, cache_path=cache) as meter:
        await assert_reads_truth(sim, meter)
    assert json.loads(cache.read_text())["pan_id"] != 0x1234  # corrected
    assert_no_leaks()


@pytest.mark.parametrize("model", ["BP35A1", "BP35C1-J11-T01"])
async def test_missing_periodic_push_triggers_a_probe(model: str) -> None:
    sim = make_sim(model)
    watchdog = WatchdogSettings(
        timeouts_before_probe=2,
        push_period=0.2,
        push_grace=0.1,
        probe_timeout=1.0,
        reauth_timeout=1.0,
    )
    async with running(sim, watchdog=watchdog) as meter:
        # The simulated clock is frozen: the meter never pushes, so the watchdog probes it.
        before = len(sim.payloads_to_meter)
        await wait_for(lambda: len(sim.payloads_to_meter) > before, timeout=3)
        assert meter.state is ConnectionState.READY  # the probe was answered
        sim.set_silent(True)
        await wait_for(lambda: meter.state is ConnectionState.RECONNECTING, timeout=5)
        sim.set_silent(False)
        await wait_for(lambda: meter.state is ConnectionState.READY, timeout=10)
        await assert_reads_truth(sim, meter)
    assert_no_leaks()


async def test_a_request_before_connect_says_to_connect_first() -> None:
    sim = make_sim()
    async with sim.memory():
        meter = make_meter(sim.host_stream)
        with pytest.raises(ClientClosedError, match="connect first"):
            await meter.instant_power()
        assert sim.frames_to_meter == 0
        await meter.close()
    assert_no_leaks()
