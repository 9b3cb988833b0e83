"""Manufacturer codes (0x8A) shown as names where the code is well known."""

from __future__ import annotations

import pytest

from aiobroute.echonet import MANUFACTURERS, manufacturer_name


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0x000016, "Toshiba"),
        (0x000006, "Mitsubishi Electric"),
        (0x000035, "Toshiba Toko Meter Systems"),
        (0x000099, "Tokyo Electric Power Company Holdings"),
    ],
)
def test_well_known_makers_have_names(code: int, name: str) -> None:
    assert manufacturer_name(code) == name


def test_unknown_codes_are_six_hex_digits() -> None:
    assert 0xABCDEF not in MANUFACTURERS
    assert manufacturer_name(0xABCDEF) == "ABCDEF"
    assert manufacturer_name(0x7) == "000007"
    assert manufacturer_name(None) == "unknown"


def test_the_table_cannot_be_changed_by_a_caller() -> None:
    with pytest.raises(TypeError):
        MANUFACTURERS[0x000016] = "x"  # type: ignore[index]
    assert all(0 <= code <= 0xFFFFFF and name for code, name in MANUFACTURERS.items())
