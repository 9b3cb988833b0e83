"""Session supervision helpers: connection states, the reconnect policy, the PAN cache."""

from __future__ import annotations

import enum
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import attrs

from aiobroute._checks import (
    check_number,
    check_seconds,
    is_whole,
    positive_seconds_field,
    seconds_field,
)
from aiobroute._files import atomic_write_text, safe_read_text, safe_unlink
from aiobroute.errors import InvalidArgumentError
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK, MeterPan
from aiobroute.skstack._dialect import ModuleFamily

if TYPE_CHECKING:
    import random

    from aiobroute.skstack import PanDescriptor

__all__ = ["ConnectionState", "PanCache", "ReconnectPolicy", "WatchdogSettings"]

_LOGGER = logging.getLogger("aiobroute.supervisor")


class ConnectionState(enum.Enum):
    """Where a :class:`~aiobroute.SmartMeter` stands; observable by the user."""

    CONNECTING = "connecting"  #: opening the port and preparing the module
    SCANNING = "scanning"  #: active scan for the meter's PAN
    JOINING = "joining"  #: PANA authentication
    READY = "ready"  #: requests flow
    REAUTHENTICATING = "reauthenticating"  #: session expired (EVENT 29); waiting for re-auth
    RATE_LIMITED = "rate_limited"  #: ARIB transmit-time limit (EVENT 32) until EVENT 33
    RECONNECTING = "reconnecting"  #: the session or the port was lost; re-establishing
    CLOSED = "closed"  #: closed by the user, or the reconnect policy gave up


