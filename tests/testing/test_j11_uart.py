"""The simulated J11 module's input stage, sans-I/O (J11 note §1.6)."""

from __future__ import annotations

from aiobroute.j11 import GetStatus, InitialSettings, J11Frame
from aiobroute.testing import J11Preset
from aiobroute.testing._j11uart import InputError, RequestInput


def reader() -> RequestInput:
    return RequestInput(J11Preset.RS_WSUHA_J11, 1.0)


def test_requests_split_anywhere_and_text_discarded() -> None:
    wire = b"SKVER\r\n\xd0" + InitialSettings(channel=4).encode() + GetStatus().encode()
    stage = reader()
    out = [item for i, byte in enumerate(wire) for item in stage.feed(bytes([byte]), i * 0.01)]
    assert [item.command for item in out if isinstance(item, J11Frame)] == [0x005F, 0x0001]
    assert stage.discarded == 8
    assert stage.deadline is None


def test_a_bad_header_is_answered_and_the_next_request_read() -> None:
    bad = bytearray(GetStatus().encode())
    bad[8] ^= 0x10
    out = reader().feed(bytes(bad) + GetStatus().encode(), 0.0)
    assert out[0] == InputError(None, None)
    assert isinstance(out[1], J11Frame)


def test_deadline_and_expiry() -> None:
    stage = reader()
    wire = InitialSettings(channel=4).encode()
    assert stage.feed(wire[:3], 5.0) == []
    deadline: float | None = stage.deadline  # read again: feed() changes it
    assert deadline is None  # no unique code yet
    assert stage.feed(wire[3:5], 5.5) == []
    deadline = stage.deadline
    assert deadline == 6.5
    assert stage.expire() is None  # the command code was not read: dropped silently
    stage.feed(wire[:7], 7.0)
    assert stage.expire() == InputError(0x005F, 0x13)
    assert stage.deadline is None
