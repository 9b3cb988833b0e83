"""SmartMeter: the awaitable API of a low-voltage smart electric energy meter (0x028801).

::

    async with SmartMeter("/dev/ttyUSB0", rbid="...", password="...") as meter:
        watts = await meter.instant_power()
        kwh = await meter.cumulative_energy()
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import os
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from decimal import Decimal
from types import MappingProxyType, TracebackType
from typing import Any, Self, TypeVar

import attrs

from aiobroute._log import RateLimitedLog
from aiobroute._queue import DropOldestQueue
from aiobroute._tasks import cancel_and_wait
from aiobroute._time import JST, now_jst
from aiobroute.echonet import (
    CONTROLLER,
    MAX_COEFFICIENT,
    NODE_PROFILE,
    SMART_METER,
    Eoj,
    Esv,
    Frame,
    Property,
)
from aiobroute.echonet.properties import (
    CumulativeEnergyAtTime,
    DayHistory,
    FaultStatus,
    HistoryTarget,
    InstallationLocation,
    InstantaneousCurrents,
    IntervalHistory,
    MeterProperties,
    OneMinuteEnergy,
    OperationStatus,
    StandardVersion,
    codec_for,
    counter_delta,
    energy_kwh,
    unit_multiplier,
)
from aiobroute.errors import (
    AiobrouteError,
    AuthenticationError,
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    FrameDecodeError,
    InvalidArgumentError,
    JoinTimeoutError,
    MeterError,
    PortClosedError,
    PropertyDecodeError,
    ReconnectingError,
    ResponseTimeoutError,
    SendError,
    ServiceNotAvailableError,
    SessionError,
    TransmitLimitError,
    TransportError,
    UsageError,
)
from aiobroute.models import InstantCurrent, IntervalEnergy, MeterInfo, Notification, TimedEnergy
from aiobroute.skstack import Event, EventNum, ModuleFamily, PanDescriptor, RxUdp
from aiobroute.skstack._commands import check_password, check_rbid
from aiobroute.skstack.client import (
    ECHONET_PORT,
    JoinedPan,
    PortLost,
    SkStackClient,
    SkTimeouts,
    Subscription,
)
from aiobroute.supervisor import ConnectionState, PanCache, ReconnectPolicy, WatchdogSettings
from aiobroute.transport import ByteStream, open_port

__all__ = ["MeterTimeouts", "SmartMeter", "StreamFactory"]

_LOGGER = logging.getLogger("aiobroute.meter")

#: What the connection reads: Appendix release, property maps, scaling and the clock.
_ATTRIBUTE_EPCS = (0x82, 0x9D, 0x9E, 0x9F, 0xD3, 0xD7, 0xE1, 0x97, 0x98)
_ZERO = dt.timedelta(0)
#: Properties with a large EDT (194 bytes for E2/E4): always asked for alone.
_LARGE = frozenset({0xE2, 0xE4, 0xEC, 0xEE})
_ENERGY_EPCS = frozenset({0xE0, 0xE3})
_NOTIFICATION_LIMIT = 1024
#: Years a meter's clock (0x98) may plausibly show; others are a reset or broken clock.
_PLAUSIBLE_YEARS = range(2000, 2100)
_METER_CLASS = SMART_METER.class_id
_T = TypeVar("_T")

#: An async callable returning a freshly opened stream (lets the supervisor reopen it).
StreamFactory = Callable[[], Awaitable[ByteStream]]


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

    attempt: float = 10.0
    single: float = 20.0
    sequence: float = 60.0
    instance_list: float = 5.0


@attrs.define
class _Waiter:
    tid: int
    deoj: Eoj
    esv: Esv
    epcs: tuple[int, ...]
    future: asyncio.Future[Frame]


_ANSWERS: dict[Esv, tuple[Esv, ...]] = {
    Esv.GET: (Esv.GET_RES, Esv.GET_SNA),
    Esv.SETC: (Esv.SET_RES, Esv.SETC_SNA),
    Esv.SETI: (Esv.SETI_SNA,),
    Esv.SETGET: (Esv.SETGET_RES, Esv.SETGET_SNA),
}


class SmartMeter:
    """An ECHONET Lite smart electric energy meter reached over the B route.

    ``async with`` opens the port, prepares the module, joins the meter's PAN (from
    ``pan``, from the cache file, or after an active scan), waits briefly for the meter's
    instance list, and reads the property maps and the scaling properties (D3, D7, E1)
    once. From then on a supervisor keeps the session alive: it waits out session
    re-authentication (EVENT 29) and the ARIB transmit limit (EVENT 32), rejoins after
    the session ends, probes a silent link, and reopens a vanished port, following
    ``reconnect``. Leaving the block ends the session (SKTERM, best effort), stops every
    task and closes the port.

    Args:
        port: a device path or pyserial URL (see :func:`aiobroute.transport.open_port`),
            an open :class:`aiobroute.transport.ByteStream`, or an async callable that
            returns a new stream each time (so the supervisor can reopen it).
        rbid: the 32-character B-route ID from the grid company (never logged).
        password: the B-route password (never logged).
        family: force the module family instead of detecting it.
        timeouts: ECHONET timeouts; ``sk_timeouts``: SKSTACK command timeouts.
        retries: how many times a request may be sent again after a timeout.
        min_interval: minimum seconds between the starts of two requests (default 1 s:
            field reports ask for at least a second between requests).
        pan: a remembered PAN descriptor: join without scanning.
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
        family: ModuleFamily | None = None,
        timeouts: MeterTimeouts | None = None,
        sk_timeouts: SkTimeouts | None = None,
        retries: int = 2,
        min_interval: float = 1.0,
        pan: PanDescriptor | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        scan_durations: Sequence[int] = (4, 5, 6, 7),
        reconnect: ReconnectPolicy | None = None,
        watchdog: WatchdogSettings | None = None,
        wait_for_reconnect: bool = False,
        reset: bool = False,
        baudrate: int = 115200,
    ) -> None:
        if retries < 0:
            raise InvalidArgumentError("retries must be >= 0")
        if min_interval < 0:
            raise InvalidArgumentError("min_interval must be >= 0")
        check_rbid(rbid)
        check_password(password)
        self._port = port
        self._rbid = rbid
        self._password = password
        self._family = family
        self.timeouts = timeouts or MeterTimeouts()
        self._sk_timeouts = sk_timeouts
        self.retries = retries
        self.min_interval = min_interval
        self._pan_hint = pan
        self._cache = PanCache(cache_path) if cache_path is not None else None
        self._scan_durations = tuple(scan_durations)
        self.reconnect_policy = reconnect or ReconnectPolicy()
        self.watchdog = watchdog or WatchdogSettings()
        self.wait_for_reconnect = wait_for_reconnect
        self._reset = reset
        self._baudrate = baudrate
        self._rng = random.Random()
        # The current link (single use; replaced on reconnect).
        self._sk: SkStackClient | None = None
        self._joined: JoinedPan | None = None
        self._known_pan: PanDescriptor | None = pan
        self._events: Subscription | None = None
        self._dispatcher: asyncio.Task[None] | None = None
        # Supervision.
        self._state = ConnectionState.CLOSED
        # Iterators handed out by states() and notifications() hold their queue; the
        # meter only refers to it weakly, so an iterator dropped unread is forgotten.
        self._state_queues: weakref.WeakSet[_Queue[ConnectionState]] = weakref.WeakSet()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connect_lock = asyncio.Lock()
        self._ready = asyncio.Event()
        self._trouble: asyncio.Queue[str] = asyncio.Queue()
        self._supervisor: asyncio.Task[None] | None = None
        self._push_watch: asyncio.Task[None] | None = None
        self._recovering = False
        self._unusable_log = RateLimitedLog(_LOGGER)
        self._peer_logs: dict[str, RateLimitedLog] = {}
        self._reauth: asyncio.Future[bool] | None = None
        self._pana_outcome: bool | None = None
        self._timeouts_in_a_row = 0
        self._last_push: float | None = None
        self._connected_once = False
        self._closing = False
        self._closed = False
        self.reconnects = 0
        # Requests.
        self._background: set[asyncio.Task[None]] = set()
        self._waiters: dict[int, _Waiter] = {}
        self._tids = itertools.count(1)
        self._request_lock = asyncio.Lock()
        self._history_lock = asyncio.Lock()
        self._last_request = 0.0
        self._subscribers: weakref.WeakSet[_Queue[Notification]] = weakref.WeakSet()
        self._instances: tuple[Eoj, ...] = ()
        self._instances_seen = asyncio.Event()
        self._batch_limit: int | None = None
        # What the meter told at connect time.
        self._get_map: frozenset[int] = frozenset()
        self._set_map: frozenset[int] = frozenset()
        self._announcement_map: frozenset[int] = frozenset()
        self._standard_version: StandardVersion | None = None
        self._coefficient = 1
        self._unit = Decimal(1)
        self._digits: int | None = None
        self._clock_offset = _ZERO
        self._clock_known = False
        self._unit_code = 0
        self.frames_sent = 0
        self.frames_received = 0

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
        port = self._port
        where = port if isinstance(port, str) else getattr(port, "name", "stream")
        return f"<SmartMeter {where!r} {self._state.value}>"

    @property
    def state(self) -> ConnectionState:
        """The connection state (see :class:`~aiobroute.supervisor.ConnectionState`)."""
        return self._state

    @property
    def ipaddr(self) -> str | None:
        """The meter's link-local IPv6 address once joined."""
        return self._joined.ipaddr if self._joined else None

    @property
    def pan(self) -> PanDescriptor | None:
        """The PAN descriptor of the current session (remember it to skip scans)."""
        return self._joined.pan if self._joined else self._known_pan

    @property
    def sk(self) -> SkStackClient:
        """The SKSTACK client of the current link (for diagnostics)."""
        if self._sk is None:
            raise ClientClosedError("meter is not connected")
        return self._sk

    def states(self) -> AsyncIterator[ConnectionState]:
        """Iterate over state changes from now on (the current state first)."""
        queue: _Queue[ConnectionState] = _Queue()
        queue.put(self._state)
        if self._closed:
            queue.end()
        else:
            self._state_queues.add(queue)
        return _Feed(queue, self._state_queues, self._check_loop)

    def _set_state(self, state: ConnectionState) -> None:
        if state is self._state:
            return
        _LOGGER.info("connection state: %s -> %s", self._state.value, state.value)
        self._state = state
        if state is ConnectionState.READY:
            self._ready.set()
        else:
            self._ready.clear()
        for queue in list(self._state_queues):
            queue.put(state)
            if state is ConnectionState.CLOSED:
                queue.end()

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
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        self._check_loop()
        async with self._connect_lock:
            if self._closed:
                raise ClientClosedError("this SmartMeter was closed; create a new one")
            if self._connected_once:
                return
            try:
                await self._establish(first=True)
                await self._read_attributes()
            except BaseException:
                await self._shutdown(terminate=False)
                raise
            self._connected_once = True
            self._set_state(ConnectionState.READY)
            self._supervisor = asyncio.create_task(self._supervise(), name="aiobroute-supervisor")
            if self.watchdog.push_grace is not None:
                self._push_watch = asyncio.create_task(self._watch_pushes(), name="aiobroute-push")

    def _check_loop(self) -> None:
        """Refuse at once a call from an event loop other than the one that connected."""
        loop = self._loop
        if loop is not None and asyncio.get_running_loop() is not loop:
            raise UsageError(
                "this SmartMeter was connected in another event loop; its tasks and "
                "futures live there: create, connect and use a SmartMeter in one loop"
            )

    async def _open_stream(self) -> ByteStream:
        port = self._port
        if isinstance(port, str):
            return await open_port(port, baudrate=self._baudrate)
        if isinstance(port, ByteStream):
            if port.closed and self._connected_once:
                raise PortClosedError(f"{port.name}: closed, and a stream cannot be reopened")
            return port
        return await port()

    async def _establish(self, *, first: bool) -> None:
        """Build a new link: open, initialise, join. Leaves the old link torn down."""
        await self._teardown_link(terminate=False)
        self._set_state(ConnectionState.CONNECTING)
        stream = await self._open_stream()
        sk = SkStackClient(stream, family=self._family, timeouts=self._sk_timeouts)
        sk.add_secrets(self._rbid, self._password)
        self._sk = sk
        sk.start()
        # Subscribe before joining: the meter's 0xD5 announcement follows EVENT 25 at once.
        self._events = sk.subscribe()
        self._dispatcher = asyncio.create_task(
            self._dispatch_loop(sk, self._events), name="aiobroute-meter-dispatch"
        )
        await sk.initialize(reset=self._reset and first)
        self._joined = await self._join(sk, first=first)
        self._remember(self._joined.pan, sk.family)

    def _remember(self, pan: PanDescriptor, family: ModuleFamily) -> None:
        self._known_pan = pan
        if self._cache is not None:
            self._cache.save(pan, family)

    async def _join(self, sk: SkStackClient, *, first: bool) -> JoinedPan:
        """Join from the known PAN, else a scan of its channel, else a full scan."""
        hint = self._known_pan
        if hint is None and self._cache is not None:
            cached = self._cache.load()
            if cached is not None:
                hint = cached[0]
                _LOGGER.info("joining the cached PAN %04X without a scan", hint.pan_id)
        if hint is not None:
            try:
                self._set_state(ConnectionState.JOINING)
                return await sk.join(hint, rbid=self._rbid, password=self._password)
            except (AuthenticationError, JoinTimeoutError) as exc:
                if first and self._pan_hint is not None and self._cache is None:
                    raise
                _LOGGER.warning("join of the remembered PAN failed (%s); scanning", exc)
            self._set_state(ConnectionState.SCANNING)
            mask = 1 << (hint.channel - 0x21)
            pans = await sk.scan(durations=self._scan_durations, channel_mask=mask)
            if pans:
                try:
                    return await self._join_candidates(sk, pans)
                except (AuthenticationError, JoinTimeoutError) as exc:
                    _LOGGER.warning("join on channel %02X failed (%s)", hint.channel, exc)
        self._set_state(ConnectionState.SCANNING)
        pans = await sk.scan(durations=self._scan_durations)
        return await self._join_candidates(sk, pans)

    async def _join_candidates(self, sk: SkStackClient, pans: Sequence[PanDescriptor]) -> JoinedPan:
        self._set_state(ConnectionState.JOINING)
        return await sk.join_best(pans, rbid=self._rbid, password=self._password)

    async def _read_attributes(self) -> None:
        """The connection reads: property maps, release and scaling (D3, D7, E1).

        One Get asks for all of them (the meter's own 0xD5 announcement usually arrives
        meanwhile; INF_REQ asks for it otherwise). With a cache file that already holds
        this meter's attributes, only the meter's clock (0x97/0x98) is read.
        """
        joined = self._joined
        cached = self._cache.load_attributes(joined.pan.addr) if self._cache and joined else None
        if cached is not None and self._apply_cached(cached):
            _LOGGER.info("meter attributes taken from the cache file")
            # The clock is not an attribute: it drifts, and may be set. One Get.
            await self._read_clock(gate=False)
        else:
            values = await self._get_raw(_ATTRIBUTE_EPCS, limit_to_map=False, gate=False)
            get_map = values.get(0x9F)
            if isinstance(get_map, frozenset) and 0xD3 in get_map and 0xD3 not in values:
                values.update(await self._read_coefficient())
            self._apply_attributes(values)
            if self._cache is not None and joined is not None:
                self._cache.save(
                    joined.pan, self._sk.family if self._sk else None, self._attributes_for_cache()
                )
        if not self._instances_seen.is_set():
            _LOGGER.info("no instance list announcement yet; asking with INF_REQ 0xD5")
            frame = Frame(
                self._next_tid(), NODE_PROFILE, NODE_PROFILE, Esv.INF_REQ, (Property(0xD5),)
            )
            try:
                await self._send_frame(frame)
            except (SendError, SessionError) as exc:
                _LOGGER.info("INF_REQ 0xD5 not sent: %s", exc)
        _LOGGER.info(
            "meter ready: release %s, coefficient %d, unit %s kWh, %s digits",
            self._standard_version.release if self._standard_version else "?",
            self._coefficient,
            self._unit,
            self._digits if self._digits is not None else "?",
        )

    async def _read_coefficient(self) -> dict[int, object]:
        """Read 0xD3 alone: it is in the Get map but was dropped or malformed in the batch."""
        try:
            return await self._get_raw((0xD3,), limit_to_map=False, gate=False, strict=True)
        except PropertyDecodeError as exc:
            raise MeterError(
                f"the meter sent a malformed coefficient (0xD3): {exc.reason}; "
                "energy cannot be scaled",
                epc=0xD3,
                stage="connect",
            ) from exc

    def _apply_attributes(self, values: dict[int, object]) -> None:
        get_map = _maybe(values.get(0x9F), frozenset)
        if get_map is None:
            raise MeterError("the meter did not send its Get property map (0x9F)", epc=0x9F)
        unit = values.get(0xE1)
        if not isinstance(unit, int):
            raise MeterError(
                "the meter did not send a valid energy unit (0xE1): cannot scale energy",
                epc=0xE1,
            )
        self._get_map = get_map
        self._standard_version = _maybe(values.get(0x82), StandardVersion)
        self._announcement_map = _maybe(values.get(0x9D), frozenset) or frozenset()
        self._set_map = _maybe(values.get(0x9E), frozenset) or frozenset()
        self._coefficient = _coefficient(values.get(0xD3), listed=0xD3 in get_map)
        digits = values.get(0xD7)
        self._digits = digits if isinstance(digits, int) else None
        self._unit_code = int(unit)
        self._unit = unit_multiplier(unit)
        self._set_clock(values.get(0x98), values.get(0x97))

    def _set_clock(self, meter_date: object, meter_time: object) -> None:
        if isinstance(meter_date, dt.date) and isinstance(meter_time, dt.time):
            if meter_date.year not in _PLAUSIBLE_YEARS:
                _LOGGER.warning(
                    "ignoring the meter's implausible clock (%s %s); using the host's clock "
                    "in Japan time",
                    meter_date.isoformat(),
                    meter_time.isoformat(),
                )
                self._clock_offset = _ZERO
                self._clock_known = True
                return
            meter_now = dt.datetime.combine(meter_date, meter_time, tzinfo=JST)
            offset = meter_now - now_jst()
            # 0x97 has minute resolution: ignore offsets below a minute.
            self._clock_offset = offset if abs(offset) > dt.timedelta(minutes=1) else _ZERO
            self._clock_known = True

    def _attributes_for_cache(self) -> dict[str, object]:
        version = self._standard_version
        return {
            "release": version.release if version else None,
            "revision": version.revision if version else None,
            "get_map": sorted(self._get_map),
            "set_map": sorted(self._set_map),
            "announcement_map": sorted(self._announcement_map),
            "coefficient": self._coefficient,
            "unit_code": self._unit_code,
            "digits": self._digits,
        }

    def _apply_cached(self, data: dict[str, object]) -> bool:
        try:
            get_map = frozenset(_epcs(data["get_map"]))
            set_map = frozenset(_epcs(data["set_map"]))
            announcement_map = frozenset(_epcs(data["announcement_map"]))
            coefficient = data["coefficient"]
            unit_code = data["unit_code"]
            digits = data["digits"]
            release, revision = data["release"], data["revision"]
            if (
                type(coefficient) is not int
                or not 1 <= coefficient <= 999_999
                or type(unit_code) is not int
                or (digits is not None and (type(digits) is not int or not 1 <= digits <= 8))
            ):
                return False
            unit = unit_multiplier(unit_code)
            version = (
                StandardVersion(release, revision)
                if isinstance(release, str) and isinstance(revision, int)
                else None
            )
        except (KeyError, TypeError, ValueError, InvalidArgumentError) as exc:
            _LOGGER.warning("ignoring cached meter attributes: %s", exc)
            return False
        if not get_map:
            return False
        self._get_map, self._set_map, self._announcement_map = get_map, set_map, announcement_map
        self._standard_version = version
        self._coefficient, self._unit_code, self._unit = coefficient, unit_code, unit
        self._digits = digits if isinstance(digits, int) else None
        return True

    async def _ensure_clock(self) -> None:
        """Learn the meter's clock (0x97/0x98) when it is unknown (after a reconnect)."""
        if not self._clock_known:
            await self._read_clock(gate=True)

    async def _read_clock(self, *, gate: bool) -> None:
        """Measure the meter's clock offset with one Get of 0x98 and 0x97."""
        if not {0x97, 0x98} <= self._get_map:
            return
        values = await self._get_raw((0x98, 0x97), gate=gate)
        self._set_clock(values.get(0x98), values.get(0x97))

    async def close(self) -> None:
        """End the session (best effort), stop every task and close the port."""
        if self._closed:
            return
        self._check_loop()
        await self._shutdown(terminate=True)

    async def _shutdown(self, *, terminate: bool) -> None:
        self._closing = True
        self._ready.set()  # wake requests waiting at the gate: they see the meter closing
        tasks = [self._supervisor, self._push_watch, *self._background]
        self._supervisor = self._push_watch = None
        try:
            await cancel_and_wait(tasks)
            self._background.clear()
            await self._teardown_link(terminate=terminate)
        finally:
            self._closed = True
            self._set_state(ConnectionState.CLOSED)
            for queue in list(self._subscribers):
                queue.end()
            for state_queue in list(self._state_queues):
                state_queue.end()

    async def _teardown_link(self, *, terminate: bool) -> None:
        sk, self._sk = self._sk, None
        joined, self._joined = self._joined, None
        self._fail_waiters(ClientClosedError("meter closed") if self._closing else None)
        if sk is not None and terminate and joined is not None and not sk.closed:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await sk.terminate()
        dispatcher, self._dispatcher = self._dispatcher, None
        if self._events is not None:
            self._events.close()
            self._events = None
        try:
            await cancel_and_wait([dispatcher])
        finally:
            if sk is not None:
                await sk.close()

    def _fail_waiters(self, exc: BaseException | None) -> None:
        error = exc or ReconnectingError("the connection to the meter is being re-established")
        for waiter in list(self._waiters.values()):
            if not waiter.future.done():
                waiter.future.set_exception(error)

    # ------------------------------------------------------------------ supervision

    def _signal(self, reason: str) -> None:
        if self._closing or not self._connected_once:
            return
        self._trouble.put_nowait(reason)

    async def _supervise(self) -> None:
        while True:
            reason = await self._trouble.get()
            if self._closing:
                return
            self._recovering = True
            try:
                try:
                    await self._recover(reason)
                except _GiveUpError:
                    raise
                except Exception:
                    _LOGGER.exception("recovery from %s failed unexpectedly; rejoining", reason)
                    await self._rejoin()
            except _GiveUpError as exc:
                _LOGGER.error("giving up on the meter connection: %s", exc)  # noqa: TRY400
                self._recovering = False
                await self._shutdown(terminate=False)
                return
            finally:
                self._recovering = False
            self._drop_handled(reason)

    def _drop_handled(self, reason: str) -> None:
        """Forget queued troubles that the recovery just done has made moot."""
        keep = []
        while not self._trouble.empty():
            queued = self._trouble.get_nowait()
            if queued not in (reason, "probe"):
                keep.append(queued)
        for queued in keep:
            self._trouble.put_nowait(queued)

    async def _recover(self, reason: str) -> None:
        _LOGGER.info("supervisor: handling %s", reason)
        if reason == "expired":
            self._set_state(ConnectionState.REAUTHENTICATING)
            outcome = self._pana_outcome  # EVENT 25/24 may have come already
            if outcome is None:
                self._reauth = asyncio.get_running_loop().create_future()
                try:
                    async with asyncio.timeout(self.watchdog.reauth_timeout):
                        outcome = await self._reauth
                except TimeoutError:
                    _LOGGER.warning("no re-authentication after EVENT 29; rejoining")
                finally:
                    self._reauth = None
            if outcome:
                _LOGGER.info("the module re-authenticated the session")
                self._settle()
                return
            await self._rejoin()
        elif reason == "probe":
            if await self._probe():
                if self._state is ConnectionState.RECONNECTING:
                    self._settle()
                return
            await self._rejoin()
        elif reason == "port_lost":
            await self._reconnect()
        else:  # "terminated", "session"
            await self._rejoin()

    async def _probe(self) -> bool:
        _LOGGER.info("probing the meter")
        try:
            await self._transact(
                Esv.GET,
                [Property(0xE7)],
                stage="probe",
                budget=self.watchdog.probe_timeout,
                gate=False,
                count=False,
            )
        except TransmitLimitError:
            _LOGGER.info("probe not sent: the ARIB limit is active; the link is alive")
            self._settle()
            return True
        except AiobrouteError as exc:
            _LOGGER.warning("probe failed: %s", exc)
            return False
        self._timeouts_in_a_row = 0
        _LOGGER.info("probe answered; the link is alive")
        return True

    async def _rejoin(self) -> None:
        """Rejoin on the same link (known PAN, then scans); reopen the port if it is gone."""
        await self._restore(reopen=False)

    async def _reconnect(self) -> None:
        """Reopen the port and rejoin."""
        await self._restore(reopen=True)

    async def _restore(self, *, reopen: bool) -> None:
        """Re-establish the session, following the reconnect policy between attempts.

        The port is reopened only when it was lost or the module stopped answering
        commands; otherwise the same link is re-initialised and rejoined.
        """
        self._set_state(ConnectionState.RECONNECTING)
        self._fail_waiters(None)
        reopenable = not isinstance(self._port, ByteStream)
        policy = self.reconnect_policy
        local = False  # the last attempt failed at the port or the module, not the radio
        for attempt, backoff in enumerate(policy.delays(self._rng)):
            if attempt:
                # No airtime is spent on the port or the module: notice it back soon.
                delay = min(backoff, policy.local_cap) if local else backoff
                _LOGGER.info("retrying in %.1f s (attempt %d)", delay, attempt + 1)
                await asyncio.sleep(delay)
            sk = self._sk
            if not reopenable and (sk is None or sk.closed):
                raise _GiveUpError(
                    "the stream is gone and cannot be reopened (pass a device path, a URL "
                    "or a stream factory to let the meter reopen its port)"
                )
            try:
                if sk is None or sk.closed or (reopenable and reopen):
                    await self._establish(first=False)
                else:
                    await sk.initialize()
                    self._joined = await self._join(sk, first=False)
                    self._remember(self._joined.pan, sk.family)
            except (TransportError, CommandTimeoutError) as exc:
                self._unusable_log.log("the module is unusable (%s); reopening the port", exc)
                reopen = local = True
            except Exception as exc:  # noqa: BLE001 - every failure is retried by policy
                _LOGGER.warning("recovery failed: %s: %s", type(exc).__name__, exc)
                local = False
            else:
                self._after_recovery()
                return
            self._set_state(ConnectionState.RECONNECTING)
        raise _GiveUpError("the reconnect policy is exhausted")

    def _after_recovery(self) -> None:
        self.reconnects += 1
        self._timeouts_in_a_row = 0
        # Measure the meter's clock again (the host's may have been stepped). The batch
        # limit stays: only the meter's own refusals (Get_SNA) set it.
        self._clock_known = False
        self._settle()

    def _settle(self) -> None:
        """READY, or RATE_LIMITED while the module reports the ARIB limit."""
        sk = self._sk
        if sk is not None and sk.tx_limited:
            self._set_state(ConnectionState.RATE_LIMITED)
        else:
            self._set_state(ConnectionState.READY)

    async def _check_tx_limit_later(self) -> None:
        """If EVENT 33 never comes, ask the module (register SFB) after a while."""
        await asyncio.sleep(self.watchdog.tx_limit_check)
        sk = self._sk
        if self._state is not ConnectionState.RATE_LIMITED or sk is None or sk.closed:
            return
        try:
            limited = await sk.refresh_tx_limit()
        except AiobrouteError as exc:
            _LOGGER.warning("cannot read the transmit-limit register: %s", exc)
            return
        if not limited and self._state is ConnectionState.RATE_LIMITED:
            _LOGGER.warning("the ARIB limit is over but EVENT 33 never came; resuming")
            self._settle()

    async def _watch_pushes(self) -> None:
        """Probe the meter when its periodic 0xEA push is overdue."""
        grace = self.watchdog.push_grace
        if grace is None:  # pragma: no cover - the task is not started then
            return
        loop = asyncio.get_running_loop()
        self._last_push = loop.time()
        while True:
            due = self._last_push + self.watchdog.push_period + grace
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # Overdue: probe (when nothing else is being handled) and start a new window.
            self._last_push = loop.time()
            if self._state is ConnectionState.READY:
                _LOGGER.warning("the periodic push did not arrive; probing the meter")
                self._signal("probe")

    # ------------------------------------------------------------------ receiving

    async def _dispatch_loop(self, sk: SkStackClient, events: Subscription) -> None:
        async for message in events:
            try:
                if isinstance(message, RxUdp):
                    self._on_datagram(message)
                elif isinstance(message, Event):
                    self._on_event(message)
                elif isinstance(message, PortLost):
                    _LOGGER.warning("lost the port: %s", message.reason)
                    self._fail_waiters(None)
                    self._signal("port_lost")
            except Exception:
                _LOGGER.exception("error while handling %s", type(message).__name__)

    def _on_event(self, event: Event) -> None:
        num = event.num
        if num == EventNum.TX_LIMIT_STARTED:
            if self._state is ConnectionState.READY:
                self._set_state(ConnectionState.RATE_LIMITED)
            if self._connected_once and not self._closing:
                self._spawn(self._check_tx_limit_later())
            return
        if num == EventNum.TX_LIMIT_RELEASED:
            if self._state is ConnectionState.RATE_LIMITED:
                self._set_state(ConnectionState.READY)
            return
        reauth = self._reauth
        if num == EventNum.PANA_CONNECTED:
            self._pana_outcome = True
            if reauth is not None and not reauth.done():
                reauth.set_result(True)
            return
        if (
            num
            in (
                EventNum.PANA_FAILED,
                EventNum.SESSION_TERMINATE_REQUESTED,
                EventNum.SESSION_TERMINATED,
                EventNum.SESSION_TERMINATE_TIMEOUT,
            )
            and reauth is not None
            and not reauth.done()
        ):
            reauth.set_result(False)  # the session is gone: rejoin without waiting
            return
        if self._recovering or self._closing or not self._connected_once:
            return  # our own join or termination
        if num == EventNum.SESSION_EXPIRED:
            # Hold requests at once; the supervisor waits for the module's re-authentication.
            self._pana_outcome = None
            if self._state in (ConnectionState.READY, ConnectionState.RATE_LIMITED):
                self._set_state(ConnectionState.REAUTHENTICATING)
            self._signal("expired")
        elif num in (
            EventNum.PANA_FAILED,
            EventNum.SESSION_TERMINATE_REQUESTED,
            EventNum.SESSION_TERMINATED,
            EventNum.SESSION_TERMINATE_TIMEOUT,
        ):
            _LOGGER.warning("the PANA session ended (EVENT %02X)", num)
            self._pana_outcome = False
            self._signal("terminated")

    def _on_datagram(self, rx: RxUdp) -> None:
        if rx.lport != ECHONET_PORT:
            return  # PANA and anything else
        joined = self._joined
        if rx.rport != ECHONET_PORT or (joined is not None and rx.sender != joined.ipaddr):
            _LOGGER.debug("ignoring ECHONET datagram from %s port %d", rx.sender, rx.rport)
            return
        if rx.secured is False:
            self._warn_peer("ignoring an unsecured ECHONET datagram from %s", rx.sender)
            return
        try:
            frame = Frame.decode(rx.data)
        except FrameDecodeError as exc:
            self._warn_peer("ignoring a malformed ECHONET frame: %s", exc)
            return
        self.frames_received += 1
        if frame.esv in (Esv.INF, Esv.INFC):
            self._on_notification(frame)
            return
        waiter = self._waiters.get(frame.tid)
        if waiter is None or waiter.future.done():
            _LOGGER.debug("dropping a late or duplicate answer (TID %04X)", frame.tid)
            return
        if (
            frame.esv not in _ANSWERS.get(waiter.esv, ())
            or frame.seoj != waiter.deoj
            or frame.deoj != CONTROLLER
            or sorted(frame.epcs) != sorted(waiter.epcs)
        ):
            self._warn_peer("dropping an answer that does not match its request (%04X)", frame.tid)
            return
        waiter.future.set_result(frame)

    def _warn_peer(self, message: str, *args: object) -> None:
        """Warn about bad input from the radio: at most once a minute per kind of message."""
        limited = self._peer_logs.get(message)
        if limited is None:
            limited = self._peer_logs[message] = RateLimitedLog(_LOGGER)
        limited.log(message, *args)

    def _on_notification(self, frame: Frame) -> None:
        if frame.esv is Esv.INFC:
            self._spawn(self._send_infc_res(frame))
        values: dict[int, object] = {}
        for prop in frame.properties:
            try:
                values[prop.epc] = self._convert(frame.seoj, prop.epc, prop.edt)
            except PropertyDecodeError as exc:
                self._warn_peer("ignoring an undecodable notified property: %s", exc)
        if frame.seoj.class_id == NODE_PROFILE.class_id and 0xD5 in values:
            instances = values[0xD5]
            if isinstance(instances, tuple):
                self._instances = instances
            self._instances_seen.set()
        if frame.seoj == SMART_METER and (0xEA in values or 0xEB in values):
            self._last_push = asyncio.get_running_loop().time()
        note = Notification(
            esv=frame.esv, eoj=frame.seoj, values=MappingProxyType(values), received_at=now_jst()
        )
        for queue in list(self._subscribers):
            queue.put(note)

    async def _send_infc_res(self, frame: Frame) -> None:
        reply = Frame(
            frame.tid,
            frame.deoj,
            frame.seoj,
            Esv.INFC_RES,
            tuple(Property(p.epc) for p in frame.properties),
        )
        try:
            await self._send_frame(reply)
        except AiobrouteError as exc:
            _LOGGER.warning("could not answer INFC: %s", exc)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ------------------------------------------------------------------ sending

    def _next_tid(self) -> int:
        tid = next(self._tids) & 0xFFFF
        return tid or (next(self._tids) & 0xFFFF)

    async def _send_frame(self, frame: Frame) -> None:
        sk = self._sk
        joined = self._joined
        if sk is None or joined is None:
            raise ReconnectingError("the connection to the meter is being re-established")
        await sk.send_to(joined.ipaddr, frame.encode())
        self.frames_sent += 1

    async def _pace(self) -> None:
        loop = asyncio.get_running_loop()
        wait = self._last_request + self.min_interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_request = loop.time()

    async def _wait_sendable(self, deadline: float) -> None:
        """Wait until requests may flow; paused states wait, reconnecting fails fast."""
        if self._closed or self._closing:
            raise ClientClosedError("meter is closed")
        if self._ready.is_set():
            return
        state = self._state
        if state is ConnectionState.CLOSED:
            raise ClientClosedError("meter is closed")
        pausing = state in (ConnectionState.REAUTHENTICATING, ConnectionState.RATE_LIMITED)
        if not pausing and not self.wait_for_reconnect:
            raise ReconnectingError(
                f"the connection to the meter is being re-established ({state.value})"
            )
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                await self._ready.wait()
        except TimeoutError:
            raise ResponseTimeoutError(
                f"the meter stayed unavailable ({self._state.value}) for the request's budget"
            ) from None
        if self._closing or self._closed:
            raise ClientClosedError("meter is closed")

    async def _transact(
        self,
        esv: Esv,
        props: Sequence[Property],
        *,
        deoj: Eoj = SMART_METER,
        stage: str,
        budget: float | None = None,
        gate: bool = True,
        count: bool = True,
    ) -> Frame:
        """Send a request and wait for its answer, retrying with fresh TIDs."""
        self._check_loop()
        if self._closed or self._closing:
            raise ClientClosedError("meter is closed")
        epcs = tuple(p.epc for p in props)
        if budget is None:
            budget = self.timeouts.single if len(props) == 1 else self.timeouts.sequence
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        sent = False
        # The module itself failed (no status line to SKSENDTO, a transient FAIL, a failed
        # transmission): the request failed as surely as when the meter stays silent; it
        # counts the same toward the probe.
        module_failed = False
        refused: CommandError | None = None
        async with self._request_lock:
            if not gate:
                # Internal requests (the probe, the connection reads) get their whole
                # budget for the radio, not for waiting behind a caller's retries.
                deadline = loop.time() + budget
            for attempt in range(self.retries + 1):
                if gate:
                    await self._wait_sendable(deadline)
                if deadline - loop.time() <= 0:
                    break
                await self._pace()
                tid = self._next_tid()
                frame = Frame(tid, CONTROLLER, deoj, esv, tuple(props))
                waiter = _Waiter(tid, deoj, esv, epcs, loop.create_future())
                self._waiters[tid] = waiter
                try:
                    # The module's own timeouts may exceed what is left of the budget.
                    async with asyncio.timeout(max(deadline - loop.time(), 0.0)):
                        await self._send_frame(frame)
                    sent = True
                    wait = min(self.timeouts.attempt, max(deadline - loop.time(), 0.0))
                    async with asyncio.timeout(wait):
                        answer = await waiter.future
                    self._timeouts_in_a_row = 0
                    return answer
                except CommandTimeoutError as exc:
                    module_failed = True
                    _LOGGER.warning("the module did not take %s: %s", esv.name, exc)
                except TimeoutError:
                    _LOGGER.info(
                        "no answer to %s %s (attempt %d)", esv.name, _hex(epcs), attempt + 1
                    )
                except CommandError as exc:
                    if not exc.transient:
                        raise
                    # ER09: the line was damaged on the UART; the module sent nothing.
                    module_failed = True
                    refused = exc
                    _LOGGER.info("sending %s failed (%s); retrying", esv.name, exc)
                except ReconnectingError:
                    if not (gate and self.wait_for_reconnect):
                        raise
                except PortClosedError as exc:
                    self._signal("port_lost")
                    raise ReconnectingError(f"the port was lost: {exc}") from exc
                except SessionError as exc:
                    # FAIL ER10 from SKSENDTO: no session (module reset, session ended).
                    # Close the gate now, so a waiting caller does not burn its attempts.
                    if self._state in (ConnectionState.READY, ConnectionState.RATE_LIMITED):
                        self._set_state(ConnectionState.RECONNECTING)
                    self._signal("session")
                    if not (gate and self.wait_for_reconnect):
                        raise ReconnectingError(f"no session with the meter: {exc}") from exc
                except TransmitLimitError as exc:
                    # EVENT 32 arrived (or its effect did): wait at the gate for EVENT 33.
                    _LOGGER.info("sending %s refused: %s", esv.name, exc)
                    if self._state is ConnectionState.READY:
                        self._set_state(ConnectionState.RATE_LIMITED)
                    if not gate:
                        raise
                except SendError as exc:
                    module_failed = True  # EVENT 21 01: the module could not transmit
                    _LOGGER.info("sending %s failed (%s); retrying", esv.name, exc)
                    await asyncio.sleep(min(1.0, max(deadline - loop.time(), 0.0)))
                finally:
                    self._waiters.pop(tid, None)
                    if not waiter.future.done():
                        waiter.future.cancel()
                    elif not waiter.future.cancelled():
                        # _fail_waiters() may fail the future while the frame is still
                        # being sent; when the send then fails too, nobody awaits it:
                        # retrieve its exception so asyncio does not log it at GC.
                        waiter.future.exception()
        if count and (sent or module_failed):
            self._timeouts_in_a_row += 1
            if self._timeouts_in_a_row >= self.watchdog.timeouts_before_probe:
                self._signal("probe")
        if refused is not None and not sent:
            raise refused  # every attempt was refused by the module: say so
        who = (
            "the module did not send" if module_failed and not sent else "the meter did not answer"
        )
        raise ResponseTimeoutError(
            f"{who} {esv.name} {_hex(epcs)} ({stage}) within {budget:.0f} s", epcs=epcs
        )

    async def transmit_time_ms(self) -> int:
        """The module's accumulated transmit time in ms (register SFD), for pacing fast polls.

        ARIB STD-T108 limits the transmit time per hour; past it the module refuses to
        send (EVENT 32) until the budget frees (EVENT 33).
        """
        self._check_loop()
        return int(await self.sk.read_register("SFD"), 16)

    # ------------------------------------------------------------------ Get machinery

    async def _get_raw(
        self,
        epcs: Iterable[int],
        *,
        eoj: Eoj = SMART_METER,
        limit_to_map: bool = True,
        gate: bool = True,
        strict: bool = False,
    ) -> dict[int, object]:
        """Get properties in as few frames as the meter allows; decoded, unscaled values.

        EPCs missing from the Get map are not asked for; EPCs the meter refuses (PDC 0 in
        a Get_SNA) are absent from the result.
        """
        self._check_loop()
        wanted = list(dict.fromkeys(epcs))
        for epc in wanted:
            if not 0 <= epc <= 0xFF:
                raise InvalidArgumentError(f"EPC must be 0..255, got {epc!r}")
        if limit_to_map and eoj == SMART_METER and self._get_map:
            skipped = [e for e in wanted if e not in self._get_map]
            if skipped:
                _LOGGER.debug("not in the Get map, not asked: %s", _hex(skipped))
            wanted = [e for e in wanted if e in self._get_map]
        result: dict[int, object] = {}
        pending = [[e] for e in wanted if e in _LARGE]
        small = [e for e in wanted if e not in _LARGE]
        limit = self._batch_limit or len(small) or 1
        pending += [small[i : i + limit] for i in range(0, len(small), limit)]
        loop = asyncio.get_running_loop()
        # One budget for the whole call, however the batches get split.
        deadline = loop.time() + (
            self.timeouts.single if len(wanted) == 1 else self.timeouts.sequence
        )
        retried: set[int] = set()
        while pending:
            batch = pending.pop(0)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ResponseTimeoutError(
                    f"the meter did not answer Get {_hex(wanted)} in time", epcs=tuple(wanted)
                )
            budget = remaining if len(batch) > 1 or len(wanted) > 1 else None
            # A timeout is no refusal (the radio faded, the link died): it is raised, and
            # teaches nothing about how many EPCs the meter takes per Get.
            frame = await self._transact(
                Esv.GET,
                [Property(e) for e in batch],
                deoj=eoj,
                stage="get",
                gate=gate,
                budget=budget,
            )
            answered = {p.epc: p.edt for p in frame.properties if p.edt}
            if frame.esv is Esv.GET_SNA and not answered and len(batch) > 1:
                # A meter that caps the EPCs per Get refuses the whole frame.
                self._learn_limit(len(batch))
                half = len(batch) // 2
                pending[:0] = [batch[:half], batch[half:]]
                continue
            if frame.esv is Esv.GET_SNA and len(batch) > 1:
                # Some meters drop a property from a big Get that they answer alone
                # (a Toshiba meter and E1): ask the readable ones once more, singly.
                known = _maybe(_try_decode(eoj, 0x9F, answered.get(0x9F)), frozenset)
                readable = known or self._get_map or frozenset(batch)
                again = [e for e in batch if e not in answered and e in readable]
                again = [e for e in again if e not in retried]
                retried.update(again)
                pending[:0] = [[e] for e in again]
                batch = [e for e in batch if e not in again]
            for epc in batch:
                if epc not in answered:
                    _LOGGER.info("the meter could not read 0x%02X (Get_SNA)", epc)
                    continue
                try:
                    result[epc] = _decode(eoj, epc, answered[epc])
                except PropertyDecodeError as exc:
                    if strict:
                        raise
                    _LOGGER.warning("skipping a value the meter sent malformed: %s", exc)
        return result

    def _learn_limit(self, failed: int) -> None:
        # A refused batch of N EPCs means the meter takes at most N - 1.
        new = max(1, failed - 1)
        if self._batch_limit is None or new < self._batch_limit:
            self._batch_limit = new
            _LOGGER.info("the meter refuses Gets of %d EPCs; using at most %d", failed, new)

    async def _get_one(self, epc: int) -> object:
        values = await self._get_raw((epc,), limit_to_map=False, strict=True)
        if epc not in values:
            raise ServiceNotAvailableError(
                f"the meter cannot read property 0x{epc:02X}", epc=epc, esv=Esv.GET_SNA, stage="get"
            )
        return values[epc]

    async def _set_raw(self, epc: int, edt: bytes) -> None:
        frame = await self._transact(Esv.SETC, [Property(epc, edt)], stage="set")
        if frame.esv is not Esv.SET_RES:
            raise ServiceNotAvailableError(
                f"the meter refused to set property 0x{epc:02X}",
                epc=epc,
                esv=frame.esv,
                stage="set",
            )

    # ------------------------------------------------------------------ value conversion

    def _meter_time(self, naive: dt.datetime | None) -> dt.datetime | None:
        return None if naive is None else naive.replace(tzinfo=JST)

    def _kwh(self, raw: int | None) -> Decimal | None:
        return energy_kwh(raw, self._coefficient, unit=self._unit)

    def _convert(self, eoj: Eoj, epc: int, edt: bytes) -> object:
        value = _decode(eoj, epc, edt)
        if eoj.class_id != _METER_CLASS:
            return value
        return self._scale(epc, value)

    def _scale(self, epc: int, value: object) -> object:
        if epc in _ENERGY_EPCS and (value is None or isinstance(value, int)):
            return self._kwh(value)
        if isinstance(value, InstantaneousCurrents):
            return InstantCurrent(value.r_phase_amperes, value.t_phase_amperes)
        if isinstance(value, CumulativeEnergyAtTime):
            stamp = self._meter_time(value.measured_at)
            if stamp is None:  # the meter has no fixed-time reading yet
                return None
            return TimedEnergy(stamp, self._kwh(value.raw), value.raw)
        if isinstance(value, DayHistory):
            return self._day_entries(value, day=value.day or 0)
        if isinstance(value, IntervalHistory):
            step = dt.timedelta(minutes=1 if epc == 0xEE else 30)
            return self._interval_entries(value, step)
        if isinstance(value, OneMinuteEnergy):
            stamp = self._meter_time(value.measured_at)
            if stamp is None:
                return None
            return IntervalEnergy(stamp, self._kwh(value.normal_raw), self._kwh(value.reverse_raw))
        return value

    def meter_now(self) -> dt.datetime:
        """The meter's current wall time, estimated from its clock offset at connect."""
        return now_jst() + self._clock_offset

    def _day_entries(
        self, history: DayHistory, *, day: int, today: dt.date | None = None
    ) -> list[TimedEnergy]:
        date = (today or self.meter_now().date()) - dt.timedelta(days=day)
        start = dt.datetime.combine(date, dt.time(0, 0), tzinfo=JST)
        return [
            TimedEnergy(start + dt.timedelta(minutes=30 * slot), self._kwh(raw), raw)
            for slot, raw in enumerate(history.raw_values)
        ]

    def _interval_entries(
        self, history: IntervalHistory, step: dt.timedelta
    ) -> list[IntervalEnergy]:
        newest = self._meter_time(history.newest_at)
        if newest is None:
            return []
        try:
            entries = [
                IntervalEnergy(newest - step * index, self._kwh(normal), self._kwh(reverse))
                for index, (normal, reverse) in enumerate(history.raw_pairs)
            ]
        except OverflowError:
            raise MeterError(
                f"the meter's history ends at an impossible time ({history.newest_at})"
            ) from None
        entries.reverse()
        return entries

    # ------------------------------------------------------------------ public readings

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
        raw = await self._get_raw(epcs)
        return {epc: self._scale(epc, value) for epc, value in raw.items()}

    async def instant_power(self) -> int | None:
        """Instantaneous power (0xE7) in watts; negative while exporting; None for no data."""
        value = await self._get_one(0xE7)
        return value if isinstance(value, int) else None

    async def instant_current(self) -> InstantCurrent:
        """Instantaneous currents of the R and T phases (0xE8) in amperes."""
        value = self._scale(0xE8, await self._get_one(0xE8))
        if not isinstance(value, InstantCurrent):  # pragma: no cover - codec guarantees it
            raise MeterError("unexpected 0xE8 value", epc=0xE8)
        return value

    async def cumulative_energy(self, *, reverse: bool = False) -> Decimal | None:
        """Cumulative energy in kWh: bought (0xE0) or, with ``reverse``, sold (0xE3)."""
        epc = 0xE3 if reverse else 0xE0
        value = self._scale(epc, await self._get_one(epc))
        return value if isinstance(value, Decimal) else None

    async def fixed_time_energy(self, *, reverse: bool = False) -> TimedEnergy:
        """The cumulative energy at the last :00/:30 (0xEA, or 0xEB with ``reverse``)."""
        epc = 0xEB if reverse else 0xEA
        value = self._scale(epc, await self._get_one(epc))
        if not isinstance(value, TimedEnergy):
            raise ServiceNotAvailableError(
                f"the meter has no fixed-time reading (0x{epc:02X}) yet", epc=epc, stage="get"
            )
        return value

    async def history(self, day: int = 0, *, reverse: bool = False) -> list[TimedEnergy]:
        """The 48 half-hourly cumulative readings of one day (0xE5 then 0xE2 or 0xE4).

        ``day`` counts back from the meter's today (0-99). Entries are cumulative
        readings at 00:00, 00:30 ... 23:30 of that day; future slots have ``kwh`` None.
        Two callers cannot mix up days: the set and the get are serialised.
        """
        if not 0 <= day <= 99 or isinstance(day, bool):
            raise InvalidArgumentError(f"day must be 0..99, got {day!r}")
        epc = 0xE4 if reverse else 0xE2
        await self._ensure_clock()
        for _ in range(2):
            today = self.meter_now().date()
            async with self._history_lock:
                await self._set_raw(0xE5, MeterProperties.HISTORY_1_DAY.encode(day))
                value = await self._get_one(epc)
            if self.meter_now().date() == today:
                break
            # The meter's midnight passed between the request and the answer: "day"
            # may now mean another date. Ask again.
            _LOGGER.info("midnight passed while reading history; reading it again")
        if not isinstance(value, DayHistory):  # pragma: no cover
            raise MeterError("unexpected historical data 1", epc=epc)
        if value.day is not None and value.day != day:
            raise MeterError(f"asked for day {day} but the meter answered day {value.day}", epc=epc)
        return self._day_entries(value, day=day, today=today)

    async def history_30min(self, end: dt.datetime, count: int = 12) -> list[IntervalEnergy]:
        """Up to 12 half-hourly readings of both directions ending at ``end`` (0xED, 0xEC).

        ``end`` is rounded down to :00 or :30 (naive datetimes are taken as Japan time).
        Entries are returned oldest first.
        """
        if isinstance(count, bool) or not 1 <= count <= 12:
            raise InvalidArgumentError("count must be 1..12")
        end = _to_meter_naive(end)
        end = end.replace(minute=0 if end.minute < 30 else 30, second=0, microsecond=0)
        return await self._interval(0xED, 0xEC, end, count, dt.timedelta(minutes=30))

    async def history_1min(self, end: dt.datetime, count: int = 10) -> list[IntervalEnergy]:
        """Up to 10 one-minute readings of both directions ending at ``end`` (0xEF, 0xEE).

        Only Release R meters have them (0xEE in the Get map); others raise
        :class:`ServiceNotAvailableError`. Entries are returned oldest first.
        """
        if isinstance(count, bool) or not 1 <= count <= 10:
            raise InvalidArgumentError("count must be 1..10")
        if self._get_map and 0xEE not in self._get_map:
            raise ServiceNotAvailableError(
                "this meter has no one-minute history (0xEE; Release R meters only)",
                epc=0xEE,
                stage="get",
            )
        end = _to_meter_naive(end).replace(second=0, microsecond=0)
        return await self._interval(0xEF, 0xEE, end, count, dt.timedelta(minutes=1))

    async def _interval(
        self, set_epc: int, get_epc: int, end: dt.datetime, count: int, step: dt.timedelta
    ) -> list[IntervalEnergy]:
        codec = (
            MeterProperties.HISTORY_2_TARGET
            if set_epc == 0xED
            else MeterProperties.HISTORY_3_TARGET
        )
        async with self._history_lock:
            await self._set_raw(set_epc, codec.encode(HistoryTarget(end, count)))
            value = await self._get_one(get_epc)
        if not isinstance(value, IntervalHistory):  # pragma: no cover
            raise MeterError("unexpected interval history", epc=get_epc)
        if value.newest_at != end.replace(second=0, microsecond=0):
            raise MeterError(
                f"asked for history ending {end:%Y-%m-%d %H:%M} but the meter answered "
                f"{value.newest_at or 'no time'}",
                epc=get_epc,
            )
        return self._interval_entries(value, step)

    async def set(self, epc: int, value: object) -> None:
        """Write a property with SetC (0x81, 0xE5, 0xED, 0xEF on real meters).

        ``value`` has the type the property's codec takes (``int`` for 0xE5,
        :class:`~aiobroute.echonet.properties.HistoryTarget` for 0xED/0xEF...).

        Raises:
            InvalidArgumentError: the value cannot be encoded (out of range...).
            ServiceNotAvailableError: the meter refused (SetC_SNA).
        """
        codec = codec_for(_METER_CLASS, epc)
        if codec is None:
            raise InvalidArgumentError(f"no codec for property 0x{epc:02X}; cannot encode")
        if self._set_map and epc not in self._set_map:
            raise ServiceNotAvailableError(
                f"property 0x{epc:02X} is not in the meter's Set map", epc=epc, stage="set"
            )
        edt = codec.encode(value)
        if epc in (0xE5, 0xED, 0xEF):  # history selectors: not in the middle of a read
            async with self._history_lock:
                await self._set_raw(epc, edt)
        else:
            await self._set_raw(epc, edt)

    async def info(self) -> MeterInfo:
        """Manufacturer, serial number, release, location, fault and the scaling data."""
        values = await self._get_raw((0x80, 0x81, 0x88, 0x8A, 0x8D))
        fault = values.get(0x88)
        return MeterInfo(
            manufacturer_code=_maybe(values.get(0x8A), int),
            serial_number=_maybe(values.get(0x8D), str),
            standard_version=self._standard_version,
            installation_location=_maybe(values.get(0x81), InstallationLocation),
            fault=(fault is FaultStatus.FAULT) if isinstance(fault, FaultStatus) else None,
            operation_status=_maybe(values.get(0x80), OperationStatus),
            announcement_map=self._announcement_map,
            set_map=self._set_map,
            get_map=self._get_map,
            coefficient=self._coefficient,
            unit_kwh=self._unit,
            digits=self._digits,
            ipaddr=self.ipaddr or "",
            instances=self._instances,
        )

    def usage(self, entries: Sequence[TimedEnergy]) -> list[Decimal | None]:
        """Energy used between consecutive cumulative readings, with counter rollover.

        Returns one value fewer than ``entries``: ``usage[i]`` is the energy between
        ``entries[i]`` and ``entries[i + 1]`` (None where either reading is missing).
        """
        result: list[Decimal | None] = []
        for before, after in itertools.pairwise(entries):
            if before.raw is None or after.raw is None:
                result.append(None)
            elif self._digits is None:
                # Without D7 a wrap cannot be told from a reset: no value rather than a guess.
                delta = after.raw - before.raw
                result.append(self._kwh(delta) if delta >= 0 else None)
            else:
                try:
                    result.append(self._kwh(counter_delta(after.raw, before.raw, self._digits)))
                except InvalidArgumentError:  # a reading beyond 10**digits: bad data
                    result.append(None)
        return result

    # ------------------------------------------------------------------ notifications

    def notifications(self) -> AsyncIterator[Notification]:
        """Iterate over what the meter sends by itself, from now on, until it is closed.

        Pushes of 0xEA/0xEB every 30 minutes arrive with :class:`TimedEnergy` values.
        INFC frames are answered with INFC_Res automatically. Notifications survive
        reconnects; iteration ends when the meter is closed.
        """
        queue: _Queue[Notification] = _Queue()
        if self._closed:
            queue.end()
        else:
            self._subscribers.add(queue)
        return _Feed(queue, self._subscribers, self._check_loop)