@attrs.frozen
class ReconnectPolicy:
    """When to try again after a lost connection: exponential backoff with jitter.

    Attempt ``n`` (0-based) waits ``min(cap, initial * factor**n)`` seconds, scaled by a
    random factor in ``[1 - jitter, 1 + jitter]``. ``max_attempts=None`` never gives up.

    While the port itself or the module fails (the port cannot be opened, the module
    does not answer commands), trying again costs no airtime: the delay after such an
    attempt is at most ``local_cap``, so the meter is back within seconds of the dongle.

    Attributes:
        initial: the first delay, in seconds.
        factor: the growth of each next delay.
        cap: the longest delay.
        jitter: relative randomisation (0 disables it).
        max_attempts: give up (the meter closes) after this many failed attempts.
        local_cap: the longest delay after an attempt that failed at the port or the
            module rather than on the radio.
    """

    initial: float = attrs.field(default=1.0, validator=seconds_field)
    factor: float = 2.0
    cap: float = attrs.field(default=300.0, validator=seconds_field)
    jitter: float = 0.2
    max_attempts: int | None = None
    local_cap: float = attrs.field(default=5.0, validator=seconds_field)

    def __attrs_post_init__(self) -> None:
        if check_number("factor", self.factor) < 1:
            raise InvalidArgumentError(f"factor must be at least 1, got {self.factor!r}")
        if not check_number("jitter", self.jitter) < 1:
            raise InvalidArgumentError(f"jitter must be in [0, 1), got {self.jitter!r}")
        if self.max_attempts is not None and not is_whole(self.max_attempts, 1, 2**31):
            raise InvalidArgumentError("max_attempts must be at least 1 (or None)")

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """The delay before attempt ``attempt`` (0-based)."""
        base = min(self.cap, self.initial * self.factor ** min(attempt, 64))
        if self.jitter:
            if rng is None:
                import random  # lazy: only reconnecting needs it

            base *= (rng or random).uniform(1 - self.jitter, 1 + self.jitter)
        return max(0.0, base)

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The delays of successive attempts; finite when ``max_attempts`` is set."""
        attempt = 0
        while self.max_attempts is None or attempt < self.max_attempts:
            yield self.delay(attempt, rng)
            attempt += 1


@attrs.frozen
class WatchdogSettings:
    """When to suspect a silently dead link and what to do about it.

    Attributes:
        timeouts_before_probe: consecutive request timeouts that trigger a probe.
        push_period: how often the meter pushes 0xEA (every 30 minutes on real meters).
        push_grace: how late a push may be (meters push "within 5 minutes" of :00/:30);
            when no push arrived for ``push_period + push_grace`` seconds the link is
            probed. None disables the push check.
        probe_timeout: how long the probe (a one-property Get) may take.
        reauth_timeout: how long to wait for EVENT 25 after EVENT 29 before rejoining.
        tx_limit_check: how long after EVENT 32 to ask the module (register SFB) whether
            the limit is still on, in case EVENT 33 was missed.
    """

    timeouts_before_probe: int = 2
    push_period: float = attrs.field(default=1800.0, validator=positive_seconds_field)
    push_grace: float | None = 600.0
    probe_timeout: float = attrs.field(default=20.0, validator=positive_seconds_field)
    reauth_timeout: float = attrs.field(default=60.0, validator=positive_seconds_field)
    tx_limit_check: float = attrs.field(default=3600.0, validator=positive_seconds_field)

    def __attrs_post_init__(self) -> None:
        if not is_whole(self.timeouts_before_probe, 1, 2**31):
            raise InvalidArgumentError("timeouts_before_probe must be at least 1")
        if self.push_grace is not None:
            check_seconds("push_grace", self.push_grace)


#: The channel numbering of each dialect (SKSTACK 0x21..0x3C, J11 4..17).
_CHANNELS = {DIALECT_SKSTACK: (0x21, 0x3C), DIALECT_J11: (4, 17)}

#: The largest PAN cache file read (property maps included, a real one is about 1 KiB).
PAN_CACHE_LIMIT = 64 * 1024


class PanCache:
    """Remembers the meter's PAN in a JSON file so a new process can join without a scan.

    The file holds the dialect, channel, PAN ID, the meter's MAC address and the module family,
    and, once read, the meter's attributes that never change (property maps, release,
    coefficient, unit, digits) so a warm start needs no reads at all. No secrets are
    stored (not even the PairID, which is derived from the B-route ID). Writes are
    atomic (temporary file + rename) and the file has mode 0600.

    Only a regular file is ever read or replaced. Anything else at the path (a device
    node, FIFO, socket, directory or symbolic link), a file of another user (for
    writing), a file over :data:`PAN_CACHE_LIMIT` bytes or malformed content (bad JSON,
    deep nesting, wrong types) means "no cache": a warning is logged and the meter scans
    as without a cache; the path is left untouched.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        from pathlib import Path  # lazy: only a cache file needs pathlib

        self.path = Path(path)
        self._warned: set[str] = set()

    def _warn(self, what: str, exc: object) -> None:
        message = f"{what} {self.path}: {exc}"
        if message not in self._warned:  # once per problem, not on every access
            self._warned.add(message)
            _LOGGER.warning("%s", message)

    def _read(self) -> dict[str, object] | None:
        try:
            text = safe_read_text(self.path, PAN_CACHE_LIMIT)
            if text is None:
                return None
            import json  # lazy: only the cache file needs it

            data = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            self._warn("ignoring unusable PAN cache", _brief(exc))
            return None
        if not isinstance(data, dict):
            self._warn("ignoring unusable PAN cache", ValueError("not a JSON object"))
            return None
        return data

    def load(self) -> tuple[PanDescriptor, ModuleFamily | None] | None:
        """The remembered SKSTACK PAN as a descriptor, or None (see :meth:`load_pan`)."""
        data = self._read()
        if data is None:
            return None
        try:
            if _dialect(data) != DIALECT_SKSTACK:
                return None
            from aiobroute.skstack._events import PanDescriptor  # lazy: SKSTACK only

            pan = PanDescriptor(
                channel=_int(data, "channel", 0x21, 0x3C),
                channel_page=_int(data, "channel_page", 0, 0xFF),
                pan_id=_int(data, "pan_id", 0, 0xFFFF),
                addr=_mac(data["addr"]),
                lqi=_int(data, "lqi", 0, 0xFF),
            )
            family = _family(data.get("family"))
        except (ValueError, KeyError, TypeError) as exc:
            self._warn("ignoring unusable PAN cache", exc)
            return None
        return pan, family

    def load_pan(self) -> tuple[MeterPan, str | None] | None:
        """The remembered PAN, tagged with its dialect, and the module family that joined it.

        Files written before the dialect was recorded hold an SKSTACK PAN and are read as
        one. None when there is no cache or the file is unusable.
        """
        data = self._read()
        if data is None:
            return None
        try:
            dialect = _dialect(data)
            low, high = _CHANNELS[dialect]
            lqi = data.get("lqi")
            pan = MeterPan(
                dialect=dialect,
                channel=_int(data, "channel", low, high),
                pan_id=_int(data, "pan_id", 0, 0xFFFF),
                mac=_mac(data["addr"]),
                lqi=_int(data, "lqi", 0, 0xFF) if lqi is not None else None,
            )
            family = _family_name(data.get("family"))
        except (ValueError, KeyError, TypeError) as exc:
            self._warn("ignoring unusable PAN cache", exc)
            return None
        return pan, family

    def load_attributes(self, mac: str) -> dict[str, object] | None:
        """The cached attributes of the meter with this MAC address, or None."""
        data = self._read()
        addr = data.get("addr") if data is not None else None
        if not isinstance(addr, str) or addr.upper() != mac.upper():
            return None
        meter = data.get("meter") if data is not None else None
        return meter if isinstance(meter, dict) else None

    def save(
        self,
        pan: PanDescriptor,
        family: ModuleFamily | None = None,
        attributes: dict[str, object] | None = None,
    ) -> None:
        """Write an SKSTACK PAN (and the meter's attributes); see :meth:`save_pan`."""
        meter_pan = MeterPan(
            dialect=DIALECT_SKSTACK,
            channel=pan.channel,
            pan_id=pan.pan_id,
            mac=pan.addr,
            lqi=pan.lqi,
        )
        self.save_pan(meter_pan, family.value if family else None, attributes)

    def save_pan(
        self,
        pan: MeterPan,
        family: str | None = None,
        attributes: dict[str, object] | None = None,
    ) -> None:
        """Write the PAN, its dialect (and the meter's attributes) atomically; errors are logged.

        ``family`` names the module family that joined it. Attributes already cached for
        the same meter are kept when none are given. The pairing ID is never written.
        """
        if attributes is None:
            attributes = self.load_attributes(pan.mac)
        data: dict[str, object] = {
            "version": 2,
            "dialect": pan.dialect,
            "channel": pan.channel,
            "channel_page": 9,
            "pan_id": pan.pan_id,
            "addr": pan.mac,
            "lqi": pan.lqi if pan.lqi is not None else 0,
            "family": family,
        }
        if attributes is not None:
            data["meter"] = attributes
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            import json  # lazy: only the cache file needs it

            atomic_write_text(self.path, json.dumps(data, indent=2))
        except (OSError, ValueError) as exc:
            self._warn("cannot write PAN cache", _brief(exc))

    def clear(self) -> None:
        """Forget the remembered PAN (only a regular file of ours is removed)."""
        try:
            safe_unlink(self.path)
        except (OSError, ValueError) as exc:
            self._warn("cannot remove PAN cache", _brief(exc))


def _brief(exc: BaseException) -> object:
    """The exception for a warning; a RecursionError's own message is misleading."""
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply"
    return exc


def _int(data: dict[str, object], key: str, low: int, high: int) -> int:
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{key} out of range")
    return value


def _dialect(data: dict[str, object]) -> str:
    dialect = data.get("dialect", DIALECT_SKSTACK)  # files of version 1 are SKSTACK's
    if dialect not in _CHANNELS:
        raise ValueError("unknown dialect")
    return str(dialect)


def _family_name(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("family is not a string")
    return value


def _family(value: object) -> ModuleFamily | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise TypeError("family is not a string")
    return ModuleFamily(value)


def _mac(value: object) -> str:
    text = str(value).upper()
    if len(text) != 16 or any(c not in "0123456789ABCDEF" for c in text):
        raise ValueError("addr is not a MAC address")
    return text
