"""SKSTACK IP layer: the sans-I/O line parser, its typed messages and the async client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


if TYPE_CHECKING:
    from aiobroute.skstack._link import SkStackLink


def __getattr__(name: str) -> Any:
    # SkStackLink needs the async client and the transports: loaded on first use, so the
    # sans-I/O parser (aiobroute.skstack._parser) loads no asyncio through this package.
    if name == "SkStackLink":
        return importlib.import_module("aiobroute.skstack._link").SkStackLink
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
