"""aiobroute: asyncio client for Japanese smart electricity meters over the Wi-SUN B route.

Importing the package is cheap: the exceptions and the version are defined at once, every
other public name (:class:`SmartMeter` and its settings, the result models, the SKSTACK
client, :func:`open_port`) is imported from its module on first use. pyserial is
imported only when a serial device is opened; the command line and the simulator
(``aiobroute.testing``) only when they are imported themselves.
"""

from __future__ import annotations

from aiobroute import errors
from aiobroute._lazy import lazy_dir, lazy_getattr
from aiobroute._version import __version__
from aiobroute.errors import (
    AiobrouteError,
    AiobrouteTimeoutError,
    AuthenticationError,
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    FrameDecodeError,
    InvalidArgumentError,
    JoinError,
    JoinTimeoutError,
    MeterError,
    PortClosedError,
    PropertyDecodeError,
    ProtocolError,
    ReconnectingError,
    ResponseTimeoutError,
    ScanError,
    ScanTimeoutError,
    SendError,
    ServiceNotAvailableError,
    SessionError,
    TransmitLimitError,
    TransportError,
    UsageError,
)

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (``import aiobroute`` stays cheap).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from aiobroute.meter import MeterTimeouts, SmartMeter
    from aiobroute.models import (
        InstantCurrent,
        IntervalEnergy,
        MeterInfo,
        Notification,
        TimedEnergy,
    )
    from aiobroute.skstack import ModuleFamily, PanDescriptor
    from aiobroute.skstack.client import SkStackClient, SkTimeouts
    from aiobroute.supervisor import ConnectionState, ReconnectPolicy, WatchdogSettings
    from aiobroute.transport import open_port

#: Public names imported on first use, and the module that defines each.
_LAZY: dict[str, str] = {
    "ConnectionState": "aiobroute.supervisor",
    "InstantCurrent": "aiobroute.models",
    "IntervalEnergy": "aiobroute.models",
    "MeterInfo": "aiobroute.models",
    "MeterTimeouts": "aiobroute.meter",
    "ModuleFamily": "aiobroute.skstack",
    "Notification": "aiobroute.models",
    "PanDescriptor": "aiobroute.skstack",
    "ReconnectPolicy": "aiobroute.supervisor",
    "SkStackClient": "aiobroute.skstack.client",
    "SkTimeouts": "aiobroute.skstack.client",
    "SmartMeter": "aiobroute.meter",
    "TimedEnergy": "aiobroute.models",
    "WatchdogSettings": "aiobroute.supervisor",
    "open_port": "aiobroute.transport",
}

__all__ = [
    "AiobrouteError",
    "AiobrouteTimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "CommandError",
    "CommandTimeoutError",
    "ConnectionState",
    "FrameDecodeError",
    "InstantCurrent",
    "IntervalEnergy",
    "InvalidArgumentError",
    "JoinError",
    "JoinTimeoutError",
    "MeterError",
    "MeterInfo",
    "MeterTimeouts",
    "ModuleFamily",
    "Notification",
    "PanDescriptor",
    "PortClosedError",
    "PropertyDecodeError",
    "ProtocolError",
    "ReconnectPolicy",
    "ReconnectingError",
    "ResponseTimeoutError",
    "ScanError",
    "ScanTimeoutError",
    "SendError",
    "ServiceNotAvailableError",
    "SessionError",
    "SkStackClient",
    "SkTimeouts",
    "SmartMeter",
    "TimedEnergy",
    "TransmitLimitError",
    "TransportError",
    "UsageError",
    "WatchdogSettings",
    "__version__",
    "errors",
    "open_port",
]


if not TYPE_CHECKING:  # hidden from type checkers, which see the imports above
    __getattr__ = lazy_getattr(__name__, globals(), _LAZY)

__dir__ = lazy_dir(globals(), __all__)
