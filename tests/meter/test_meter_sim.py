"""SmartMeter end to end against the in-memory simulator, compared with its ground truth."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from aiobroute import (
    InstantCurrent,
    IntervalEnergy,
    ServiceNotAvailableError,
    SmartMeter,
    TimedEnergy,
)
from aiobroute.echonet import SMART_METER
from aiobroute.errors import InvalidArgumentError
from aiobroute.meter import MeterTimeouts
from aiobroute.skstack.client import SkTimeouts
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, MeterConfig, Simulator
from aiobroute.testing._clock import JST, SimClock
from tests.meter._sim import FAST_J11, PROBE

FROZEN = 1e-9  # simulated seconds per real second: time stands still unless advanced
FAST_SK = SkTimeouts(
    command=2.0, reset_settle=0.0, scan_margin=2.0, join=5.0, send=2.0, send_event_grace=0.5
)
FAST = MeterTimeouts(attempt=1.0, single=3.0, sequence=6.0, instance_list=0.5)
MODELS = ["BP35A1", "RL7023_IPS", "BP35C2", "RL7023_DSS"]
J11_MODELS = ["BP35C1-J11-T01", "BP35C2-J11-T01", "RS-WSUHA-J11", "BP35C0-J11"]
#: One module of each dialect, for the tests that do not depend on the model.
BOTH = ["BP35C2", "RS-WSUHA-J11"]


@contextlib.asynccontextmanager
async def connected(
    model: str = "BP35A1",
    *,
    meter: MeterConfig | None = None,
    start: dt.datetime = dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST),
    **options: object,
) -> AsyncIterator[tuple[Simulator, SmartMeter]]:
    clock = SimClock(start, speed=FROZEN)
    sim = Simulator(model, seed=1, timing="instant", clock=clock, meter=meter)
    async with sim.memory() as stream:
        client = SmartMeter(
            stream,
            rbid=DEFAULT_RBID,
            password=DEFAULT_PASSWORD,
            min_interval=0.0,
            timeouts=FAST,
            sk_timeouts=FAST_SK,
            j11_timeouts=FAST_J11,
            probe_timings=PROBE,
            **options,  # type: ignore[arg-type]
        )
        async with client:
            yield sim, client


def kwh(sim: Simulator, raw: int | None) -> Decimal | None:
    return None if raw is None else raw * sim.meter.config.kwh_per_count


@pytest.mark.parametrize("model", MODELS + J11_MODELS)
async def test_every_reading_matches_ground_truth(model: str) -> None:
    async with connected(model) as (sim, meter):
        truth = sim.meter
        assert await meter.instant_power() == truth.instant_power_watts()
        r, t = truth.instant_current_deciamperes()
        assert await meter.instant_current() == InstantCurrent(
            Decimal(r) / 10, None if t is None else Decimal(t) / 10
        )
        assert await meter.cumulative_energy() == kwh(sim, truth.cumulative_raw())
        assert await meter.cumulative_energy(reverse=True) == kwh(
            sim, truth.cumulative_raw(reverse=True)
        )
        stamp, raw = truth.fixed_time_reading()
        fixed = await meter.fixed_time_energy()
        assert fixed == TimedEnergy(stamp, kwh(sim, raw), raw)
        assert fixed.timestamp.tzinfo is not None
        assert sim.flash_writes == 0


@pytest.mark.parametrize("model", BOTH)
async def test_history_day_matches_slots_and_meter_date(model: str) -> None:
    async with connected(model) as (sim, meter):
        for day in (0, 3):
            entries = await meter.history(day)
            raw = sim.meter.history_raw(day)
            assert [e.raw for e in entries] == list(raw)
            assert [e.kwh for e in entries] == [kwh(sim, r) for r in raw]
            date = dt.date(2026, 5, 20) - dt.timedelta(days=day)
            assert entries[0].timestamp == dt.datetime.combine(date, dt.time(0, 0), tzinfo=JST)
            assert entries[-1].timestamp.time() == dt.time(23, 30)
        today = await meter.history(0)
        assert today[-1].kwh is None  # 23:30 is in the future at 14:26
        usage = meter.usage(today)
        assert len(usage) == 47
        assert all(u is None or u >= 0 for u in usage)


@pytest.mark.parametrize("model", ["BP35A1", "BP35C2-J11-T01"])
async def test_history_30min_and_reverse(model: str) -> None:
    noon = dt.datetime(2026, 5, 20, 12, 5, tzinfo=JST)
    async with connected(model, meter=MeterConfig(pv_export=True), start=noon) as (
        sim,
        meter,
    ):
        end = dt.datetime(2026, 5, 20, 12, 0, tzinfo=JST)
        entries = await meter.history_30min(end, count=4)
        assert [e.timestamp for e in entries] == [
            end - dt.timedelta(minutes=30 * i) for i in (3, 2, 1, 0)
        ]
        for entry in entries:
            normal = sim.meter.cumulative_raw(entry.timestamp)
            reverse = sim.meter.cumulative_raw(entry.timestamp, reverse=True)
            assert entry == IntervalEnergy(entry.timestamp, kwh(sim, normal), kwh(sim, reverse))
        power = await meter.instant_power()
        assert power is not None
        assert power < 0  # exporting at noon on a PV household
        sold_before = await meter.cumulative_energy(reverse=True)
        sim.clock.advance(3600)
        sold_after = await meter.cumulative_energy(reverse=True)
        assert sold_before is not None
        assert sold_after is not None
        assert sold_after > sold_before  # E3 grows while exporting


@pytest.mark.parametrize("model", ["BP35A1", "BP35C1-J11-T01"])
async def test_history_1min_only_on_release_r(model: str) -> None:
    async with connected(model) as (_sim, meter):
        with pytest.raises(ServiceNotAvailableError):
            await meter.history_1min(dt.datetime(2026, 5, 20, 14, 20, tzinfo=JST))
    async with connected(model, meter=MeterConfig(release="R")) as (sim, meter):
        end = dt.datetime(2026, 5, 20, 14, 20, tzinfo=JST)
        entries = await meter.history_1min(end, count=3)
        assert [e.timestamp.minute for e in entries] == [18, 19, 20]
        assert entries[-1].normal_kwh == kwh(sim, sim.meter.cumulative_raw(end))


@pytest.mark.parametrize("model", ["BP35A1", "BP35C0-J11"])
async def test_get_batches_into_one_frame_and_keeps_partial_values(model: str) -> None:
    async with connected(model) as (sim, meter):
        before = sim.frames_to_meter
        values = await meter.get(0xE7, 0xE8, 0xE0)
        assert sim.frames_to_meter - before == 1
        assert values[0xE7] == sim.meter.instant_power_watts()
        assert values[0xE0] == kwh(sim, sim.meter.cumulative_raw())
        assert isinstance(values[0xE8], InstantCurrent)
        # The meter cannot read E8 now: Get_SNA, and the other values are kept.
        getters = sim.meter._objects[SMART_METER]
        del getters[0xE8]
        partial = await meter.get(0xE7, 0xE8, 0xE0)
        assert set(partial) == {0xE7, 0xE0}
        with pytest.raises(ServiceNotAvailableError):
            await meter.instant_current()


async def test_meter_without_coefficient_and_two_wire_service() -> None:
    config = MeterConfig(coefficient=None, single_phase_two_wire=True, unit_code=0x02)
    async with connected("RL7023_DSS", meter=config) as (sim, meter):
        info = await meter.info()
        assert info.coefficient == 1
        assert 0xD3 not in info.get_map
        assert info.unit_kwh == Decimal("0.01")
        current = await meter.instant_current()
        assert current.t_amperes is None
        assert await meter.cumulative_energy() == Decimal(sim.meter.cumulative_raw()) / 100


async def test_meter_limiting_epcs_per_get_is_learned() -> None:
    async with connected("BP35C2", meter=MeterConfig(max_epcs_per_get=2)) as (sim, meter):
        values = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
        assert set(values) == {0xE7, 0xE8, 0xE0, 0xE3}
        before = sim.frames_to_meter
        again = await meter.get(0xE7, 0xE8, 0xE0, 0xE3)
        assert set(again) == set(values)
        assert sim.frames_to_meter - before == 2  # the limit was remembered


async def test_counter_rollover_delta() -> None:
    config = MeterConfig(digits=6, initial_normal_raw=10**6 - 3, unit_code=0x03)
    async with connected("BP35A1", meter=config) as (sim, meter):
        first = await meter.fixed_time_energy()
        sim.clock.advance(2 * 3600)
        second = await meter.fixed_time_energy()
        assert first.raw is not None
        assert second.raw is not None
        assert second.raw < first.raw  # wrapped
        (delta,) = meter.usage([first, second])
        assert delta is not None
        assert delta > 0
        assert delta == Decimal((second.raw - first.raw) % 10**6) * Decimal("0.001")


@pytest.mark.parametrize("model", ["BP35A1", "RS-WSUHA-J11"])
async def test_set_and_validation(model: str) -> None:
    async with connected(model) as (sim, meter):
        await meter.set(0xE5, 3)
        assert sim.meter.history_day == 3
        with pytest.raises(InvalidArgumentError):
            await meter.set(0xE5, 100)
        with pytest.raises(ServiceNotAvailableError):
            await meter.set(0xE7, 5)  # not settable
        with pytest.raises(InvalidArgumentError):
            await meter.history(100)
        # Wrong kinds of EPC and day are argument errors too, and nothing is sent for them.
        sent = sim.frames_to_meter
        for bad_epc in ("E7", 231.0, True, None):
            with pytest.raises(InvalidArgumentError, match="EPC"):
                await meter.get(0xE0, bad_epc)  # type: ignore[arg-type]
            with pytest.raises(InvalidArgumentError, match="EPC"):
                await meter.set(bad_epc, 3)  # type: ignore[arg-type]
        for bad_day in ("1", 1.0, None):
            with pytest.raises(InvalidArgumentError, match="day"):
                await meter.history(bad_day)  # type: ignore[arg-type]
        assert sim.frames_to_meter == sent


@pytest.mark.parametrize("model", BOTH)
async def test_info_reports_the_meter(model: str) -> None:
    async with connected(model, meter=MeterConfig(release="R")) as (_sim, meter):
        info = await meter.info()
        assert info.release == "R"
        assert info.serial_number == "SIM00000001"
        assert info.manufacturer_code == 0x16
        assert info.fault is False
        assert {0xE7, 0xE8, 0xEE, 0xEF} <= info.get_map
        assert info.instances == (SMART_METER,)
        assert info.ipaddr == meter.ipaddr


@pytest.mark.parametrize("model", ["BP35A1", "BP35C2-J11-T01"])
@pytest.mark.parametrize("infc", [False, True])
async def test_half_hour_push_arrives_typed(infc: bool, model: str) -> None:
    async with connected(model, meter=MeterConfig(notify_with_infc=infc)) as (sim, meter):
        notes = meter.notifications()
        sim.clock.advance(5 * 60)  # 14:26 -> 14:31, past the 14:30 push
        note = await asyncio.wait_for(anext(notes), 2)
        energy = note.values[0xEA]
        assert isinstance(energy, TimedEnergy)
        assert energy.timestamp == dt.datetime(2026, 5, 20, 14, 30, tzinfo=JST)
        assert energy.raw == sim.meter.cumulative_raw(energy.timestamp)
        if infc:
            for _ in range(100):
                if sim.meter.infc_res_received:
                    break
                await asyncio.sleep(0.01)
            assert sim.meter.infc_res_received == 1
        await notes.aclose()  # type: ignore[attr-defined]


@pytest.mark.pty
@pytest.mark.skipif(__import__("os").name != "posix", reason="POSIX pseudo-terminals")
@pytest.mark.parametrize("model", [*MODELS, "RS-WSUHA-J11", "BP35C1-J11-T01"])
async def test_readings_over_a_pty_with_real_pyserial(model: str) -> None:
    clock = SimClock(dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST), speed=FROZEN)
    sim = Simulator(model, seed=4, timing="instant", clock=clock)
    async with (
        sim.pty() as path,
        SmartMeter(
            path,
            rbid=DEFAULT_RBID,
            password=DEFAULT_PASSWORD,
            min_interval=0.0,
            timeouts=FAST,
            sk_timeouts=FAST_SK,
            j11_timeouts=FAST_J11,
            probe_timings=PROBE,
        ) as meter,
    ):
        assert meter.link is not None
        assert meter.link.dialect == ("j11" if sim.is_j11 else "skstack")  # detected
        values = await meter.get(0xE7, 0xE0, 0xE3)
        assert values[0xE7] == sim.meter.instant_power_watts()
        assert values[0xE0] == kwh(sim, sim.meter.cumulative_raw())
        assert values[0xE3] == kwh(sim, sim.meter.cumulative_raw(reverse=True))
        entries = await meter.history(1)
        assert [e.raw for e in entries] == list(sim.meter.history_raw(1))


async def test_full_session_trace_logs_never_show_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from aiobroute._log import TRACE

    caplog.set_level(TRACE, logger="aiobroute")
    async with connected("BP35A1") as (_sim, meter):
        await meter.get(0xE7, 0xE8, 0xE0)
        await meter.history(1)
        await meter.info()
        assert DEFAULT_RBID not in repr(meter)
    records = caplog.records
    assert any(r.levelno == TRACE for r in records)
    text = "\n".join(r.getMessage() for r in records)
    assert "SKSETRBID" in text
    assert DEFAULT_RBID not in text
    assert DEFAULT_PASSWORD not in text
    assert not [r for r in records if r.levelno >= logging.ERROR]


async def test_duplicate_and_late_answers_are_dropped() -> None:
    from aiobroute.testing import FaultPlan

    clock = SimClock(dt.datetime(2026, 5, 20, 14, 26, 0, tzinfo=JST), speed=1.0)
    faults = FaultPlan(seed=3, duplicate_reply=0.5, delay_reply=0.3, delay_reply_s=(0.25, 0.3))
    sim = Simulator("BP35A1", seed=1, timing="instant", clock=clock, faults=faults)
    timeouts = MeterTimeouts(attempt=0.15, single=3.0, sequence=3.0, instance_list=0.3)
    async with (
        sim.memory() as stream,
        SmartMeter(
            stream,
            rbid=DEFAULT_RBID,
            password=DEFAULT_PASSWORD,
            min_interval=0.0,
            timeouts=timeouts,
            sk_timeouts=FAST_SK,
            retries=6,
        ) as meter,
    ):
        for _ in range(12):
            values = await meter.get(0xD7, 0x8D, 0xE1)
            assert values[0xD7] == sim.meter.config.digits
            assert values[0x8D] == sim.meter.config.serial
            assert values[0xE1] == sim.meter.config.unit_code
        # Late and duplicate answers were seen and dropped, never mistaken for others.
        assert len(sim.payloads_from_meter) > meter.frames_sent
