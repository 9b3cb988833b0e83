"""Typed results of the meter API: frozen, slotted, units in the field names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

import attrs

from aiobroute.echonet import Eoj, Esv
from aiobroute.echonet.properties import (
    InstallationLocation,
    OperationStatus,
    StandardVersion,
)

__all__ = [
    "InstantCurrent",
    "IntervalEnergy",
    "MeterInfo",
    "Notification",
    "TimedEnergy",
]


@attrs.frozen
class InstantCurrent:
    """Instantaneous currents (EPC 0xE8) in amperes, 0.1 A resolution.

    Attributes:
        r_amperes: R phase; None when the meter has no data.
        t_amperes: T phase; None when the meter has no data (always on single-phase
            two-wire service).
    """

    r_amperes: Decimal | None
    t_amperes: Decimal | None


@attrs.frozen
class TimedEnergy:
    """A cumulative energy reading at a point in time.

    Attributes:
        timestamp: when the meter took it (timezone-aware, Japan time).
        kwh: the cumulative energy in kWh (raw x coefficient x unit), None for no data.
        raw: the raw counter as sent by the meter (wraps at 10**digits), None for no data.
    """

    timestamp: dt.datetime
    kwh: Decimal | None
    raw: int | None = None


@attrs.frozen
class IntervalEnergy:
    """Cumulative energy of both directions at one point in time (EPC 0xEC, 0xEE, 0xD0).

    Attributes:
        timestamp: when the meter took it (timezone-aware, Japan time).
        normal_kwh: cumulative energy bought from the grid, None for no data.
        reverse_kwh: cumulative energy sold to the grid, None for no data.
    """

    timestamp: dt.datetime
    normal_kwh: Decimal | None
    reverse_kwh: Decimal | None


@attrs.frozen
class MeterInfo:
    """What the meter says about itself (EPCs 0x80-0x9F, 0xD3, 0xD7, 0xE1).

    Attributes are None when the meter does not implement the property.
    """

    manufacturer_code: int | None
    serial_number: str | None
    standard_version: StandardVersion | None
    installation_location: InstallationLocation | None
    fault: bool | None
    operation_status: OperationStatus | None
    announcement_map: frozenset[int]
    set_map: frozenset[int]
    get_map: frozenset[int]
    coefficient: int
    unit_kwh: Decimal
    digits: int | None
    ipaddr: str
    instances: tuple[Eoj, ...] = ()

    @property
    def release(self) -> str | None:
        """The ECHONET Appendix release letter (``"F"``, ``"R"``...)."""
        return self.standard_version.release if self.standard_version else None


@attrs.frozen
class Notification:
    """A frame the meter sent on its own (INF/INFC): the 30-minute EA/EB push, the
    startup instance list (D5), status-change announcements (80, 81, 88).

    Attributes:
        esv: ``Esv.INF`` or ``Esv.INFC`` (answered automatically with INFC_Res).
        eoj: the object that sent it (the meter ``028801`` or its node profile ``0EF001``).
        values: EPC -> decoded value, with the same types as :meth:`SmartMeter.get`
            (EA/EB as :class:`TimedEnergy`).
        received_at: when it arrived (host clock, Japan time).
    """

    esv: Esv
    eoj: Eoj
    values: Mapping[int, object]
    received_at: dt.datetime
