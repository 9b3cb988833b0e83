"""Japan time: the smart meters' wall clock."""

from __future__ import annotations

import datetime as dt

__all__ = ["JST", "now_jst"]


def _japan() -> dt.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Asia/Tokyo")
    except (ImportError, KeyError, ValueError):  # pragma: no cover - platforms without tzdata
        # Japan has not used daylight saving time since 1951: a fixed offset is exact.
        return dt.timezone(dt.timedelta(hours=9), "JST")


#: Japan Standard Time (Asia/Tokyo).
JST = _japan()


def now_jst() -> dt.datetime:
    """The current time in Japan, timezone-aware."""
    return dt.datetime.now(JST)
