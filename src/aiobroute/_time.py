"""Japan time: the smart meters' wall clock."""

from __future__ import annotations

import datetime as dt

__all__ = ["JST", "now_jst"]

#: Japan Standard Time (the zone Asia/Tokyo), UTC+09:00. Japan has not used daylight
#: saving time since 1951, so a fixed offset is exact for every date a meter reports,
#: and it needs no time-zone database (``zoneinfo`` would load ``sysconfig`` and read
#: tzdata files at import).
JST = dt.timezone(dt.timedelta(hours=9), "JST")


def now_jst() -> dt.datetime:
    """The current time in Japan, timezone-aware."""
    return dt.datetime.now(JST)
