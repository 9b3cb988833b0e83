"""SKSTACK IP commands of the simulated module: arity, echo, product commands, registers."""

from __future__ import annotations

import attrs
import pytest

from aiobroute.skstack import ErrorCode, Event, Fail, LineParser, Message, Ok, RxUdp
from aiobroute.testing import (
    ModulePreset,
    SimulatedModule,
    Simulator,
)
from tests.testing._host import CRLF, Host, echo_off, lines, running, setup_commands

A1_PRESETS = [ModulePreset.BP35A1, ModulePreset.RL7023_IPS]
C2_PRESETS = [ModulePreset.BP35C2, ModulePreset.RS_WSUHA_P, ModulePreset.RL7023_DSS]


async def join(sim: Simulator, host: Host) -> None:
    for command in (*setup_commands(sim), f"SKJOIN {sim.meter_address}"):
        await host.send(command.encode() + CRLF)
        await host.expect(lines("OK"))
    await host.until(b"EVENT 25")
    assert isinstance(sim.module, SimulatedModule)
    await host.until(b"D50401028801" if sim.module.hex_payload else b"\x01\x02\x88\x01\r\n")
    assert sim.session_active


# ------------------------------------------------------------------ arity, errors


@pytest.mark.parametrize("preset", A1_PRESETS + C2_PRESETS, ids=lambda p: p.name)
async def test_skscan_arity_follows_the_family(preset: ModulePreset) -> None:
    right = "SKSCAN 2 FFFFFFFF 6" + (" 0" if preset.has_side else "")
    wrong = "SKSCAN 2 FFFFFFFF 6" + ("" if preset.has_side else " 0")
    async with running(preset) as (_sim, host):
        await echo_off(host)
        await host.send(wrong.encode() + CRLF)
        await host.expect(lines("FAIL ER05"))
        await host.send(right.encode() + CRLF)
        await host.expect(lines("OK"))
        assert (await host.until(CRLF)).startswith(b"EVENT 20 ")


@pytest.mark.parametrize("preset", A1_PRESETS + C2_PRESETS, ids=lambda p: p.name)
async def test_sksendto_with_the_other_familys_arity_is_er05_and_stays_in_step(
    preset: ModulePreset,
) -> None:
    side = "" if preset.has_side else " 0"  # the wrong shape for this preset
    data = b"\r\nAB\r\n"  # CR/LF in the data must not be taken for a line end
    async with running(preset) as (sim, host):
        await echo_off(host)
        await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 1{side} 0006 ".encode() + data)
        out = await host.until(b"FAIL ER05\r\n")
        assert out in (b"FAIL ER05\r\n", b"\r\nFAIL ER05\r\n")  # after the lone CRLF, if any
        await host.send(b"SKVER\r\n")
        await host.expect(lines(f"EVER {preset.version}", "OK"))
        assert sim.commands_received[-2].startswith("SKSENDTO 1 ")


@pytest.mark.parametrize(
    ("command", "answer"),
    [
        ("SKVER 1", "FAIL ER05"),
        ("SKINFO X", "FAIL ER05"),
        ("SKSETPWD C", "FAIL ER05"),
        ("SKSETPWD C 0123", "FAIL ER06"),
        ("SKSETPWD 0 ", "FAIL ER05"),
        ("SKSETRBID 0011", "FAIL ER06"),
        ("SKSREG S2 99", "FAIL ER06"),
        ("SKSREG S2 1G", "FAIL ER06"),
        ("SKSREG SZZ", "FAIL ER06"),
        ("SKSREG S16 3B", "FAIL ER06"),
        ("SKSREG SFE 2", "FAIL ER06"),
        ("SKSREG SFD 0", "FAIL ER06"),
        ("SKSREG S02 21 22", "FAIL ER05"),
        ("SKSCAN 4 FFFFFFFF 6", "FAIL ER06"),
        ("SKSCAN 2 FFFFFFFF F", "FAIL ER06"),
        ("SKLL64 1234", "FAIL ER06"),
        ("SKJOIN FE80::G", "FAIL ER06"),
        ("SKTERM", "FAIL ER10"),
        ("SKREJOIN", "FAIL ER10"),
        ("SKLOAD", "FAIL ER10"),
        ("SKTABLE 9", "FAIL ER06"),
        ("SKUDPPORT 7 0E1A", "FAIL ER06"),
        ("SKFOO", "FAIL ER04"),
        ("skver", "FAIL ER04"),
    ],
)
async def test_bad_commands_answer_the_right_error(command: str, answer: str) -> None:
    async with running() as (_sim, host):
        await echo_off(host)
        await host.send(command.encode() + CRLF)
        await host.expect(lines(answer))
        assert await host.idle() == b""


