"""Fault plans: what goes wrong in a simulated session, decided by a seed.

A :class:`FaultPlan` is a frozen value: rates of random faults (replies dropped,
delayed or duplicated, garbage lines, damaged lines), standing conditions (no beacon, a
neighbour's PAN in range, slow radio, a silent meter) and :class:`ScheduledFault` events
triggered at a simulated time or after a number of datagrams reached the meter.
The same plan and the same host input give the same output.

Every scheduled kind also exists as a runtime method of
:class:`~aiobroute.testing.Simulator` (``inject_session_expiry()``, ``unplug()`` ...).
"""

from __future__ import annotations

import enum

import attrs

from aiobroute.testing._config import probability, spec_items

__all__ = ["FaultKind", "FaultPlan", "ScheduledFault"]


class FaultKind(enum.Enum):
    """What a :class:`ScheduledFault` does."""

    #: ``EVENT 29`` then an automatic re-authentication ending in ``EVENT 25``.
    SESSION_EXPIRY = "expiry"
    #: ``EVENT 29`` then ``EVENT 24``: the session is gone.
    SESSION_EXPIRY_FAIL = "expiry-fail"
    #: Re-authentication driven by the meter: ``EVENT 25`` without ``EVENT 29``.
    REAUTH = "reauth"
    #: The meter ends the session: ``EVENT 26``.
    TERMINATION = "termination"
    #: ARIB transmit limit: ``EVENT 32`` now, ``EVENT 33`` after ``duration_s``.
    TX_LIMIT = "tx-limit"
    #: The module resets as if power-cycled (registers back, echo on, no session).
    RESET = "reset"
    #: The port goes away; it comes back after ``duration_s`` (None: it stays away).
    UNPLUG = "unplug"
    #: The meter stops answering for ``duration_s`` (None: for good).
    SILENT = "silent"
    #: One line of garbage bytes on the UART.
    GARBAGE = "garbage"
    #: The module's firmware hangs: no answer to any command, no output at all, for
    #: ``duration_s`` (None: for good).
    HANG = "hang"


@attrs.frozen(kw_only=True)
class ScheduledFault:
    """One fault at a moment: ``at_s`` simulated seconds after start, or ``after_frames``.

    Attributes:
        kind: What happens.
        at_s: Simulated seconds after the simulator started serving.
        after_frames: Fires once this many datagrams reached the meter.
        duration_s: How long it lasts (TX_LIMIT, UNPLUG, SILENT, HANG).
    """

    kind: FaultKind
    at_s: float | None = None
    after_frames: int | None = None
    duration_s: float | None = None

    def __attrs_post_init__(self) -> None:
        if (self.at_s is None) == (self.after_frames is None):
            raise ValueError("a scheduled fault needs exactly one of at_s and after_frames")
        if self.kind is FaultKind.TX_LIMIT and self.duration_s is None:
            raise ValueError("a TX_LIMIT fault needs duration_s")


@attrs.frozen(kw_only=True)
class FaultPlan:
    """Seeded, deterministic faults for a simulated module and meter.

    Attributes:
        seed: Seed of the fault decisions (independent of the simulator's seed).
        drop_reply: Share of meter answers that never arrive.
        delay_reply: Share of meter answers delayed by ``delay_reply_s`` more.
        delay_reply_s: Range of that extra delay (simulated seconds).
        duplicate_reply: Share of meter answers that arrive twice.
        garbage: Chance, per write to the UART, of a line of random bytes before it.
        garble: Chance, per write to the UART, that one of its bytes is damaged.
        no_beacon: Active scans find nothing.
        neighbour_pan: A neighbour's meter is in range too (another PairID, better LQI,
            rejects our credentials).
        slow_factor: Scans and joins take this many times longer.
        silent: The meter never answers (PANA nor ECHONET Lite).
        scheduled: Faults at given moments.
    """

    seed: int = 0
    drop_reply: float = attrs.field(default=0.0, validator=probability)
    delay_reply: float = attrs.field(default=0.0, validator=probability)
    delay_reply_s: tuple[float, float] = (5.0, 30.0)
    duplicate_reply: float = attrs.field(default=0.0, validator=probability)
    garbage: float = attrs.field(default=0.0, validator=probability)
    garble: float = attrs.field(default=0.0, validator=probability)
    no_beacon: bool = False
    neighbour_pan: bool = False
    slow_factor: float = 1.0
    silent: bool = False
    scheduled: tuple[ScheduledFault, ...] = ()

    @classmethod
    def parse(cls, specs: str | list[str]) -> FaultPlan:
        """Build a plan from command-line text (several ``--fault`` values merge).

        Items are separated by commas: ``drop=0.1``, ``delay=0.2``, ``duplicate=0.05``,
        ``garbage=0.01``, ``garble=0.01``, ``seed=3``, ``slow=4``, ``no-beacon``,
        ``neighbour``, ``silent``, and scheduled faults ``KIND@SECONDS`` or
        ``KIND@#FRAMES``, optionally ``+DURATION``: ``expiry@600``, ``tx-limit@#20+300``,
        ``unplug@900+10``, ``hang@#5+60``. Kinds are the :class:`FaultKind` values.

        Raises:
            ValueError: an item is not understood.
        """
        values: dict[str, object] = {}
        scheduled: list[ScheduledFault] = []
        floats = {
            "drop": "drop_reply",
            "delay": "delay_reply",
            "duplicate": "duplicate_reply",
            "garbage": "garbage",
            "garble": "garble",
            "slow": "slow_factor",
        }
        flags = {"no-beacon": "no_beacon", "neighbour": "neighbour_pan", "silent": "silent"}
        for item in spec_items(specs):
            if "@" in item:
                scheduled.append(_parse_scheduled(item))
            elif "=" in item:
                key, _, value = item.partition("=")
                if key == "seed":
                    values["seed"] = int(value)
                elif key in floats:
                    values[floats[key]] = float(value)
                else:
                    raise ValueError(f"unknown fault setting {key!r}")
            elif item in flags:
                values[flags[item]] = True
            else:
                raise ValueError(f"unknown fault {item!r}")
        return cls(scheduled=tuple(scheduled), **values)  # type: ignore[arg-type]


def _parse_scheduled(item: str) -> ScheduledFault:
    name, _, when = item.partition("@")
    try:
        kind = FaultKind(name)
    except ValueError:
        raise ValueError(f"unknown fault kind {name!r}") from None
    when, _, duration = when.partition("+")
    duration_s = float(duration) if duration else None
    if when.startswith("#"):
        return ScheduledFault(kind=kind, after_frames=int(when[1:]), duration_s=duration_s)
    return ScheduledFault(kind=kind, at_s=float(when), duration_s=duration_s)
