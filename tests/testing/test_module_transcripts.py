"""The simulated module reproduces the transcripts of skstack-ip.md section 8, byte by byte.

Addresses are configured to the transcript's values where the simulator can be faithful
(SKLL64 flips the U/L bit, so the anonymised 8.1 addresses cannot all be reproduced);
PANA session ids and sequence numbers are random and are matched by pattern.
"""

from __future__ import annotations

import contextlib
import re

import attrs

from aiobroute.testing import (
    DEFAULT_MODULE_MAC,
    MeterConfig,
    ModulePreset,
    PanConfig,
    RadioConfig,
    Simulator,
)
from tests.testing._host import CRLF, Host, echo_off, lines, setup_commands


async def test_8_1_rl7023_ips_echo_on_full_join() -> None:
    """netlog: RL7023 Stick-D/IPS, echo on, hex ERXUDP, lower-case SKSETPWD length."""
    rbid = "12345678123456781234567812345678"
    sim = Simulator(
        ModulePreset.RL7023_IPS,
        timing="instant",
        rbid=rbid,
        password="1234567890ab",
        module_mac="1034567812345678",  # link-local FE80::1234:5678:1234:5678 as printed
        pan=PanConfig(mac="1234567812345678", channel=0x39, pan_id=0x9876, lqi=0x2D),
    )
    me = "FE80:0000:0000:0000:1234:5678:1234:5678"
    paa = "FE80:0000:0000:0000:1034:5678:1234:5678"  # transcript: anonymised 9876:5432:...
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKINFO\r\n")
        await host.expect(lines("SKINFO", f"EINFO {me} 1034567812345678 21 FFFF FFFE", "OK"))
        await host.send(f"SKSETRBID {rbid}\r\n".encode())
        await host.expect(lines(f"SKSETRBID {rbid}", "OK"))
        await host.send(b"SKSETPWD c 1234567890ab\r\n")
        await host.expect(lines("SKSETPWD c 1234567890ab", "OK"))
        await host.send(b"SKSCAN 2 FFFFFFFF 6\r\n")
        await host.expect(
            lines(
                "SKSCAN 2 FFFFFFFF 6",
                "OK",  # absent from the capture; see section 2.8
                f"EVENT 20 {me}",
                "EPANDESC",
                "  Channel:39",
                "  Channel Page:09",
                "  Pan ID:9876",
                "  Addr:1234567812345678",
                "  LQI:2D",
                "  PairID:12345678",
                f"EVENT 22 {me}",
            )
        )
        await host.send(b"SKSREG S2 39\r\n")
        await host.expect(lines("SKSREG S2 39", "OK"))
        await host.send(b"SKSREG S3 9876\r\n")
        await host.expect(lines("SKSREG S3 9876", "OK"))
        await host.send(b"SKLL64 1234567812345678\r\n")
        await host.expect(lines("SKLL64 1234567812345678", paa))
        await host.send(f"SKJOIN {paa}\r\n".encode())
        await host.expect(lines(f"SKJOIN {paa}", "OK", f"EVENT 21 {paa} 02", f"EVENT 02 {paa}"))
        first = (await host.line()).decode("ascii")
        assert re.fullmatch(
            rf"ERXUDP {paa} {me} 02CC 02CC 1234567812345678 0 0028 "
            r"00000028C0000002[0-9A-F]{16}"
            r"00060000000400000000000500030000000400000000000C\r\n",
            first,
        )
        rest: list[str] = []
        while not rest or not rest[-1].startswith("EVENT 25"):
            rest.append((await host.line()).decode("ascii").rstrip())
        assert rest[-1] == f"EVENT 25 {paa}"
        assert all(
            line == f"EVENT 21 {paa} 00" or line.startswith(f"ERXUDP {paa} {me} 02CC 02CC ")
            for line in rest[:-1]
        )
        await host.close()
    assert sim.session is None  # powered off with the pipe


