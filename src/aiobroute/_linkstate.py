"""What the dialects' links share: the listener slot, the client, the join state.

Not a public API: :mod:`aiobroute.link` defines the interface, this module the common
part of its two implementations (:class:`~aiobroute.skstack.SkStackLink` and
:class:`~aiobroute.j11.link.J11Link`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import ClassVar, Generic, Protocol, TypeVar

from aiobroute.link import (
    LinkEvent,
    LinkListener,
    LinkLost,
    MeterDatagram,
    MeterPan,
    ModuleIdentity,
)

__all__ = ["LinkState", "ListenerSlot"]


class ListenerSlot:
    """The listener a link delivers to, shared by the dialects' links (not a public API).

    A listener that raises is logged and does not stop the link's reader.
    """

    #: Where a failing listener is logged.
    _logger: ClassVar[logging.Logger] = logging.getLogger("aiobroute")
    _listener: LinkListener | None

    def set_listener(self, listener: LinkListener | None) -> None:
        """Register the listener of datagrams and session events (None: stop)."""
        self._listener = listener

    def _deliver_datagram(self, datagram: MeterDatagram) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            listener.datagram_received(datagram)
        except Exception:
            self._logger.exception("the link listener failed on a datagram")

    def _deliver_event(self, event: LinkEvent) -> None:
        listener = self._listener
        if listener is None:
            return
        try:
            listener.session_event(event)
        except Exception:
            self._logger.exception("the link listener failed on %s", type(event).__name__)


class _LinkClient(Protocol):
    """What :class:`LinkState` needs of a dialect's client."""

    @property
    def closed(self) -> bool: ...

    async def close(self) -> None: ...


_ClientT = TypeVar("_ClientT", bound=_LinkClient)


class LinkState(ListenerSlot, Generic[_ClientT]):
    """The client under a link and the join state, shared by the dialects' links (not a
    public API): what the module told, the PAN joined, whether the session is usable,
    the port's loss and the link's close.
    """

    def __init__(self, client: _ClientT) -> None:
        self._client = client
        self._listener: LinkListener | None = None
        self._identity: ModuleIdentity | None = None
        self._pan: MeterPan | None = None
        self._credentials: tuple[str, str] | None = None
        self._session_active = False
        self._closing = False
        self._lost = False
        self._own = 0

    @property
    def closed(self) -> bool:
        """True once the link was closed or its port was lost."""
        return self._closing or self._client.closed

    @property
    def identity(self) -> ModuleIdentity | None:
        """What the module told in :meth:`open`, or None before it."""
        return self._identity

    @property
    def pan(self) -> MeterPan | None:
        """The PAN of the last successful join, or None."""
        return self._pan

    @property
    def session_active(self) -> bool:
        """True between a successful join and the loss of the session."""
        return self._session_active and not self.closed

    @contextlib.contextmanager
    def _own_change(self) -> Iterator[None]:
        """Around the link's own reset, join, rejoin or terminate: what the module reports
        about the session meanwhile is the call's outcome, not an event.
        """
        self._own += 1
        try:
            yield
        finally:
            self._own -= 1

    def _port_lost(self, reason: str) -> None:
        """The client's port is gone: the session too; :class:`LinkLost` once."""
        self._session_active = False
        if not self._lost and not self._closing:
            self._lost = True
            self._deliver_event(LinkLost(source="port", reason=reason))

    async def close(self) -> None:
        """Close the client (waiters get ClientClosedError) and its stream; idempotent."""
        self._closing = True
        self._session_active = False
        await self._client.close()
