"""The long-running commands' shared machinery: what is retried, how often it is logged."""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import logging

import pytest

from aiobroute.cli._service import (
    Backoff,
    RateLimitedLog,
    StatusLine,
    interval_seconds,
    is_recoverable,
    positive_seconds,
    run_together,
)
from aiobroute.errors import (
    AuthenticationError,
    ClientClosedError,
    CommandError,
    InvalidArgumentError,
    PortClosedError,
    ReconnectingError,
    ResponseTimeoutError,
    ScanError,
)


@pytest.mark.parametrize(
    ("error", "recoverable"),
    [
        (CommandError(9, "SKSENDTO ..."), True),
        (ResponseTimeoutError("no answer"), True),
        (ReconnectingError("re-establishing"), True),
        (PortClosedError("unplugged"), True),
        (ScanError("nothing answered"), True),
        (ClientClosedError("closed"), True),
        (AuthenticationError("EVENT 24"), False),
        (InvalidArgumentError("bad"), False),
        (ValueError("not ours"), False),
    ],
)
def test_what_is_recoverable(error: Exception, recoverable: bool) -> None:
    assert is_recoverable(error) is recoverable


def test_a_reason_is_logged_once_per_period_with_a_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    log = RateLimitedLog(60.0, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="aiobroute.cli"):
        assert log.report("read", "no reading: A")
        now[0] = 30.0
        assert not log.report("read", "no reading: B")
        assert not log.report("read", "no reading: C")
        assert log.report("connect", "cannot reach")  # another kind: its own period
        now[0] = 61.0
        assert log.report("read", "no reading: D")
        log.reset("read")
        assert log.report("read", "no reading: E")  # after a recovery: at once
    assert [r.getMessage() for r in caplog.records] == [
        "no reading: A",
        "cannot reach",
        "no reading: D (2 similar messages suppressed)",
        "no reading: E",
    ]


def test_backoff_grows_to_the_cap_and_resets() -> None:
    backoff = Backoff(8.0)
    delays = [backoff.next_delay() for _ in range(8)]
    assert 0.9 <= delays[0] <= 1.1
    assert all(later >= earlier * 0.8 for earlier, later in itertools.pairwise(delays))
    assert max(delays) <= 8.0 * 1.1
    assert delays[-1] >= 8.0 * 0.9
    backoff.reset()
    assert backoff.next_delay() <= 1.1


def test_status_line_prints_changes_only() -> None:
    stream = io.StringIO()
    status = StatusLine("mqtt", stream)
    status("connecting")
    status("connecting")
    status("ok", "readings flow")
    status("ok", "readings flow")
    status("degraded")
    assert stream.getvalue().splitlines() == [
        "aiobroute mqtt: connecting",
        "aiobroute mqtt: ok (readings flow)",
        "aiobroute mqtt: degraded",
    ]
    quiet = StatusLine("watch", stream, quiet=True)
    quiet("connecting")
    assert stream.getvalue().count("watch") == 0


async def test_run_together_raises_the_first_error_and_stops_the_rest() -> None:
    stopped = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stopped.set()

    async def fails() -> None:
        await asyncio.sleep(0)
        raise AuthenticationError("EVENT 24")

    with pytest.raises(AuthenticationError):  # itself, not an exception group
        await asyncio.wait_for(run_together(forever(), fails()), 10)
    assert stopped.is_set()


async def test_run_together_cancelled_waits_for_every_task() -> None:
    cleaned: list[str] = []

    async def worker(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)  # a goodbye that takes a moment (offline, SKTERM)
            cleaned.append(name)

    task = asyncio.create_task(run_together(worker("meter"), worker("broker")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sorted(cleaned) == ["broker", "meter"]


@pytest.mark.parametrize(
    ("module", "required", "option", "good", "bad"),
    [
        ("exporter", [], "--interval", "86399.5", ["0", "86400", "nan", "soon"]),
        ("exporter", [], "--retry-max", "1e6", ["0", "-1", "inf", "nan", "soon"]),
        ("mqtt", ["--broker", "h"], "--interval", "86399.5", ["0", "86400", "nan", "soon"]),
        ("mqtt", ["--broker", "h"], "--retry-max", "1e6", ["0", "-1", "inf", "nan", "soon"]),
        ("record", ["--db", "x.db"], "--interval", "1e6", ["0", "-1", "inf", "nan", "soon"]),
    ],
)
def test_seconds_options_of_the_services(
    module: str, required: list[str], option: str, good: str, bad: list[str]
) -> None:
    """--interval and --retry-max of every service are checked by the shared types."""
    import importlib

    command = importlib.import_module(f"aiobroute.cli.{module}")
    parser = argparse.ArgumentParser(exit_on_error=False)
    command.add_arguments(parser)
    dest = option.removeprefix("--").replace("-", "_")
    assert getattr(parser.parse_args([*required, option, good]), dest) == float(good)
    for text in bad:
        with pytest.raises(argparse.ArgumentError):
            parser.parse_args([*required, option, text])


@pytest.mark.parametrize(
    ("text", "interval", "positive"),
    [
        ("0.5", 0.5, 0.5),
        ("86399", 86399.0, 86399.0),
        ("86400", None, 86400.0),
        ("1e9", None, 1e9),
        ("0", None, None),
        ("-3", None, None),
        ("inf", None, None),
        ("nan", None, None),
        ("ten", None, None),
    ],
)
def test_seconds_types(text: str, interval: float | None, positive: float | None) -> None:
    for parse, expected in ((interval_seconds, interval), (positive_seconds, positive)):
        if expected is None:
            with pytest.raises(argparse.ArgumentTypeError, match=r"seconds|more than 0"):
                parse(text)
        else:
            assert parse(text) == expected