async def join(host: Host, sim: Simulator, *, switch_echo_off: bool = True) -> None:
    """Register the credentials, tune to the PAN and join (instant timing)."""
    if switch_echo_off:
        await echo_off(host)
    for command in (*setup_commands(sim), f"SKJOIN {sim.meter_address}"):
        await host.send(command.encode() + CRLF)
        await host.expect(lines("OK"))
    while not (await host.line()).startswith(b"EVENT 25"):
        pass
    startup = await host.line()  # the meter's instance-list INF to FF02::1
    assert b" FF02:0000:0000:0000:0000:0000:0000:0001 0E1A 0E1A " in startup


async def test_8_2_bp35a1_sendto_round_trip_with_blank_line() -> None:
    """node-echonet-lite dump: blank line, EVENT 21 00, OK, then the hex ERXUDP answer."""
    preset = attrs.evolve(ModulePreset.BP35A1, default_hex=True, sendto_lone_crlf=1.0)
    sim = Simulator(preset, timing="instant", pan=PanConfig(mac="001C64000334809F"))
    paa, me = sim.meter_address, sim.module_address
    async with sim.memory() as stream:
        host = Host(stream)
        await join(host, sim)
        payload = bytes.fromhex("1081001A05FF010288016201 9E00".replace(" ", ""))
        await host.send(f"SKSENDTO 1 {paa} 0E1A 2 000E ".encode() + payload)
        await host.expect(CRLF + lines(f"EVENT 21 {paa} 00", "OK"))
        await host.expect(
            lines(
                f"ERXUDP {paa} {me} 0E1A 0E1A 001C64000334809F 1 0012 "
                "1081001A02880105FF0172019E040381E5ED"
            )
        )
        await host.close()
    assert sim.payloads_to_meter == [payload]


async def test_8_3_bp35a1_2015_firmware_without_secured_field() -> None:
    """joanjett: no lone CRLF, and ERXUDP without the SECURED field (old firmware)."""
    preset = attrs.evolve(
        ModulePreset.BP35A1, default_hex=True, sendto_lone_crlf=0.0, erxudp_secured_field=False
    )
    sim = Simulator(preset, timing="instant")
    paa, me, mac = sim.meter_address, sim.module_address, sim.module.pan.mac
    async with sim.memory() as stream:
        host = Host(stream)
        await join(host, sim)
        payload = bytes.fromhex("1081000105FF010288016201E700")
        await host.send(f"SKSENDTO 1 {paa} 0E1A 1 000E ".encode() + payload)
        await host.expect(lines(f"EVENT 21 {paa} 00", "OK"))
        answer = sim.meter.frames_sent[-1]  # built when the request reached the meter
        assert answer[:14] == bytes.fromhex("1081000102880105FF017201E704")
        await host.expect(lines(f"ERXUDP {paa} {me} 0E1A 0E1A {mac} 0012 {answer.hex().upper()}"))
        assert sim.payloads_from_meter[-1] == answer
        await host.close()


