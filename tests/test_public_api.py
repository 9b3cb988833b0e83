"""The public API is pinned: removing or renaming a name must be a deliberate change."""

from __future__ import annotations

import aiobroute
import aiobroute.echonet
import aiobroute.errors
import aiobroute.j11
import aiobroute.j11.client
import aiobroute.j11.link
import aiobroute.link
import aiobroute.recorder
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
    "UsageError",
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
        aiobroute.j11,
        aiobroute.j11.client,
        aiobroute.j11.link,
        aiobroute.link,
        aiobroute.recorder,
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
        "MANUFACTURERS",
        "manufacturer_name",
    } <= set(aiobroute.echonet.__all__)
    assert {
        "LineParser",
        "Event",
        "RxUdp",
        "PanDescriptor",
        "Ok",
        "Fail",
        "Unrecognized",
        "SkStackLink",
        "Register",
    } <= set(aiobroute.skstack.__all__)
    assert set(aiobroute.link.__all__) == {
        "DIALECT_J11",
        "DIALECT_SKSTACK",
        "ECHONET_PORT",
        "LinkEvent",
        "LinkListener",
        "LinkLost",
        "MeterDatagram",
        "MeterLink",
        "MeterPan",
        "ModuleIdentity",
        "ProbeTimings",
        "ReauthenticationFailed",
        "SendVerdict",
        "SessionEndReason",
        "SessionEnded",
        "SessionExpired",
        "SessionReauthenticated",
        "TransmitLimitReleased",
        "TransmitLimitStarted",
        "probe_dialect",
    }
    assert {
        "Simulator",
        "MeterConfig",
        "FaultPlan",
        "SimClock",
        "DEFAULT_RBID",
        "DEFAULT_PASSWORD",
        "J11Preset",
        "J11Timing",
        "J11Faults",
        "SimulatedJ11Module",
        "DEFAULT_MODULE_MAC",
        "BP35C2_MODULE_MAC",
        "UartTiming",
        "PacedPort",
    } <= set(aiobroute.testing.__all__)
    assert {"open_port", "memory_pipe", "ByteStream"} <= set(aiobroute.transport.__all__)
    assert {
        "J11Frame",
        "FrameReassembler",
        "MessageReader",
        "Skipped",
        "ResultCode",
        "decode_message",
        "decode_request",
        "is_error_reply",
        "ErrorReply",
        "SetRouteBCredentials",
        "TransmitData",
        "DataReceived",
        "PanaResult",
    } <= set(aiobroute.j11.__all__)


def test_dialect_links() -> None:
    assert set(aiobroute.j11.client.__all__) == {"J11Client", "J11Timeouts", "LinkDown"}
    assert aiobroute.j11.link.__all__ == ["J11Link"]
    assert issubclass(aiobroute.errors.J11CommandError, aiobroute.CommandError)


def test_exceptions_form_one_tree() -> None:
    for name in aiobroute.errors.__all__:
        cls = getattr(aiobroute.errors, name)
        assert issubclass(cls, aiobroute.AiobrouteError)
    assert issubclass(aiobroute.ResponseTimeoutError, TimeoutError)
    assert issubclass(aiobroute.CommandTimeoutError, TimeoutError)
    assert issubclass(aiobroute.InvalidArgumentError, ValueError)
    assert issubclass(aiobroute.UsageError, RuntimeError)
    assert issubclass(aiobroute.errors.UnsafePathError, aiobroute.InvalidArgumentError)


def test_py_typed_is_shipped() -> None:
    from importlib.resources import files

    assert files("aiobroute").joinpath("py.typed").is_file()


def test_the_bridge_payload_builders_are_public() -> None:
    # examples/mqtt_home_assistant.py builds on them, as user code may.
    import aiobroute.cli.exporter
    import aiobroute.cli.mqtt

    assert {
        "Topics",
        "Sensor",
        "SENSORS",
        "discovery_configs",
        "node_id",
        "state_payload",
    } <= set(aiobroute.cli.mqtt.__all__)
    assert "MeterCollector" in aiobroute.cli.exporter.__all__
    for module in (aiobroute.cli.mqtt, aiobroute.cli.exporter):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_recorder_names_are_pinned() -> None:
    assert set(aiobroute.recorder.__all__) == {
        "APPLICATION_ID",
        "SCHEMA_VERSION",
        "BackfillReport",
        "Gap",
        "GapReason",
        "MeterAttributes",
        "MeterClock",
        "MeterRecord",
        "PutResult",
        "Reading",
        "RecordDatabaseError",
        "RecordStore",
        "Recorder",
        "RecorderStatus",
        "Sample",
        "SlotValue",
        "Source",
        "StatisticRow",
        "UsageRow",
        "check_database_path",
        "find_gaps",
        "meter_key",
        "statistic_rows",
        "usage_rows",
    }
    assert issubclass(aiobroute.recorder.RecordDatabaseError, aiobroute.AiobrouteError)
