"""Typed reads and writes of the meter's properties over the exchange.

Gets follow the :class:`~aiobroute.meter._plan.GetPlan` and return EDTs; each caller
decodes them with the typed codec it asked for (:meth:`Reader.get_value` returns the
codec's own type), so no value is narrowed back from ``object``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Iterable
from typing import TypeVar

from aiobroute.echonet import NODE_PROFILE, SMART_METER, Eoj, Esv, Frame, Property
from aiobroute.echonet._frame import check_epc
from aiobroute.echonet.properties import (
    FaultStatus,
    HistoryTarget,
    IntervalHistory,
    MeterProperties,
    PropertyCodec,
    codec_for,
)
from aiobroute.errors import (
    InvalidArgumentError,
    MeterError,
    PropertyDecodeError,
    ResponseTimeoutError,
    SendError,
    ServiceNotAvailableError,
    SessionError,
)
from aiobroute.meter._exchange import Exchange, hex_epcs
from aiobroute.meter._plan import GetPlan
from aiobroute.meter._profile import ATTRIBUTE_EPCS, MeterProfile, decoded
from aiobroute.models import IntervalEnergy, MeterInfo, TimedEnergy

__all__ = ["Reader"]

_LOGGER = logging.getLogger("aiobroute.meter")
P = MeterProperties
_T = TypeVar("_T")
_HISTORY_SELECTORS = frozenset({0xE5, 0xED, 0xEF})


class Reader:
    """Gets and sets of the meter's properties, with the meter's learned batch limit.

    Args:
        exchange: sends the requests.
        profile: the meter's attributes (the Get map limits what is asked).
        single: the budget of a request for one property (seconds).
        sequence: the budget of a request for several properties.
    """

    def __init__(
        self, exchange: Exchange, profile: MeterProfile, *, single: float, sequence: float
    ) -> None:
        self.exchange = exchange
        self.profile = profile
        self.single = single
        self.sequence = sequence
        self.batch_limit: int | None = None
        #: Serialises a history selector (0xE5, 0xED, 0xEF) with the read that follows.
        self.history_lock = asyncio.Lock()
        self.instances: tuple[Eoj, ...] = ()
        self.instances_seen = asyncio.Event()

    async def get_edts(
        self,
        epcs: Iterable[int],
        *,
        eoj: Eoj = SMART_METER,
        limit_to_map: bool = True,
        gate: bool = True,
    ) -> dict[int, bytes]:
        """Get properties in as few frames as the meter allows; their EDTs.

        EPCs missing from the Get map are not asked for; EPCs the meter refuses (PDC 0 in
        a Get_SNA) are absent from the result.
        """
        wanted = list(dict.fromkeys(check_epc(epc) for epc in epcs))
        get_map = self.profile.get_map
        if limit_to_map and eoj == SMART_METER and get_map:
            skipped = [e for e in wanted if e not in get_map]
            if skipped:
                _LOGGER.debug("not in the Get map, not asked: %s", hex_epcs(skipped))
            wanted = [e for e in wanted if e in get_map]
        plan = GetPlan(wanted, self.batch_limit)
        loop = asyncio.get_running_loop()
        # One budget for the whole call, however the batches get split.
        deadline = loop.time() + (self.single if len(wanted) == 1 else self.sequence)
        result: dict[int, bytes] = {}
        while plan:
            batch = plan.next_batch()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise ResponseTimeoutError(
                    f"the meter did not answer Get {hex_epcs(wanted)} in time", epcs=tuple(wanted)
                )
            budget = remaining if len(batch) > 1 or len(wanted) > 1 else self.single
            # A timeout is no refusal (the radio faded, the link died): it is raised, and
            # teaches nothing about how many EPCs the meter takes per Get.
            frame = await self.exchange.transact(
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
                learned = plan.refused(batch)
                if learned is not None:
                    self.batch_limit = learned
                    _LOGGER.info(
                        "the meter refuses Gets of %d EPCs; using at most %d", len(batch), learned
                    )
                continue
            if frame.esv is Esv.GET_SNA and len(batch) > 1:
                # Some meters drop a property from a big Get that they answer alone
                # (a Toshiba meter and E1): ask the readable ones once more, singly.
                readable = decoded(P.GET_MAP, answered) or get_map or frozenset(batch)
                batch = plan.partial(batch, answered, readable)
            for epc in batch:
                if epc in answered:
                    result[epc] = answered[epc]
                else:
                    _LOGGER.info("the meter could not read 0x%02X (Get_SNA)", epc)
        return result

    async def get_value(self, codec: PropertyCodec[_T], *, gate: bool = True) -> _T:
        """One property of the meter, decoded with its typed codec.

        Raises:
            ServiceNotAvailableError: the meter cannot read it (Get_SNA).
            PropertyDecodeError: the meter sent a malformed value.
        """
        edts = await self.get_edts((codec.epc,), limit_to_map=False, gate=gate)
        edt = edts.get(codec.epc)
        if edt is None:
            raise ServiceNotAvailableError(
                f"the meter cannot read property 0x{codec.epc:02X}",
                epc=codec.epc,
                esv=Esv.GET_SNA,
                stage="get",
            )
        return codec.decode(edt)

    async def set_edt(self, epc: int, edt: bytes) -> None:
        """Write one property with SetC.

        Raises:
            ServiceNotAvailableError: the meter refused (SetC_SNA).
        """
        frame = await self.exchange.transact(
            Esv.SETC, [Property(epc, edt)], stage="set", budget=self.single
        )
        if frame.esv is not Esv.SET_RES:
            raise ServiceNotAvailableError(
                f"the meter refused to set property 0x{epc:02X}",
                epc=epc,
                esv=frame.esv,
                stage="set",
            )

    # ------------------------------------------------------------------ connection reads

    async def read_attributes(self, cached: dict[str, object] | None) -> bool:
        """The connection reads: property maps, release and scaling (D3, D7, E1).

        One Get asks for all of them (the meter's own 0xD5 announcement usually arrives
        meanwhile; INF_REQ asks for it otherwise). With ``cached`` attributes of this
        meter, only the meter's clock (0x97/0x98) is read. Returns True when the
        attributes were read from the meter (worth caching).
        """
        profile = self.profile
        fresh = False
        if cached is not None and profile.from_cache(cached):
            _LOGGER.info("meter attributes taken from the cache file")
            # The clock is not an attribute: it drifts, and may be set. One Get.
            await self.read_clock(gate=False)
        else:
            edts = await self.get_edts(ATTRIBUTE_EPCS, limit_to_map=False, gate=False)
            if profile.lacks_coefficient(edts):
                edts.pop(0xD3, None)
                edt = await self._read_coefficient()
                if edt is not None:
                    edts[0xD3] = edt
            profile.apply_attributes(edts)
            fresh = True
        if not self.instances_seen.is_set():
            _LOGGER.info("no instance list announcement yet; asking with INF_REQ 0xD5")
            exchange = self.exchange
            frame = Frame(
                exchange.next_tid(), NODE_PROFILE, NODE_PROFILE, Esv.INF_REQ, (Property(0xD5),)
            )
            try:
                await exchange.send_frame(frame)
            except (SendError, SessionError) as exc:
                _LOGGER.info("INF_REQ 0xD5 not sent: %s", exc)
        version = profile.standard_version
        _LOGGER.info(
            "meter ready: release %s, coefficient %d, unit %s kWh, %s digits",
            version.release if version else "?",
            profile.coefficient,
            profile.unit,
            profile.digits if profile.digits is not None else "?",
        )
        return fresh

    async def _read_coefficient(self) -> bytes | None:
        """Read 0xD3 alone: it is in the Get map but was dropped or malformed in the batch.

        Returns its EDT, or None when the meter refused it (the profile refuses to guess).
        """
        edt = (await self.get_edts((0xD3,), limit_to_map=False, gate=False)).get(0xD3)
        if edt is None:
            return None
        try:
            P.COEFFICIENT.decode(edt)
        except PropertyDecodeError as exc:
            raise MeterError(
                f"the meter sent a malformed coefficient (0xD3): {exc.reason}; "
                "energy cannot be scaled",
                epc=0xD3,
                stage="connect",
            ) from exc
        return edt

    async def ensure_clock(self) -> None:
        """Learn the meter's clock (0x97/0x98) when it is unknown (after a reconnect)."""
        if not self.profile.clock_known:
            await self.read_clock(gate=True)

    async def read_clock(self, *, gate: bool) -> None:
        """Measure the meter's clock offset with one Get of 0x98 and 0x97."""
        if not {0x97, 0x98} <= self.profile.get_map:
            return
        edts = await self.get_edts((0x98, 0x97), gate=gate)
        self.profile.set_clock(decoded(P.CURRENT_DATE, edts), decoded(P.CURRENT_TIME, edts))

    # ------------------------------------------------------------------ writes and histories

    async def set_value(self, epc: int, value: object) -> None:
        """Encode ``value`` with the property's codec and write it (SetC).

        Raises:
            InvalidArgumentError: no codec, or the value cannot be encoded.
            ServiceNotAvailableError: not in the Set map, or the meter refused.
        """
        codec = codec_for(SMART_METER.class_id, check_epc(epc))
        if codec is None:
            raise InvalidArgumentError(f"no codec for property 0x{epc:02X}; cannot encode")
        set_map = self.profile.set_map
        if set_map and epc not in set_map:
            raise ServiceNotAvailableError(
                f"property 0x{epc:02X} is not in the meter's Set map", epc=epc, stage="set"
            )
        edt = codec.encode(value)
        if epc in _HISTORY_SELECTORS:  # not in the middle of a history read
            async with self.history_lock:
                await self.set_edt(epc, edt)
        else:
            await self.set_edt(epc, edt)

    async def day_history(self, day: int, *, reverse: bool) -> list[TimedEnergy]:
        """Historical data 1 of ``day`` days ago: 0xE5 set, then 0xE2 (0xE4) read."""
        codec = P.HISTORY_1_REVERSE if reverse else P.HISTORY_1_NORMAL
        profile = self.profile
        await self.ensure_clock()
        for _ in range(2):
            today = profile.meter_now().date()
            async with self.history_lock:
                await self.set_edt(0xE5, P.HISTORY_1_DAY.encode(day))
                value = await self.get_value(codec)
            if profile.meter_now().date() == today:
                break
            # The meter's midnight passed between the request and the answer: "day"
            # may now mean another date. Ask again.
            _LOGGER.info("midnight passed while reading history; reading it again")
        if value.day is not None and value.day != day:
            raise MeterError(
                f"asked for day {day} but the meter answered day {value.day}", epc=codec.epc
            )
        return profile.day_entries(value, day=day, today=today)

    async def interval(
        self,
        target: PropertyCodec[HistoryTarget],
        codec: PropertyCodec[IntervalHistory],
        end: dt.datetime,
        count: int,
        step: dt.timedelta,
    ) -> list[IntervalEnergy]:
        """Historical data 2 or 3: the target set (0xED/0xEF), then 0xEC/0xEE read."""
        async with self.history_lock:
            await self.set_edt(target.epc, target.encode(HistoryTarget(end, count)))
            value = await self.get_value(codec)
        if value.newest_at != end.replace(second=0, microsecond=0):
            raise MeterError(
                f"asked for history ending {end:%Y-%m-%d %H:%M} but the meter answered "
                f"{value.newest_at or 'no time'}",
                epc=codec.epc,
            )
        return self.profile.interval_entries(value, step)

    async def info_values(self, *, ipaddr: str) -> MeterInfo:
        """The identification properties, with the profile's attributes."""
        edts = await self.get_edts((0x80, 0x81, 0x88, 0x8A, 0x8D))
        fault = decoded(P.FAULT_STATUS, edts)
        profile = self.profile
        return MeterInfo(
            manufacturer_code=decoded(P.MANUFACTURER_CODE, edts),
            serial_number=decoded(P.PRODUCTION_NUMBER, edts),
            standard_version=profile.standard_version,
            installation_location=decoded(P.INSTALLATION_LOCATION, edts),
            fault=None if fault is None else fault is FaultStatus.FAULT,
            operation_status=decoded(P.OPERATION_STATUS, edts),
            announcement_map=profile.announcement_map,
            set_map=profile.set_map,
            get_map=profile.get_map,
            coefficient=profile.coefficient,
            unit_kwh=profile.unit,
            digits=profile.digits,
            ipaddr=ipaddr,
            instances=self.instances,
        )