async def test_too_long_line_is_a_uart_error() -> None:
    async with running() as (_sim, host):
        await echo_off(host)
        await host.send(b"X" * 2000 + CRLF)
        await host.expect(lines("FAIL ER09"))
        await host.send(b"SKVER\r\n")
        await host.expect(lines("EVER 1.2.10", "OK"))


# ------------------------------------------------------------------------- echo


async def test_echo_is_on_after_power_up_and_reset_and_off_after_sfe_0() -> None:
    async with running() as (sim, host):
        await host.send(b"SKVER\r\n")
        await host.expect(lines("SKVER", "EVER 1.2.10", "OK"))
        await host.send(b"SKSREG SFE 0\r\n")
        await host.expect(lines("SKSREG SFE 0", "OK"))  # decided before the line runs
        await host.send(b"SKSREG SFE\r\n")
        await host.expect(lines("ESREG 0", "OK"))
        await host.send(b"SKSREG SFE 1\r\n")
        await host.expect(lines("OK"))  # not echoed: echo was off when it arrived
        await host.send(b"SKSREG SFE 0\r\n")
        await host.expect(lines("SKSREG SFE 0", "OK"))
        await host.send(b"SKRESET\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKVER\r\n")
        await host.expect(lines("SKVER", "EVER 1.2.10", "OK"))
        assert sim.module.resets == 1


async def test_empty_lines_and_lf_after_cr_are_ignored() -> None:
    async with running() as (_sim, host):
        await host.send(b"\r\n\r\n")
        await host.send(b"SKVER\r")
        await host.expect(lines("SKVER", "EVER 1.2.10", "OK"))
        await host.send(b"\nSKAPPVER\n")
        await host.expect(lines("SKAPPVER", "EAPPVER rev26e", "OK"))
        assert await host.idle() == b""


# ----------------------------------------------------------- product commands


async def test_bp35a1_ropt_wopt_use_cr_only_and_count_flash_writes() -> None:
    async with running("BP35A1") as (sim, host):
        await host.send(b"ROPT\r")
        await host.expect(b"ROPT\rOK 00\r")
        await host.send(b"WOPT 01\r")
        await host.expect(b"WOPT 01\rOK\r")
        await host.send(b"ROPT\r")
        await host.expect(b"ROPT\rOK 01\r")
        await host.send(b"RUART\r")
        await host.expect(b"RUART\rOK 00\r")
        await host.send(b"WUART 03\r")
        await host.expect(b"WUART 03\rOK\r")
        await host.send(b"WOPT 02\r")
        await host.expect(b"WOPT 02\rFAIL ER06\r")
        assert sim.flash_writes == 2
        assert isinstance(sim.module, SimulatedModule)
        assert sim.module.hex_payload
        assert sim.module.uart_setting == 3
        await host.send(b"SKRESET\r\n")
        await host.expect(lines("SKRESET", "OK"))
        await host.send(b"ROPT\r")
        await host.expect(b"ROPT\rOK 01\r")  # flash survives a reset


@pytest.mark.parametrize("preset", [ModulePreset.RL7023_IPS, ModulePreset.RL7023_DSS])
async def test_tessera_models_refuse_product_commands(preset: ModulePreset) -> None:
    async with running(preset) as (sim, host):
        await echo_off(host)
        for command in (b"ROPT\r", b"WOPT 01\r", b"RUART\r", b"WUART 00\r"):
            await host.send(command)
            await host.expect(lines("FAIL ER04"))
        assert sim.flash_writes == 0
        assert isinstance(sim.module, SimulatedModule)
        assert sim.module.hex_payload


async def test_skappver_availability() -> None:
    async with running("RL7023_DSS") as (_sim, host):
        await echo_off(host)
        await host.send(b"SKAPPVER\r\n")
        await host.expect(lines("FAIL ER04"))
    async with running("BP35C2") as (_sim, host):
        await echo_off(host)
        await host.send(b"SKAPPVER\r\n")
        await host.expect(lines("EAPPVER rev15", "OK"))


