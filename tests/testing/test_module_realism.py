"""The simulated modules print what real ones print (differences found by outside testing)."""

from __future__ import annotations

import re

import attrs
import pytest

from aiobroute.skstack import EdScan, LineParser, ModuleFamily
from aiobroute.testing import (
    BP35C2_MODULE_MAC,
    DEFAULT_MODULE_MAC,
    ModulePreset,
    RadioConfig,
    SimulatedModule,
)
from tests.testing._host import CRLF, Host, echo_off, lines, running, setup_commands

A1_PRESETS = [p for p in ModulePreset.all() if p.family is ModuleFamily.BP35A1]
C2_PRESETS = [p for p in ModulePreset.all() if p.family is ModuleFamily.BP35C2]


def scan_command(preset: ModulePreset, mode: int, duration: int) -> bytes:
    side = " 0" if preset.has_side else ""
    return f"SKSCAN {mode} FFFFFFFF {duration:X}{side}".encode() + CRLF


async def active_scan(preset: ModulePreset, host: Host, duration: int) -> bytes:
    """Everything an active scan printed, up to and including its EVENT 22 line."""
    await host.send(scan_command(preset, 2, duration))
    await host.expect(lines("OK"))
    return await host.until(b"EVENT 22 ") + await host.line()


# --------------------------------------------------------------------- 14: EEDSCAN


@pytest.mark.parametrize("preset", ModulePreset.all(), ids=lambda p: p.name)
async def test_eedscan_shape_follows_the_family(preset: ModulePreset) -> None:
    async with running(preset) as (_sim, host):
        await echo_off(host)
        await host.send(scan_command(preset, 0, 2))
        await host.expect(lines("OK"))
        await host.until(b"EEDSCAN\r\n")
        data = (await host.line()).decode("ascii")
        parsed = LineParser().feed(b"EEDSCAN\r\n" + data.encode())
    tokens = data.split()
    if preset.has_side:
        assert tokens[0] == "0"  # the SIDE first, then 28 channel/level pairs
        assert len(tokens) == 57
        assert re.fullmatch(r"0( [0-9A-F]{2} [0-9A-F]{2}){28}\r\n", data)
    else:
        assert len(tokens) == 56
        assert re.fullmatch(r"[0-9A-F]{2} [0-9A-F]{2}( [0-9A-F]{2} [0-9A-F]{2}){27}\r\n", data)
    assert len(parsed) == 1
    scan = parsed[0]
    assert isinstance(scan, EdScan)
    assert scan.side == (0 if preset.has_side else None)
    assert [channel for channel, _ in scan.levels] == list(range(0x21, 0x3D))


# ------------------------------------------------------------ 15: audible duration


@pytest.mark.parametrize(
    ("preset", "minimum"),
    [(p, 6) for p in A1_PRESETS] + [(p, 5) for p in C2_PRESETS],
    ids=lambda v: v.name if isinstance(v, ModulePreset) else str(v),
)
async def test_the_meter_is_heard_only_from_the_family_duration(
    preset: ModulePreset, minimum: int
) -> None:
    assert preset.beacon_min_duration == minimum
    async with running(preset) as (_sim, host):
        await echo_off(host)
        quiet = await active_scan(preset, host, minimum - 1)
        assert quiet.startswith(b"EVENT 22 ")  # nothing heard
        heard = await active_scan(preset, host, minimum)
        assert heard.startswith(b"EVENT 20 ")
        assert b"EPANDESC" in heard


async def test_radio_overrides_the_audible_duration() -> None:
    async with running(radio=RadioConfig(beacon_min_duration=9)) as (_sim, host):
        await echo_off(host)
        assert (await active_scan(ModulePreset.BP35A1, host, 8)).startswith(b"EVENT 22 ")
        assert (await active_scan(ModulePreset.BP35A1, host, 9)).startswith(b"EVENT 20 ")


async def test_beacon_miss_is_seeded() -> None:
    async def pattern(seed: int) -> list[bool]:
        radio = RadioConfig(beacon_miss=0.5)
        async with running(radio=radio, seed=seed) as (_sim, host):
            await echo_off(host)
            return [
                (await active_scan(ModulePreset.BP35A1, host, 6)).startswith(b"EVENT 20 ")
                for _ in range(12)
            ]

    first = await pattern(7)
    assert first == await pattern(7)  # the same seed, the same misses
    assert True in first
    assert False in first
    with pytest.raises(ValueError, match="beacon_miss"):
        RadioConfig(beacon_miss=1.5)


# --------------------------------------------------------------- 16: shapes


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
@pytest.mark.parametrize("command", [b"ROPT", b"WOPT 01"])
async def test_product_command_echo_mirrors_the_hosts_line_end(
    command: bytes, ending: bytes
) -> None:
    async with running("BP35A1") as (_sim, host):
        await host.send(command + ending)
        await host.expect(command + ending)  # the echo, as sent
        await host.expect(b"OK 00\r" if command == b"ROPT" else b"OK\r")  # a lone CR
        await host.send(b"SKVER\r\n")  # SK commands: the echo ends with CRLF
        await host.expect(lines("SKVER", "EVER 1.2.10", "OK"))


@pytest.mark.parametrize("preset", ModulePreset.all(), ids=lambda p: p.name)
async def test_module_mac_prefix_follows_the_family(preset: ModulePreset) -> None:
    expected = BP35C2_MODULE_MAC if preset.has_side else DEFAULT_MODULE_MAC
    assert expected.startswith("001D12") is (not preset.has_side)
    async with running(preset) as (sim, host):
        await echo_off(host)
        await host.send(b"SKINFO\r\n")
        einfo = (await host.line()).decode("ascii").split()
        await host.expect(lines("OK"))
        assert einfo[2] == expected
        assert sim.module.mac == expected
        await host.send(b"SKSREG S1\r\n")
        assert await host.line() == lines(f"ESREG {expected}")


@pytest.mark.parametrize(
    "preset", [ModulePreset.BP35A1, ModulePreset.RL7023_DSS], ids=lambda p: p.name
)
async def test_pana_messages_have_real_lengths(preset: ModulePreset) -> None:
    async with running(preset) as (sim, host):
        await echo_off(host)
        for command in setup_commands(sim):
            await host.send(command.encode() + CRLF)
            await host.expect(lines("OK"))
        await host.send(f"SKJOIN {sim.meter_address}\r\n".encode())
        seen = await host.until(b"EVENT 25 ")
    lengths = re.findall(rb"ERXUDP \S+ \S+ 02CC 02CC \S+ 0 (?:0 )?([0-9A-F]{4}) ", seen)
    assert [int(length, 16) for length in lengths] == [0x28, 0x68, 0x54, 0x58]


async def test_rs_wsuha_p_payload_format_is_configurable() -> None:
    assert ModulePreset.RS_WSUHA_P.default_hex is True
    binary = attrs.evolve(ModulePreset.RS_WSUHA_P, default_hex=False)
    async with running(binary) as (sim, _host):
        assert isinstance(sim.module, SimulatedModule)
        assert sim.module.hex_payload is False
