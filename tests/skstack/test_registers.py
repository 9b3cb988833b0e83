"""The typed register table: names, defaults, encoders and decoders."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.skstack import Register
from aiobroute.skstack._registers import RegisterKind


def _values(register: Register) -> st.SearchStrategy[int | str]:
    spec = register.spec
    if spec.kind is RegisterKind.CHARS:
        chars = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
        return st.text(chars, min_size=spec.width, max_size=spec.width)
    high = spec.high if spec.high is not None else (1 << (4 * spec.width)) - 1
    return st.integers(spec.low, high)


@given(data=st.data())
@pytest.mark.parametrize("register", list(Register))
def test_every_register_value_survives_encode_then_decode(
    register: Register, data: st.DataObject
) -> None:
    value = data.draw(_values(register))
    text = register.encode(value)
    assert register.decode(text) == value
    if register.spec.kind is RegisterKind.HEX:
        assert len(text) == register.spec.width


@pytest.mark.parametrize("register", list(Register))
def test_names_and_defaults(register: Register) -> None:
    assert Register.parse(register.token) is register
    assert Register.parse(f"S{register.value:02X}") is register
    assert register.decode(register.encode(register.spec.default)) == register.spec.default


def test_the_registers_the_client_writes() -> None:
    assert (Register.CHANNEL.token, Register.CHANNEL.encode(0x21)) == ("S2", "21")
    assert (Register.PAN_ID.token, Register.PAN_ID.encode(0x8888)) == ("S3", "8888")
    assert (Register.ECHO.token, Register.ECHO.encode(0)) == ("SFE", "0")
    assert Register.TX_TIME.decode("FFFFFFFFFFFFFFFF") == (1 << 64) - 1
    assert Register.TX_LIMITED.decode("00") == 0
    assert Register.PAIR_ID.decode("CCDDEEFF") == "CCDDEEFF"
    assert not Register.TX_TIME.spec.writable
    assert Register.SESSION_LIFETIME.spec.default == 86400


@pytest.mark.parametrize(
    ("register", "text"),
    [
        (Register.CHANNEL, "20"),  # below 0x21
        (Register.CHANNEL, "3D"),  # above 0x3C
        (Register.CHANNEL, "1G"),
        (Register.CHANNEL, "021"),
        (Register.SESSION_LIFETIME, "3B"),
        (Register.ECHO, "2"),
        (Register.ECHO, ""),
        (Register.PAIR_ID, "1234567"),
        (Register.PAIR_ID, "12345678X"),
    ],
)
def test_values_a_module_refuses(register: Register, text: str) -> None:
    with pytest.raises(ValueError):
        register.decode(text)


@pytest.mark.parametrize("name", ["S", "SZZ", "S123", "S1C", "X02", ""])
def test_names_that_are_not_registers(name: str) -> None:
    with pytest.raises(ValueError):
        Register.parse(name)


def test_encoding_checks_kind_and_range() -> None:
    with pytest.raises(ValueError):
        Register.CHANNEL.encode(0x3D)
    with pytest.raises(TypeError):
        Register.CHANNEL.encode("21")
    with pytest.raises(TypeError):
        Register.PAIR_ID.encode(1)
