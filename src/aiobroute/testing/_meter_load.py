"""The simulated household's electricity flow: a seeded, closed-form load curve.

The net power at the meter (positive = import from the grid, negative = export) is

    P(s) = S(s) * (1 + eps(s))

for ``s`` seconds after local midnight of a day, where

* ``S`` is a smooth day profile: a base load, a morning peak, an evening peak (raised
  cosine bumps), a few rectangular appliance pulses and, optionally, a midday PV bump
  that is subtracted. The bumps' windows never overlap, so on every piece of the day
  ``S`` is ``c + b * cos(k * (s - m))``.
* ``eps`` is multiplicative "noise": a sum of three sinusoids with seeded periods
  (one to forty minutes), phases and amplitudes, ``|eps| < 0.25``. Being a factor
  greater than zero it never changes the sign of ``S``.

Every day's parameters come from ``random.Random`` seeded with the meter seed and the
date, so the same (seed, instant) always gives the same power. Because the sign of
``P`` is the sign of ``S`` and the zero crossings of a single raised cosine have a
closed form, the imported energy (integral of ``max(P, 0)``) and the exported energy
(integral of ``max(-P, 0)``) are exact closed-form sums of sine and cosine terms; one
day is integrated in a few tens of microseconds and cached.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import math
import random
from typing import NamedTuple

import attrs

__all__ = ["LoadModel", "shared_load_model"]

_DAY_SECONDS = 86_400
_HOUR = 3_600.0

# Windows (hours) of the three bumps; they must not overlap.
_MORNING = (5.5, 8.5)
_PV = (8.5, 15.5)
_EVENING = (16.75, 22.75)


@attrs.frozen
class _Noise:
    amplitudes: tuple[float, ...]
    omegas: tuple[float, ...]
    phases: tuple[float, ...]


@attrs.frozen
class _Bump:
    center: float  # seconds after midnight
    half_width: float  # seconds
    amplitude: float  # W at the center (negative for PV)

    @property
    def start(self) -> float:
        return self.center - self.half_width

    @property
    def end(self) -> float:
        return self.center + self.half_width


class _Piece(NamedTuple):
    """``S(s) = const + amp * cos(k * s + theta)`` on ``[start, end)``, of one sign."""

    start: float
    end: float
    const: float
    amp: float
    k: float
    theta: float
    sign: int  # +1 import, -1 export


class _Day:
    """One day's pieces with the energy integrated up to the start of each piece."""

    def __init__(
        self, pieces: list[_Piece], noise: tuple[tuple[float, float, float], ...], split: float
    ) -> None:
        self.pieces = pieces
        self.starts = [p.start for p in pieces]
        self.noise = noise  # (amplitude, omega, phase at this day's midnight)
        self.split = split
        cum_import = [0.0]
        cum_export = [0.0]
        imp = exp = 0.0
        for piece in pieces:
            energy = _integral(piece, noise, piece.start, piece.end)
            if piece.sign > 0:
                imp += energy
            else:
                exp -= energy
            cum_import.append(imp)
            cum_export.append(exp)
        self.cum_import = cum_import
        self.cum_export = cum_export

    def piece_at(self, s: float) -> tuple[int, _Piece]:
        index = max(0, bisect.bisect_right(self.starts, s) - 1)
        return index, self.pieces[index]

    def power(self, s: float) -> float:
        _, piece = self.piece_at(s)
        smooth = piece.const + piece.amp * math.cos(piece.k * s + piece.theta)
        eps = sum(a * math.sin(w * s + phi) for a, w, phi in self.noise)
        return smooth * (1.0 + eps)

    def energy(self, s: float) -> tuple[float, float]:
        """Imported and exported energy (W s) from midnight to ``s``."""
        index, piece = self.piece_at(s)
        imp = self.cum_import[index]
        exp = self.cum_export[index]
        part = _integral(piece, self.noise, piece.start, min(s, piece.end))
        if piece.sign > 0:
            imp += part
        else:
            exp -= part
        return imp, exp

    @property
    def totals(self) -> tuple[float, float]:
        return self.cum_import[-1], self.cum_export[-1]


