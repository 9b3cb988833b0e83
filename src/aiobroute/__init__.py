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
)

__all__ = [
    "AiobrouteError",
    "AiobrouteTimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "CommandError",
    "CommandTimeoutError",
    "FrameDecodeError",
    "InvalidArgumentError",
    "JoinError",
    "JoinTimeoutError",
    "MeterError",
    "PortClosedError",
    "PropertyDecodeError",
    "ProtocolError",
    "ReconnectingError",
    "ResponseTimeoutError",
    "ScanError",
    "ScanTimeoutError",
    "SendError",
    "ServiceNotAvailableError",
    "SessionError",
    "TransmitLimitError",
    "TransportError",
    "__version__",
    "errors",
]
