"""A simulated low-voltage smart electric energy meter: the ECHONET Lite node of the B route.

:class:`SimulatedMeter` is the meter side of the ECHONET Lite conversation: it holds a
node profile (``0x0EF001``) and a smart meter object (``0x028801``), answers the
controller's requests (Get, SetC, SetI, INF_REQ, SetGet), counts INFC_Res replies and
produces the spontaneous frames a real meter sends (the instance-list INF at startup and
the half-hourly EA/EB push). It does no I/O and runs no task: the simulated Wi-SUN module
feeds it the payloads it receives and transmits what it returns.

The data are consistent and deterministic. A seeded household load curve (see
``_meter_load``) gives the instantaneous power E7 at every instant; the cumulative
counters E0/E3 are its exact integral, converted to counts with E1 and D3 and wrapped at
``10 ** D7``; the historical data E2/E4, EA/EB, EC, EE and D0 are the same counters read
at the matching instants. ``MeterConfig.initial_normal_raw`` is the counter at the
clock's start (``SimClock``'s start time, not the moment the meter was created); going
back in time the counters decrease down to 0 and stay there (the meter's installation)
rather than wrapping backwards.

All property values are encoded (in ``_meter_objects``) with ``struct`` and
``int.to_bytes``, independently of the library's value codecs, so tests of those codecs
against the simulator cross-check two implementations.

Choices where the specification is open:

* E5 (the day read by E2/E4) is 0 until the controller sets it
  (``MeterConfig.initial_history_day``; pass ``0xFF`` for the MRA "not set" default, in
  which case E2/E4 answer day ``0x00FF`` with every slot ``0xFFFFFFFE``). The day is
  relative to the meter's date when E2 is read, not when E5 was set.
* History (E2/E4, EC, EE) reaches back to 00:00 of the day 99 days ago; older or
  future instants read ``0xFFFFFFFE``. A history slot is available from its own
  instant on (at 19:00:00 the 19:00 slot is filled).
* Currents: single-phase three-wire 100/200 V, ``R + T = P / 100 V`` with a daily
  R share of 40-60 % (on average each phase carries ``P / 200 V``); single-phase
  two-wire ``R = P / 100 V`` and T is ``0x7FFE``. Currents have the sign of the power.
* The Get EPC limit (``max_epcs_per_get``) applies to Get only, not to SetGet.
* INF_REQ is answered with INF for any readable property (INF_SNA, formatted like
  Get_SNA, otherwise); an INFC from the controller gets its INFC_Res.
* Instance code ``0x00`` in a DEOJ addresses every instance of the class, so
  ``0x028800`` reaches the meter and ``0x0EF000`` the node profile; the answer's SEOJ
  is the real instance.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aiobroute.echonet._frame import Frame, Property
from aiobroute.echonet._types import CONTROLLER, NODE_PROFILE, SMART_METER, Eoj, Esv
from aiobroute.errors import FrameDecodeError
from aiobroute.testing._meter_config import MeterConfig
from aiobroute.testing._meter_objects import _MeterObjects

if TYPE_CHECKING:
    from aiobroute.testing._clock import SimClock

__all__ = ["MeterConfig", "SimulatedMeter"]

_LOGGER = logging.getLogger(__name__)


class SimulatedMeter(_MeterObjects):
    """The ECHONET Lite node of a simulated smart meter (node profile + 0x028801).

    Args:
        clock: the simulated wall clock; it gives "now" and the counters' origin.
        config: the meter's configuration; defaults to :class:`MeterConfig` ``()``.

    Attributes:
        config: the configuration in use.
        frames_received: every payload given to :meth:`handle_payload`, in order.
        frames_sent: every payload the meter produced (answers, startup, pushes).
        infc_res_received: how many INFC_Res frames the controller sent to the meter.

    Example (inside a running event loop, which the clock needs for "now")::

        clock = SimClock()
        meter = SimulatedMeter(clock, MeterConfig(seed=3, pv_export=True))
        replies = meter.handle_payload(bytes.fromhex("1081 0001 05FF01 028801 62 01 E7 00"))
    """

    def __init__(self, clock: SimClock, config: MeterConfig | None = None) -> None:
        super().__init__(clock, config)
        self.frames_received: list[bytes] = []
        self.frames_sent: list[bytes] = []
        self.infc_res_received = 0
        self._tid = self.config.initial_tid

    # ------------------------------------------------------------------ protocol role
    def handle_payload(self, payload: bytes) -> list[bytes]:
        """Process one ECHONET Lite payload from the controller; return the replies.

        Malformed frames, format-2 frames, frames for an object the node does not have
        and frames that need no answer (responses, INF, INFC_Res) give ``[]``.
        """
        payload = bytes(payload)
        self.frames_received.append(payload)
        try:
            frame = Frame.decode(payload)
        except FrameDecodeError as exc:
            _LOGGER.debug("meter discards a malformed frame: %s", exc)
            return []
        target = self._resolve(frame.deoj)
        if target is None:
            _LOGGER.debug("meter discards a frame for absent object %s", frame.deoj)
            return []
        reply = self._dispatch(frame, target)
        if reply is None:
            return []
        data = reply.encode()
        self.frames_sent.append(data)
        return [data]

    def _resolve(self, deoj: Eoj) -> Eoj | None:
        for eoj in self._objects:
            if deoj == eoj or (deoj.instance == 0 and deoj.class_id == eoj.class_id):
                return eoj
        return None

    def _dispatch(self, frame: Frame, target: Eoj) -> Frame | None:
        esv = frame.esv

        def reply(
            answer: Esv, props: Sequence[Property], get_props: Sequence[Property] = ()
        ) -> Frame:
            return Frame(frame.tid, target, frame.seoj, answer, props, get_props)

        if esv is Esv.GET:
            limit = self.config.max_epcs_per_get
            if limit is not None and len(frame.properties) > limit:
                return reply(Esv.GET_SNA, [Property(p.epc) for p in frame.properties])
            props, ok = self._read(target, frame.properties, self._clock.now())
            return reply(Esv.GET_RES if ok else Esv.GET_SNA, props)
        if esv in (Esv.SETC, Esv.SETI):
            props, ok = self._apply_sets(target, frame.properties)
            if esv is Esv.SETC:
                return reply(Esv.SET_RES if ok else Esv.SETC_SNA, props)
            return None if ok else reply(Esv.SETI_SNA, props)
        if esv is Esv.INF_REQ:
            props, ok = self._read(target, frame.properties, self._clock.now())
            return reply(Esv.INF if ok else Esv.INF_SNA, props)
        if esv is Esv.SETGET:
            set_props, set_ok = self._apply_sets(target, frame.properties)
            get_props, get_ok = self._read(target, frame.get_properties, self._clock.now())
            answer = Esv.SETGET_RES if set_ok and get_ok else Esv.SETGET_SNA
            return reply(answer, set_props, get_props)
        if esv is Esv.INFC_RES:
            self.infc_res_received += 1
            return None
        if esv is Esv.INFC:
            return reply(Esv.INFC_RES, [Property(p.epc) for p in frame.properties])
        _LOGGER.debug("meter ignores a %s frame", esv.name)
        return None

    # ------------------------------------------------------------------ spontaneous frames
    def _next_tid(self) -> int:
        tid = self._tid
        self._tid = (tid + 1) & 0xFFFF
        return tid

    def _emit(self, frame: Frame) -> bytes:
        data = frame.encode()
        self.frames_sent.append(data)
        return data

    def startup_frames(self) -> list[bytes]:
        """The instance-list INF (D5 = ``01 028801``) sent right after authentication.

        It goes from the node profile to the node profile, for the all-nodes multicast
        address ``FF02::1``; the TID is the meter's own counter.
        """
        instances = b"\x01" + bytes(SMART_METER)
        frame = Frame(
            self._next_tid(), NODE_PROFILE, NODE_PROFILE, Esv.INF, [Property(0xD5, instances)]
        )
        return [self._emit(frame)]

    def next_push_time(self, after: dt.datetime) -> dt.datetime:
        """The next push instant (:00/:30 by default) strictly after ``after``, in JST."""
        after = self._at(after)
        midnight = after.replace(hour=0, minute=0, second=0, microsecond=0)
        step = dt.timedelta(minutes=self.config.push_interval_minutes)
        count = (after - midnight) // step + 1
        return midnight + step * count

    def push_frames(self, at: dt.datetime) -> list[bytes]:
        """The EA (and EB) notification for the push at ``at``, 028801 to 05FF01.

        The values are those of the last :00/:30 at or before ``at``. INF (0x73) or
        INFC (0x74, ``notify_with_infc``); EA and EB in one frame or two
        (``push_eb_separately``); EB only on meters with ``reverse_direction``.
        """
        at = self._at(at)
        props = [Property(0xEA, self._edt_fixed_time(at, reverse=False))]
        if self.config.reverse_direction:
            props.append(Property(0xEB, self._edt_fixed_time(at, reverse=True)))
        esv = Esv.INFC if self.config.notify_with_infc else Esv.INF
        groups = [[p] for p in props] if self.config.push_eb_separately else [props]
        return [
            self._emit(Frame(self._next_tid(), SMART_METER, CONTROLLER, esv, group))
            for group in groups
        ]
