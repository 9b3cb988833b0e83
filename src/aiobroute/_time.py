"""Japan time: the smart meters' wall clock."""

from __future__ import annotations

import datetime as dt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["JST", "check_seconds", "now_jst", "positive_seconds_field", "seconds_field"]

#: Japan Standard Time (the zone Asia/Tokyo), UTC+09:00. Japan has not used daylight
#: saving time since 1951, so a fixed offset is exact for every date a meter reports,
#: and it needs no time-zone database (``zoneinfo`` would load ``sysconfig`` and read
#: tzdata files at import).
JST = dt.timezone(dt.timedelta(hours=9), "JST")


def now_jst() -> dt.datetime:
    """The current time in Japan, timezone-aware."""
    return dt.datetime.now(JST)


def check_seconds(name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a duration in seconds: a finite real number, >= 0 (or > 0).

    NaN and infinities are refused like negative numbers: every wait of the library has
    a finite limit, and a NaN deadline would sort anywhere among the event loop's timers.

    Raises:
        InvalidArgumentError: ``value`` is no such number.
    """
    from aiobroute.errors import InvalidArgumentError

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(
            f"{name} must be a number of seconds, got {type(value).__name__}"
        )
    number = float(value)
    if not (number > 0 if positive else number >= 0) or number == float("inf"):
        bound = "> 0" if positive else ">= 0"
        raise InvalidArgumentError(
            f"{name} must be a finite number of seconds {bound}, got {value!r}"
        )
    return number


def seconds_field(_instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: a finite duration >= 0 (see :func:`check_seconds`)."""
    check_seconds(attribute.name, value)


def positive_seconds_field(_instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: a finite duration > 0 (see :func:`check_seconds`)."""
    check_seconds(attribute.name, value, positive=True)
