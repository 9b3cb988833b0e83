"""The one bounded queue of the library: FIFO, drops the oldest item when full, can end.

Used wherever a producer must never block or grow without limit because a consumer is
slow: the SKSTACK client's event subscriptions and the meter's user-facing iterators
(notifications, connection states). A full queue drops its oldest item and counts it;
a warning is logged at most once a minute (with the count of those held back), so a
stuck consumer cannot flood the log. :meth:`DropOldestQueue.end` wakes the consumer:
queued items are still delivered, then :meth:`DropOldestQueue.get` returns None.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from aiobroute._log import RateLimitedLog

__all__ = ["DropOldestQueue"]

_T = TypeVar("_T")
_LOGGER = logging.getLogger("aiobroute")


class DropOldestQueue(Generic[_T]):
    """A bounded FIFO for one consumer; ``put`` never blocks (the oldest item goes).

    Args:
        limit: How many items are kept at most (at least 1).
        logger: Where the "not keeping up" warning goes.
        what: Who is slow, for that warning ("event subscriber").
        clock: The monotonic clock of the warning's rate limit (for tests).
    """

    # __weakref__: registries hold queues weakly (an unread iterator takes its queue away).
    __slots__ = (
        "__weakref__",
        "_ended",
        "_event",
        "_items",
        "_limit",
        "_logger",
        "_overflow_log",
        "_what",
        "dropped",
    )

    def __init__(
        self,
        limit: int,
        *,
        logger: logging.Logger | None = None,
        what: str = "a consumer",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self._limit = limit
        self._logger = logger or _LOGGER
        self._what = what
        self._items: collections.deque[_T] = collections.deque()
        self._event = asyncio.Event()
        self._ended = False
        #: Items dropped because the queue was full.
        self.dropped = 0
        self._overflow_log = RateLimitedLog(self._logger, clock=clock)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def ended(self) -> bool:
        """True once :meth:`end` was called (queued items may remain)."""
        return self._ended

    def put(self, item: _T) -> bool:
        """Append ``item``, dropping the oldest one when full; False (ignored) once ended."""
        if self._ended:
            return False
        if len(self._items) >= self._limit:
            self._items.popleft()
            self.dropped += 1
            self._overflow_log.log(
                "%s is not keeping up; dropped %d item(s), oldest first",
                self._what,
                self.dropped,
            )
        self._items.append(item)
        self._event.set()
        return True

    def end(self) -> None:
        """No more items: the consumer gets what is queued, then None."""
        self._ended = True
        self._event.set()

    def get_nowait(self) -> _T | None:
        """The oldest item, or None when the queue is empty."""
        return self._items.popleft() if self._items else None

    async def get(self) -> _T | None:
        """Wait for the oldest item; None once the queue has ended and is empty.

        It waits as long as it takes: callers bound it with ``asyncio.timeout`` when
        they need to.
        """
        while not self._items:
            if self._ended:
                return None
            self._event.clear()
            await self._event.wait()
        return self._items.popleft()
