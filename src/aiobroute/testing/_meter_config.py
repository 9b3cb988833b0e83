"""The simulated meter's configuration: what it is built as and what its household does."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import attrs

from aiobroute.errors import InvalidArgumentError

__all__ = ["HISTORY_DAYS", "UNIT_KWH", "MeterConfig"]

#: kWh per count for each E1 code.
UNIT_KWH: dict[int, Decimal] = {
    0x00: Decimal(1),
    0x01: Decimal("0.1"),
    0x02: Decimal("0.01"),
    0x03: Decimal("0.001"),
    0x04: Decimal("0.0001"),
    0x0A: Decimal(10),
    0x0B: Decimal(100),
    0x0C: Decimal(1000),
    0x0D: Decimal(10000),
}


#: Days of history (E2/E4 day 0..99) the meter keeps.
HISTORY_DAYS = 100


def _check_range(low: int, high: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(_instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if not low <= value <= high:
            raise InvalidArgumentError(f"{attribute.name} must be {low}..{high}, got {value!r}")

    return check


def _check_release(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if value not in ("F", "R"):
        raise InvalidArgumentError(f"release must be 'F' or 'R', got {value!r}")


def _check_coefficient(_instance: object, _attribute: object, value: int | None) -> None:
    if value is not None and not 1 <= value <= 999_999:
        raise InvalidArgumentError(f"coefficient must be None or 1..999999, got {value!r}")


def _check_unit(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if value not in UNIT_KWH:
        raise InvalidArgumentError(f"unit_code 0x{value:02X} is not a defined E1 code")


def _check_optional_positive(
    _instance: object, attribute: attrs.Attribute[int | None], value: int | None
) -> None:
    if value is not None and value < 1:
        raise InvalidArgumentError(f"{attribute.name} must be None or >= 1, got {value!r}")


def _check_interval(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not 1 <= value <= 1440 or 1440 % value:
        raise InvalidArgumentError(
            f"push_interval_minutes must divide a day (1440 minutes), got {value!r}"
        )


def _check_serial(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value.isascii() or len(value) > 12:
        raise InvalidArgumentError("serial must be at most 12 ASCII characters")


def _check_history_day(_instance: object, _attribute: attrs.Attribute[int], value: int) -> None:
    if not (0 <= value < HISTORY_DAYS or value == 0xFF):
        raise InvalidArgumentError(f"initial_history_day must be 0..99 or 0xFF, got {value!r}")


@attrs.frozen(kw_only=True)
class MeterConfig:
    """How the simulated meter is built and what its household does.

    Attributes:
        seed: selects the household's load curve (same seed, same data).
        release: ECHONET Appendix release, ``"F"`` (deployed meters) or ``"R"`` (adds
            C0, D0, EE and EF).
        coefficient: the D3 coefficient; ``None`` means D3 is not implemented (Get_SNA,
            absent from 9F) and the counters use a coefficient of 1.
        unit_code: the E1 unit code (``0x01`` = 0.1 kWh per count).
        digits: D7, the number of effective digits; the counters wrap at ``10 ** digits``.
        initial_normal_raw: the E0 counter at the clock's start (taken modulo
            ``10 ** digits``). ``10 ** 6 - 5`` with ``digits=6`` wraps within the hour.
        initial_reverse_raw: the E3 counter at the clock's start.
        reverse_direction: the meter measures reverse flow (E3, E4, EB implemented and
            EB pushed with EA). Real meters nearly always do.
        pv_export: the household has PV: E7 goes negative around midday and E3 grows
            while exporting. Needs ``reverse_direction``.
        pv_peak_watts: PV output at noon on a clear day; each day's weather scales it
            by 0.5 to 1.0.
        single_phase_two_wire: single-phase two-wire service: E8's T phase is ``0x7FFE``.
        max_epcs_per_get: a Get with more EPCs than this answers Get_SNA with every PDC
            0 (quirk of some meters); ``None`` = no limit.
        notify_with_infc: push EA/EB as INFC (0x74, expects INFC_Res) instead of INF.
        push_eb_separately: push EB in its own frame after EA instead of one frame
            with OPC 2.
        push_interval_minutes: the EA/EB push period (a divisor of 1440; 30 on meters).
        manufacturer_code: the ECHONET manufacturer code (8A, 83, C0); Toshiba by default.
        serial: the production number (8D), at most 12 ASCII characters; it also fills
            the unique parts of 83 and C0.
        location: the installation location (81) code; ``0x61`` = garden, number 1.
        fault: report a fault (88 = ``0x41``) instead of none (``0x42``).
        initial_history_day: E5 before the controller sets it: 0..99 or ``0xFF``.
        initial_tid: the TID of the first spontaneous frame (the meter's own counter).
    """

    seed: int = 0
    release: str = attrs.field(default="F", validator=_check_release)
    coefficient: int | None = attrs.field(default=1, validator=_check_coefficient)
    unit_code: int = attrs.field(default=0x01, validator=_check_unit)
    digits: int = attrs.field(default=6, validator=_check_range(1, 8))
    initial_normal_raw: int = attrs.field(default=43_210, validator=_check_range(0, 2**63))
    initial_reverse_raw: int = attrs.field(default=0, validator=_check_range(0, 2**63))
    reverse_direction: bool = True
    pv_export: bool = False
    pv_peak_watts: int = attrs.field(default=3500, validator=_check_range(0, 1_000_000))
    single_phase_two_wire: bool = False
    max_epcs_per_get: int | None = attrs.field(default=None, validator=_check_optional_positive)
    notify_with_infc: bool = False
    push_eb_separately: bool = False
    push_interval_minutes: int = attrs.field(default=30, validator=_check_interval)
    manufacturer_code: int = attrs.field(default=0x000016, validator=_check_range(0, 0xFFFFFF))
    serial: str = attrs.field(default="SIM00000001", validator=_check_serial)
    location: int = attrs.field(default=0x61, validator=_check_range(0, 0xFF))
    fault: bool = False
    initial_history_day: int = attrs.field(default=0, validator=_check_history_day)
    initial_tid: int = attrs.field(default=0, validator=_check_range(0, 0xFFFF))

    def __attrs_post_init__(self) -> None:
        if self.pv_export and not self.reverse_direction:
            raise InvalidArgumentError("pv_export needs reverse_direction=True")

    @property
    def kwh_per_count(self) -> Decimal:
        """kWh represented by one count of E0/E3/E2/...: the E1 unit times D3."""
        return UNIT_KWH[self.unit_code] * (self.coefficient or 1)
