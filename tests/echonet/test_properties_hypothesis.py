"""Property-based tests of the value codecs: round trips and robustness to garbage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aiobroute.echonet import (
    MAX_COEFFICIENT,
    MAX_RAW_COUNTER,
    CumulativeEnergyAtTime,
    DayHistory,
    EnergyUnit,
    Eoj,
    FaultStatus,
    HistoryTarget,
    IdentificationNumber,
    InstallationLocation,
    InstantaneousCurrents,
    IntervalHistory,
    NodeVersion,
    OneMinuteEnergy,
    OperationStatus,
    RouteBId,
    StandardVersion,
    codec_for,
    decode_property,
    encode_property,
    registered_properties,
)
from aiobroute.errors import PropertyDecodeError

M = 0x0288
N = 0x0EF0
C = 0x05FF

datetimes_s = st.datetimes(
    min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0))
datetimes_min = datetimes_s.map(lambda d: d.replace(second=0))
datetimes_half_hour = datetimes_min.map(lambda d: d.replace(minute=d.minute // 30 * 30))
counters = st.none() | st.integers(0, MAX_RAW_COUNTER)
currents = st.none() | st.integers(-32767, 32765).map(lambda n: Decimal(n).scaleb(-1))
epc_sets = st.frozensets(st.integers(0x80, 0xFF))
eojs = st.builds(Eoj, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))

locations = st.one_of(
    st.integers(0, 255).filter(lambda n: n != 0x01).map(InstallationLocation),
    st.binary(min_size=16, max_size=16).map(InstallationLocation.with_position),
)
release_letters = st.sampled_from([chr(c) for c in range(ord("A"), ord("Z") + 1)])
production_numbers = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=12
) | st.builds(
    lambda a, b: a + " " + b,
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=5),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=5),
)


def interval_histories(max_pairs: int) -> st.SearchStrategy[IntervalHistory]:
    return st.builds(
        IntervalHistory,
        st.none() | datetimes_min,
        st.lists(st.tuples(counters, counters), min_size=1, max_size=max_pairs).map(tuple),
    )


SUPERCLASS: dict[int, st.SearchStrategy[Any]] = {
    0x80: st.sampled_from(OperationStatus),
    0x81: locations,
    0x82: st.builds(StandardVersion, release_letters, st.integers(0, 255)),
    0x83: st.builds(
        IdentificationNumber, st.integers(0, 0xFFFFFF), st.binary(min_size=13, max_size=13)
    ),
    0x88: st.sampled_from(FaultStatus),
    0x8A: st.integers(0, 0xFFFFFF),
    0x8D: production_numbers,
    0x97: st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    0x98: st.dates(),
    0x9D: epc_sets,
    0x9E: epc_sets,
    0x9F: epc_sets,
}

METER: dict[int, st.SearchStrategy[Any]] = {
    **SUPERCLASS,
    0xC0: st.builds(RouteBId, st.integers(0, 0xFFFFFF), st.binary(min_size=12, max_size=12)),
    0xD0: st.builds(OneMinuteEnergy, st.none() | datetimes_s, counters, counters),
    0xD3: st.integers(0, MAX_COEFFICIENT),
    0xD7: st.integers(1, 8),
    0xE0: counters,
    0xE1: st.sampled_from(EnergyUnit),
    0xE2: st.builds(
        DayHistory,
        st.none() | st.integers(0, 99),
        st.lists(counters, min_size=48, max_size=48).map(tuple),
    ),
    0xE3: counters,
    0xE4: st.builds(
        DayHistory,
        st.none() | st.integers(0, 99),
        st.lists(counters, min_size=48, max_size=48).map(tuple),
    ),
    0xE5: st.none() | st.integers(0, 99),
    0xE7: st.none() | st.integers(-0x7FFFFFFF, 0x7FFFFFFD),
    0xE8: st.builds(InstantaneousCurrents, currents, currents),
    0xEA: st.builds(CumulativeEnergyAtTime, st.none() | datetimes_s, counters),
    0xEB: st.builds(CumulativeEnergyAtTime, st.none() | datetimes_s, counters),
    0xEC: interval_histories(12),
    0xED: st.builds(HistoryTarget, st.none() | datetimes_half_hour, st.integers(1, 12)),
    0xEE: interval_histories(10),
    0xEF: st.builds(HistoryTarget, st.none() | datetimes_min, st.integers(1, 10)),
}

NODE_PROFILE: dict[int, st.SearchStrategy[Any]] = {
    0x80: st.sampled_from(OperationStatus),
    0x82: st.builds(NodeVersion, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    0x83: SUPERCLASS[0x83],
    0x88: st.sampled_from(FaultStatus),
    0x8A: st.integers(0, 0xFFFFFF),
    0x8D: production_numbers,
    0x9D: epc_sets,
    0x9E: epc_sets,
    0x9F: epc_sets,
    0xD3: st.integers(0, 0xFFFFFF),
    0xD4: st.integers(0, 0xFFFF),
    0xD5: st.lists(eojs, max_size=84).map(tuple),
    0xD6: st.lists(eojs, max_size=84).map(tuple),
    0xD7: st.lists(st.integers(0, 0xFFFF), max_size=20).map(tuple),
}

STRATEGIES: dict[tuple[int, int], st.SearchStrategy[Any]] = {
    **{(M, epc): s for epc, s in METER.items()},
    **{(N, epc): s for epc, s in NODE_PROFILE.items()},
    **{(C, epc): s for epc, s in SUPERCLASS.items()},
}
KEYS = sorted(STRATEGIES)

#: EDT lengths worth trying: every fixed size in use and each EC/EE size.
LENGTHS = sorted(
    {0, 1, 2, 3, 4, 5, 7, 11, 12, 13, 15, 16, 17, 18, 194, 195} | {7 + 8 * n for n in range(14)}
)


def test_every_registered_property_has_a_strategy() -> None:
    assert set(STRATEGIES) == registered_properties()


def keyed_values(keys: list[tuple[int, int]]) -> st.SearchStrategy[tuple[tuple[int, int], Any]]:
    return st.sampled_from(keys).flatmap(lambda key: st.tuples(st.just(key), STRATEGIES[key]))


def check_round_trip(class_id: int, epc: int, value: object) -> None:
    edt = encode_property(class_id, epc, value)
    assert len(edt) <= 255
    assert decode_property(class_id, epc, edt) == value
    codec = codec_for(class_id, epc)
    assert codec is not None
    assert codec.encode(codec.decode(edt)) == edt


@given(keyed_values([key for key in KEYS if key[0] == M]))
def test_meter_value_round_trip(item: tuple[tuple[int, int], Any]) -> None:
    (class_id, epc), value = item
    check_round_trip(class_id, epc, value)


@given(keyed_values([key for key in KEYS if key[0] != M]))
def test_node_profile_and_controller_value_round_trip(item: tuple[tuple[int, int], Any]) -> None:
    (class_id, epc), value = item
    check_round_trip(class_id, epc, value)


@st.composite
def keyed_garbage(draw: st.DrawFn) -> tuple[tuple[int, int], bytes]:
    key = draw(st.sampled_from(KEYS))
    how = draw(st.integers(0, 2))
    if how == 0:
        return key, draw(st.binary(max_size=40))
    if how == 1:
        size = draw(st.sampled_from(LENGTHS))
        return key, draw(st.binary(min_size=size, max_size=size))
    # a valid EDT with a few bytes overwritten: exercises content checks, not lengths
    edt = bytearray(encode_property(*key, draw(STRATEGIES[key])))
    for _ in range(draw(st.integers(1, 3))):
        if edt:
            edt[draw(st.integers(0, len(edt) - 1))] = draw(st.integers(0, 255))
    return key, bytes(edt)


@given(keyed_garbage())
def test_arbitrary_edt_only_raises_property_decode_error(
    item: tuple[tuple[int, int], bytes],
) -> None:
    (class_id, epc), edt = item
    error: PropertyDecodeError | None = None
    try:
        value = decode_property(class_id, epc, edt)
    except PropertyDecodeError as exc:
        error = exc
    if error is not None:
        assert (error.class_code, error.epc) == (class_id, epc)
        return
    # whatever decodes can be encoded again, and means the same thing
    again = encode_property(class_id, epc, value)
    assert decode_property(class_id, epc, again) == value
