"""What the meter sends by itself: INF/INFC frames, decoded, answered and fanned out."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from types import MappingProxyType

from aiobroute._time import now_jst
from aiobroute.echonet import NODE_PROFILE, SMART_METER, Esv, Frame, Property
from aiobroute.echonet.properties import NodeProfileProperties, codec_for
from aiobroute.errors import AiobrouteError, PropertyDecodeError
from aiobroute.meter._exchange import Exchange
from aiobroute.meter._feeds import Feed, FeedQueue
from aiobroute.meter._profile import MeterProfile
from aiobroute.meter._reader import Reader
from aiobroute.meter._supervisor import Supervisor
from aiobroute.models import Notification

__all__ = ["Notifier"]

_LOGGER = logging.getLogger("aiobroute.meter")
_INSTANCE_LIST = NodeProfileProperties.INSTANCE_LIST_NOTIFICATION


class Notifier:
    """Decodes notifications, answers INFC, records the instance list, feeds subscribers."""

    def __init__(
        self, exchange: Exchange, supervisor: Supervisor, profile: MeterProfile, reader: Reader
    ) -> None:
        self._exchange = exchange
        self._supervisor = supervisor
        self._profile = profile
        self._reader = reader
        self.ended = False
        # Iterators of notifications() hold their queue; the notifier refers to it weakly.
        self._subscribers: weakref.WeakSet[FeedQueue[Notification]] = weakref.WeakSet()

    def feed(self, check_loop: Callable[[], None]) -> Feed[Notification]:
        """A new subscriber's iterator (ended at once once the meter is closed)."""
        queue: FeedQueue[Notification] = FeedQueue()
        if self.ended:
            queue.end()
        else:
            self._subscribers.add(queue)
        return Feed(queue, self._subscribers, check_loop)

    def end(self) -> None:
        """The meter is closed: every iterator ends."""
        self.ended = True
        for queue in list(self._subscribers):
            queue.end()

    def on_frame(self, frame: Frame) -> None:
        """An INF or INFC frame from the exchange (synchronously, from the link's reader)."""
        if frame.esv is Esv.INFC:
            self._supervisor.spawn(self._send_infc_res(frame))
        values: dict[int, object] = {}
        meter = frame.seoj.class_id == SMART_METER.class_id
        node = frame.seoj.class_id == NODE_PROFILE.class_id
        for prop in frame.properties:
            try:
                if meter:
                    values[prop.epc] = self._profile.convert(prop.epc, prop.edt)
                elif node and prop.epc == 0xD5:
                    instances = _INSTANCE_LIST.decode(prop.edt)
                    values[prop.epc] = self._reader.instances = instances
                    self._reader.instances_seen.set()
                else:
                    codec = codec_for(frame.seoj.class_id, prop.epc)
                    values[prop.epc] = prop.edt if codec is None else codec.decode(prop.edt)
            except PropertyDecodeError as exc:
                self._exchange.warn_peer("ignoring an undecodable notified property: %s", exc)
        if frame.seoj == SMART_METER and (0xEA in values or 0xEB in values):
            self._supervisor.push_seen()
        if not self._subscribers:
            return
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
            await self._exchange.send_frame(reply)
        except AiobrouteError as exc:
            _LOGGER.warning("could not answer INFC: %s", exc)
