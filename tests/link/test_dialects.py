"""Dialect selection: model names, and start_link (forced, remembered, probed)."""

from __future__ import annotations

import logging

import pytest

from aiobroute._dialects import (
    J11_MODELS,
    SKSTACK_MODELS,
    DialectChoice,
    dialect_choice,
    start_link,
)
from aiobroute.errors import CommandTimeoutError, InvalidArgumentError
from aiobroute.j11.client import J11Timeouts
from aiobroute.j11.link import J11Link
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK, ProbeTimings
from aiobroute.skstack import ModuleFamily, SkStackLink
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID, SimulatedJ11Module
from aiobroute.testing._presets import ModulePreset
from tests.link._recorder import Recorder, get_e7, watts_of
from tests.link.test_j11_link_sim import make_sim as make_j11_sim
from tests.link.test_skstack_link import FAST as FAST_SK
from tests.link.test_skstack_link import make_sim as make_sk_sim

QUICK = ProbeTimings(listen=0.0, settle=0.0, skstack=1.0, j11=1.0)
FAST_J11 = J11Timeouts(command=0.5, boot=0.5, scan_margin=2.0, join=5.0, send=2.0, busy_retry=0.0)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (None, DialectChoice()),
        ("j11", DialectChoice(DIALECT_J11)),
        ("RS-WSUHA-J11", DialectChoice(DIALECT_J11)),
        ("bp35c1_j11", DialectChoice(DIALECT_J11)),
        ("BP35C1-J11-T01", DialectChoice(DIALECT_J11)),
        ("bp35c2_j11", DialectChoice(DIALECT_J11)),
        ("BP35C0-J11", DialectChoice(DIALECT_J11)),
        ("skstack", DialectChoice(DIALECT_SKSTACK)),
        ("BP35A1", DialectChoice(DIALECT_SKSTACK, ModuleFamily.BP35A1)),
        ("rl7023-ips", DialectChoice(DIALECT_SKSTACK, ModuleFamily.BP35A1)),
        ("RS-WSUHA-P", DialectChoice(DIALECT_SKSTACK, ModuleFamily.BP35C2)),
        ("bp35c2", DialectChoice(DIALECT_SKSTACK, ModuleFamily.BP35C2)),
    ],
)
def test_model_names(model: str | None, expected: DialectChoice) -> None:
    assert dialect_choice(model) == expected


def test_family_alone_forces_skstack_and_conflicts_are_refused() -> None:
    assert dialect_choice(None, ModuleFamily.BP35C2) == DialectChoice(
        DIALECT_SKSTACK, ModuleFamily.BP35C2
    )
    assert dialect_choice("skstack", ModuleFamily.BP35A1).family is ModuleFamily.BP35A1
    with pytest.raises(InvalidArgumentError, match="J11"):
        dialect_choice("rs_wsuha_j11", ModuleFamily.BP35C2)
    with pytest.raises(InvalidArgumentError, match="family"):
        dialect_choice("bp35a1", ModuleFamily.BP35C2)
    with pytest.raises(InvalidArgumentError, match="unknown module model"):
        dialect_choice("bp35z9")


def test_every_simulated_preset_has_a_model_name() -> None:
    from aiobroute.testing import J11Preset

    for preset in J11Preset.all():
        assert dialect_choice(preset.name).dialect == DIALECT_J11
    for sk in ModulePreset.all():
        assert dialect_choice(sk.name).dialect == DIALECT_SKSTACK
    assert "j11" in J11_MODELS
    assert "skstack" in SKSTACK_MODELS


