"""The exception tree: every class survives pickle and copy with its message and attributes."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

import pytest

import aiobroute.errors
from aiobroute.errors import (
    AiobrouteError,
    AiobrouteTimeoutError,
    AuthenticationError,
    CommandError,
    FrameDecodeError,
    J11CommandError,
    J11FrameError,
    JoinError,
    JoinTimeoutError,
    MeterError,
    PropertyDecodeError,
    ResponseTimeoutError,
    ScanError,
    ScanTimeoutError,
    ServiceNotAvailableError,
    UsageError,
)

# One instance per class of errors.__all__, built as the library builds it. Classes with
# a custom constructor get every argument, keyword-only ones included, set to a
# non-default value so that a round trip that drops one is caught.
SAMPLES: dict[str, Callable[[], AiobrouteError]] = {
    "FrameDecodeError": lambda: FrameDecodeError("OPC is 0", 11),
    "J11FrameError": lambda: J11FrameError("header checksum mismatch", 8),
    "PropertyDecodeError": lambda: PropertyDecodeError(0x0288, 0xE7, b"\x00\x01", "too short"),
    "CommandError": lambda: CommandError(4, "SKSETPWD C ********", "command not supported"),
    "J11CommandError": lambda: J11CommandError(0x0E, "StartRouteB (0x0053)", "MAC failed"),
    "ResponseTimeoutError": lambda: ResponseTimeoutError(
        "no answer to Get 0xE7", epcs=(0xE7, 0xE8)
    ),
    "AuthenticationError": lambda: AuthenticationError("EVENT 24", peer_answered=True),
    "MeterError": lambda: MeterError("unexpected 0xE8 value", epc=0xE8, esv=0x72, stage="get"),
    "ServiceNotAvailableError": lambda: ServiceNotAvailableError(
        "Get_SNA for 0xE0", epc=0xE0, esv=0x52, stage="get"
    ),
}


def sample(name: str) -> AiobrouteError:
    """An instance of ``errors.<name>``: from SAMPLES, else built from one message."""
    factory = SAMPLES.get(name)
    if factory is not None:
        return factory()
    cls = getattr(aiobroute.errors, name)
    exc = cls(f"something went wrong ({name})")
    assert isinstance(exc, AiobrouteError)
    return exc


def assert_same(copied: BaseException, original: BaseException) -> None:
    assert copied is not original
    assert type(copied) is type(original)
    assert str(copied) == str(original)
    assert copied.args == original.args
    assert vars(copied) == vars(original)


def via_pickle(exc: AiobrouteError, protocol: int) -> object:
    return pickle.loads(pickle.dumps(exc, protocol=protocol))  # noqa: S301 - our own bytes


def test_samples_cover_every_custom_constructor() -> None:
    """A class of the tree with its own __init__ must have a sample with all its arguments."""
    for name in aiobroute.errors.__all__:
        cls = getattr(aiobroute.errors, name)
        own_init = any(
            "__init__" in vars(klass)
            for klass in cls.__mro__[:-1]
            if klass.__module__ == aiobroute.errors.__name__
        )
        if own_init:
            assert name in SAMPLES, name


@pytest.mark.parametrize("name", aiobroute.errors.__all__)
@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_round_trip(name: str, protocol: int) -> None:
    exc = sample(name)
    back = via_pickle(exc, protocol)
    assert isinstance(back, BaseException)
    assert_same(back, exc)


@pytest.mark.parametrize("name", aiobroute.errors.__all__)
@pytest.mark.parametrize("func", [copy.copy, copy.deepcopy], ids=["copy", "deepcopy"])
def test_copy_round_trip(name: str, func: Callable[[AiobrouteError], AiobrouteError]) -> None:
    exc = sample(name)
    assert_same(func(exc), exc)


def test_attributes_after_round_trip() -> None:
    frame = via_pickle(FrameDecodeError("OPC is 0", 11), 2)
    assert isinstance(frame, FrameDecodeError)
    assert (frame.reason, frame.offset) == ("OPC is 0", 11)

    prop = copy.copy(PropertyDecodeError(0x0288, 0xE7, b"\x00\x01", "too short"))
    assert (prop.class_code, prop.epc, prop.edt, prop.reason) == (
        0x288,
        0xE7,
        b"\x00\x01",
        "too short",
    )

    cmd = via_pickle(CommandError(10, "SKJOIN FE80", "command accepted but execution failed"), 5)
    assert isinstance(cmd, CommandError)
    assert (cmd.code, cmd.command, cmd.meaning) == (
        10,
        "SKJOIN FE80",
        "command accepted but execution failed",
    )

    timeout = via_pickle(ResponseTimeoutError("no answer", epcs=(0xE7,)), 5)
    assert isinstance(timeout, ResponseTimeoutError)
    assert isinstance(timeout, TimeoutError)
    assert timeout.epcs == (0xE7,)

    sna = copy.deepcopy(ServiceNotAvailableError("Get_SNA", epc=0xE0, esv=0x52, stage="get"))
    assert isinstance(sna, MeterError)
    assert (sna.epc, sna.esv, sna.stage) == (0xE0, 0x52, "get")


def test_messages_are_unchanged() -> None:
    """The fix must not alter what str() says (other code and users match on it)."""
    assert (
        str(FrameDecodeError("OPC is 0", 11)) == "malformed ECHONET Lite frame at byte 11: OPC is 0"
    )
    assert str(PropertyDecodeError(0x0288, 0xE7, b"", "empty")) == (
        "cannot decode property 0xE7 of class 0x0288 from (empty): empty"
    )
    assert str(PropertyDecodeError(0x0288, 0xE7, b"\xab", "short")) == (
        "cannot decode property 0xE7 of class 0x0288 from AB: short"
    )
    assert str(CommandError(4, "SKVER")) == "module answered FAIL ER04 to 'SKVER'"
    assert str(J11CommandError(0x3D, "GetStatus (0x0001)")) == (
        "J11 module answered result 0x3D to 'GetStatus (0x0001)'"
    )
    assert str(CommandError(4, "SKVER", "command not supported")) == (
        "module answered FAIL ER04 (command not supported) to 'SKVER'"
    )
    assert str(ResponseTimeoutError("no answer", epcs=(1,))) == "no answer"
    assert str(MeterError("bad", epc=1)) == "bad"


def test_scan_and_join_timeouts_are_stage_errors_and_timeouts() -> None:
    """``except JoinError`` / ``except ScanError`` catch their timeouts; TimeoutError too."""
    for cls, stage in ((JoinTimeoutError, JoinError), (ScanTimeoutError, ScanError)):
        assert issubclass(cls, stage)
        assert issubclass(cls, AiobrouteTimeoutError)
        assert issubclass(cls, TimeoutError)
        with pytest.raises(stage):
            raise cls("no EVENT in time")
        with pytest.raises(TimeoutError):
            raise cls("no EVENT in time")
        assert isinstance(via_pickle(cls("late"), 2), stage)


def test_the_documented_tree_matches_the_classes() -> None:
    """Each class in the module docstring's tree sits under the class it is drawn under."""
    doc = aiobroute.errors.__doc__ or ""
    tree = [line for line in doc.splitlines() if "──" in line]
    parents: list[tuple[int, str]] = []
    seen = set()
    for line in tree:
        depth = line.index("──")
        name = line[depth + 3 :].split()[0]
        parents = [(d, n) for d, n in parents if d < depth]
        cls = getattr(aiobroute.errors, name)
        if parents:
            assert issubclass(cls, getattr(aiobroute.errors, parents[-1][1])), name
        parents.append((depth, name))
        seen.add(name)
    assert seen | {"AiobrouteError"} == set(aiobroute.errors.__all__)


