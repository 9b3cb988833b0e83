"""SKSTACK IP layer: the sans-I/O line parser, its typed messages and the async client."""

from __future__ import annotations

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

if TYPE_CHECKING:
    from aiobroute.skstack._link import SkStackLink

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
    "RegisterValue",
    "RxUdp",
    "SkStackLink",
    "Unrecognized",
    "Version",
]

if not TYPE_CHECKING:  # hidden from type checkers, which see the import above

    def __getattr__(name: str) -> Any:
        """SkStackLink on first use: the sans-I/O parser must not pull asyncio in (PEP 562)."""
        if name != "SkStackLink":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = importlib.import_module("aiobroute.skstack._link").SkStackLink
        globals()[name] = value
        return value
