"""Energy arithmetic for the cumulative counters, exact in :class:`decimal.Decimal`."""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

from aiobroute.echonet._values import _ENERGY_MULTIPLIERS, EnergyUnit
from aiobroute.errors import InvalidArgumentError

__all__ = [
    "MAX_COEFFICIENT",
    "UNIT_MULTIPLIERS",
    "counter_delta",
    "energy_kwh",
    "unit_multiplier",
]

#: EPC 0xE1 code -> kWh per count. Codes missing here are undefined and rejected.
UNIT_MULTIPLIERS: Mapping[int, Decimal] = MappingProxyType(dict(_ENERGY_MULTIPLIERS))

#: Largest coefficient (EPC 0xD3) the Appendix allows: a 6-digit decimal.
MAX_COEFFICIENT = 999_999

# Enough digits that raw x coefficient x multiplier is always exact.
_EXACT = decimal.Context(prec=60)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def unit_multiplier(code: int) -> Decimal:
    """The kWh per count of an EPC 0xE1 unit code.

    Args:
        code: the E1 code (``0x02``, or an :class:`EnergyUnit`).

    Returns:
        The exact multiplier, e.g. ``Decimal("0.01")`` for ``0x02``.

    Raises:
        InvalidArgumentError: the code is undefined (``0x05``-``0x09``, ``0x0E``-``0xFF``).
    """
    if not _is_int(code) or code not in UNIT_MULTIPLIERS:
        raise InvalidArgumentError(f"undefined cumulative energy unit code {code!r}")
    return UNIT_MULTIPLIERS[code]


def energy_kwh(
    raw: int | None,
    coefficient: int | None = 1,
    *,
    unit: EnergyUnit | int | Decimal,
) -> Decimal | None:
    """Scale a raw energy counter to kWh: ``raw x coefficient x unit``.

    Args:
        raw: a raw counter from E0, E3, EA, EB, E2/E4 slots, EC/EE pairs or D0, or a
            difference of two of them; None (no data) gives None.
        coefficient: EPC 0xD3; None (meter has no D3) counts as 1.
        unit: the E1 code (int or :class:`EnergyUnit`) or a multiplier in kWh.

    Returns:
        The energy in kWh, exact, or None when ``raw`` is None.

    Raises:
        InvalidArgumentError: negative raw, coefficient outside 0..999,999,
            undefined unit code, or a multiplier that is not a positive finite Decimal.
    """
    if isinstance(unit, Decimal):
        if not unit.is_finite() or unit <= 0:
            raise InvalidArgumentError(f"unit multiplier must be a positive Decimal, got {unit}")
        multiplier = unit
    else:
        multiplier = unit_multiplier(unit)
    if coefficient is None:
        coefficient = 1
    if not _is_int(coefficient) or not 0 <= coefficient <= MAX_COEFFICIENT:
        raise InvalidArgumentError(f"coefficient must be 0..{MAX_COEFFICIENT}, got {coefficient!r}")
    if raw is None:
        return None
    if not _is_int(raw) or raw < 0:
        raise InvalidArgumentError(f"raw energy counter must be a non-negative int, got {raw!r}")
    return _EXACT.multiply(_EXACT.multiply(Decimal(raw), Decimal(coefficient)), multiplier)


def counter_delta(current: int, previous: int, digits: int) -> int:
    """The increase of a counter that wraps to 0 at ``10**digits``.

    EPC 0xD7 gives ``digits``: the raw counter runs 0 .. 10**digits - 1 and then wraps,
    so the increase is ``(current - previous) mod 10**digits``. The wrap rule is
    inferred from the property's definition; no real rollover has been observed.

    Args:
        current: the later raw reading.
        previous: the earlier raw reading.
        digits: the number of effective digits (EPC 0xD7), 1-8.

    Returns:
        The raw increase, 0 <= result < 10**digits.

    Raises:
        InvalidArgumentError: digits outside 1..8 or a reading outside 0..10**digits - 1.
    """
    if not _is_int(digits) or not 1 <= digits <= 8:
        raise InvalidArgumentError(f"effective digits must be 1..8, got {digits!r}")
    modulus: int = 10**digits
    for name, value in (("current", current), ("previous", previous)):
        if not _is_int(value) or not 0 <= value < modulus:
            raise InvalidArgumentError(
                f"{name} reading must be 0..{modulus - 1} for {digits} digits, got {value!r}"
            )
    return (current - previous) % modulus
