"""The connection state's transition table, walked pair by pair."""

from __future__ import annotations

import itertools

import pytest

from aiobroute.errors import UsageError
from aiobroute.meter._state import IGNORED, TRANSITIONS, StateMachine, TransitionError, Trigger
from aiobroute.supervisor import ConnectionState as S

PAIRS = list(itertools.product(S, Trigger))


def machine_in(state: S) -> StateMachine:
    machine = StateMachine()
    machine._state = state  # a white-box start: every state, without walking a path to it
    if state is S.READY:
        machine.ready.set()
    return machine


def test_every_pair_is_a_transition_ignored_or_an_error_and_never_two() -> None:
    assert not set(TRANSITIONS) & IGNORED
    assert set(TRANSITIONS) | IGNORED <= set(PAIRS)


@pytest.mark.parametrize(
    ("state", "trigger"), PAIRS, ids=[f"{s.value}-{t.value}" for s, t in PAIRS]
)
async def test_each_pair_does_what_the_table_says(state: S, trigger: Trigger) -> None:
    machine = machine_in(state)
    seen: list[S] = []
    feed = machine.feed(lambda: None)
    first = await anext(feed)
    assert first is state
    if (state, trigger) in TRANSITIONS:
        target = TRANSITIONS[state, trigger]
        assert machine.fire(trigger) is target
        assert machine.state is target
        assert machine.ready.is_set() is (target is S.READY)
        if target is not state:
            seen.append(await anext(feed))
            assert seen == [target]
    elif (state, trigger) in IGNORED:
        assert machine.fire(trigger) is state
        assert machine.state is state
    else:
        with pytest.raises(TransitionError) as info:
            machine.fire(trigger)
        assert isinstance(info.value, UsageError)
        assert (info.value.state, info.value.trigger) == (state, trigger)
        assert machine.state is state


def test_a_closed_meter_ignores_everything_but_opening() -> None:
    for trigger in Trigger:
        if trigger is not Trigger.OPEN:
            assert (S.CLOSED, trigger) in IGNORED or TRANSITIONS[S.CLOSED, trigger] is S.CLOSED
    assert TRANSITIONS[S.CLOSED, Trigger.OPEN] is S.CONNECTING


def test_reports_from_the_reader_are_never_errors() -> None:
    events = (
        Trigger.LIMIT_STARTED,
        Trigger.LIMIT_RELEASED,
        Trigger.EXPIRED,
        Trigger.SESSION_REFUSED,
    )
    for state in S:
        for trigger in events:
            assert (state, trigger) in TRANSITIONS or (state, trigger) in IGNORED


def test_the_usual_lifecycle_walks_the_table() -> None:
    machine = StateMachine()
    path = [
        (Trigger.OPEN, S.CONNECTING),
        (Trigger.SCAN, S.SCANNING),
        (Trigger.USABLE, S.READY),
        (Trigger.LIMIT_STARTED, S.RATE_LIMITED),
        (Trigger.LIMIT_RELEASED, S.READY),
        (Trigger.EXPIRED, S.REAUTHENTICATING),
        (Trigger.AWAIT_REAUTH, S.REAUTHENTICATING),
        (Trigger.RECOVER, S.RECONNECTING),
        (Trigger.JOIN, S.JOINING),
        (Trigger.RECOVER, S.RECONNECTING),
        (Trigger.OPEN, S.CONNECTING),
        (Trigger.JOIN, S.JOINING),
        (Trigger.USABLE_LIMITED, S.RATE_LIMITED),
        (Trigger.SESSION_REFUSED, S.RECONNECTING),
    ]
    for trigger, expected in path:
        assert machine.fire(trigger) is expected
    machine.finish()
    assert machine.state is S.CLOSED
    assert machine.finished


async def test_finish_ends_the_feeds_and_later_feeds_end_at_once() -> None:
    machine = StateMachine()
    machine.fire(Trigger.OPEN)
    feed = machine.feed(lambda: None)
    machine.finish()
    assert [state async for state in feed] == [S.CONNECTING, S.CLOSED]
    assert [state async for state in machine.feed(lambda: None)] == [S.CLOSED]
