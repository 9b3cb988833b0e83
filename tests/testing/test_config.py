"""What the simulator's configuration classes share: named timings, validators, item lists."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from aiobroute.testing import (
    FaultPlan,
    J11Faults,
    J11Timing,
    ModulePreset,
    RadioConfig,
    Timing,
)


@pytest.mark.parametrize("timing_class", [Timing, J11Timing])
def test_instant_timing_has_no_delay_and_named_picks_either(
    timing_class: type[Timing] | type[J11Timing],
) -> None:
    instant = timing_class.instant()
    kept = {"inter_byte_timeout_s"} if timing_class is J11Timing else set()
    for field in attrs.fields(timing_class):
        value = getattr(instant, field.name)
        if field.name in kept:
            assert value == field.default
            continue
        assert value == ((0.0, 0.0) if isinstance(field.default, tuple) else 0.0), field.name
    assert timing_class.named("instant") == instant
    assert timing_class.named("realistic") == timing_class.realistic() == timing_class()
    with pytest.raises(ValueError, match="'realistic' or 'instant'"):
        timing_class.named("fast")


def test_j11_instant_timing_keeps_the_protocol_timeout() -> None:
    assert J11Timing.instant().inter_byte_timeout_s == 1.0
    assert J11Timing.instant().boot_factor == 0.0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: FaultPlan(garble=1.5), "garble"),
        (lambda: J11Faults(no_ack=-0.1), "no_ack"),
        (lambda: attrs.evolve(ModulePreset.BP35C2, sendto_lone_crlf=2.0), "sendto_lone_crlf"),
        (lambda: RadioConfig(beacon_miss=1.01), "beacon_miss"),
    ],
)
def test_chances_outside_zero_to_one_are_refused(build: Callable[[], object], field: str) -> None:
    with pytest.raises(ValueError, match=f"{field} must be between 0 and 1"):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Timing(tx_s=(0.2, 0.1)),
        lambda: J11Timing(pana_s=(-1.0, 2.0)),
        lambda: Timing(response_s=(1.0,)),  # type: ignore[arg-type]
    ],
)
def test_delay_ranges_must_be_ordered_pairs(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"\(low, high\) pair"):
        build()


def test_fault_items_split_on_commas_across_values_and_skip_blanks() -> None:
    plan = FaultPlan.parse([" drop=0.5 ,, ", "silent", ""])
    assert plan == FaultPlan(drop_reply=0.5, silent=True)
    faults = J11Faults.parse(" no-ack-first=3 ,,route-b-fail=1, ")
    assert faults == J11Faults(no_ack_first=3, route_b_failures=1)
    assert FaultPlan.parse([]) == FaultPlan()
    assert J11Faults.parse("") == J11Faults()


def test_rl7023_presets_are_their_rohm_family_without_product_commands() -> None:
    ips, dss = ModulePreset.RL7023_IPS, ModulePreset.RL7023_DSS
    assert attrs.evolve(ips, name="BP35A1", product_commands=True, default_hex=False) == (
        ModulePreset.BP35A1
    )
    assert (
        attrs.evolve(
            dss, name="BP35C2", app_version="rev15", product_commands=True, default_hex=False
        )
        == ModulePreset.BP35C2
    )
    assert (ips.product_commands, ips.default_hex) == (False, True)
    assert (dss.product_commands, dss.default_hex, dss.app_version) == (False, True, None)
