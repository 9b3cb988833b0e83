"""SmartMeter: the facade over the link, the exchange, the supervisor and the profile."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Self, TypeVar

import attrs

from aiobroute._checks import check_seconds, is_whole, positive_seconds_field, seconds_field
from aiobroute._dialects import dialect_choice
from aiobroute._time import JST
from aiobroute.echonet.properties import (
    MeterProperties,
    NodeProfileProperties,
    PropertyCodec,
)
from aiobroute.errors import (
    ClientClosedError,
    InvalidArgumentError,
    PropertyDecodeError,
    ServiceNotAvailableError,
    UsageError,
)
from aiobroute.link import MeterLink, MeterPan, ProbeTimings
from aiobroute.meter._connector import Connector, StreamFactory
from aiobroute.meter._exchange import Exchange
from aiobroute.meter._links import LinkOptions, as_descriptor, as_meter_pan, skstack_client
from aiobroute.meter._notify import Notifier
from aiobroute.meter._profile import MeterProfile
from aiobroute.meter._reader import Reader
from aiobroute.meter._supervisor import Supervisor
from aiobroute.models import InstantCurrent, IntervalEnergy, MeterInfo, Notification, TimedEnergy
from aiobroute.skstack._codecs import check_password, check_rbid
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.supervisor import ConnectionState, PanCache, ReconnectPolicy, WatchdogSettings
from aiobroute.transport import ByteStream

if TYPE_CHECKING:
    from aiobroute.j11.client import J11Timeouts
    from aiobroute.skstack import PanDescriptor
    from aiobroute.skstack.client import SkStackClient, SkTimeouts

__all__ = ["MeterTimeouts", "SmartMeter", "StreamFactory"]

_LOGGER = logging.getLogger("aiobroute.meter")
P = MeterProperties
_HISTORY_SELECTORS = frozenset({0xE5, 0xED, 0xEF})
_T = TypeVar("_T")
_INSTANCE_LIST = NodeProfileProperties.INSTANCE_LIST_NOTIFICATION


@attrs.frozen
class MeterTimeouts:
    """Timeouts of the ECHONET Lite layer, in seconds.

    Attributes:
        attempt: how long to wait for the answer to one transmission before sending
            the request again (with a fresh TID).
        single: total budget of a request for one property (the B-route interface
            specification's timer 1: at least 20 s).
        sequence: total budget of a request for several properties, and of the
            connection sequence's reads (timer 2: at least 60 s).
        instance_list: how long to wait after joining for the meter's own 0xD5
            announcement before asking for it (INF_REQ).
    """

    attempt: float = attrs.field(default=10.0, validator=positive_seconds_field)
    single: float = attrs.field(default=20.0, validator=positive_seconds_field)
    sequence: float = attrs.field(default=60.0, validator=positive_seconds_field)
    instance_list: float = attrs.field(default=5.0, validator=seconds_field)


def _check_retries(value: object) -> int:
    if not is_whole(value, 0, 1000):
        raise InvalidArgumentError(f"retries must be a whole number 0..1000, got {value!r}")
    assert isinstance(value, int)  # noqa: S101 - checked above
    return value


class _Tuning:
    """The settings, counters and link state of a :class:`SmartMeter`, kept by its parts."""

    _exchange: Exchange
    _supervisor: Supervisor
    _connector: Connector

    @property
    def state(self) -> ConnectionState:
        """The connection state (see :class:`~aiobroute.supervisor.ConnectionState`)."""
        return self._supervisor.state

    @property
    def ipaddr(self) -> str | None:
        """The meter's link-local IPv6 address once joined."""
        return self._connector.meter_address

    @property
    def pan(self) -> PanDescriptor | None:
        """The SKSTACK PAN descriptor of the session (remember it to skip scans).

        None before a join, and for a module of another dialect (see :attr:`meter_pan`).
        """
        return as_descriptor(self.meter_pan)

    @property
    def meter_pan(self) -> MeterPan | None:
        """The meter's PAN, tagged with the dialect of the module that joined it."""
        return self._connector.known_pan

    @property
    def link(self) -> MeterLink | None:
        """The link to the dongle of the current connection, or None (for diagnostics)."""
        return self._connector.link

    @property
    def sk(self) -> SkStackClient:
        """The SKSTACK client of the current link (for diagnostics).

        Raises:
            ClientClosedError: the meter is not connected.
            InvalidArgumentError: the dongle does not speak SKSTACK IP.
        """
        return skstack_client(self._connector.link)

    @property
    def retries(self) -> int:
        """How many times a request may be sent again after a timeout."""
        return self._exchange.retries

    @retries.setter
    def retries(self, value: int) -> None:
        self._exchange.retries = _check_retries(value)

    @property
    def min_interval(self) -> float:
        """Minimum seconds between the starts of two requests."""
        return self._exchange.min_interval

    @min_interval.setter
    def min_interval(self, value: float) -> None:
        self._exchange.min_interval = check_seconds("min_interval", value)

    @property
    def wait_for_reconnect(self) -> bool:
        """Requests wait for a reconnection (within their budget) instead of failing."""
        return self._supervisor.wait_for_reconnect

    @wait_for_reconnect.setter
    def wait_for_reconnect(self, value: bool) -> None:
        self._supervisor.wait_for_reconnect = value
        self._exchange.wait_for_reconnect = value

    @property
    def reconnect_policy(self) -> ReconnectPolicy:
        """The backoff policy for re-establishing the connection."""
        return self._supervisor.policy

    @property
    def watchdog(self) -> WatchdogSettings:
        """When to probe a silent link."""
        return self._supervisor.watchdog

    @property
    def reconnects(self) -> int:
        """How many times the connection was re-established."""
        return self._supervisor.reconnects

    @property
    def frames_sent(self) -> int:
        """ECHONET Lite frames sent to the meter."""
        return self._exchange.frames_sent

    @property
    def frames_received(self) -> int:
        """ECHONET Lite frames received from the meter (answers and notifications)."""
        return self._exchange.frames_received


class SmartMeter(_Tuning):
    """An ECHONET Lite smart electric energy meter reached over the B route.

    ``async with`` opens the port, prepares the module, joins the meter's PAN (from
    ``pan``, from the cache file, or after an active scan), waits briefly for the meter's
    instance list, and reads the property maps and the scaling properties (D3, D7, E1)
    once. From then on a supervisor keeps the session alive: it waits out session
    re-authentication (EVENT 29) and the ARIB transmit limit (EVENT 32), rejoins after
    the session ends, probes a silent link, and reopens a vanished port, following
    ``reconnect``. Leaving the block ends the session (SKTERM, best effort), stops every
    task and closes the port.

    Either kind of dongle works without saying which: SKSTACK IP modules (BP35A1,
    BP35C0/C2, RL7023, RS-WSUHA-P) and ROHM J11 modules (BP35C0-J11, BP35C1-J11-T01,
    BP35C2-J11-T01, RS-WSUHA-J11). On the first connection the port is probed (SKSTACK
    first, then J11: harmless to both, a few seconds); the dialect found is remembered
    with the PAN in ``cache_path``, so a warm start opens the module directly, and so
    does a reconnection after an unplug: the port is probed again only if the module
    does not answer in the remembered dialect. ``model=`` skips the probe.

    Args:
        port: a device path or pyserial URL (see :func:`aiobroute.transport.open_port`),
            an open :class:`aiobroute.transport.ByteStream`, or an async callable that
            returns a new stream each time (so the supervisor can reopen it).
        rbid: the 32-character B-route ID from the grid company (never logged).
        password: the B-route password (never logged).
        model: force the kind of dongle instead of detecting it: a J11 model
            (``"bp35c1_j11"``, ``"bp35c2_j11"``, ``"rs_wsuha_j11"``, ``"bp35c0_j11"``) or
            ``"j11"``; an SKSTACK model (``"bp35a1"``, ``"rl7023_ips"``, ``"bp35c2"``,
            ``"rs_wsuha_p"``, ``"rl7023_dss"``) or ``"skstack"``. Case, ``-`` and ``_``
            do not matter.
        family: force the SKSTACK module family (and so the SKSTACK dialect).
        timeouts: ECHONET timeouts; ``sk_timeouts``: SKSTACK command timeouts;
            ``j11_timeouts``: J11 command timeouts.
        probe_timings: how long each step of the dialect probe waits.
        retries: how many times a request may be sent again after a timeout.
        min_interval: minimum seconds between the starts of two requests (default 1 s:
            field reports ask for at least a second between requests).
        pan: a remembered PAN (a :class:`~aiobroute.skstack.PanDescriptor` or a
            :class:`~aiobroute.link.MeterPan`): join without scanning.
        cache_path: a JSON file remembering the PAN between runs (no secrets in it).
        scan_durations: the escalating SKSCAN durations.
        reconnect: backoff policy for re-establishing the connection.
        watchdog: when to probe a silent link.
        wait_for_reconnect: requests issued while the connection is being re-established
            wait (within their timeout budget) instead of failing with
            :class:`~aiobroute.errors.ReconnectingError`.
        reset: send SKRESET before anything else.
        baudrate: serial speed for device paths.
    """

    def __init__(
        self,
        port: str | ByteStream | StreamFactory,
        *,
        rbid: str,
        password: str,
        model: str | None = None,
        family: ModuleFamily | None = None,
        timeouts: MeterTimeouts | None = None,
        sk_timeouts: SkTimeouts | None = None,
        j11_timeouts: J11Timeouts | None = None,
        probe_timings: ProbeTimings | None = None,
        retries: int = 2,
        min_interval: float = 1.0,
        pan: PanDescriptor | MeterPan | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        scan_durations: Sequence[int] = (4, 5, 6, 7),
        reconnect: ReconnectPolicy | None = None,
        watchdog: WatchdogSettings | None = None,
        wait_for_reconnect: bool = False,
        reset: bool = False,
        baudrate: int = 115200,
    ) -> None:
        retries = _check_retries(retries)
        durations = tuple(scan_durations)
        if not durations or not all(is_whole(d, 0, 14) for d in durations):
            raise InvalidArgumentError(
                f"scan_durations must be one or more whole numbers 0..14, got {durations!r}"
            )
        if not is_whole(baudrate, 1, 10_000_000):
            raise InvalidArgumentError(
                f"baudrate must be a positive whole number, got {baudrate!r}"
            )
        min_interval = check_seconds("min_interval", min_interval)
        check_rbid(rbid)
        check_password(password)
        self.timeouts = timeouts or MeterTimeouts()
        self._connector = Connector(
            port,
            rbid=rbid,
            password=password,
            options=LinkOptions(
                choice=dialect_choice(model, family),
                sk_timeouts=sk_timeouts,
                j11_timeouts=j11_timeouts,
                probe=probe_timings,
            ),
            pan=as_meter_pan(pan),
            cache=PanCache(cache_path) if cache_path is not None else None,
            scan_durations=durations,
            reset=reset,
            baudrate=baudrate,
        )
        self._supervisor = Supervisor(
            self._connector,
            policy=reconnect or ReconnectPolicy(),
            watchdog=watchdog or WatchdogSettings(),
            give_up=lambda: self._shutdown(terminate=False),
        )
        self._exchange = Exchange(
            self._supervisor,
            attempt=self.timeouts.attempt,
            retries=retries,
            min_interval=min_interval,
            silence_limit=self._supervisor.watchdog.timeouts_before_probe,
        )
        self._supervisor.exchange = self._exchange
        self._connector.listener = self._supervisor
        self._profile = MeterProfile()
        self._reader = Reader(
            self._exchange,
            self._profile,
            single=self.timeouts.single,
            sequence=self.timeouts.sequence,
        )
        self._notifier = Notifier(self._exchange, self._supervisor, self._profile, self._reader)
        self._exchange.on_notification = self._notifier.on_frame
        self._supervisor.on_recovered = self._forget_clock
        self.wait_for_reconnect = wait_for_reconnect
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connect_lock = asyncio.Lock()
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<SmartMeter {self._connector.where!r} {self.state.value}>"

    def states(self) -> AsyncIterator[ConnectionState]:
        """Iterate over state changes from now on (the current state first)."""
        return self._supervisor.machine.feed(self._check_loop)

    async def connect(self) -> None:
        """Open, initialise, join and read the meter's attributes (see the class doc).

        Raises:
            TransportError: the port cannot be opened.
            ScanError: no meter answered the scan.
            AuthenticationError: PANA failed (wrong ID/password most likely).
            ResponseTimeoutError: the meter did not answer the connection reads.
            MeterError: the meter's scaling properties are missing or malformed.
            UsageError: the meter was connected in another event loop.

        Concurrent calls are serialised: a second call waits for the first and returns
        once the meter is connected (or raises :class:`ClientClosedError` if the first
        call failed and closed it).
        """
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._check_loop()
        async with self._connect_lock:
            if self._closed:
                raise ClientClosedError("this SmartMeter was closed; create a new one")
            if self._supervisor.started:
                return
            try:
                await self._supervisor.establish(first=True)
                cached = self._connector.cached_attributes()
                if await self._reader.read_attributes(cached):
                    self._connector.save_attributes(self._profile.to_cache())
            except BaseException:
                await self._shutdown(terminate=False)
                raise
            self._connector.connected_once = True
            self._supervisor.start()

    def _check_loop(self) -> None:
        """Refuse at once a call from an event loop other than the one that connected."""
        loop = self._loop
        if loop is not None and asyncio.get_running_loop() is not loop:
            raise UsageError(
                "this SmartMeter was connected in another event loop; its tasks and "
                "futures live there: create, connect and use a SmartMeter in one loop"
            )

    def _forget_clock(self) -> None:
        # Measure the meter's clock again after a reconnection (the host's may have been
        # stepped). The batch limit stays: only the meter's own refusals set it.
        self._profile.clock_known = False

    async def close(self) -> None:
        """End the session (best effort), stop every task and close the port."""
        if self._closed:
            return
        self._check_loop()
        await self._shutdown(terminate=True)

    async def _shutdown(self, *, terminate: bool) -> None:
        self._exchange.closing = True
        try:
            await self._supervisor.stop(terminate=terminate)
        finally:
            self._closed = True
            self._supervisor.machine.finish()
            self._notifier.end()

    # ------------------------------------------------------------------ notifications

    def notifications(self) -> AsyncIterator[Notification]:
        """Iterate over what the meter sends by itself, from now on, until it is closed.

        Pushes of 0xEA/0xEB every 30 minutes arrive with :class:`TimedEnergy` values.
        INFC frames are answered with INFC_Res automatically. Notifications survive
        reconnects; iteration ends when the meter is closed.
        """
        return self._notifier.feed(self._check_loop)

    # ------------------------------------------------------------------ public readings

    async def _get_one(self, codec: PropertyCodec[_T]) -> _T:
        self._check_loop()
        return await self._reader.get_value(codec)

    async def get(self, *epcs: int) -> dict[int, object]:
        """Read several properties of the meter in as few frames as possible.

        Values have the types of the typed methods: E7 ``int | None`` watts, E8
        :class:`InstantCurrent`, E0/E3 ``Decimal | None`` kWh, EA/EB :class:`TimedEnergy`,
        E2/E4 48 :class:`TimedEnergy`, EC/EE :class:`IntervalEnergy` lists, D0
        :class:`IntervalEnergy`; other properties keep their codec's type
        (see :mod:`aiobroute.echonet.properties`). Properties the meter does not list in
        its Get map, or refuses (Get_SNA), are absent from the result; the others are
        kept even when the meter answered Get_SNA.
        """
        if not epcs:
            raise InvalidArgumentError("get() needs at least one EPC")
        self._check_loop()
        result: dict[int, object] = {}
        for epc, edt in (await self._reader.get_edts(epcs)).items():
            try:
                result[epc] = self._profile.convert(epc, edt)
            except PropertyDecodeError as exc:
                _LOGGER.warning("skipping a value the meter sent malformed: %s", exc)
        return result

    async def instant_power(self) -> int | None:
        """Instantaneous power (0xE7) in watts; negative while exporting; None for no data."""
        return await self._get_one(P.INSTANT_POWER)

    async def instant_current(self) -> InstantCurrent:
        """Instantaneous currents of the R and T phases (0xE8) in amperes."""
        value = await self._get_one(P.INSTANT_CURRENTS)
        return InstantCurrent(value.r_phase_amperes, value.t_phase_amperes)

    async def cumulative_energy(self, *, reverse: bool = False) -> Decimal | None:
        """Cumulative energy in kWh: bought (0xE0) or, with ``reverse``, sold (0xE3)."""
        codec = P.CUMULATIVE_ENERGY_REVERSE if reverse else P.CUMULATIVE_ENERGY_NORMAL
        return self._profile.kwh(await self._get_one(codec))

    async def fixed_time_energy(self, *, reverse: bool = False) -> TimedEnergy:
        """The cumulative energy at the last :00/:30 (0xEA, or 0xEB with ``reverse``)."""
        codec = P.FIXED_TIME_ENERGY_REVERSE if reverse else P.FIXED_TIME_ENERGY_NORMAL
        value = self._profile.timed(await self._get_one(codec))
        if value is None:
            raise ServiceNotAvailableError(
                f"the meter has no fixed-time reading (0x{codec.epc:02X}) yet",
                epc=codec.epc,
                stage="get",
            )
        return value

    async def history(self, day: int = 0, *, reverse: bool = False) -> list[TimedEnergy]:
        """The 48 half-hourly cumulative readings of one day (0xE5 then 0xE2 or 0xE4).

        ``day`` counts back from the meter's today (0-99). Entries are cumulative
        readings at 00:00, 00:30 ... 23:30 of that day; future slots have ``kwh`` None.
        Two callers cannot mix up days: the set and the get are serialised.
        """
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 99:
            raise InvalidArgumentError(f"day must be a whole number 0..99, got {day!r}")
        self._check_loop()
        return await self._reader.day_history(day, reverse=reverse)

    async def history_30min(self, end: dt.datetime, count: int = 12) -> list[IntervalEnergy]:
        """Up to 12 half-hourly readings of both directions ending at ``end`` (0xED, 0xEC).

        ``end`` is rounded down to :00 or :30 (naive datetimes are taken as Japan time).
        Entries are returned oldest first.
        """
        if isinstance(count, bool) or not 1 <= count <= 12:
            raise InvalidArgumentError("count must be 1..12")
        end = _to_meter_naive(end)
        end = end.replace(minute=0 if end.minute < 30 else 30, second=0, microsecond=0)
        self._check_loop()
        return await self._reader.interval(
            P.HISTORY_2_TARGET, P.HISTORY_2, end, count, dt.timedelta(minutes=30)
        )

    async def history_1min(self, end: dt.datetime, count: int = 10) -> list[IntervalEnergy]:
        """Up to 10 one-minute readings of both directions ending at ``end`` (0xEF, 0xEE).

        Only Release R meters have them (0xEE in the Get map); others raise
        :class:`ServiceNotAvailableError`. Entries are returned oldest first.
        """
        if isinstance(count, bool) or not 1 <= count <= 10:
            raise InvalidArgumentError("count must be 1..10")
        get_map = self._profile.get_map
        if get_map and 0xEE not in get_map:
            raise ServiceNotAvailableError(
                "this meter has no one-minute history (0xEE; Release R meters only)",
                epc=0xEE,
                stage="get",
            )
        end = _to_meter_naive(end).replace(second=0, microsecond=0)
        self._check_loop()
        return await self._reader.interval(
            P.HISTORY_3_TARGET, P.HISTORY_3, end, count, dt.timedelta(minutes=1)
        )

    async def set(self, epc: int, value: object) -> None:
        """Write a property with SetC (0x81, 0xE5, 0xED, 0xEF on real meters).

        ``value`` has the type the property's codec takes (``int`` for 0xE5,
        :class:`~aiobroute.echonet.properties.HistoryTarget` for 0xED/0xEF...).

        Raises:
            InvalidArgumentError: the value cannot be encoded (out of range...).
            ServiceNotAvailableError: the meter refused (SetC_SNA).
        """
        self._check_loop()
        await self._reader.set_value(epc, value)

    async def info(self) -> MeterInfo:
        """Manufacturer, serial number, release, location, fault and the scaling data."""
        self._check_loop()
        return await self._reader.info_values(ipaddr=self.ipaddr or "")

    def usage(self, entries: Sequence[TimedEnergy]) -> list[Decimal | None]:
        """Energy used between consecutive cumulative readings, with counter rollover.

        Returns one value fewer than ``entries``: ``usage[i]`` is the energy between
        ``entries[i]`` and ``entries[i + 1]`` (None where either reading is missing).
        """
        return self._profile.usage(entries)

    def meter_now(self) -> dt.datetime:
        """The meter's current wall time, estimated from its clock offset at connect."""
        return self._profile.meter_now()

    async def transmit_time_ms(self) -> int | None:
        """The module's accumulated transmit time in ms, for pacing fast polls.

        ARIB STD-T108 limits the transmit time per hour; past it the module refuses to
        send (EVENT 32) until the budget frees (EVENT 33). None when the dongle cannot
        tell (J11 modules keep no such counter).

        Raises:
            ClientClosedError: the meter is not connected.
        """
        self._check_loop()
        link = self._connector.link
        if link is None:
            raise ClientClosedError("meter is not connected")
        return await link.transmit_time_ms()


def _to_meter_naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(JST)
    return value.replace(tzinfo=None)
