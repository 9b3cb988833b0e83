"""What the simulator's frozen configuration classes share.

Validators of their attrs fields, the ``realistic`` / ``instant`` / ``named`` choice of
the two timing classes (:class:`~aiobroute.testing.Timing`,
:class:`~aiobroute.testing.J11Timing`), and the item list of command-line fault text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar, Self, cast

import attrs

__all__: list[str] = []


def probability(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    """Validator: a chance, 0 to 1."""
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{attribute.name} must be between 0 and 1, got {value!r}")


def delay_range(
    _instance: object, attribute: attrs.Attribute[tuple[float, float]], value: object
) -> None:
    """Validator: a ``(low, high)`` pair of delays with ``0 <= low <= high``."""
    if not isinstance(value, tuple) or len(value) != 2 or not 0 <= value[0] <= value[1]:
        raise ValueError(f"{attribute.name} must be a (low, high) pair with 0 <= low <= high")


def spec_items(specs: str | list[str]) -> Iterator[str]:
    """The non-empty, stripped items of comma-separated command-line values."""
    for spec in [specs] if isinstance(specs, str) else specs:
        for raw in spec.split(","):
            item = raw.strip()
            if item:
                yield item


class NamedTiming:
    """The delays of a (frozen attrs) timing class by name: its defaults, or none at all."""

    __slots__ = ()

    #: Fields that are no radio delay (protocol constants): ``instant()`` keeps them.
    _NOT_DELAYS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def realistic(cls) -> Self:
        """Delays as real hardware shows them, or as the reference gives them (the
        defaults).
        """
        return cls()

    @classmethod
    def instant(cls) -> Self:
        """No radio delay at all (for unit tests): every delay and delay range is zero;
        the order of the output stays the same. Protocol constants (the J11 inter-byte
        timeout) keep their value.
        """
        fields = attrs.fields(cast("type[attrs.AttrsInstance]", cls))
        zero: dict[str, object] = {
            field.name: (0.0, 0.0) if isinstance(field.default, tuple) else 0.0
            for field in fields
            if field.name not in cls._NOT_DELAYS
        }
        return cls(**zero)

    @classmethod
    def named(cls, name: str) -> Self:
        """``"realistic"`` or ``"instant"``.

        Raises:
            ValueError: another name.
        """
        if name == "realistic":
            return cls.realistic()
        if name == "instant":
            return cls.instant()
        raise ValueError(f"timing must be 'realistic' or 'instant', got {name!r}")
