"""The public API is pinned: removing or renaming a name must be a deliberate change."""

from __future__ import annotations

import aiobroute
import aiobroute.echonet
import aiobroute.errors
import aiobroute.skstack
import aiobroute.testing
import aiobroute.transport

EXPECTED_TOP_LEVEL = {
    "AiobrouteError",
    "AiobrouteTimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "CommandError",
    "CommandTimeoutError",
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
    "__version__",
    "errors",
    "open_port",
    "ConnectionState",
    "ReconnectPolicy",
    "WatchdogSettings",
}


def test_top_level_names_are_pinned() -> None:
    assert set(aiobroute.__all__) == EXPECTED_TOP_LEVEL
    assert aiobroute.__all__ == sorted(aiobroute.__all__)
    for name in aiobroute.__all__:
        assert hasattr(aiobroute, name), name


def test_every_subpackage_exports_what_it_declares() -> None:
    for module in (
        aiobroute.echonet,
        aiobroute.errors,
        aiobroute.skstack,
        aiobroute.testing,
        aiobroute.transport,
    ):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_core_subpackage_names() -> None:
    assert {
        "Frame",
        "Property",
        "Esv",
        "Eoj",
        "decode_property",
        "encode_property",
        "energy_kwh",
        "counter_delta",
    } <= set(aiobroute.echonet.__all__)
    assert {"LineParser", "Event", "RxUdp", "PanDescriptor", "Ok", "Fail", "Unrecognized"} <= set(
        aiobroute.skstack.__all__
    )
    assert {
        "Simulator",
        "MeterConfig",
        "FaultPlan",
        "SimClock",
        "DEFAULT_RBID",
        "DEFAULT_PASSWORD",
        "UartTiming",
        "PacedPort",
    } <= set(aiobroute.testing.__all__)
    assert {"open_port", "memory_pipe", "ByteStream"} <= set(aiobroute.transport.__all__)


def test_exceptions_form_one_tree() -> None:
    for name in aiobroute.errors.__all__:
        cls = getattr(aiobroute.errors, name)
        assert issubclass(cls, aiobroute.AiobrouteError)
    assert issubclass(aiobroute.ResponseTimeoutError, TimeoutError)
    assert issubclass(aiobroute.CommandTimeoutError, TimeoutError)
    assert issubclass(aiobroute.InvalidArgumentError, ValueError)


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("aiobroute").joinpath("py.typed").is_file()
