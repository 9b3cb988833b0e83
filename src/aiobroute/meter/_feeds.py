"""The queues and iterators of :meth:`SmartMeter.states` and :meth:`SmartMeter.notifications`."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Self, TypeVar

from aiobroute._queue import DropOldestQueue

__all__ = ["NOTIFICATION_LIMIT", "Feed", "FeedQueue"]

_LOGGER = logging.getLogger("aiobroute.meter")
_T = TypeVar("_T")

#: How many items a slow consumer may have waiting before the oldest are dropped.
NOTIFICATION_LIMIT = 1024


class FeedQueue(DropOldestQueue[_T]):
    """A capped FIFO with an end marker, for user-facing iterators."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(NOTIFICATION_LIMIT, logger=_LOGGER)


class Feed(AsyncIterator[_T]):
    """The iterator of :meth:`SmartMeter.states` and :meth:`SmartMeter.notifications`.

    It alone holds its queue; the meter's registry is a weak set. An iterator that is
    dropped, iterated or not, takes its queue with it: nothing piles up for nobody.
    """

    def __init__(
        self,
        queue: FeedQueue[_T],
        registry: weakref.WeakSet[FeedQueue[_T]],
        check_loop: Callable[[], None],
    ) -> None:
        self._queue: FeedQueue[_T] | None = queue
        self._registry = registry
        self._check_loop = check_loop

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        queue = self._queue
        if queue is None:
            raise StopAsyncIteration
        self._check_loop()
        item = await queue.get()
        if item is None:
            self._stop()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop receiving (``break`` out of ``async for`` does not need it)."""
        self._stop()

    def _stop(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            self._registry.discard(queue)
