"""``aiobroute info``: the module's and the meter's identity and property maps."""

from __future__ import annotations

import argparse
from typing import TextIO

from aiobroute.cli import EXIT_OK, _meter
from aiobroute.echonet import manufacturer_name

__all__ = ["run"]


async def run(args: argparse.Namespace, out: TextIO) -> int:
    async with _meter(args) as meter:
        info = await meter.info()
        link = meter.link
        module = link.identity if link is not None else None
    rows: list[tuple[str, object]] = []
    if module is not None:
        rows += [
            ("module family", module.family),
            ("module version", module.version or "-"),
            ("module app version", module.app_version or "-"),
        ]
    rows += [
        ("meter address", info.ipaddr),
        ("manufacturer", _maker(info.manufacturer_code)),
        ("serial number", info.serial_number or "-"),
        ("release", info.release or "-"),
        ("fault", {True: "fault", False: "no fault", None: "-"}[info.fault]),
        ("coefficient", info.coefficient),
        ("unit", f"{info.unit_kwh} kWh"),
        ("effective digits", info.digits if info.digits is not None else "-"),
        ("get map", " ".join(f"{e:02X}" for e in sorted(info.get_map))),
        ("set map", " ".join(f"{e:02X}" for e in sorted(info.set_map))),
        ("announce map", " ".join(f"{e:02X}" for e in sorted(info.announcement_map))),
    ]
    width = max(len(name) for name, _ in rows)
    out.write("\n".join(f"{name:<{width}}  {value}" for name, value in rows) + "\n")
    return EXIT_OK


def _maker(code: int | None) -> str:
    """``Toshiba (000016)``; an unknown code as hex alone; ``-`` when the meter did not say."""
    if code is None:
        return "-"
    name = manufacturer_name(code)
    return name if name == f"{code:06X}" else f"{name} ({code:06X})"
