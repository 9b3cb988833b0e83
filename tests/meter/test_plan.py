"""The pure Get planner against simulated meters of every cap and quirk (hypothesis)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.meter._plan import LARGE_EPCS, GetPlan, learn_limit

EPCS = st.lists(st.integers(0x80, 0xFF), min_size=1, max_size=24, unique=True)


class QuirkyMeter:
    """Refuses Gets of more than ``cap`` EPCs, drops ``droppers`` from multi-EPC Gets."""

    def __init__(self, cap: int, droppers: frozenset[int], unreadable: frozenset[int]) -> None:
        self.cap = cap
        self.droppers = droppers
        self.unreadable = unreadable
        self.batches: list[list[int]] = []

    def answer(self, batch: Sequence[int]) -> tuple[set[int], bool]:
        """The EPCs answered with data, and whether the answer is a Get_SNA."""
        self.batches.append(list(batch))
        if len(batch) > self.cap:
            return set(), True
        answered = {e for e in batch if e not in self.unreadable}
        if len(batch) > 1:
            answered -= self.droppers
        return answered, answered != set(batch)


def run(plan: GetPlan, meter: QuirkyMeter, readable: frozenset[int]) -> tuple[set[int], list[int]]:
    """The reader's loop over the plan; returns what was read and the limits learned."""
    result: set[int] = set()
    learned: list[int] = []
    while plan:
        batch = plan.next_batch()
        assert len(meter.batches) < 500, "the plan does not terminate"
        answered, sna = meter.answer(batch)
        if sna and not answered and len(batch) > 1:
            limit = plan.refused(batch)
            if limit is not None:
                learned.append(limit)
            continue
        if sna and len(batch) > 1:
            batch = plan.partial(batch, answered, readable)
        result |= {e for e in batch if e in answered}
    return result, learned


@given(
    wanted=EPCS,
    cap=st.integers(1, 30),
    known=st.none() | st.integers(1, 30),
    droppers=st.frozensets(st.integers(0x80, 0xFF), max_size=4),
    unreadable=st.frozensets(st.integers(0x80, 0xFF), max_size=4),
)
def test_every_readable_epc_is_read_and_the_cap_is_learned_from_above(
    wanted: list[int],
    cap: int,
    known: int | None,
    droppers: frozenset[int],
    unreadable: frozenset[int],
) -> None:
    known = max(known, cap) if known is not None else None  # a limit learned from this meter
    meter = QuirkyMeter(cap, droppers, unreadable)
    plan = GetPlan(wanted, known)
    result, learned = run(plan, meter, frozenset(range(0x80, 0x100)) - unreadable)
    assert result == set(wanted) - unreadable
    for batch in meter.batches:
        assert batch, "an empty Get"
        assert len(batch) == 1 or not set(batch) & LARGE_EPCS
        assert len(set(batch)) == len(batch)
    # The limit only shrinks, and never below what the meter takes, unless a batch held
    # only EPCs the meter does not answer in a group: its empty Get_SNA looks exactly like
    # a refusal of the batch's size (the planner then splits it and still reads all).
    assert learned == sorted(learned, reverse=True)
    silent = unreadable | droppers
    ambiguous = any(len(batch) > 1 and set(batch) <= silent for batch in meter.batches)
    if not ambiguous:
        assert all(limit >= cap for limit in learned)
    # Each EPC is asked for at most: its batch's splits, plus one single retry.
    for epc in wanted:
        asked = sum(1 for batch in meter.batches if epc in batch)
        assert asked <= 2 + max(len(wanted), 1).bit_length()


@given(wanted=EPCS, limit=st.none() | st.integers(1, 30))
def test_first_batches_respect_the_known_limit_and_keep_the_order(
    wanted: list[int], limit: int | None
) -> None:
    plan = GetPlan(wanted, limit)
    batches = []
    while plan:
        batches.append(plan.next_batch())
    flat = [e for batch in batches for e in batch]
    assert sorted(flat) == sorted(wanted)
    large = [e for e in wanted if e in LARGE_EPCS]
    assert [b[0] for b in batches[: len(large)]] == large
    small = [b for b in batches if not set(b) & LARGE_EPCS]
    assert [e for b in small for e in b] == [e for e in wanted if e not in LARGE_EPCS]
    for batch in small:
        assert len(batch) <= (limit or len(wanted))
    if limit is None:
        assert len(small) <= 1


@given(current=st.none() | st.integers(1, 50), refused=st.integers(2, 50))
def test_learn_limit_only_shrinks(current: int | None, refused: int) -> None:
    new = learn_limit(current, refused)
    if new is None:
        assert current is not None
        assert current <= refused - 1
    else:
        assert new == refused - 1
        assert current is None or new < current


def test_a_single_epc_refusal_is_not_a_cap() -> None:
    plan = GetPlan([0xE7], None)
    with pytest.raises(ValueError, match="single"):
        plan.refused([0xE7])


def test_a_dropped_epc_is_retried_once_alone() -> None:
    plan = GetPlan([0xE7, 0xE1, 0xD3], None)
    batch = plan.next_batch()
    assert batch == [0xE7, 0xE1, 0xD3]
    keep = plan.partial(batch, answered={0xE7, 0xD3}, readable={0xE7, 0xE1, 0xD3})
    assert keep == [0xE7, 0xD3]
    assert plan.next_batch() == [0xE1]
    assert not plan
    # A second drop of the same EPC is final.
    assert plan.partial([0xE1, 0xE7], answered={0xE7}, readable={0xE1, 0xE7}) == [0xE1, 0xE7]
    assert not plan
