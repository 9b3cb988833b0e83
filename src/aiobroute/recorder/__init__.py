"""A half-hourly record that survives outages: a SQLite store and a recorder.

::

    from aiobroute import SmartMeter
    from aiobroute.recorder import Recorder, RecordStore

    async with (
        SmartMeter("/dev/ttyUSB0", rbid=..., password=...) as meter,
        RecordStore.open("energy.db") as store,
    ):
        await Recorder(meter, store, interval=60).run()   # until cancelled

The store keeps every half-hour reading (cumulative kWh bought and sold, exact decimals)
keyed by the meter's identity and the instant on the meter's clock, the source of each
value, optional instantaneous samples and the meter's scaling. The recorder fills gaps
from the meter's own history at start, after each reconnect and after midnight. The
functions :func:`usage_rows`, :func:`statistic_rows` and :func:`find_gaps` turn stored
readings into export rows (``aiobroute export`` uses them).
"""

from __future__ import annotations

from aiobroute.recorder._files import APPLICATION_ID, RecordDatabaseError, check_database_path
from aiobroute.recorder._model import (
    MeterAttributes,
    MeterRecord,
    PutResult,
    Reading,
    Sample,
    SlotValue,
    Source,
)
from aiobroute.recorder._recorder import Recorder
from aiobroute.recorder._rows import (
    Gap,
    GapReason,
    StatisticRow,
    UsageRow,
    find_gaps,
    statistic_rows,
    usage_rows,
)
from aiobroute.recorder._schema import SCHEMA_VERSION
from aiobroute.recorder._status import BackfillReport, MeterClock, RecorderStatus, meter_key
from aiobroute.recorder._store import RecordStore

__all__ = [
    "APPLICATION_ID",
    "SCHEMA_VERSION",
    "BackfillReport",
    "Gap",
    "GapReason",
    "MeterAttributes",
    "MeterClock",
    "MeterRecord",
    "PutResult",
    "Reading",
    "RecordDatabaseError",
    "RecordStore",
    "Recorder",
    "RecorderStatus",
    "Sample",
    "SlotValue",
    "Source",
    "StatisticRow",
    "UsageRow",
    "check_database_path",
    "find_gaps",
    "meter_key",
    "statistic_rows",
    "usage_rows",
]
