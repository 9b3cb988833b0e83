"""The rate-limited logging helper shared by every overflow warning."""

from __future__ import annotations

import logging

import pytest

from aiobroute._log import RateLimitedLog


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_record_per_interval_then_a_count_of_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    logger = logging.getLogger("aiobroute.test.ratelimit")
    limited = RateLimitedLog(logger, interval=60.0, clock=clock)
    with caplog.at_level(logging.WARNING, logger=logger.name):
        assert limited.log("dropped %d", 1)
        for count in range(2, 500):
            clock.now += 0.01
            assert not limited.log("dropped %d", count)
        assert limited.suppressed == 498
        clock.now += 60.0
        assert limited.log("dropped %d", 500)
        assert limited.suppressed == 0
        clock.now += 1.0
        assert not limited.log("dropped %d", 501)
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["dropped 1", "dropped 500 (498 similar messages suppressed)"]
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_level_is_configurable(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("aiobroute.test.ratelimit.info")
    limited = RateLimitedLog(logger, level=logging.INFO, interval=1.0, clock=FakeClock())
    with caplog.at_level(logging.INFO, logger=logger.name):
        limited.log("hello %s", "world")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.INFO, "hello world")]