class _Queue(DropOldestQueue[_T]):
    """A capped FIFO with an end marker, for user-facing iterators."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__(_NOTIFICATION_LIMIT, logger=_LOGGER)


class _Feed(AsyncIterator[_T]):
    """The iterator of :meth:`SmartMeter.states` and :meth:`SmartMeter.notifications`.

    It alone holds its queue; the meter's registry is a weak set. An iterator that is
    dropped, iterated or not, takes its queue with it: nothing piles up for nobody.
    """

    def __init__(
        self,
        queue: _Queue[_T],
        registry: weakref.WeakSet[_Queue[_T]],
        check_loop: Callable[[], None],
    ) -> None:
        self._queue: _Queue[_T] | None = queue
        self._registry = registry
        self._check_loop = check_loop

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> _T:
        queue = self._queue
        if queue is None:
            raise StopAsyncIteration
        self._check_loop()
        item = await queue.get()
        if item is None:
            self._stop()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Stop receiving (``break`` out of ``async for`` does not need it)."""
        self._stop()

    def _stop(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            self._registry.discard(queue)


class _GiveUpError(Exception):
    """The reconnect policy ran out of attempts."""


def _decode(eoj: Eoj, epc: int, edt: bytes) -> object:
    codec = codec_for(eoj.class_id, epc)
    if codec is None:
        return edt
    return codec.decode(edt)


def _epcs(value: object) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(e, int) and 0 <= e <= 0xFF for e in value):
        raise ValueError("not a list of EPCs")
    return value