def _probed(caplog: pytest.LogCaptureFixture) -> bool:
    return any("dialect probe" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("model", ["RS-WSUHA-J11", "BP35C2"])
async def test_the_remembered_dialect_opens_without_a_probe(
    model: str, caplog: pytest.LogCaptureFixture
) -> None:
    j11 = "J11" in model
    sim = make_j11_sim(model) if j11 else make_sk_sim(model)
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    async with sim.memory() as stream:
        link = await start_link(
            stream,
            remembered=DIALECT_J11 if j11 else DIALECT_SKSTACK,
            sk_timeouts=FAST_SK,
            j11_timeouts=FAST_J11,
            probe=QUICK,
        )
        try:
            assert isinstance(link, J11Link if j11 else SkStackLink)
            assert link.identity is not None
        finally:
            await link.close()
        assert stream.closed  # the link owns the stream
    assert not _probed(caplog)
    if j11:
        module = sim.module
        assert isinstance(module, SimulatedJ11Module)
        assert module.discarded_bytes == 0  # no text was sent to the J11 module


@pytest.mark.parametrize(
    ("model", "remembered"), [("RS-WSUHA-J11", DIALECT_SKSTACK), ("BP35C2", DIALECT_J11)]
)
async def test_a_wrong_remembered_dialect_falls_back_to_the_probe(
    model: str, remembered: str, caplog: pytest.LogCaptureFixture
) -> None:
    j11 = "J11" in model
    sim = make_j11_sim(model) if j11 else make_sk_sim(model)
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    async with sim.memory() as stream:
        link = await start_link(
            stream,
            remembered=remembered,
            sk_timeouts=FAST_SK,
            j11_timeouts=FAST_J11,
            probe=QUICK,
        )
        recorder = Recorder()
        link.set_listener(recorder)
        try:
            assert link.dialect == (DIALECT_J11 if j11 else DIALECT_SKSTACK)
            assert not stream.closed  # the failed attempt did not close the port
            # The module is in a good state: a whole join and a read work.
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(6,))
            await link.send(get_e7(7).encode())
            assert watts_of(await recorder.answer(7)) == sim.meter.instant_power_watts()
        finally:
            await link.close()
    assert _probed(caplog)
    assert sim.flash_writes == 0


async def test_a_forced_dialect_is_not_probed(caplog: pytest.LogCaptureFixture) -> None:
    sim = make_j11_sim("BP35C2-J11-T01")
    caplog.set_level(logging.INFO, logger="aiobroute.link")
    async with sim.memory() as stream:
        link = await start_link(
            stream, choice=dialect_choice("bp35c2_j11"), j11_timeouts=FAST_J11, probe=QUICK
        )
        await link.close()
    assert isinstance(link, J11Link)
    assert not _probed(caplog)


async def test_a_silent_port_fails_with_a_timeout_and_is_closed() -> None:
    sim = make_j11_sim("RS-WSUHA-J11")
    async with sim.memory() as stream:
        sim.set_hung(True)
        with pytest.raises(CommandTimeoutError):
            await start_link(
                stream,
                remembered=DIALECT_J11,
                sk_timeouts=FAST_SK,
                j11_timeouts=FAST_J11,
                probe=ProbeTimings(listen=0.0, settle=0.0, skstack=0.2, j11=0.2),
            )
        assert stream.closed


async def test_an_unknown_remembered_dialect_is_refused() -> None:
    sim = make_sk_sim("BP35C2")
    async with sim.memory() as stream:
        with pytest.raises(InvalidArgumentError):
            await start_link(stream, remembered="zigbee")


async def test_the_probe_can_skip_a_dialect_just_tried() -> None:
    from aiobroute.link import probe_dialect

    sim = make_j11_sim("BP35C1-J11-T01")
    async with sim.memory() as stream:
        assert await probe_dialect(stream, timings=QUICK, excluding=DIALECT_SKSTACK) == DIALECT_J11
        with pytest.raises(InvalidArgumentError):
            await probe_dialect(stream, timings=QUICK, excluding="zigbee")
    sk = make_sk_sim("BP35C2")
    async with sk.memory() as stream:
        with pytest.raises(CommandTimeoutError):  # SKSTACK excluded, J11 does not answer
            await probe_dialect(
                stream,
                timings=ProbeTimings(listen=0, settle=0, skstack=0.2, j11=0.2),
                excluding=DIALECT_SKSTACK,
            )
        assert "SKVER" not in sk.commands_received
