"""The simulated meter's data: its counters and instantaneous values at any instant.

The counters are the exact integral of the seeded load curve from the clock's start
(the epoch), wrapped at ``10 ** D7``; the history the meter answers is the same counters
read at past instants, so nothing is stored but a cache of daily energy totals.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from aiobroute.errors import InvalidArgumentError
from aiobroute.testing._clock import JST
from aiobroute.testing._meter_config import HISTORY_DAYS, MeterConfig
from aiobroute.testing._meter_load import shared_load_model

if TYPE_CHECKING:
    from aiobroute.testing._clock import SimClock

__all__: list[str] = []

HALF_HOUR = dt.timedelta(minutes=30)
SLOTS_PER_DAY = 48
_INT16_MAX = 0x7FFD


def clamp(value: int, limit: int) -> int:
    return max(-limit, min(limit, value))


def _clock_start(clock: SimClock) -> dt.datetime:
    """The clock's start instant, readable without a running event loop."""
    start = getattr(clock, "start", None)
    if not isinstance(start, dt.datetime):
        start = clock._start  # the clock has no public accessor (yet)
    return start.astimezone(JST)


class _MeterCounters:
    """The ground truth of a simulated meter: counters, power and currents over time."""

    def __init__(self, clock: SimClock, config: MeterConfig | None = None) -> None:
        self.config: MeterConfig = config or MeterConfig()
        self._clock = clock
        self._epoch: dt.datetime | None = None
        cfg = self.config
        self._modulus: int = 10**cfg.digits
        self._ws_per_count = float(cfg.kwh_per_count) * 3_600_000.0
        self._load = shared_load_model(cfg.seed, float(cfg.pv_peak_watts if cfg.pv_export else 0))
        self._epoch_energy: tuple[float, float] | None = None
        self._prefix: dict[int, tuple[float, float]] = {}

    # ------------------------------------------------------------------ time helpers
    def _at(self, at: dt.datetime | None) -> dt.datetime:
        if at is None:
            return self._clock.now()
        if at.tzinfo is None:
            return at.replace(tzinfo=JST)
        return at.astimezone(JST)

    @property
    def epoch(self) -> dt.datetime:
        """The instant at which the counters read their initial values (the clock's start)."""
        if self._epoch is None:
            self._epoch = _clock_start(self._clock)
        return self._epoch

    @staticmethod
    def _split(at: dt.datetime) -> tuple[int, float]:
        seconds = at.hour * 3600 + at.minute * 60 + at.second + at.microsecond / 1e6
        return at.toordinal(), seconds

    def _prefix_energy(self, ordinal: int) -> tuple[float, float]:
        """Energy from midnight of the epoch's day to midnight of ``ordinal`` (signed)."""
        cached = self._prefix.get(ordinal)
        if cached is not None:
            return cached
        origin = self.epoch.toordinal()
        imp = exp = 0.0
        if ordinal >= origin:
            days: Iterable[int] = range(origin, ordinal)
            sign = 1.0
        else:
            days = range(ordinal, origin)
            sign = -1.0
        for day in days:
            day_imp, day_exp = self._load.day_totals(day)
            imp += day_imp
            exp += day_exp
        result = (sign * imp, sign * exp)
        self._prefix[ordinal] = result
        return result

    def _energy(self, at: dt.datetime) -> tuple[float, float]:
        """Imported and exported energy (W s) from the epoch to ``at`` (negative before)."""
        if self._epoch_energy is None:
            self._epoch_energy = self._load.day_energy(*self._split(self.epoch))
        ordinal, seconds = self._split(at)
        pre_imp, pre_exp = self._prefix_energy(ordinal)
        day_imp, day_exp = self._load.day_energy(ordinal, seconds)
        epoch_imp, epoch_exp = self._epoch_energy
        return pre_imp + day_imp - epoch_imp, pre_exp + day_exp - epoch_exp

    # ------------------------------------------------------------------ ground truth
    def _power(self, at: dt.datetime) -> float:
        return self._load.power(*self._split(at))

    def instant_power_watts(self, at: dt.datetime | None = None) -> int:
        """E7: net power in W (negative while exporting), at ``at`` (default now)."""
        return round(self._power(self._at(at)))

    def instant_current_deciamperes(self, at: dt.datetime | None = None) -> tuple[int, int | None]:
        """E8: the R and T phase currents in 0.1 A; T is ``None`` on two-wire service."""
        at = self._at(at)
        power = self._power(at)
        if self.config.single_phase_two_wire:
            return clamp(round(power / 10), _INT16_MAX), None
        share = self._load.phase_split(at.toordinal())
        # R + T = P / 100 V, in units of 0.1 A.
        r_phase = clamp(round(power * share / 10), _INT16_MAX)
        t_phase = clamp(round(power * (1 - share) / 10), _INT16_MAX)
        return r_phase, t_phase

    def cumulative_raw(self, at: dt.datetime | None = None, *, reverse: bool = False) -> int:
        """E0 (or E3 with ``reverse``): the counter, already wrapped at ``10 ** digits``.

        The counter reads ``initial_*_raw`` at the clock's start. Going back in time it
        decreases by the energy used, down to 0 and no further (the meter's installation).
        """
        imp, exp = self._energy(self._at(at))
        if reverse:
            initial, energy = self.config.initial_reverse_raw, exp
        else:
            initial, energy = self.config.initial_normal_raw, imp
        # Before the clock's start the counter runs backwards from its initial value; it
        # stops at 0 (as if the meter had been installed then) instead of wrapping.
        return max(0, initial + math.floor(energy / self._ws_per_count)) % self._modulus

    def cumulative_kwh(self, at: dt.datetime | None = None, *, reverse: bool = False) -> Decimal:
        """The counter converted to kWh (raw x D3 x E1), as a controller should compute it."""
        return self.cumulative_raw(at, reverse=reverse) * self.config.kwh_per_count

    def fixed_time_reading(
        self, at: dt.datetime | None = None, *, reverse: bool = False
    ) -> tuple[dt.datetime, int]:
        """EA (or EB): the last :00/:30 at or before ``at`` and the counter then."""
        at = self._at(at)
        slot = at.replace(minute=at.minute - at.minute % 30, second=0, microsecond=0)
        return slot, self.cumulative_raw(slot, reverse=reverse)

    def history_raw(
        self, day: int, *, reverse: bool = False, at: dt.datetime | None = None
    ) -> tuple[int | None, ...]:
        """E2 (or E4): the 48 counters at 00:00..23:30 of ``day`` days before ``at``.

        Slots after ``at`` are ``None`` (sent as ``0xFFFFFFFE``).
        """
        if not 0 <= day < HISTORY_DAYS:
            raise InvalidArgumentError(f"day must be 0..99, got {day!r}")
        at = self._at(at)
        date = at.date() - dt.timedelta(days=day)
        midnight = dt.datetime(date.year, date.month, date.day, tzinfo=JST)
        slots = (midnight + HALF_HOUR * index for index in range(SLOTS_PER_DAY))
        return tuple(
            self.cumulative_raw(slot, reverse=reverse) if slot <= at else None for slot in slots
        )
