"""The one column naming scheme and CSV dialect of every aiobroute output.

Shared by the command line (``read``, ``watch``, ``history``, ``export``), the examples and
the recorder, so files written by any of them line up:

- Instantaneous rows (``watch``) are stamped with ``time``: when the reading was taken, ISO
  8601 with the Japan offset (``2026-11-29T12:30:05+09:00``).
- Half-hourly rows (``history``, ``export``) are stamped with ``slot_start``: the start of
  the half hour ``[slot_start, slot_start + 30 min)``. ``bought_kwh`` / ``sold_kwh`` are the
  cumulative counters at the **end** of that slot (the meter's reading at
  ``slot_start + 30 min``), and ``bought_usage_kwh`` / ``sold_usage_kwh`` the energy within
  the slot (rollover-aware). Hourly rows follow the same rule with one-hour slots. This is
  also how Home Assistant's long-term statistics read a row (``start``, then the state at
  the end of the period).
- An empty cell means "no data" (the meter's sentinel, or a gap).
- CSV uses LF line endings, a header row, and ``.`` decimals written exactly (no rounding).
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from _csv import Writer

__all__ = [
    "BOUGHT_KWH",
    "BOUGHT_USAGE_KWH",
    "CURRENT_R_A",
    "CURRENT_T_A",
    "HISTORY_COLUMNS",
    "POWER_W",
    "SLOT_START",
    "SOLD_KWH",
    "SOLD_USAGE_KWH",
    "TIME",
    "WATCH_COLUMNS",
    "csv_writer",
]

#: When an instantaneous reading was taken (ISO 8601, +09:00).
TIME = "time"
#: The start of a half-hour (or hour) slot (ISO 8601, +09:00).
SLOT_START = "slot_start"
#: Instantaneous power in watts (0xE7); negative while exporting.
POWER_W = "power_w"
#: Instantaneous current of the R and T phases in amperes (0xE8); T is empty on two-wire meters.
CURRENT_R_A = "current_r_a"
CURRENT_T_A = "current_t_a"
#: Cumulative energy bought (normal direction, 0xE0/0xE2/0xEA) and sold (reverse, 0xE3/0xE4/0xEB).
BOUGHT_KWH = "bought_kwh"
SOLD_KWH = "sold_kwh"
#: Energy bought and sold within the slot.
BOUGHT_USAGE_KWH = "bought_usage_kwh"
SOLD_USAGE_KWH = "sold_usage_kwh"

#: The columns of ``watch`` (and of the watch examples).
WATCH_COLUMNS = (TIME, POWER_W, CURRENT_R_A, CURRENT_T_A, BOUGHT_KWH, SOLD_KWH)
#: The columns of half-hourly and hourly rows (``history``, ``export``, the backfill example).
HISTORY_COLUMNS = (SLOT_START, BOUGHT_KWH, SOLD_KWH, BOUGHT_USAGE_KWH, SOLD_USAGE_KWH)


def csv_writer(stream: TextIO) -> Writer:
    """A CSV writer with the project's dialect: comma separated, minimal quoting, LF endings.

    Open files with ``newline=""`` so the line ending is written as given.
    """
    return csv.writer(stream, lineterminator="\n")
