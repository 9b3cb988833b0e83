"""Type-checked only (mypy --strict tests/typing): the public API as users write it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from aiobroute import (
    ConnectionState,
    InstantCurrent,
    IntervalEnergy,
    MeterInfo,
    Notification,
    ReconnectPolicy,
    SmartMeter,
    TimedEnergy,
    UsageError,
)
from aiobroute.echonet import Frame, MeterProperties
from aiobroute.errors import CommandError
from aiobroute.j11.client import J11Timeouts
from aiobroute.j11.link import J11Link
from aiobroute.link import MeterLink, MeterPan, ModuleIdentity, ProbeTimings
from aiobroute.skstack import LineParser, Message, SkStackLink
from aiobroute.transport import ByteStream


async def usage() -> None:
    async with SmartMeter(
        "/dev/ttyUSB0",
        rbid="00112233445566778899AABBCCDDEEFF",
        password="0123456789AB",
        cache_path="pan.json",
        reconnect=ReconnectPolicy(cap=60.0, local_cap=2.0),
    ) as meter:
        watts: int | None = await meter.instant_power()
        current: InstantCurrent = await meter.instant_current()
        amps: Decimal | None = current.r_amperes
        kwh: Decimal | None = await meter.cumulative_energy(reverse=True)
        fixed: TimedEnergy = await meter.fixed_time_energy()
        stamp: dt.datetime = fixed.timestamp
        day: list[TimedEnergy] = await meter.history(day=1)
        usage: list[Decimal | None] = meter.usage(day)
        recent: list[IntervalEnergy] = await meter.history_30min(stamp, count=12)
        values: dict[int, object] = await meter.get(0xE7, 0xE8)
        await meter.set(0xE5, 3)
        info: MeterInfo = await meter.info()
        state: ConnectionState = meter.state
        link: MeterLink | None = meter.link
        remembered: MeterPan | None = meter.meter_pan
        meter.retries = 3
        del link, remembered
        async for note in meter.notifications():
            received: Notification = note
            del received
            break
        del watts, amps, kwh, usage, recent, values, info, state
        try:
            await meter.instant_power()
        except UsageError as exc:
            misuse: RuntimeError = exc
            del misuse
        except CommandError as exc:
            transient: bool = exc.transient
            del transient


def codecs() -> None:
    frame: Frame = Frame.decode(bytes.fromhex("1081000102880105FF017201E7040000011C"))
    power: int | None = MeterProperties.INSTANT_POWER.decode(frame.properties[0].edt)
    messages: list[Message] = LineParser().feed(b"OK\r\n")
    del power, messages


def links(stream: ByteStream) -> None:
    link: MeterLink = SkStackLink(stream)
    j11: MeterLink = J11Link(stream, timeouts=J11Timeouts(join=60.0))
    del link, j11


async def j11_dongle() -> None:
    async with SmartMeter(
        "/dev/ttyUSB0",
        rbid="00112233445566778899AABBCCDDEEFF",
        password="0123456789AB",
        model="rs_wsuha_j11",
        j11_timeouts=J11Timeouts(join=60.0),
        probe_timings=ProbeTimings(listen=0.5),
    ) as meter:
        airtime: int | None = await meter.transmit_time_ms()
        link: MeterLink | None = meter.link
        identity: ModuleIdentity | None = link.identity if link is not None else None
        del airtime, identity