def _try_decode(eoj: Eoj, epc: int, edt: bytes | None) -> object:
    if edt is None:
        return None
    try:
        return _decode(eoj, epc, edt)
    except PropertyDecodeError:
        return None


def _coefficient(value: object, *, listed: bool) -> int:
    """The 0xD3 coefficient to scale energy with; never a guess for a listed property.

    Absent from the Get map, the coefficient is 1 by the specification; listed, it must
    be a valid value (1..999999), else energy cannot be scaled.
    """
    if isinstance(value, int) and 1 <= value <= MAX_COEFFICIENT:
        return value
    if listed:
        sent = "none" if value is None else f"an invalid one ({value!r})"
        raise MeterError(
            f"the meter lists a coefficient (0xD3) but sent {sent}; energy cannot be scaled",
            epc=0xD3,
            stage="connect",
        )
    if value is not None:
        _LOGGER.warning("ignoring the unlisted coefficient (0xD3) %r; using 1", value)
    return 1


def _maybe(value: object, kind: type[Any]) -> Any:
    return value if isinstance(value, kind) else None


def _hex(epcs: Iterable[int]) -> str:
    return "[" + " ".join(f"{e:02X}" for e in epcs) + "]"


def _to_meter_naive(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is not None:
        value = value.astimezone(JST)
    return value.replace(tzinfo=None)
