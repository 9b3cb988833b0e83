"""SKSTACK IP layer: the sans-I/O line parser, its typed messages and the async client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiobroute._lazy import lazy_dir, lazy_getattr
from aiobroute.skstack._dialect import ModuleFamily

if TYPE_CHECKING:
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


#: Public names imported on first use, and the module that defines each: importing a
#: submodule (``ModuleFamily`` for the meter, the sans-I/O parser for a test) loads
#: neither the messages nor the client. SkStackLink also needs the async client and the
#: transports, so the sans-I/O parser loads no asyncio through this package.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
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
            "Message",
            "NeighborTable",
            "Ok",
            "PanDescriptor",
            "Pong",
            "PortTable",
            "RegisterValue",
            "RxUdp",
            "Unrecognized",
            "Version",
        ),
        "aiobroute.skstack._events",
    ),
    "LineParser": "aiobroute.skstack._parser",
    "Register": "aiobroute.skstack._registers",
    "SkStackLink": "aiobroute.skstack._link",
}


if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above
    __getattr__ = lazy_getattr(__name__, globals(), _LAZY)

__dir__ = lazy_dir(globals(), __all__)
