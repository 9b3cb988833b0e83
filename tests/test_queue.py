"""The one bounded queue (aiobroute._queue.DropOldestQueue) and both of its users."""

from __future__ import annotations

import asyncio
import logging

import pytest

from aiobroute._queue import DropOldestQueue
from aiobroute.errors import ClientClosedError
from aiobroute.meter import _feeds as meter_feeds
from aiobroute.skstack import Event
from aiobroute.skstack import _core as client_core
from aiobroute.skstack import client as client_module
from aiobroute.testing import Simulator


async def test_fifo_order_and_get_nowait() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(3)
    assert queue.get_nowait() is None
    for item in (1, 2):
        assert queue.put(item)
    assert len(queue) == 2
    assert await queue.get() == 1
    assert queue.get_nowait() == 2
    assert len(queue) == 0


async def test_a_full_queue_drops_the_oldest_and_warns_sparingly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("aiobroute.test-queue")
    now = [100.0]
    queue: DropOldestQueue[int] = DropOldestQueue(
        2, logger=logger, what="slow reader", clock=lambda: now[0]
    )
    with caplog.at_level(logging.WARNING, logger="aiobroute.test-queue"):
        for item in range(2 + 150):
            queue.put(item)
        now[0] += 61.0  # a minute later, the next drop is reported with the held-back count
        queue.put(152)
    assert queue.dropped == 151
    assert [queue.get_nowait(), queue.get_nowait()] == [151, 152]
    warnings = [r.getMessage() for r in caplog.records if r.name == "aiobroute.test-queue"]
    # The first drop at once, then nothing for a minute, then one line with the count.
    assert len(warnings) == 2
    assert warnings[0].startswith("slow reader is not keeping up; dropped 1 ")
    assert "dropped 151 " in warnings[1]
    assert "149 similar messages suppressed" in warnings[1]


async def test_end_wakes_a_waiting_consumer_after_the_queued_items() -> None:
    queue: DropOldestQueue[str] = DropOldestQueue(8)
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    assert not waiter.done()
    queue.put("last")
    queue.end()
    assert await waiter == "last"
    assert queue.ended
    assert not queue.put("ignored")
    async with asyncio.timeout(1):
        assert await queue.get() is None


async def test_a_cancelled_get_loses_no_item() -> None:
    queue: DropOldestQueue[int] = DropOldestQueue(4)
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    queue.put(7)
    assert queue.get_nowait() == 7


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DropOldestQueue(0)


async def test_the_client_subscription_is_bounded_by_the_shared_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(client_core, "_SUBSCRIPTION_LIMIT", 2)  # the reader core owns it
    sim = Simulator("BP35C2", timing="instant")
    async with sim.memory() as stream, client_module.SkStackClient(stream) as client:
        subscription = client.subscribe()
        for num in (0x21, 0x22, 0x25):
            subscription._put(Event(num=num, sender="FE80::1"))
        assert subscription.dropped == 1
        first = await subscription.get(timeout=1)
        assert isinstance(first, Event)
        assert first.num == 0x22
        subscription.close()
        second = await subscription.get(timeout=1)
        assert isinstance(second, Event)
        assert second.num == 0x25
        with pytest.raises(ClientClosedError):
            await subscription.get(timeout=1)


async def test_the_meter_iterators_use_the_shared_queue() -> None:
    queue: meter_feeds.FeedQueue[int] = meter_feeds.FeedQueue()
    assert isinstance(queue, DropOldestQueue)
    for item in range(meter_feeds.NOTIFICATION_LIMIT + 1):
        queue.put(item)
    assert queue.dropped == 1
    assert queue.get_nowait() == 1


def test_queues_can_be_held_weakly() -> None:
    # The meter's registry of iterator queues is a WeakSet: an unread iterator takes its
    # queue away with it.
    import weakref

    queue: DropOldestQueue[int] = DropOldestQueue(1)
    registry: weakref.WeakSet[DropOldestQueue[int]] = weakref.WeakSet()
    registry.add(queue)
    assert queue in registry
    del queue
    assert len(registry) == 0
