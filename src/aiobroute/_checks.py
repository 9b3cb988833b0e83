"""Checks of the numbers users give: durations, counts (the base of every layer)."""

from __future__ import annotations

import math

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "check_number",
    "check_seconds",
    "is_whole",
    "positive_seconds_field",
    "seconds_field",
]


def check_number(name: str, value: object, *, positive: bool = False, unit: str = "") -> float:
    """``value`` as a finite real number, >= 0 (or > 0); ``unit`` names it in the message.

    NaN and infinities are refused like negative numbers, and so are bools and strings.

    Raises:
        InvalidArgumentError: ``value`` is no such number.
    """
    from aiobroute.errors import InvalidArgumentError

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentError(f"{name} must be a number{unit}, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not (number > 0 if positive else number >= 0):
        bound = "> 0" if positive else ">= 0"
        raise InvalidArgumentError(f"{name} must be a finite number{unit} {bound}, got {value!r}")
    return number


def check_seconds(name: str, value: object, *, positive: bool = False) -> float:
    """``value`` as a duration in seconds (see :func:`check_number`).

    Every wait of the library has a finite limit, and a NaN deadline would sort anywhere
    among the event loop's timers.
    """
    return check_number(name, value, positive=positive, unit=" of seconds")


def is_whole(value: object, low: int, high: int) -> bool:
    """True for a whole number (not a bool) in ``low..high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def seconds_field(_instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: a finite duration >= 0 (see :func:`check_seconds`)."""
    check_seconds(attribute.name, value)


def positive_seconds_field(_instance: object, attribute: Any, value: object) -> None:
    """An attrs validator: a finite duration > 0 (see :func:`check_seconds`)."""
    check_seconds(attribute.name, value, positive=True)
