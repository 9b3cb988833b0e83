"""Property maps (0x9D/0x9E/0x9F): list and bitmap forms, the spec's vectors."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.echonet import decode_property, decode_property_map, encode_property_map
from aiobroute.errors import InvalidArgumentError, PropertyDecodeError

ALTERNATING = frozenset(range(0x80, 0x100, 0x10)) | frozenset(range(0x81, 0x100, 0x10))

# The 25 EPCs of a real Toshiba meter's 0x9F (spec section 3.1).
TOSHIBA_9F = frozenset(
    {0x80, 0x81, 0x82, 0x88, 0x8A, 0x8D, 0x97, 0x98, 0x9D, 0x9E, 0x9F}
    | {0xD3, 0xD7, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8, 0xEA, 0xEB, 0xEC, 0xED}
)


@pytest.mark.parametrize(
    ("epcs", "edt"),
    [
        (frozenset(range(0x80, 0x90)), "10" + "01" * 16),
        (frozenset(range(0xF0, 0x100)), "10" + "80" * 16),
        (ALTERNATING, "10" + "FFFF" + "00" * 14),
        (frozenset({0x81, 0xE5, 0xED}), "0381E5ED"),
        (frozenset({0x80, 0x81, 0x88}), "03808188"),
        (frozenset(), "00"),
        (frozenset(range(0x80, 0x8F)), "0F" + "".join(f"{e:02X}" for e in range(0x80, 0x8F))),
        (frozenset(range(0x80, 0x100)), "80" + "FF" * 16),
    ],
)
def test_spec_vectors_both_ways(epcs: frozenset[int], edt: str) -> None:
    assert encode_property_map(epcs) == bytes.fromhex(edt)
    assert decode_property_map(bytes.fromhex(edt)) == epcs


def test_toshiba_get_map_uses_bitmap_form() -> None:
    assert len(TOSHIBA_9F) == 25
    edt = encode_property_map(TOSHIBA_9F)
    assert len(edt) == 17
    assert edt[0] == 25
    # 0x80 and 0xE0 share byte 1 (low nibble 0): bits 0 and 6
    assert edt[1] == 0b0100_0001
    assert decode_property(0x0288, 0x9F, edt) == TOSHIBA_9F


def test_threshold_is_sixteen_not_ten() -> None:
    eleven = frozenset(range(0x80, 0x8B))
    assert encode_property_map(eleven) == bytes((11, *range(0x80, 0x8B)))


def test_list_form_order_and_duplicates_are_tolerated(caplog: pytest.LogCaptureFixture) -> None:
    assert decode_property_map(bytes.fromhex("03E58181")) == frozenset({0x81, 0xE5})
    assert "distinct" in caplog.text
    assert encode_property_map([0xE5, 0x81, 0x81]) == bytes.fromhex("0281E5")


def test_bitmap_popcount_mismatch_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    edt = bytes.fromhex("14" + "01" * 16)  # says 20, holds 16
    with caplog.at_level(logging.WARNING, logger="aiobroute.echonet._propmap"):
        assert decode_property_map(edt) == frozenset(range(0x80, 0x90))
    assert "says 20" in caplog.text


@pytest.mark.parametrize(
    "edt",
    [
        "",
        "03 81 E5",  # list form too short
        "02 81 E5 ED",  # list form too long
        "01 7F",  # EPC below 0x80
        "10" + "01" * 15,  # bitmap one byte short
        "10" + "01" * 17,  # bitmap one byte long
    ],
)
def test_malformed_maps_raise(edt: str) -> None:
    data = bytes.fromhex(edt.replace(" ", ""))
    with pytest.raises(PropertyDecodeError):
        decode_property_map(data)
    with pytest.raises(PropertyDecodeError) as info:
        decode_property(0x0288, 0x9D, data)
    assert info.value.epc == 0x9D


def test_decode_error_is_labelled_with_the_given_property() -> None:
    with pytest.raises(PropertyDecodeError) as info:
        decode_property_map(b"", class_id=0x0EF0, epc=0x9E)
    assert (info.value.class_code, info.value.epc) == (0x0EF0, 0x9E)


@pytest.mark.parametrize("bad", [0x7F, 0x100, -1, True])
def test_encode_rejects_bad_epcs(bad: int) -> None:
    with pytest.raises(InvalidArgumentError):
        encode_property_map([0x80, bad])


@given(st.frozensets(st.integers(0x80, 0xFF)))
def test_round_trip(epcs: frozenset[int]) -> None:
    edt = encode_property_map(epcs)
    assert edt[0] == len(epcs)
    assert len(edt) == (1 + len(epcs) if len(epcs) < 16 else 17)
    assert decode_property_map(edt) == epcs


@given(st.binary(max_size=20) | st.binary(min_size=17, max_size=17))
def test_arbitrary_bytes_only_raise_property_decode_error(data: bytes) -> None:
    try:
        epcs = decode_property_map(data)
    except PropertyDecodeError:
        return
    assert all(0x80 <= epc <= 0xFF for epc in epcs)
    assert decode_property_map(encode_property_map(epcs)) == epcs
