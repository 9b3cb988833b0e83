"""Building and joining the link: the port, the module, the PAN (remembered, cached, scanned)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiobroute.errors import AuthenticationError, JoinTimeoutError, PortClosedError, ScanError
from aiobroute.link import LinkListener, MeterLink, MeterPan
from aiobroute.meter._links import LinkOptions, open_link
from aiobroute.meter._state import Trigger
from aiobroute.supervisor import PanCache
from aiobroute.transport import ByteStream, open_port

__all__ = ["Connector", "StreamFactory"]

_LOGGER = logging.getLogger("aiobroute.meter")

#: An async callable returning a freshly opened stream (lets the supervisor reopen it).
StreamFactory = Callable[[], Awaitable[ByteStream]]


class Connector:
    """Opens the port, builds the link, joins the meter and remembers its PAN.

    Args:
        port: a device path or URL, an open stream, or a stream factory.
        rbid, password: the B-route credentials (kept private, never logged).
        options: the dongle's dialect (forced or detected), family and timeouts.
        pan: a PAN to join without scanning.
        cache: the PAN cache file, if any.
        scan_durations: the escalating scan durations.
        reset: reset the module on the first connection.
        baudrate: serial speed for device paths.
    """

    def __init__(
        self,
        port: str | ByteStream | StreamFactory,
        *,
        rbid: str,
        password: str,
        options: LinkOptions,
        pan: MeterPan | None,
        cache: PanCache | None,
        scan_durations: tuple[int, ...],
        reset: bool,
        baudrate: int,
    ) -> None:
        self.port = port
        self._rbid = rbid
        self._password = password
        self._options = options
        self.pan_hint = pan
        self.known_pan = pan
        self.cache = cache
        self.scan_durations = scan_durations
        self._reset = reset
        self._baudrate = baudrate
        self.listener: LinkListener | None = None
        self.link: MeterLink | None = None
        self.dialect: str | None = None  # of the last link: tried first on a reopened port
        self.meter_address: str | None = None
        self.connected_once = False

    def __repr__(self) -> str:
        return f"<Connector {self.where!r}>"

    @property
    def where(self) -> str:
        """The port, for reprs and messages."""
        port = self.port
        return port if isinstance(port, str) else str(getattr(port, "name", "stream"))

    @property
    def reopenable(self) -> bool:
        """False for an open stream given by the user: it cannot be opened again."""
        return not isinstance(self.port, ByteStream)

    @property
    def family(self) -> str | None:
        """The module family of the current link, lower case, for the cache file."""
        identity = self.link.identity if self.link is not None else None
        return identity.family.lower() if identity is not None else None

    async def _open_stream(self) -> ByteStream:
        port = self.port
        if isinstance(port, str):
            return await open_port(port, baudrate=self._baudrate)
        if isinstance(port, ByteStream):
            if port.closed and self.connected_once:
                raise PortClosedError(f"{port.name}: closed, and a stream cannot be reopened")
            return port
        return await port()

    async def establish(self, *, first: bool, on_step: Callable[[Trigger], object]) -> None:
        """Open the port, build and open the link, join (the old link must be torn down)."""
        stream = await self._open_stream()
        # Listen before joining: the meter's 0xD5 announcement follows the join at once.
        link = await open_link(
            stream,
            self._options,
            secrets=(self._rbid, self._password),
            remembered=self._remembered_dialect(),
            listener=self.listener,
            reset=self._reset and first,
        )
        self.link = link
        self.dialect = link.dialect
        await self._join(link, first=first, on_step=on_step)

    def _remembered_dialect(self) -> str | None:
        """The dialect of the last link, else of the known or cached PAN (None: probe)."""
        if self.dialect is not None:
            return self.dialect
        if self.known_pan is not None:
            return self.known_pan.dialect
        cached = self.cache.load_pan() if self.cache is not None else None
        return cached[0].dialect if cached is not None else None

    async def rejoin(self, link: MeterLink, *, on_step: Callable[[Trigger], object]) -> None:
        """Re-initialise the module of ``link`` and join again."""
        await link.open()
        await self._join(link, first=False, on_step=on_step)

    async def _join(
        self, link: MeterLink, *, first: bool, on_step: Callable[[Trigger], object]
    ) -> None:
        """Join from the known PAN, else a scan of its channel, else a full scan."""
        self.meter_address = None
        hint = self.known_pan
        if hint is None and self.cache is not None:
            cached = self.cache.load_pan()
            if cached is not None:
                hint = cached[0]
                _LOGGER.info("joining the cached PAN %04X without a scan", hint.pan_id)
        if hint is not None and hint.dialect != link.dialect:
            _LOGGER.warning("the remembered PAN is of another kind of dongle; scanning")
            hint = None
        rbid, password = self._rbid, self._password
        durations = self.scan_durations
        pan: MeterPan | None = None
        if hint is not None:
            try:
                on_step(Trigger.JOIN)
                pan = await link.connect(rbid=rbid, password=password, pan=hint)
            except (AuthenticationError, JoinTimeoutError) as exc:
                if first and self.pan_hint is not None and self.cache is None:
                    raise
                if _refused_by_the_meter(exc):
                    raise
                _LOGGER.warning("join of the remembered PAN failed (%s); scanning", exc)
            if pan is None:
                on_step(Trigger.SCAN)
                try:
                    pan = await link.connect(
                        rbid=rbid, password=password, durations=durations, channels=(hint.channel,)
                    )
                except (ScanError, AuthenticationError, JoinTimeoutError) as exc:
                    if _refused_by_the_meter(exc):
                        raise
                    _LOGGER.warning("join on channel %02X failed (%s)", hint.channel, exc)
        if pan is None:
            on_step(Trigger.SCAN)
            pan = await link.connect(rbid=rbid, password=password, durations=durations)
        self.meter_address = link.meter_address
        self.known_pan = pan
        if self.cache is not None:
            self.cache.save_pan(pan, self.family)

    def save_attributes(self, attributes: dict[str, object]) -> None:
        """Cache the meter's attributes next to its PAN."""
        if self.cache is not None and self.known_pan is not None:
            self.cache.save_pan(self.known_pan, self.family, attributes)

    def cached_attributes(self) -> dict[str, object] | None:
        """The cached attributes of the meter just joined, or None."""
        if self.cache is None or self.known_pan is None:
            return None
        return self.cache.load_attributes(self.known_pan.mac)

    async def teardown(self, *, terminate: bool) -> None:
        """Close the current link (ending the session first if asked, best effort)."""
        link, self.link = self.link, None
        joined, self.meter_address = self.meter_address, None
        if link is None:
            return
        link.set_listener(None)
        try:
            if terminate and joined is not None and not link.closed:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await link.terminate()
        finally:
            await link.close()


def _refused_by_the_meter(exc: BaseException) -> bool:
    """The meter took part in PANA and refused us: another scan finds the same meter and
    gets the same refusal, so the join gives up at once."""
    return isinstance(exc, AuthenticationError) and exc.peer_answered is True