async def test_8_4_bp35a1_smdn_fixtures() -> None:
    """smdn's BP35A1 fixtures, echo off: versions, info, scans, SKLL64, sends, tables, ROPT."""
    c890 = "FE80:0000:0000:0000:021D:1290:0003:C890"
    preset = attrs.evolve(ModulePreset.BP35A1, sendto_lone_crlf=0.0)
    sim = Simulator(
        preset,
        timing="instant",
        scan_event_address=c890,
        pan=PanConfig(mac="12345678ABCDEF01", lqi=0xE1, pair_id="AABBCCDD"),
        # smdn's fixture hears the meter at DURATION 2; real BP35A1 logs need 6.
        radio=RadioConfig(beacon_min_duration=2),
    )
    me = "FE80:0000:0000:0000:021D:1290:1234:5678"
    paa = sim.meter_address
    assert me == sim.module_address
    async with sim.memory() as stream:
        host = Host(stream)
        await host.send(b"SKSREG SFE 0\r\n")
        await host.expect(lines("SKSREG SFE 0", "OK"))
        await host.send(b"SKVER\r\n")
        await host.expect(lines("EVER 1.2.10", "OK"))
        await host.send(b"SKAPPVER\r\n")
        await host.expect(lines("EAPPVER rev26e", "OK"))
        for command in (b"SKSREG S02 21\r\n", b"SKSREG S03 8888\r\n"):
            await host.send(command)
            await host.expect(lines("OK"))
        await host.send(b"SKINFO\r\n")
        await host.expect(lines(f"EINFO {me} 001D129012345678 21 8888 FFFE", "OK"))
        await host.send(b"SKSREG S02\r\n")
        await host.expect(lines("ESREG 21", "OK"))
        await host.send(b"SKSCAN 2 FFFFFFFF 2\r\n")
        await host.expect(
            lines(
                "OK",
                f"EVENT 20 {c890}",
                "EPANDESC",
                "  Channel:21",
                "  Channel Page:09",
                "  Pan ID:8888",
                "  Addr:12345678ABCDEF01",
                "  LQI:E1",
                "  PairID:AABBCCDD",
                f"EVENT 22 {c890}",
            )
        )
        await host.send(b"SKSCAN 0 FFFFFFFF 2\r\n")
        await host.expect(lines("OK", f"EVENT 1F {c890}", "EEDSCAN"))
        levels = (await host.line()).decode("ascii")
        channels = " ".join(f"{channel:02X} [0-9A-F]{{2}}" for channel in range(0x21, 0x3D))
        assert re.fullmatch(channels + "\r\n", levels)
        await host.expect(CRLF)  # BP35A1 1.2.10 adds an empty line
        await host.send(b"SKLL64 001D129012345678\r\n")
        await host.expect(lines(me))  # no OK
        # First send to a neighbour not in the cache: neighbour solicitation first.
        await host.send(f"SKSENDTO 1 {paa} 0E1A 0 0005 01234".encode())
        await host.expect(lines(f"EVENT 21 {paa} 02", f"EVENT 21 {paa} 00", "OK"))
        await host.send(b"SKTERM\r\n")
        await host.expect(lines("FAIL ER10"))
        await host.send(b"SKTABLE E\r\n")
        await host.expect(
            lines("EPORT", "3610", "716", "0", "0", "0", "0", "", "3610", "0", "0", "0", "OK")
        )
        await host.send(b"ROPT\r")
        await host.expect(b"OK 00\r")
        # SKTERM with a session: EVENT 21 before OK, the PANA answer, EVENT 27.
        await join(host, sim, switch_echo_off=False)
        await host.send(b"SKTERM\r\n")
        await host.expect(lines(f"EVENT 21 {paa} 00", "OK"))
        answer = await host.line()
        assert answer.startswith(f"ERXUDP {paa} {me} 02CC 02CC 12345678ABCDEF01 0 ".encode())
        await host.expect(lines(f"EVENT 27 {paa}"))
        await host.close()
    assert sim.payloads_to_meter == []  # plaintext never reaches the meter


@contextlib.asynccontextmanager
async def c2_host(preset: ModulePreset, **options: object):  # type: ignore[no-untyped-def]
    sim = Simulator(
        preset,
        timing="instant",
        scan_event_address="FE80:0000:0000:0000:021D:1290:0003:C890",
        pan=PanConfig(mac="12345678ABCDEF01", lqi=0xE1, pair_id="AABBCCDD"),
        pana_exchanges=1,
        **options,  # type: ignore[arg-type]
    )
    async with sim.memory() as stream:
        host = Host(stream)
        yield sim, host
        await host.close()