@pytest.mark.parametrize(("default_hex", "answer"), [(True, b"OK 01\r"), (False, b"OK 00\r")])
async def test_rs_wsuha_p_ropt_answer_follows_its_payload_format(
    default_hex: bool, answer: bytes
) -> None:
    assert ModulePreset.RS_WSUHA_P.default_hex  # one was seen answering "OK 01"
    preset = attrs.evolve(ModulePreset.RS_WSUHA_P, default_hex=default_hex)
    async with running(preset) as (_sim, host):
        await echo_off(host)
        await host.send(b"ROPT\r")
        await host.expect(answer)


# -------------------------------------------------------------------- registers


async def test_registers_read_write_in_both_spellings() -> None:
    async with running() as (_sim, host):
        await echo_off(host)
        for command, answer in (
            ("SKSREG S2", "ESREG 21"),
            ("SKSREG S02 3C", None),
            ("SKSREG S2", "ESREG 3C"),
            ("SKSREG S3 abcd", None),
            ("SKSREG S03", "ESREG ABCD"),
            ("SKSREG S16", "ESREG 00015180"),
            ("SKSREG S16 384", None),
            ("SKSREG S16", "ESREG 00000384"),
            ("SKSREG S17", "ESREG 1"),
            ("SKSREG S0A", "ESREG 00000000"),
            ("SKSREG SFB", "ESREG 0"),
            ("SKSREG SFD", "ESREG 0000000000000000"),
            ("SKSREG S01", "ESREG 001D129012345678"),
        ):
            await host.send(command.encode() + CRLF)
            await host.expect(lines(answer, "OK") if answer else lines("OK"))


async def test_sksave_skload_and_autoload() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        for command in ("SKSREG S16 3C", "SKSREG SFF 1", "SKSAVE"):
            await host.send(command.encode() + CRLF)
            await host.expect(lines("OK"))
        assert sim.flash_writes == 1
        await host.send(b"SKRESET\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKSREG S16\r\n")
        await host.expect(lines("ESREG 0000003C", "OK"))  # auto-loaded; SFE 0 too
        await host.send(b"SKERASE\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKLOAD\r\n")
        await host.expect(lines("FAIL ER10"))
        assert sim.flash_writes == 2


async def test_skll64_flips_the_ul_bit_and_has_no_ok() -> None:
    async with running() as (_sim, host):
        await echo_off(host)
        await host.send(b"SKLL64 001d129012345678\r\n")
        await host.expect(lines("FE80:0000:0000:0000:021D:1290:1234:5678"))
        await host.send(b"SKLL64 12345678ABCDEF01\r\n")
        await host.expect(lines("FE80:0000:0000:0000:1034:5678:ABCD:EF01"))
        assert await host.idle() == b""


async def test_sktable_address_and_neighbour_tables() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        await host.send(b"SKTABLE 1\r\n")
        await host.expect(lines("EADDR", sim.module_address, "OK"))
        await host.send(f"SKADDNBR {sim.meter_address} 12345678ABCDEF01\r\n".encode())
        await host.expect(lines("OK"))
        await host.send(b"SKTABLE 2\r\n")
        await host.expect(lines("ENEIGHBOR", f"{sim.meter_address} 12345678ABCDEF01 FFFF", "OK"))
        await host.send(b"SKUDPPORT 3 1234\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKTABLE E\r\n")
        await host.expect(
            lines("EPORT", "3610", "716", "4660", "0", "0", "0", "", "3610", "0", "0", "0", "OK")
        )


async def test_bp35c2_port_table_has_no_extra_lines() -> None:
    async with running("BP35C2") as (_sim, host):
        await echo_off(host)
        await host.send(b"SKTABLE E\r\n")
        await host.expect(lines("EPORT", "3610", "716", "0", "0", "0", "0", "OK"))


# --------------------------------------------------------------------- SKSENDTO


def parsed(data: bytes) -> list[Message]:
    return LineParser().feed(data)


