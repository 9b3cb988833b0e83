"""SkStackClient against a scripted module: exact command semantics and failure paths."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import pytest

from aiobroute._log import TRACE
from aiobroute.errors import (
    AuthenticationError,
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    InvalidArgumentError,
    PortClosedError,
    SendError,
    SessionError,
)
from aiobroute.skstack import Event, ModuleFamily, PanDescriptor, Register, RxUdp
from aiobroute.skstack._commands import CommandSyntaxError, SkScan, SkSendTo, decode_command
from aiobroute.skstack._session import order_candidates
from aiobroute.skstack.client import PortLost

if TYPE_CHECKING:
    from tests.skstack.conftest import ScriptedModule

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
MAC = "001D129012345678"
RBID = "00112233445566778899AABBCCDDEEFF"
PASSWORD = "0123456789AB"


def a1_module(module: ScriptedModule, line: str, payload: bytes) -> None:
    """A minimal BP35A1-family module with echo always on."""
    try:
        # Either layout of SKSENDTO is taken; SKSCAN's SIDE is refused like a BP35A1 does.
        command = decode_command(line, payload=payload or None)
        if isinstance(command, SkScan) and command.side is not None:
            decode_command(line, ModuleFamily.BP35A1)
    except CommandSyntaxError as exc:
        module.send(line, f"FAIL ER{int(exc.code):02d}")
        return
    name = command.name
    if isinstance(command, SkSendTo):
        module.send(
            "",
            f"EVENT 21 {command.ipaddr} 02",
            f"EVENT 21 {command.ipaddr} 00",
            "OK",
        )
        return
    module.send(line)  # echo
    if name == "SKVER":
        module.send("EVER 1.2.10", "OK")
    elif name == "SKAPPVER":
        module.send("EAPPVER rev26e", "OK")
    elif name == "SKINFO":
        module.send(f"EINFO {ADDR} {MAC} 21 FFFF FFFE", "OK")
    elif name == "SKLL64":
        module.send(ADDR)
    elif name == "SKSCAN":
        module.send(
            "OK",
            f"EVENT 20 {ADDR}",
            "EPANDESC",
            "  Channel:21",
            "  Channel Page:09",
            "  Pan ID:8888",
            f"  Addr:{MAC}",
            "  LQI:E1",
            "  PairID:CCDDEEFF",
            f"EVENT 22 {ADDR}",
        )
    elif name == "SKJOIN":
        module.send("OK", f"EVENT 21 {ADDR} 02", f"EVENT 02 {ADDR}", f"EVENT 25 {ADDR}")
    else:
        module.send("OK")


async def test_initialize_detects_bp35a1_and_turns_echo_off(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module, resync_first=True)
    info = await client.initialize()
    assert info.family is ModuleFamily.BP35A1
    assert (info.version, info.app_version, info.mac) == ("1.2.10", "rev26e", MAC)
    # A resync (SKVER) first: output left by an earlier user must not answer SFE 0.
    assert module.lines[:5] == ["SKVER", "SKSREG SFE 0", "SKVER", "SKAPPVER", "SKINFO"]


async def test_initialize_detects_bp35c2_and_missing_skappver(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line == "SKAPPVER":
            module.send("FAIL ER04")
        elif line == "SKINFO":
            module.send(f"EINFO {ADDR} {MAC} 21 FFFF 0", "OK")
        elif line == "SKVER":
            module.send("EVER 1.5.2", "OK")
        else:
            module.send("OK")

    client, _ = scripted(handler)
    info = await client.initialize()
    assert info.family is ModuleFamily.BP35C2
    assert info.app_version is None
    assert client.family is ModuleFamily.BP35C2


async def test_events_between_echo_and_ok_reach_subscribers(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.send(
            line,
            f"EVENT 29 {ADDR}",
            "ERXUDP " + " ".join([ADDR, ADDR, "0E1A", "0E1A", MAC, "1", "0002", "ABCD"]),
            "EVER 1.2.10",
            "OK",
        )

    client, _ = scripted(handler)
    with client.subscribe() as events:
        assert await client.version() == "1.2.10"
        first = await events.get(timeout=1)
        second = await events.get(timeout=1)
    assert isinstance(first, Event)
    assert first.num == 0x29
    assert isinstance(second, RxUdp)
    assert second.data == b"\xab\xcd"


async def test_fail_raises_typed_error_with_redacted_command(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.send("FAIL ER06")

    client, _ = scripted(handler)
    pan = PanDescriptor(channel=0x21, channel_page=9, pan_id=0x8888, addr=MAC, lqi=0xE1)
    with pytest.raises(CommandError) as caught:
        await client.join(pan, rbid=RBID, password=PASSWORD)
    assert caught.value.code == 6
    assert PASSWORD not in str(caught.value)
    assert PASSWORD not in caught.value.command
    assert "SKSETPWD" in caught.value.command


@pytest.mark.parametrize(
    ("rbid", "password"),
    [
        ("0011223344556677 8899AABBCCDDEEF", PASSWORD),
        ("00112233445566778899AABBCCDDEE\r\n", PASSWORD),
        ("0011", PASSWORD),
        (RBID, "0123 456789A"),
        (RBID, "01234\r\nSKTERM"),
        (RBID, ""),
        (RBID, "x" * 33),
    ],
)
async def test_credentials_are_validated_before_anything_is_written(  # type: ignore[no-untyped-def]
    scripted,
    rbid: str,
    password: str,
) -> None:
    client, module = scripted(a1_module)
    pan = PanDescriptor(channel=0x21, channel_page=9, pan_id=0x8888, addr=MAC, lqi=0xE1)
    with pytest.raises(InvalidArgumentError):
        await client.join(pan, rbid=rbid, password=password)
    await asyncio.sleep(0.01)
    assert bytes(module.raw) == b""


async def test_command_arguments_cannot_inject_lines(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module)
    with pytest.raises(InvalidArgumentError):
        await client.command("SKSREG", "S2", "21\r\nSKTERM")
    with pytest.raises(InvalidArgumentError):
        await client.write_register("SFE 0", "1")
    with pytest.raises(InvalidArgumentError):
        await client.send_to("FE80::1", b"x")
    await asyncio.sleep(0.01)
    assert bytes(module.raw) == b""


async def test_flash_writes_are_refused_unless_allowed(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module)
    for name, args in (("WOPT", ("01",)), ("SKSAVE", ()), ("WUART", ("00",)), ("SKERASE", ())):
        with pytest.raises(InvalidArgumentError, match="flash"):
            await client.command(name, *args)
    assert bytes(module.raw) == b""


async def test_timeout_leaves_client_usable(scripted) -> None:  # type: ignore[no-untyped-def]
    silent = {"on": True}

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if not silent["on"]:
            module.send("EVER 1.2.10", "OK")

    client, _ = scripted(handler)
    with pytest.raises(CommandTimeoutError) as caught:
        await client.version()
    assert isinstance(caught.value, TimeoutError)
    assert client._pending is None
    silent["on"] = False
    assert await client.version() == "1.2.10"


@pytest.mark.parametrize("how", ["cancel", "asyncio.timeout"])
async def test_cancellation_leaves_no_waiter(scripted, how: str) -> None:  # type: ignore[no-untyped-def]
    answer = {"on": False}

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if answer["on"]:
            module.send("EVER 1.2.10", "OK")

    client, _ = scripted(handler)
    subscribers_before = len(client._subscribers)
    if how == "cancel":
        task = asyncio.create_task(client.scan(durations=(6,)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await client.scan(durations=(6,))
    assert client._pending is None
    assert len(client._subscribers) == subscribers_before
    assert not client._lock.locked()
    answer["on"] = True
    assert await client.version() == "1.2.10"


async def test_port_vanishing_fails_command_and_ends_subscriptions(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.device.close_nowait()

    client, _ = scripted(handler)
    events = client.subscribe()
    with pytest.raises(PortClosedError):
        await client.version()
    assert isinstance(await events.get(timeout=1), PortLost)
    with pytest.raises(ClientClosedError):
        await events.get(timeout=1)
    assert client.closed
    with pytest.raises(PortClosedError):
        await client.version()
    assert client._pending is None


async def test_garbage_does_not_kill_the_reader(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.send(
            b"\x00\xff\xfe garbage \x01\r\n",
            b"EVENT ZZ nonsense\r\n",
            b"ERXUDP broken\r\n",
            b"\xff" * 50 + b"\n",
        )
        module.send("EVER 1.2.10", "OK")

    client, _ = scripted(handler)
    assert await client.version() == "1.2.10"
    assert client.unrecognized_lines >= 3
    assert await client.version() == "1.2.10"


async def test_scan_recovers_from_wrong_arity(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module, family=None)
    client._family = ModuleFamily.BP35C2  # as if detection had guessed wrong
    pans = await client.scan(durations=(2,))
    assert client.family is ModuleFamily.BP35A1
    assert [p.pan_id for p in pans] == [0x8888]
    assert module.lines[0] == "SKSCAN 2 FFFFFFFF 2 0"
    assert module.lines[1] == "SKSCAN 2 FFFFFFFF 2"


async def test_forced_family_is_not_switched(scripted) -> None:  # type: ignore[no-untyped-def]
    client, _ = scripted(a1_module, family=ModuleFamily.BP35C2)
    with pytest.raises(CommandError) as caught:
        await client.scan(durations=(2,))
    assert caught.value.code == 5
    assert client.family is ModuleFamily.BP35C2


async def test_connect_scans_and_joins(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module)
    joined = await client.connect(rbid=RBID, password=PASSWORD, durations=(3,))
    assert joined.ipaddr == ADDR
    assert joined.pan.pair_id == "CCDDEEFF"
    assert "SKSETPWD C 0123456789AB" in module.lines
    assert f"SKJOIN {ADDR}" in module.lines
    assert module.lines.index("SKSREG S2 21") < module.lines.index(f"SKJOIN {ADDR}")


async def test_join_failure_is_an_authentication_error(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line.startswith("SKLL64"):
            module.send(ADDR)
        elif line.startswith("SKJOIN"):
            module.send("OK", f"EVENT 21 {ADDR} 02", f"EVENT 24 {ADDR}")
        else:
            module.send("OK")

    client, _ = scripted(handler)
    pan = PanDescriptor(channel=0x21, channel_page=9, pan_id=0x8888, addr=MAC, lqi=0xE1)
    with pytest.raises(AuthenticationError) as caught:
        await client.join(pan, rbid=RBID, password=PASSWORD)
    assert "password" in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_send_to_uses_family_syntax_and_binary_payload(scripted) -> None:  # type: ignore[no-untyped-def]
    payloads: list[bytes] = []

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        payloads.append(payload)
        a1_module(module, line, payload)

    client, module = scripted(handler, family=ModuleFamily.BP35A1)
    data = b"\x10\x81\x00\x01\r\n \x00"
    await client.send_to(ADDR, data)
    assert module.lines[-1] == f"SKSENDTO 1 {ADDR} 0E1A 1 0008"
    assert payloads[-1] == data
    assert not bytes(module.raw).endswith(data + b"\r\n")

    client2, module2 = scripted(handler, family=ModuleFamily.BP35C2)
    await client2.send_to(ADDR, data)
    assert module2.lines[-1] == f"SKSENDTO 1 {ADDR} 0E1A 1 0 0008"


async def test_send_to_reports_failure_and_late_event(scripted) -> None:  # type: ignore[no-untyped-def]
    mode = {"value": "fail"}

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if mode["value"] == "fail":
            module.send("OK", f"EVENT 21 {ADDR} 01")
        elif mode["value"] == "late":
            module.send("OK")
            asyncio.get_running_loop().call_later(0.05, module.send, f"EVENT 21 {ADDR} 00")
        else:
            module.send("FAIL ER10")

    client, _ = scripted(handler, family=ModuleFamily.BP35A1)
    with pytest.raises(SendError):
        await client.send_to(ADDR, b"abc")
    mode["value"] = "late"
    await client.send_to(ADDR, b"abc")
    mode["value"] = "er10"
    with pytest.raises(SessionError):
        await client.send_to(ADDR, b"abc")


def test_candidates_prefer_pair_id_then_lqi() -> None:
    def pan(pan_id: int, lqi: int, pair: str | None) -> PanDescriptor:
        return PanDescriptor(
            channel=0x21, channel_page=9, pan_id=pan_id, addr=MAC, lqi=lqi, pair_id=pair
        )

    mine, neighbour = pan(1, 0x40, "CCDDEEFF"), pan(2, 0xF0, "01020304")
    assert order_candidates([neighbour, mine], RBID) == [mine]
    strangers = [pan(3, 0x10, None), pan(4, 0x90, "AAAAAAAA")]
    assert [p.pan_id for p in order_candidates(strangers, RBID)] == [4, 3]


async def test_trace_logs_never_show_secrets(scripted, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(TRACE, logger="aiobroute")
    client, _ = scripted(a1_module)
    await client.initialize()
    await client.connect(rbid=RBID, password=PASSWORD, durations=(3,))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "SKSETPWD" in text  # the command was logged ...
    assert RBID not in text
    assert PASSWORD not in text
    assert RBID not in repr(client)
    assert PASSWORD not in repr(client)
    assert any(r.levelno == TRACE for r in caplog.records)
    assert all(r.levelno != logging.ERROR for r in caplog.records)


async def test_late_answer_of_an_abandoned_command_is_not_taken_for_the_next(  # type: ignore[no-untyped-def]
    scripted,
) -> None:
    late: list[str] = []

    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        if line.startswith("SKSREG"):
            late.append("OK")  # answered too late: after the client gave up
            return
        module.send(*late)
        late.clear()
        if line == "SKVER":
            module.send("EVER 1.2.10", "OK")
        elif line == "SKINFO":
            module.send(f"EINFO {ADDR} {MAC} 21 FFFF FFFE", "OK")

    client, module = scripted(handler)
    with pytest.raises(CommandTimeoutError):
        await client.write_register("S2", "21")
    info = await client.info()  # the stale OK arrives first and must be discarded
    assert info.addr64 == MAC
    assert module.lines[-2:] == ["SKVER", "SKINFO"]  # resynchronised before SKINFO
    assert await client.version() == "1.2.10"
    assert module.lines[-1] == "SKVER"  # no second resync once in step


async def test_subscription_overflow_warning_is_rate_limited(scripted, caplog) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(lambda module, line, payload: None)
    with client.subscribe() as events, caplog.at_level(logging.WARNING, logger="aiobroute"):
        module.send(*[f"EVENT 29 {ADDR}"] * (4096 + 300))
        async with asyncio.timeout(5):
            while events.dropped < 300:  # noqa: ASYNC110 - the reader task fills it
                await asyncio.sleep(0.01)
        first = await events.get(timeout=1)
    assert isinstance(first, Event)
    overflow = [r for r in caplog.records if "not keeping up" in r.getMessage()]
    assert len(overflow) == 1  # 300 drops, one warning


async def test_registers_go_through_the_register_table(scripted) -> None:  # type: ignore[no-untyped-def]
    def handler(module, line, payload):  # type: ignore[no-untyped-def]
        module.send(line)
        if line == "SKSREG SFB":
            module.send("ESREG 01", "OK")
        elif line == "SKSREG S2":
            module.send("ESREG 21", "OK")
        else:
            module.send("OK")

    client, module = scripted(handler)
    await client.write_register(Register.SESSION_LIFETIME, 900)
    assert module.lines[-1] == "SKSREG S16 00000384"
    assert await client.read_register(Register.CHANNEL) == "21"
    assert await client.refresh_tx_limit() is True
    assert client.tx_limited
    sent = len(module.lines)
    with pytest.raises(InvalidArgumentError):
        await client.write_register(Register.CHANNEL, 0x3D)
    with pytest.raises(InvalidArgumentError):
        await client.write_register("S2", 0x21)  # an integer needs the table to encode it
    assert len(module.lines) == sent


async def test_a_raw_command_keeps_the_layout_it_was_given(scripted) -> None:  # type: ignore[no-untyped-def]
    client, module = scripted(a1_module, family=ModuleFamily.BP35A1)
    await client.command("SKSREG", "S2", "21")
    with pytest.raises(CommandError):  # a BP35A1 refuses the SIDE
        await client.command("SKSCAN", "2", "FFFFFFFF", "2", "0")
    assert module.lines[-2:] == ["SKSREG S2 21", "SKSCAN 2 FFFFFFFF 2 0"]
    assert isinstance(module.commands[-1], SkScan)
    assert module.commands[-1].side == 0
    assert client.family is ModuleFamily.BP35A1  # a raw command never switches the dialect
