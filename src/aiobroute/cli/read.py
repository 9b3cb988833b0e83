"""``aiobroute read``: print one snapshot of the readings (a table or JSON)."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import TextIO

from aiobroute import columns
from aiobroute.cli import EXIT_OK, _json_default, _meter, _stamp
from aiobroute.cli._service import reading_row
from aiobroute.models import TimedEnergy

__all__ = ["run"]


#: What ``read`` asks for (one frame): power, currents, both counters, both fixed-time.
_SNAPSHOT_EPCS = (0xE7, 0xE8, 0xE0, 0xE3, 0xEA, 0xEB)


def _fmt_kwh(value: Decimal | None) -> str:
    return "no data" if value is None else f"{value} kWh"


def _fmt_amps(value: Decimal | None) -> str:
    return "-" if value is None else f"{value} A"


#: Keys of the fixed-time readings in ``read`` (0xEA bought, 0xEB sold): when and how much.
_FIXED_KEYS = ("fixed_bought_at", "fixed_bought_kwh", "fixed_sold_at", "fixed_sold_kwh")


def _snapshot(values: dict[int, object], when: str) -> dict[str, object]:
    """Readings keyed by :mod:`aiobroute.columns` names; None where the meter had no data."""
    snapshot = reading_row(values, when)
    if 0xEA in values or 0xEB in values:
        for epc, (at_key, kwh_key) in ((0xEA, _FIXED_KEYS[:2]), (0xEB, _FIXED_KEYS[2:])):
            fixed = values.get(epc)
            timed = fixed if isinstance(fixed, TimedEnergy) else None
            snapshot[at_key] = timed.timestamp.isoformat() if timed else None
            snapshot[kwh_key] = timed.kwh if timed else None
    return snapshot


def _table(snapshot: dict[str, object]) -> str:
    def kwh(key: str) -> str:
        value = snapshot.get(key)
        return _fmt_kwh(value if isinstance(value, Decimal) else None)

    def amps(key: str) -> str:
        value = snapshot.get(key)
        return _fmt_amps(value if isinstance(value, Decimal) else None)

    def at(key: str) -> str:
        stamp = snapshot.get(key)
        return f" at {stamp}" if stamp else ""

    power = snapshot[columns.POWER_W]
    rows = [
        ("instantaneous power", "no data" if power is None else f"{power} W"),
        ("current R / T", f"{amps(columns.CURRENT_R_A)} / {amps(columns.CURRENT_T_A)}"),
        ("cumulative bought", kwh(columns.BOUGHT_KWH)),
        ("cumulative sold", kwh(columns.SOLD_KWH)),
    ]
    if "fixed_bought_at" in snapshot:
        rows += [
            ("fixed-time bought", kwh("fixed_bought_kwh") + at("fixed_bought_at")),
            ("fixed-time sold", kwh("fixed_sold_kwh") + at("fixed_sold_at")),
        ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


async def run(args: argparse.Namespace, out: TextIO) -> int:
    async with _meter(args) as meter:
        snapshot = _snapshot(await meter.get(*_SNAPSHOT_EPCS), _stamp(args, meter))
    if args.format == "json":
        out.write(json.dumps(snapshot, default=_json_default) + "\n")
    else:
        out.write(_table(snapshot) + "\n")
    return EXIT_OK
