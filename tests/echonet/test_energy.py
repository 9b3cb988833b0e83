"""Energy arithmetic: E1 multipliers, kWh scaling in Decimal, counter rollover."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.echonet import (
    UNIT_MULTIPLIERS,
    EnergyUnit,
    counter_delta,
    energy_kwh,
    unit_multiplier,
)
from aiobroute.errors import InvalidArgumentError

SPEC_TABLE = {
    0x00: "1",
    0x01: "0.1",
    0x02: "0.01",
    0x03: "0.001",
    0x04: "0.0001",
    0x0A: "10",
    0x0B: "100",
    0x0C: "1000",
    0x0D: "10000",
}


def test_multiplier_table_matches_spec() -> None:
    assert dict(UNIT_MULTIPLIERS) == {code: Decimal(text) for code, text in SPEC_TABLE.items()}
    for code, text in SPEC_TABLE.items():
        assert unit_multiplier(code) == Decimal(text)
        assert EnergyUnit(code).multiplier == Decimal(text)


def test_multiplier_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        UNIT_MULTIPLIERS[0x05] = Decimal(5)  # type: ignore[index]


@pytest.mark.parametrize("code", [*range(0x05, 0x0A), *range(0x0E, 0x100), -1, 0x100])
def test_undefined_unit_codes_raise(code: int) -> None:
    with pytest.raises(InvalidArgumentError):
        unit_multiplier(code)
    with pytest.raises(InvalidArgumentError):
        energy_kwh(1, unit=code)


def test_spec_example_f8c() -> None:
    assert energy_kwh(1_575_631, 1, unit=0x02) == Decimal("15756.31")
    assert energy_kwh(1_575_631, unit=EnergyUnit.KWH_0_01) == Decimal("15756.31")
    assert energy_kwh(1_575_631, None, unit=Decimal("0.01")) == Decimal("15756.31")


def test_coefficient_and_large_units() -> None:
    assert energy_kwh(12, 40, unit=EnergyUnit.KWH_0_1) == Decimal("48.0")
    assert energy_kwh(99_999_999, 999_999, unit=EnergyUnit.KWH_10000) == Decimal(
        "999998990000010000"
    )
    assert energy_kwh(1, 1, unit=EnergyUnit.KWH_0_0001) == Decimal("0.0001")


def test_none_stays_none_but_arguments_are_still_checked() -> None:
    assert energy_kwh(None, unit=EnergyUnit.KWH_1) is None
    with pytest.raises(InvalidArgumentError):
        energy_kwh(None, unit=0x05)


@pytest.mark.parametrize(
    ("raw", "coefficient", "unit"),
    [
        (-1, 1, 0x00),
        (1, -1, 0x00),
        (1, 1_000_000, 0x00),
        (1, 1, Decimal(0)),
        (1, 1, Decimal("-0.1")),
        (1, 1, Decimal("NaN")),
        (1.5, 1, 0x00),
        (True, 1, 0x00),
    ],
)
def test_energy_kwh_rejects_bad_arguments(raw: int, coefficient: int, unit: int | Decimal) -> None:
    with pytest.raises(InvalidArgumentError):
        energy_kwh(raw, coefficient, unit=unit)


@given(
    st.integers(0, 99_999_999),
    st.integers(0, 999_999),
    st.sampled_from(sorted(UNIT_MULTIPLIERS)),
)
def test_energy_kwh_is_exact(raw: int, coefficient: int, code: int) -> None:
    kwh = energy_kwh(raw, coefficient, unit=code)
    assert kwh is not None
    # dividing back recovers the integer product exactly: no rounding happened
    assert kwh / UNIT_MULTIPLIERS[code] == raw * coefficient


def test_counter_delta_examples() -> None:
    assert counter_delta(1_575_631, 1_575_621, 7) == 10
    assert counter_delta(5, 999_990, 6) == 15
    assert counter_delta(0, 9_999_999, 7) == 1
    assert counter_delta(42, 42, 8) == 0
    assert counter_delta(0, 9, 1) == 1


@pytest.mark.parametrize(
    ("current", "previous", "digits"),
    [
        (1, 0, 0),
        (1, 0, 9),
        (10, 0, 1),
        (0, 10, 1),
        (-1, 0, 6),
        (1_000_000, 0, 6),
        (1, 0, True),
    ],
)
def test_counter_delta_validates(current: int, previous: int, digits: int) -> None:
    with pytest.raises(InvalidArgumentError):
        counter_delta(current, previous, digits)


@given(st.integers(1, 8), st.data())
def test_counter_delta_inverts_wrapping_addition(digits: int, data: st.DataObject) -> None:
    modulus = 10**digits
    previous = data.draw(st.integers(0, modulus - 1))
    increase = data.draw(st.integers(0, modulus - 1))
    current = (previous + increase) % modulus
    assert counter_delta(current, previous, digits) == increase