def _integral(
    piece: _Piece, noise: tuple[tuple[float, float, float], ...], s0: float, s1: float
) -> float:
    """Exact integral of ``S * (1 + eps)`` over ``[s0, s1]`` within ``piece`` (W s)."""
    if s1 <= s0:
        return 0.0
    _, _, c, b, k, theta, _ = piece
    cos = math.cos
    total = c * (s1 - s0)
    for a, w, phi in noise:
        # c * a * sin(w s + phi)
        total += c * a * (cos(w * s0 + phi) - cos(w * s1 + phi)) / w
    if b:
        total += b * (math.sin(k * s1 + theta) - math.sin(k * s0 + theta)) / k
        for a, w, phi in noise:
            # b * a * cos(k s + theta) * sin(w s + phi)
            #   = b * a / 2 * (sin((k + w) s + theta + phi) - sin((k - w) s + theta - phi))
            plus = k + w
            minus = k - w
            total += (
                b
                * a
                * 0.5
                * (
                    (cos(plus * s0 + theta + phi) - cos(plus * s1 + theta + phi)) / plus
                    - _int_sin(minus, theta - phi, s0, s1)
                )
            )
    return total


def _int_sin(alpha: float, beta: float, s0: float, s1: float) -> float:
    if alpha == 0.0:
        return math.sin(beta) * (s1 - s0)
    return (math.cos(alpha * s0 + beta) - math.cos(alpha * s1 + beta)) / alpha


class LoadModel:
    """Deterministic household power and its exact integrals, for one seed.

    Args:
        seed: selects the day parameters and the noise.
        pv_peak_watts: peak PV output on a clear day (0 = no PV); the day's weather
            scales it by 0.5 to 1.0.
    """

    def __init__(self, seed: int, *, pv_peak_watts: float = 0.0) -> None:
        self._seed = seed
        self._pv_peak = float(pv_peak_watts)
        rng = random.Random(f"aiobroute.meter/{seed}/noise")
        periods = (rng.uniform(50, 150), rng.uniform(240, 600), rng.uniform(900, 2400))
        self._noise = _Noise(
            amplitudes=tuple(rng.uniform(0.03, 0.08) for _ in periods),
            omegas=tuple(2 * math.pi / p for p in periods),
            phases=tuple(rng.uniform(0, 2 * math.pi) for _ in periods),
        )
        self._days: dict[int, _Day] = {}

    # -- per-day construction -------------------------------------------------------
    def _day(self, ordinal: int) -> _Day:
        day = self._days.get(ordinal)
        if day is None:
            day = self._build_day(ordinal)
            self._days[ordinal] = day
        return day

    def _build_day(self, ordinal: int) -> _Day:
        rng = random.Random(f"aiobroute.meter/{self._seed}/{ordinal}")
        base = rng.uniform(150, 320)
        bumps = [
            _Bump(rng.uniform(6.75, 7.25) * _HOUR, 1.25 * _HOUR, rng.uniform(300, 1200)),
            _Bump(rng.uniform(19.5, 20.0) * _HOUR, 2.75 * _HOUR, rng.uniform(600, 1800)),
        ]
        weather = rng.uniform(0.5, 1.0)
        if self._pv_peak > 0:
            bumps.append(_Bump(12 * _HOUR, 3.5 * _HOUR, -self._pv_peak * weather))
        pulses: list[tuple[float, float, float]] = []
        for _ in range(rng.randint(2, 4)):
            start = rng.uniform(6 * _HOUR, 22.5 * _HOUR)
            length = rng.uniform(180, 2700)
            pulses.append((start, min(start + length, _DAY_SECONDS), rng.uniform(400, 1300)))
        split = rng.uniform(0.4, 0.6)

        # (start, end, A/2, k, theta): A/2 * (1 + cos(k s + theta)), theta = -k * center
        shapes = [
            (
                b.start,
                b.end,
                b.amplitude / 2,
                math.pi / b.half_width,
                -math.pi * b.center / b.half_width,
            )
            for b in bumps
        ]
        cuts = {0.0, float(_DAY_SECONDS)}
        for bump in bumps:
            cuts.update((bump.start, bump.center, bump.end))
        for start, end, _ in pulses:
            cuts.update((start, end))
        edges = sorted(cuts)
        pieces: list[_Piece] = []
        for s0, s1 in itertools.pairwise(edges):
            mid = (s0 + s1) / 2
            const = base
            for start, end, watts in pulses:
                if start <= mid < end:
                    const += watts
            for start, end, half, k, theta in shapes:
                if start <= mid < end:
                    _append_pieces(pieces, s0, s1, (const + half, half, k, theta))
                    break
            else:
                pieces.append(_Piece(s0, s1, const, 0.0, 0.0, 0.0, 1 if const >= 0 else -1))

        start_abs = (ordinal - dt.date(2000, 1, 1).toordinal()) * _DAY_SECONDS
        noise = tuple(
            (a, w, (phi + w * start_abs) % (2 * math.pi))
            for a, w, phi in zip(
                self._noise.amplitudes, self._noise.omegas, self._noise.phases, strict=True
            )
        )
        return _Day(pieces, noise, split)

    # -- queries ----------------------------------------------------------------------
    def power(self, ordinal: int, seconds: float) -> float:
        """Net power (W, import positive) at ``seconds`` after midnight of the day."""
        return self._day(ordinal).power(seconds)

    def phase_split(self, ordinal: int) -> float:
        """The share of the current carried by the R phase on that day (0.4 to 0.6)."""
        return self._day(ordinal).split

    def day_energy(self, ordinal: int, seconds: float) -> tuple[float, float]:
        """Imported and exported energy (W s) from midnight of the day to ``seconds``."""
        return self._day(ordinal).energy(seconds)

    def day_totals(self, ordinal: int) -> tuple[float, float]:
        """Imported and exported energy (W s) over the whole day."""
        return self._day(ordinal).totals


