"""``aiobroute scan``: list the PANs (meters) in range, without pairing ID or join."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from aiobroute._dialects import DialectChoice, start_link
from aiobroute.cli import (
    EXIT_ERROR,
    EXIT_NO_PAN,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    _choice,
    _progress,
    _progress_done,
    _simulator,
)
from aiobroute.j11.link import J11Link
from aiobroute.link import DIALECT_SKSTACK, MeterLink, MeterPan
from aiobroute.skstack import SkStackLink
from aiobroute.transport import open_port

__all__ = ["run"]


async def run(args: argparse.Namespace, out: TextIO) -> int:
    choice = _choice(args.model)
    async with contextlib.AsyncExitStack() as stack:
        if args.simulate:
            stream, _, _ = await stack.enter_async_context(_simulator(args))
            choice = DialectChoice(args.sim_dialect)
        else:
            if not args.port:
                raise CliError(
                    "no port: pass --port /dev/ttyUSB0 (or set AIOBROUTE_PORT)", EXIT_USAGE
                )
            stream = await open_port(args.port)
        link = await start_link(stream, choice=choice)
        stack.push_async_callback(link.close)
        started = time.monotonic()
        ticker = asyncio.create_task(_tick(started))
        try:
            pans = await _scan_pans(link)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        _progress_done(f"scan finished in {time.monotonic() - started:.1f} s")
    _print_pans(pans, out)
    if not pans:
        print(
            "no PAN found: move the dongle closer to the meter, check the B-route activation",
            file=sys.stderr,
        )
    return EXIT_OK if pans else EXIT_NO_PAN


async def _tick(started: float) -> None:
    while True:
        _progress(f"scanning... {time.monotonic() - started:5.1f} s")
        await asyncio.sleep(0.5)


async def _scan_pans(link: MeterLink) -> list[MeterPan]:
    """Every PAN in range, through the link's dialect (no pairing ID, no join)."""
    if isinstance(link, J11Link):
        return await link.scan(durations=(4, 5, 6))
    if not isinstance(link, SkStackLink):
        raise CliError(f"cannot scan with a {link.dialect} module", EXIT_ERROR)
    found = await link.client.scan(stop_when_found=False, durations=(4, 5, 6))
    return [
        MeterPan(
            dialect=link.dialect,
            channel=pan.channel,
            pan_id=pan.pan_id,
            mac=pan.addr,
            pair_id=pan.pair_id,
            lqi=pan.lqi,
            rssi_dbm=pan.rssi_dbm,
        )
        for pan in found
    ]


def _print_pans(pans: Sequence[MeterPan], out: TextIO) -> None:
    """One row per PAN, strongest first (channels in the dialect's numbering)."""
    out.write("channel  pan_id  mac               lqi  rssi_dbm  pair_id\n")
    for pan in sorted(pans, key=lambda p: p.rssi_dbm or -999.0, reverse=True):
        channel = f"{pan.channel:02X}" if pan.dialect == DIALECT_SKSTACK else f"{pan.channel:d}"
        lqi = "  -" if pan.lqi is None else f"{pan.lqi:3d}"
        rssi = "       -" if pan.rssi_dbm is None else f"{pan.rssi_dbm:8.1f}"
        out.write(
            f"{channel:<9}{pan.pan_id:04X}    {pan.mac}  {lqi}  {rssi}  {pan.pair_id or '-'}\n"
        )
