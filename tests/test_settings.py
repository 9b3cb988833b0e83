"""Every duration and count a user can set is checked when it is set: no NaN, no infinity."""

from __future__ import annotations

import math
from typing import cast

import attrs
import pytest

from aiobroute import SmartMeter
from aiobroute.errors import InvalidArgumentError
from aiobroute.j11.client import J11Timeouts
from aiobroute.link import ProbeTimings
from aiobroute.meter import MeterTimeouts
from aiobroute.recorder import Recorder, RecordStore
from aiobroute.skstack.client import SkTimeouts
from aiobroute.supervisor import ReconnectPolicy, WatchdogSettings
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID

DURATIONS: list[type] = [MeterTimeouts, SkTimeouts, J11Timeouts, ProbeTimings]
#: Durations of the other settings classes (their remaining fields are counts or ratios).
OTHER_DURATIONS = {
    ReconnectPolicy: ("initial", "cap", "local_cap"),
    WatchdogSettings: ("push_period", "push_grace", "probe_timeout", "reauth_timeout"),
}
FIELDS = [(cls, f.name) for cls in DURATIONS for f in attrs.fields(cls)] + [
    (cls, name) for cls, names in OTHER_DURATIONS.items() for name in names
]
BAD_SECONDS = [math.nan, math.inf, -math.inf, -1.0, "5", True, None]


@pytest.mark.parametrize(("cls", "name"), FIELDS, ids=lambda v: getattr(v, "__name__", v))
@pytest.mark.parametrize("bad", BAD_SECONDS, ids=repr)
def test_a_duration_that_is_no_finite_number_of_seconds_is_refused(
    cls: type, name: str, bad: object
) -> None:
    if bad is None and (cls, name) == (WatchdogSettings, "push_grace"):
        return  # None disables the push check: documented, tested below
    with pytest.raises(InvalidArgumentError, match=name):
        cls(**{name: bad})


@pytest.mark.parametrize(("cls", "name"), FIELDS, ids=lambda v: getattr(v, "__name__", v))
def test_defaults_and_whole_numbers_are_taken(cls: type, name: str) -> None:
    default = getattr(cls(), name)
    assert default is None or (isinstance(default, float) and math.isfinite(default))
    assert getattr(cls(**{name: 7}), name) == 7


def test_zero_is_a_duration_only_where_nothing_must_be_waited_for() -> None:
    assert SkTimeouts(reset_settle=0, scan_margin=0, send_event_grace=0).reset_settle == 0
    assert J11Timeouts(busy_retry=0, start_retry=0, scan_margin=0).busy_retry == 0
    assert WatchdogSettings(push_grace=None).push_grace is None
    for cls, name in [
        (MeterTimeouts, "attempt"),
        (MeterTimeouts, "single"),
        (SkTimeouts, "command"),
        (SkTimeouts, "join"),
        (J11Timeouts, "command"),
        (J11Timeouts, "partial_frame"),
        (WatchdogSettings, "probe_timeout"),
    ]:
        with pytest.raises(InvalidArgumentError, match=f"{name} must be a finite number"):
            cls(**{name: 0})


@pytest.mark.parametrize(
    "options",
    [
        {"factor": math.nan},
        {"factor": math.inf},
        {"factor": 0.5},
        {"jitter": math.nan},
        {"jitter": 1.0},
        {"max_attempts": 0},
        {"max_attempts": math.nan},
        {"max_attempts": True},
    ],
    ids=repr,
)
def test_a_reconnect_policy_that_cannot_work_is_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        ReconnectPolicy(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, 1.5, math.nan, True, "2"], ids=repr)
def test_the_watchdog_counts_whole_timeouts(bad: object) -> None:
    with pytest.raises(InvalidArgumentError, match="timeouts_before_probe"):
        WatchdogSettings(timeouts_before_probe=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options",
    [
        {"min_interval": math.nan},
        {"min_interval": math.inf},
        {"min_interval": -0.5},
        {"retries": -1},
        {"retries": True},
        {"retries": 1.5},
        {"scan_durations": ()},
        {"scan_durations": (15,)},
        {"scan_durations": (4.5,)},
        {"scan_durations": (-1,)},
        {"baudrate": 0},
        {"baudrate": True},
        {"baudrate": math.nan},
    ],
    ids=repr,
)
def test_smart_meter_refuses_settings_that_cannot_work(options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError, match=next(iter(options))):
        SmartMeter("loop://", rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, **options)  # type: ignore[arg-type]


def test_the_setters_check_too() -> None:
    meter = SmartMeter("loop://", rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD)
    for name, bad in [("min_interval", math.nan), ("retries", -1), ("retries", 2.0)]:
        with pytest.raises(InvalidArgumentError, match=name):
            setattr(meter, name, bad)
    meter.min_interval = 0
    meter.retries = 5
    assert (meter.min_interval, meter.retries) == (0, 5)


@pytest.mark.parametrize(
    "options", [{"interval": math.nan}, {"interval": 0}, {"settle": math.inf}], ids=repr
)
def test_the_recorder_refuses_durations_that_cannot_work(options: dict[str, object]) -> None:
    meter = SmartMeter("loop://", rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD)
    store = cast(RecordStore, object())  # refused before the store is used
    with pytest.raises(InvalidArgumentError, match=next(iter(options))):
        Recorder(meter, store, **options)  # type: ignore[arg-type]