def test_command_error_transience() -> None:
    assert CommandError(9, "SKSENDTO 1 FE80 0E1A 1 0 0005 <5 bytes>").transient
    for code in (4, 5, 6, 10):
        assert not CommandError(code, "SKVER").transient


def test_usage_error_is_a_runtime_error() -> None:
    assert issubclass(UsageError, RuntimeError)
    assert issubclass(UsageError, AiobrouteError)


def test_defaults_survive_a_round_trip() -> None:
    cmd = copy.copy(CommandError(4, "SKVER"))
    assert cmd.meaning == ""
    assert str(cmd) == "module answered FAIL ER04 to 'SKVER'"
    meter = via_pickle(MeterError("bad"), 2)
    assert isinstance(meter, MeterError)
    assert (meter.epc, meter.esv, meter.stage) == (None, None, "")
    timeout = copy.copy(ResponseTimeoutError("late"))
    assert timeout.epcs == ()


def test_extra_state_is_kept() -> None:
    """Notes and attributes set after construction travel too, as for built-in exceptions."""
    exc = MeterError("bad", epc=0xE7)
    exc.add_note("while reading the instant power")
    exc.stage = "watch"
    back = via_pickle(exc, pickle.HIGHEST_PROTOCOL)
    assert isinstance(back, MeterError)
    assert back.__notes__ == ["while reading the instant power"]
    assert back.stage == "watch"
    assert back.epc == 0xE7
