"""SKSTACK IP layer: the sans-I/O line parser, its typed messages and the async client."""

from __future__ import annotations

from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    EventNum,
    Fail,
    Info,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    Pong,
    PortTable,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)
from aiobroute.skstack._link import SkStackLink
from aiobroute.skstack._parser import LineParser
from aiobroute.skstack._registers import Register

__all__ = [
    "AddressLine",
    "AddressTable",
    "AppVersion",
    "Echo",
    "EdScan",
    "ErrorCode",
    "Event",
    "EventNum",
    "Fail",
    "Info",
    "LineParser",
    "Message",
    "ModuleFamily",
    "NeighborTable",
    "Ok",
    "PanDescriptor",
    "Pong",
    "PortTable",
    "Register",
    "RegisterValue",
    "RxUdp",
    "SkStackLink",
    "Unrecognized",
    "Version",
]
