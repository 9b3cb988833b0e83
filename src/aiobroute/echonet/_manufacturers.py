"""Names of well-known ECHONET Lite manufacturer codes (property 0x8A).

A small excerpt of the ECHONET Consortium's manufacturer code list: the makers of smart
meters, the grid companies, and the makers of the B-route dongles and controllers a
household is likely to meet. Codes not listed here are shown as six hex digits.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["MANUFACTURERS", "manufacturer_name"]

#: Manufacturer code -> name, for the well-known codes only.
MANUFACTURERS: Mapping[int, str] = MappingProxyType(
    {
        0x000001: "Hitachi",
        0x000005: "Sharp",
        0x000006: "Mitsubishi Electric",
        0x000008: "Daikin Industries",
        0x000009: "NEC",
        0x00000B: "Panasonic",
        0x000016: "Toshiba",
        0x00002E: "Shikoku Instrumentation",
        0x000035: "Toshiba Toko Meter Systems",
        0x00003B: "Kyocera",
        0x000041: "Enegate",
        0x000052: "Osaki Electric",
        0x000084: "ROHM",
        0x00008C: "Kyuden Technosystems",
        0x000099: "Tokyo Electric Power Company Holdings",
        0x00009A: "The Kansai Electric Power Company",
        0x0000A3: "Chubu Electric Power Company",
        0x0000AE: "Shikoku Electric Power Company",
        0x0000B5: "The Chugoku Electric Power Company",
        0x0000B8: "Hokkaido Electric Power Company",
        0x0000BB: "Hokuriku Electric Power Company",
        0x0000BC: "Tohoku Electric Power Company",
        0x0000BF: "Kyushu Electric Power Company",
        0x0000C2: "Tohoku Electric Meter Industry",
        0x0000CB: "Fuji Electric",
        0x0000EE: "Tessera Technology",
    }
)


def manufacturer_name(code: int | None) -> str:
    """The maker's name for a manufacturer code, else the code as six hex digits.

    ``None`` (the meter did not say) gives ``"unknown"``::

        >>> manufacturer_name(0x000016)
        'Toshiba'
        >>> manufacturer_name(0x123456)
        '123456'
    """
    if code is None:
        return "unknown"
    return MANUFACTURERS.get(code, f"{code:06X}")
