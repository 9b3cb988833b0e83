"""Typed results of the meter API: immutable, slotted, units in the field names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from aiobroute._frozen import Frozen
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


class InstantCurrent(Frozen):
    """Instantaneous currents (EPC 0xE8) in amperes, 0.1 A resolution.

    Attributes:
        r_amperes: R phase; None when the meter has no data.
        t_amperes: T phase; None when the meter has no data (always on single-phase
            two-wire service).
    """

    __slots__ = ("r_amperes", "t_amperes")
    r_amperes: Decimal | None
    t_amperes: Decimal | None

    def __init__(self, r_amperes: Decimal | None, t_amperes: Decimal | None) -> None:
        self._set("r_amperes", r_amperes)
        self._set("t_amperes", t_amperes)


class TimedEnergy(Frozen):
    """A cumulative energy reading at a point in time.

    Attributes:
        timestamp: when the meter took it (timezone-aware, Japan time).
        kwh: the cumulative energy in kWh (raw x coefficient x unit), None for no data.
        raw: the raw counter as sent by the meter (wraps at 10**digits), None for no data.
    """

    __slots__ = ("kwh", "raw", "timestamp")
    timestamp: dt.datetime
    kwh: Decimal | None
    raw: int | None

    def __init__(
        self,
        timestamp: dt.datetime,
        kwh: Decimal | None,
        raw: int | None = None,
    ) -> None:
        self._set("timestamp", timestamp)
        self._set("kwh", kwh)
        self._set("raw", raw)


class IntervalEnergy(Frozen):
    """Cumulative energy of both directions at one point in time (EPC 0xEC, 0xEE, 0xD0).

    Attributes:
        timestamp: when the meter took it (timezone-aware, Japan time).
        normal_kwh: cumulative energy bought from the grid, None for no data.
        reverse_kwh: cumulative energy sold to the grid, None for no data.
    """

    __slots__ = ("normal_kwh", "reverse_kwh", "timestamp")
    timestamp: dt.datetime
    normal_kwh: Decimal | None
    reverse_kwh: Decimal | None

    def __init__(
        self,
        timestamp: dt.datetime,
        normal_kwh: Decimal | None,
        reverse_kwh: Decimal | None,
    ) -> None:
        self._set("timestamp", timestamp)
        self._set("normal_kwh", normal_kwh)
        self._set("reverse_kwh", reverse_kwh)


class MeterInfo(Frozen):
    """What the meter says about itself (EPCs 0x80-0x9F, 0xD3, 0xD7, 0xE1).

    Attributes are None when the meter does not implement the property.
    """

    __slots__ = (
        "announcement_map",
        "coefficient",
        "digits",
        "fault",
        "get_map",
        "installation_location",
        "instances",
        "ipaddr",
        "manufacturer_code",
        "operation_status",
        "serial_number",
        "set_map",
        "standard_version",
        "unit_kwh",
    )
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
    instances: tuple[Eoj, ...]

    def __init__(  # noqa: PLR0917 - positional as before, in the fields' order
        self,
        manufacturer_code: int | None,
        serial_number: str | None,
        standard_version: StandardVersion | None,
        installation_location: InstallationLocation | None,
        fault: bool | None,
        operation_status: OperationStatus | None,
        announcement_map: frozenset[int],
        set_map: frozenset[int],
        get_map: frozenset[int],
        coefficient: int,
        unit_kwh: Decimal,
        digits: int | None,
        ipaddr: str,
        instances: tuple[Eoj, ...] = (),
    ) -> None:
        self._set("manufacturer_code", manufacturer_code)
        self._set("serial_number", serial_number)
        self._set("standard_version", standard_version)
        self._set("installation_location", installation_location)
        self._set("fault", fault)
        self._set("operation_status", operation_status)
        self._set("announcement_map", announcement_map)
        self._set("set_map", set_map)
        self._set("get_map", get_map)
        self._set("coefficient", coefficient)
        self._set("unit_kwh", unit_kwh)
        self._set("digits", digits)
        self._set("ipaddr", ipaddr)
        self._set("instances", instances)

    @property
    def release(self) -> str | None:
        """The ECHONET Appendix release letter (``"F"``, ``"R"``...)."""
        return self.standard_version.release if self.standard_version else None


class Notification(Frozen):
    """A frame the meter sent on its own (INF/INFC): the 30-minute EA/EB push, the
    startup instance list (D5), status-change announcements (80, 81, 88).

    Attributes:
        esv: ``Esv.INF`` or ``Esv.INFC`` (answered automatically with INFC_Res).
        eoj: the object that sent it (the meter ``028801`` or its node profile ``0EF001``).
        values: EPC -> decoded value, with the same types as :meth:`SmartMeter.get`
            (EA/EB as :class:`TimedEnergy`).
        received_at: when it arrived (host clock, Japan time).
    """

    __slots__ = ("eoj", "esv", "received_at", "values")
    esv: Esv
    eoj: Eoj
    values: Mapping[int, object]
    received_at: dt.datetime

    def __init__(
        self,
        esv: Esv,
        eoj: Eoj,
        values: Mapping[int, object],
        received_at: dt.datetime,
    ) -> None:
        self._set("esv", esv)
        self._set("eoj", eoj)
        self._set("values", values)
        self._set("received_at", received_at)