@pytest.mark.parametrize("preset", A1_PRESETS + C2_PRESETS, ids=lambda p: p.name)
async def test_sksendto_reaches_the_meter_and_the_answer_parses(preset: ModulePreset) -> None:
    async with running(preset) as (sim, host):
        await echo_off(host)
        await join(sim, host)
        side = " 0" if preset.has_side else ""
        request = bytes.fromhex("1081123405FF010288016201E700")
        await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 1{side} 000E ".encode() + request)
        out = await host.until(b"OK\r\n")
        out += await host.until(CRLF)
        messages = [m for m in parsed(out) if not isinstance(m, Ok)]
        events = [m for m in messages if isinstance(m, Event)]
        assert [(e.num, e.param, e.side) for e in events] == [
            (0x21, 0, 0 if preset.has_side else None)
        ]
        rx = [m for m in messages if isinstance(m, RxUdp)]
        assert len(rx) == 1
        assert rx[0].sender == sim.meter_address
        assert rx[0].dest == sim.module_address
        assert (rx[0].rport, rx[0].lport, rx[0].secured) == (0x0E1A, 0x0E1A, True)
        assert rx[0].hex_payload == preset.default_hex
        assert rx[0].data[:4] == bytes.fromhex("10811234")
        assert rx[0].data == sim.payloads_from_meter[-1]
        assert sim.payloads_to_meter == [request]
        assert sim.meter.frames_received[-1] == request
        assert rx[0].data[14:] == sim.meter.frames_sent[-1][14:]


async def test_sksendto_tolerates_a_trailing_crlf_and_echoes_its_header() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        await join(sim, host)
        await host.send(b"SKSREG SFE 1\r\n")
        await host.expect(lines("OK"))
        request = bytes.fromhex("1081000105FF010288016201E700")
        header = f"SKSENDTO 1 {sim.meter_address} 0E1A 1 000E "
        await host.send(header.encode() + request + CRLF)
        await host.expect(header.encode() + CRLF)  # echo: header, CRLF, no data
        await host.expect(lines(f"EVENT 21 {sim.meter_address} 00", "OK"))
        await host.until(CRLF)  # the answer
        await host.send(b"SKVER\r\n")
        await host.expect(lines("SKVER", "EVER 1.2.10", "OK"))
        assert sim.commands_received[-1] == "SKVER"


async def test_bp35a1_lone_crlf_after_sksendto_is_seeded_random() -> None:
    async def blanks(seed: int) -> list[bool]:
        async with running(seed=seed) as (sim, host):
            await echo_off(host)
            seen = []
            for _ in range(12):
                await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 0 0001 X".encode())
                out = await host.until(b"OK\r\n")
                seen.append(out.startswith(CRLF))
            return seen

    first = await blanks(3)
    assert first == await blanks(3)
    assert True in first
    assert False in first


async def test_sksendto_without_session_and_sec_1() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 1 0001 X".encode())
        assert await host.until(b"FAIL ER10\r\n") in (b"FAIL ER10\r\n", b"\r\nFAIL ER10\r\n")
        assert sim.payloads_to_meter == []
    preset = attrs.evolve(ModulePreset.BP35A1, no_session_send="event", sendto_lone_crlf=0.0)
    async with running(preset) as (sim, host):
        await echo_off(host)
        await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 1 0001 X".encode())
        await host.expect(lines(f"EVENT 21 {sim.meter_address} 01", "OK"))


async def test_plaintext_never_reaches_the_meter() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        await join(sim, host)
        await host.send(f"SKSENDTO 1 {sim.meter_address} 0E1A 0 0001 X".encode())
        await host.until(b"OK\r\n")
        assert sim.payloads_to_meter == []


async def test_sa2_is_accepted_and_ignored_on_the_bp35a1_family() -> None:
    async with running() as (sim, host):
        await echo_off(host)
        await host.send(b"SKSREG SA2 1\r\n")
        await host.expect(lines("OK"))
        await join(sim, host)
        await host.send(
            f"SKSENDTO 1 {sim.meter_address} 0E1A 1 000E ".encode()
            + bytes.fromhex("1081000105FF010288016201E700")
        )
        out = await host.until(b"OK\r\n")
        out += await host.until(CRLF)
        rx = [m for m in parsed(out) if isinstance(m, RxUdp)]
        assert rx[0].rssi is None


async def test_fail_codes_are_parsed_as_such() -> None:
    async with running() as (_sim, host):
        await echo_off(host)
        await host.send(b"SKTERM\r\n")
        out = await host.until(CRLF)
        assert parsed(out) == [Fail(ErrorCode.ER10)]