async def test_8_5_bp35c2_family_constructed_transcript() -> None:
    """The constructed BP35C2-family session (RL7023 Stick-D/DSS prints hex)."""
    c890 = "FE80:0000:0000:0000:021D:1290:0003:C890"
    me = "FE80:0000:0000:0000:021D:1290:1234:5678"
    paa = "FE80:0000:0000:0000:1034:5678:ABCD:EF01"
    # The constructed transcript reuses the BP35A1 fixtures' module MAC; a simulated
    # BP35C2-family module has its own prefix (BP35C2_MODULE_MAC) unless told otherwise.
    async with c2_host(ModulePreset.RL7023_DSS, module_mac=DEFAULT_MODULE_MAC) as (sim, host):
        await host.send(b"SKSREG SFE 0\r\n")
        await host.expect(lines("SKSREG SFE 0", "OK"))  # the echo of this line: our choice
        await host.send(b"SKINFO\r\n")
        await host.expect(lines(f"EINFO {me} 001D129012345678 21 FFFF 0", "OK"))
        await host.send(b"SKSETPWD C 0123456789AB\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKSETRBID 00112233445566778899AABBCCDDEEFF\r\n")
        await host.expect(lines("OK"))
        await host.send(b"SKSCAN 2 FFFFFFFF 6 0\r\n")
        await host.expect(
            lines(
                "OK",
                f"EVENT 20 {c890} 0",
                "EPANDESC",
                "  Channel:21",
                "  Channel Page:09",
                "  Pan ID:8888",
                "  Addr:12345678ABCDEF01",
                "  LQI:E1",
                "  Side:0",
                "  PairID:AABBCCDD",
                f"EVENT 22 {c890} 0",
            )
        )
        await host.send(b"SKLL64 12345678ABCDEF01\r\n")
        await host.expect(lines(paa))
        for command in (b"SKSREG S2 21\r\n", b"SKSREG S3 8888\r\n"):
            await host.send(command)
            await host.expect(lines("OK"))
        await host.send(f"SKJOIN {paa}\r\n".encode())
        await host.expect(lines("OK", f"EVENT 21 {paa} 0 02", f"EVENT 02 {paa} 0"))
        pana = (await host.line()).decode("ascii")
        assert re.fullmatch(
            rf"ERXUDP {paa} {me} 02CC 02CC 12345678ABCDEF01 0 0 0028 00000028C0000002"
            r"[0-9A-F]{16}00060000000400000000000500030000000400000000000C\r\n",
            pana,
        )
        await host.expect(lines(f"EVENT 21 {paa} 0 00", f"EVENT 25 {paa} 0"))
        # Not in the constructed transcript: the meter's startup INF (section 6 step 9).
        await host.expect(
            lines(
                f"ERXUDP {paa} FF02:0000:0000:0000:0000:0000:0000:0001 0E1A 0E1A "
                "12345678ABCDEF01 1 0 0012 108100000EF0010EF0017301D50401028801"
            )
        )
        request = bytes.fromhex("1081000105FF010288016201E700")
        await host.send(f"SKSENDTO 1 {paa} 0E1A 1 0 000E ".encode() + request)
        await host.expect(CRLF + lines(f"EVENT 21 {paa} 0 00", "OK"))
        answer = sim.meter.frames_sent[-1]  # built when the request reached the meter
        assert answer[:14] == bytes.fromhex("1081000102880105FF017201E704")
        await host.expect(
            lines(f"ERXUDP {paa} {me} 0E1A 0E1A 12345678ABCDEF01 1 0 0012 {answer.hex().upper()}")
        )


async def test_8_5_bp35c2_binary_payload_and_rssi() -> None:
    """BP35C2 prints raw bytes by default; SKSREG SA2 1 inserts the RSSI field."""
    async with c2_host(ModulePreset.BP35C2, meter=MeterConfig(seed=4)) as (sim, host):
        await join(host, sim)
        paa, me = sim.meter_address, sim.module_address
        await host.send(b"SKSREG SA2 1\r\n")
        await host.expect(lines("OK"))
        request = bytes.fromhex("1081000205FF010288016201E000")
        await host.send(f"SKSENDTO 1 {paa} 0E1A 1 0 000E ".encode() + request)
        await host.expect(CRLF + lines(f"EVENT 21 {paa} 0 00", "OK"))
        answer = sim.meter.frames_sent[-1]  # built when the request reached the meter
        head = f"ERXUDP {paa} {me} 0E1A 0E1A 12345678ABCDEF01 E1 1 0 {len(answer):04X} "
        await host.expect(head.encode() + answer + CRLF)
        assert sim.payloads_from_meter[-1] == answer
