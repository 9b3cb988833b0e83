"""The connection state of a SmartMeter: one owner, an explicit transition table.

Like h11's ``_state.py``: every change of :class:`~aiobroute.supervisor.ConnectionState`
is a :class:`Trigger` looked up in :data:`TRANSITIONS`. A pair missing from the table is
either ignored (listed in :data:`IGNORED`: an event that does not concern the current
state, such as a transmit-limit release while reconnecting) or a bug in the caller,
which :class:`TransitionError` reports.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import weakref
from collections.abc import Callable

from aiobroute.errors import UsageError
from aiobroute.meter._feeds import Feed, FeedQueue
from aiobroute.supervisor import ConnectionState

__all__ = ["IGNORED", "TRANSITIONS", "StateMachine", "TransitionError", "Trigger"]

_LOGGER = logging.getLogger("aiobroute.meter")

S = ConnectionState


class Trigger(enum.Enum):
    """What moves the connection from one state to another."""

    #: A new link is being built (the port opened, the module initialised).
    OPEN = "open"
    #: An active scan for the meter's PAN starts.
    SCAN = "scan"
    #: PANA authentication with a known PAN starts.
    JOIN = "join"
    #: The session is usable and the module does not report the ARIB limit.
    USABLE = "usable"
    #: The session is usable but the module reports the ARIB limit.
    USABLE_LIMITED = "usable-limited"
    #: The module reports the ARIB transmit limit (event or refused send).
    LIMIT_STARTED = "limit-started"
    #: The module reports the end of the ARIB limit.
    LIMIT_RELEASED = "limit-released"
    #: The module reports that the PANA session expired (requests are held).
    EXPIRED = "expired"
    #: The supervisor waits for the module's re-authentication.
    AWAIT_REAUTH = "await-reauth"
    #: A send was refused for lack of a session: hold requests until the rejoin.
    SESSION_REFUSED = "session-refused"
    #: The supervisor starts (or retries) re-establishing the session or the port.
    RECOVER = "recover"
    #: The meter is closed (by the user, a failed connect, or a reconnect policy given up).
    CLOSE = "close"


_ESTABLISHING = (S.CONNECTING, S.SCANNING, S.JOINING)
_RUNNING = (S.READY, S.RATE_LIMITED, S.REAUTHENTICATING, S.RECONNECTING)
_ALL_OPEN = tuple(s for s in S if s is not S.CLOSED)


def _table() -> dict[tuple[ConnectionState, Trigger], ConnectionState]:
    table: dict[tuple[ConnectionState, Trigger], ConnectionState] = {
        (S.CLOSED, Trigger.OPEN): S.CONNECTING,
        (S.RECONNECTING, Trigger.OPEN): S.CONNECTING,
        (S.READY, Trigger.LIMIT_STARTED): S.RATE_LIMITED,
        (S.RATE_LIMITED, Trigger.LIMIT_RELEASED): S.READY,
        (S.READY, Trigger.EXPIRED): S.REAUTHENTICATING,
        (S.RATE_LIMITED, Trigger.EXPIRED): S.REAUTHENTICATING,
        (S.READY, Trigger.SESSION_REFUSED): S.RECONNECTING,
        (S.RATE_LIMITED, Trigger.SESSION_REFUSED): S.RECONNECTING,
    }
    for state in (S.CONNECTING, S.SCANNING, S.JOINING, S.RECONNECTING):
        table[state, Trigger.SCAN] = S.SCANNING
    for state in (S.CONNECTING, S.SCANNING, S.RECONNECTING):
        table[state, Trigger.JOIN] = S.JOINING
    for state in (*_ESTABLISHING, *_RUNNING):
        table[state, Trigger.USABLE] = S.READY
        table[state, Trigger.USABLE_LIMITED] = S.RATE_LIMITED
    for state in _RUNNING:
        table[state, Trigger.AWAIT_REAUTH] = S.REAUTHENTICATING
    for state in _ALL_OPEN:
        table[state, Trigger.RECOVER] = S.RECONNECTING
    for state in S:
        table[state, Trigger.CLOSE] = S.CLOSED
    return table


#: (state, trigger) -> the next state.
TRANSITIONS = _table()

#: Events that may arrive in any state and are ignored where the table has no entry:
#: reports from the module's reader, and anything after the meter was closed.
_EVENTS = frozenset(
    {Trigger.LIMIT_STARTED, Trigger.LIMIT_RELEASED, Trigger.EXPIRED, Trigger.SESSION_REFUSED}
)
#: The (state, trigger) pairs that leave the state as it is, silently.
IGNORED = frozenset(
    (state, trigger)
    for state in S
    for trigger in Trigger
    if (state, trigger) not in TRANSITIONS and (trigger in _EVENTS or state is S.CLOSED)
)


class TransitionError(UsageError):
    """A trigger that makes no sense in the current state: a bug in the meter layer."""

    def __init__(self, state: ConnectionState, trigger: Trigger) -> None:
        super().__init__(f"no transition for {trigger.value!r} in state {state.value!r}")
        self.state = state
        self.trigger = trigger


class StateMachine:
    """The sole owner of the connection state, its observers and the request gate."""

    def __init__(self) -> None:
        self._state = S.CLOSED
        # Iterators handed out by states() hold their queue; the machine only refers to
        # it weakly, so an iterator dropped unread is forgotten.
        self._queues: weakref.WeakSet[FeedQueue[ConnectionState]] = weakref.WeakSet()
        self._ready = asyncio.Event()
        self.finished = False

    @property
    def state(self) -> ConnectionState:
        """The current state."""
        return self._state

    @property
    def ready(self) -> asyncio.Event:
        """Set while requests may flow (READY), and once the meter is closing."""
        return self._ready

    def fire(self, trigger: Trigger) -> ConnectionState:
        """Apply ``trigger``; returns the (possibly unchanged) state.

        Raises:
            TransitionError: the pair is neither in :data:`TRANSITIONS` nor ignored.
        """
        key = (self._state, trigger)
        new = TRANSITIONS.get(key)
        if new is None:
            if key in IGNORED:
                return self._state
            raise TransitionError(*key)
        self._enter(new)
        return new

    def _enter(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        _LOGGER.info("connection state: %s -> %s", self._state.value, state.value)
        self._state = state
        if state is S.READY:
            self._ready.set()
        else:
            self._ready.clear()
        for queue in list(self._queues):
            queue.put(state)

    def finish(self) -> None:
        """The meter is closed for good: CLOSED, and every states() iterator ends."""
        self.fire(Trigger.CLOSE)
        self.finished = True
        for queue in list(self._queues):
            queue.end()

    def feed(self, check_loop: Callable[[], None]) -> Feed[ConnectionState]:
        """An iterator over the states from now on, the current one first."""
        queue: FeedQueue[ConnectionState] = FeedQueue()
        queue.put(self._state)
        if self.finished:
            queue.end()
        else:
            self._queues.add(queue)
        return Feed(queue, self._queues, check_loop)
