"""aiobroute: asyncio client for Japanese smart electricity meters over the Wi-SUN B route."""

from __future__ import annotations

from aiobroute import errors
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
from aiobroute.meter import MeterTimeouts, SmartMeter
from aiobroute.models import InstantCurrent, IntervalEnergy, MeterInfo, Notification, TimedEnergy
from aiobroute.skstack import ModuleFamily, PanDescriptor
from aiobroute.skstack.client import SkStackClient, SkTimeouts
from aiobroute.supervisor import ConnectionState, ReconnectPolicy, WatchdogSettings
from aiobroute.transport import open_port

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
