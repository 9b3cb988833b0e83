"""The SK command table: encoder and decoder, per dialect, and what a module refuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.errors import InvalidArgumentError
from aiobroute.skstack import ErrorCode, ModuleFamily
from aiobroute.skstack._codecs import Addr64, Arg, Choice, Hex, Ipv6, Token
from aiobroute.skstack._commands import (
    COMMANDS,
    MAX_PAYLOAD,
    CommandSyntaxError,
    SkCommand,
    SkJoin,
    SkPing,
    SkScan,
    SkSendTo,
    SkSetPwd,
    SkSetRbid,
    SkSreg,
    Wopt,
    arguments,
    command_display,
    decode_command,
    encode_command,
    has_dialects,
    secret_values,
)

A1, C2 = ModuleFamily.BP35A1, ModuleFamily.BP35C2
ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
TOKEN_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)


def _value(arg: Arg) -> st.SearchStrategy[object]:
    codec = arg.codec
    if isinstance(codec, Hex):
        high = codec.high if codec.high is not None else (1 << (4 * codec.digits)) - 1
        return st.integers(codec.low, high)
    if isinstance(codec, Choice):
        return st.sampled_from(codec.choices)
    if isinstance(codec, Ipv6):
        return st.integers(0, (1 << 128) - 1).map(
            lambda n: ":".join(f"{(n >> s) & 0xFFFF:04X}" for s in range(112, -1, -16))
        )
    if isinstance(codec, Addr64):
        return st.integers(0, (1 << 64) - 1).map(lambda n: f"{n:016X}")
    assert isinstance(codec, Token)
    return st.text(TOKEN_CHARS, min_size=1, max_size=40)


@st.composite
def commands(draw: st.DrawFn, family: ModuleFamily) -> SkCommand:
    """Any command of the table, valid in the layout of ``family``."""
    cls = draw(st.sampled_from([spec.command for spec in COMMANDS.values()]))
    values: dict[str, object] = {}
    for name, arg in arguments(cls, family):
        if arg.optional and draw(st.booleans()):
            continue
        values[name] = draw(_value(arg))
    if cls is SkSendTo:
        values["payload"] = draw(st.binary(min_size=1, max_size=MAX_PAYLOAD))
    return cls(**values)


def _split(wire: bytes, command: SkCommand) -> tuple[bytes, bytes | None]:
    """A host's bytes as a module's UART front end splits them: line, SKSENDTO data."""
    if isinstance(command, SkSendTo):
        cut = len(wire) - len(command.payload)
        return wire[:cut], wire[cut:]
    return wire.rstrip(b"\r\n"), None


@pytest.mark.parametrize("family", list(ModuleFamily))
@given(data=st.data())
def test_every_command_survives_encode_then_decode(
    family: ModuleFamily, data: st.DataObject
) -> None:
    command = data.draw(commands(family))
    wire = encode_command(command, family)
    line, payload = _split(wire, command)
    assert decode_command(line, family, payload=payload) == command
    if payload is None:
        ending = b"\r" if COMMANDS[command.name].cr_only else b"\r\n"
        assert wire.endswith(ending)
        assert wire.count(b"\r") == 1
        assert wire.rstrip(b"\r\n").isascii()
    else:
        assert line.endswith(b" ")


@given(command=commands(C2))
def test_the_dialects_differ_only_by_the_side_argument(command: SkCommand) -> None:
    a1 = encode_command(command, A1)
    c2 = encode_command(command, C2)
    if not has_dialects(command):
        assert a1 == c2
        return
    assert _split(a1, command)[0].split()[0] == command.name.encode()
    words_a1 = _split(a1, command)[0].split()
    words_c2 = _split(c2, command)[0].split()
    assert len(words_c2) - len(words_a1) in (0, 1)


def test_the_side_argument_by_dialect() -> None:
    scan = SkScan(2, 0xFFFFFFFF, 6, side=0)
    assert encode_command(scan, A1) == b"SKSCAN 2 FFFFFFFF 6\r\n"
    assert encode_command(scan, C2) == b"SKSCAN 2 FFFFFFFF 6 0\r\n"
    send = SkSendTo(1, ADDR, 0x0E1A, 1, side=0, payload=b"\x10\x81")
    assert encode_command(send, A1) == f"SKSENDTO 1 {ADDR} 0E1A 1 0002 ".encode() + b"\x10\x81"
    assert encode_command(send, C2) == f"SKSENDTO 1 {ADDR} 0E1A 1 0 0002 ".encode() + b"\x10\x81"
    assert decode_command("SKSCAN 2 FFFFFFFF 6", A1) == SkScan(2, 0xFFFFFFFF, 6)
    assert decode_command("SKSCAN 2 FFFFFFFF 6 0", C2) == SkScan(2, 0xFFFFFFFF, 6, side=0)
    assert decode_command(f"SKPING {ADDR}", C2) == SkPing(ipaddr=ADDR)
    assert decode_command(f"SKPING 1 {ADDR}", C2) == SkPing(side=1, ipaddr=ADDR)


@pytest.mark.parametrize(
    ("line", "family"),
    [
        ("SKSCAN 2 FFFFFFFF 6 0", A1),
        ("SKSCAN 2 FFFFFFFF 6", C2),
        (f"SKPING 0 {ADDR}", A1),
        ("SKVER 1", None),
        ("SKSREG S02 21 22", None),
        ("SKJOIN", None),
    ],
)
def test_a_wrong_argument_count_is_er05(line: str, family: ModuleFamily | None) -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        decode_command(line, family)
    assert caught.value.code == ErrorCode.ER05


def test_the_other_dialects_sendto_header_is_er05() -> None:
    header = f"SKSENDTO 1 {ADDR} 0E1A 1 0 0002 "
    with pytest.raises(CommandSyntaxError) as caught:
        decode_command(header, A1, payload=b"ab")
    assert caught.value.code == ErrorCode.ER05
    assert decode_command(header, None, payload=b"ab") == SkSendTo(
        1, ADDR, 0x0E1A, 1, side=0, payload=b"ab"
    )


@pytest.mark.parametrize(
    "line",
    [
        "SKSCAN 1 FFFFFFFF 6",  # no such mode
        "SKSCAN 2 FFFFFFFFF 6",  # nine digits
        "SKSCAN 2 FFFFFFFF F",  # duration beyond 14
        "SKSCAN 2 FFFFFFFG 6",
        "SKLL64 001D12901234567",
        "SKADDNBR FE80::1 001D12901234567X",
        "SKJOIN not-an-address",
        "SKUDPPORT 7 0E1A",
        "SKUDPPORT 1 10000",
        "SKSETPWD 100 x",
        "WOPT 1",
        "WOPT 02",
    ],
)
def test_a_bad_value_is_er06(line: str) -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        decode_command(line, A1)
    assert caught.value.code == ErrorCode.ER06


@pytest.mark.parametrize(
    ("header", "payload"),
    [
        (f"SKSENDTO 1 {ADDR} 0E1A 1 0003 ", b"ab"),  # DATALEN is not the data's
        (f"SKSENDTO 1 {ADDR} 0E1A 1 0000 ", b""),
        (f"SKSENDTO 1 {ADDR} 0E1A 1 04D1 ", b""),  # beyond 0x4D0: data not read
        (f"SKSENDTO 0 {ADDR} 0E1A 1 0002 ", b"ab"),  # handle 1..6
        (f"SKSENDTO 1 {ADDR} 0E1A 3 0002 ", b"ab"),  # security 0..2
    ],
)
def test_a_bad_sendto_is_er06(header: str, payload: bytes) -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        decode_command(header, A1, payload=payload)
    assert caught.value.code == ErrorCode.ER06


def test_unknown_and_misplaced_payload() -> None:
    with pytest.raises(CommandSyntaxError) as caught:
        decode_command("SKDSLEEP", A1)
    assert caught.value.code == ErrorCode.ER04
    with pytest.raises(CommandSyntaxError):
        decode_command("SKVER", A1, payload=b"x")
    with pytest.raises(CommandSyntaxError):
        decode_command(f"SKSENDTO 1 {ADDR} 0E1A 1 0001", A1)


def test_the_decoder_canonicalises_addresses() -> None:
    assert decode_command("SKJOIN fe80::21d:1290:1234:5678", A1) == SkJoin(ADDR)


def test_secrets_are_masked_in_display_and_repr() -> None:
    rbid, password = "00112233445566778899AABBCCDDEEFF", "0123456789AB"
    for command in (SkSetRbid(rbid), SkSetPwd(len(password), password)):
        shown = command_display(command, A1) + repr(command)
        assert rbid not in shown
        assert password not in shown
        assert "********" in shown
        assert secret_values(command) in ([rbid], [password])
    assert encode_command(SkSetPwd(12, password), A1) == b"SKSETPWD C 0123456789AB\r\n"


def test_encoding_refuses_values_outside_their_field() -> None:
    for command in (
        SkScan(2, 1 << 32, 6),
        SkScan(4, 0xFFFFFFFF, 6),
        SkSreg("S2", "21 SKTERM"),
        SkJoin("FE80::1%eth0"),
        SkSendTo(1, ADDR, 0x0E1A, 1, payload=b""),
        Wopt(2),
    ):
        with pytest.raises(InvalidArgumentError):
            encode_command(command, C2)
    with pytest.raises(InvalidArgumentError) as caught:
        encode_command(SkSetRbid("secret with spaces but 32 chars!"), A1)
    assert "secret" not in str(caught.value)


def test_the_table_knows_flash_and_product_commands() -> None:
    assert {name for name, spec in COMMANDS.items() if spec.flash} == {
        "SKSAVE",
        "SKERASE",
        "WOPT",
        "WUART",
    }
    assert {name for name, spec in COMMANDS.items() if spec.cr_only} == {
        "ROPT",
        "WOPT",
        "RUART",
        "WUART",
    }
    assert COMMANDS["SKSCAN"].arity(A1) == (3,)
    assert COMMANDS["SKSCAN"].arity(C2) == (4,)
    assert COMMANDS["SKSCAN"].arity() == (3, 4)
    assert COMMANDS["SKSENDTO"].arity(A1) == (5,)
    assert COMMANDS["SKSENDTO"].arity(C2) == (6,)
    assert COMMANDS["SKSREG"].arity() == (1, 2)