def _append_pieces(
    pieces: list[_Piece], s0: float, s1: float, shape: tuple[float, float, float, float]
) -> None:
    """Append ``const + amp * cos(k s + theta)`` on ``[s0, s1)``, split where it changes sign.

    The caller cuts bumps at their centers, so the cosine is monotonic on the piece and
    there is at most one crossing.
    """
    const, amp, k, theta = shape
    v0 = const + amp * math.cos(k * s0 + theta)
    v1 = const + amp * math.cos(k * s1 + theta)
    if v0 * v1 >= 0:
        pieces.append(_Piece(s0, s1, const, amp, k, theta, 1 if v0 + v1 >= 0 else -1))
        return
    # cos(u) = -const / amp, with u = k s + theta in [-pi, 0] or [0, pi] on this piece.
    u = math.acos(max(-1.0, min(1.0, -const / amp)))
    if k * ((s0 + s1) / 2) + theta < 0:
        u = -u
    crossing = min(max((u - theta) / k, s0), s1)
    first = 1 if v0 > 0 else -1
    if crossing > s0:
        pieces.append(_Piece(s0, crossing, const, amp, k, theta, first))
    if s1 > crossing:
        pieces.append(_Piece(crossing, s1, const, amp, k, theta, -first))


@functools.lru_cache(maxsize=32)
def shared_load_model(seed: int, pv_peak_watts: float) -> LoadModel:
    """A :class:`LoadModel` shared by every meter with the same seed and PV size.

    The model is a pure function of its arguments; sharing it shares the cache of
    integrated days, so many meters built in a test suite integrate each day once.
    """
    return LoadModel(seed, pv_peak_watts=pv_peak_watts)
