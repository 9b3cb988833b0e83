"""The J11 simulator driven frame by frame with our codec: pairing, rejoin, reading, teardown."""

from __future__ import annotations

import attrs
import pytest

from aiobroute.echonet import Frame
from aiobroute.j11 import (
    ActiveScan,
    Connection,
    ConnectionListResponse,
    DataReceived,
    GetConnections,
    GetInitialSettings,
    GetIpAddress,
    GetMacAddress,
    GetPanId,
    GetStatus,
    GetTerminals,
    GetUdpPorts,
    GetVersion,
    GlobalState,
    HardwareReset,
    InitialSettings,
    InitialSettingsResponse,
    IpAddressResponse,
    MacAddressResponse,
    OpenUdpPort,
    PanaResult,
    PanIdResponse,
    Ping,
    PingFormat,
    PingResult,
    PortListResponse,
    ResultCode,
    ResultResponse,
    RouteBState,
    ScanResult,
    SetRouteBCredentials,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    StatusResponse,
    TerminalListResponse,
    TerminatePana,
    TerminateRouteB,
    TransmitData,
    TransmitResponse,
    VersionResponse,
    link_local_address,
    pairing_id,
)
from aiobroute.testing import (
    J11Preset,
    SimulatedJ11Module,
    Simulator,
)
from tests.testing._j11host import GET_E7, J11Host, frozen_clock, running


async def status(host: J11Host) -> tuple[int | None, int | None]:
    reply, _ = await host.request(GetStatus())
    assert isinstance(reply, StatusResponse)
    assert reply.ok
    assert reply.han_state == RouteBState.NOT_STARTED
    return reply.global_state, reply.route_b_state


async def ok(host: J11Host, request: object) -> None:
    reply, _ = await host.request(request)  # type: ignore[arg-type]
    assert isinstance(reply, ResultResponse), reply
    assert reply.result == ResultCode.SUCCESS, reply


async def pair(sim: Simulator, host: J11Host) -> StartRouteBResponse:
    """Note §5.1 steps 3-9, asserting every frame."""
    await ok(host, InitialSettings(channel=4))
    await ok(host, SetRouteBCredentials(sim.rbid, sim.password))
    scan = ActiveScan(6, 0x0003FFF0, pairing_id(sim.rbid))
    reply, before = await host.request(scan)
    assert isinstance(reply, ResultResponse)
    assert reply.command == 0x2051
    assert reply.ok
    assert [m.channel for m in before if isinstance(m, ScanResult)] == list(range(4, 18))
    found = [m for m in before if isinstance(m, ScanResult) and m.beacons]
    assert len(found) == 1
    beacon = found[0].beacons[0]
    assert found[0].channel == 15
    assert beacon.mac == bytes.fromhex(sim.module.pan.mac)
    assert beacon.pan_id == sim.module.pan.pan_id
    await ok(host, InitialSettings(channel=found[0].channel))
    started, _ = await host.request(StartRouteB())
    assert isinstance(started, StartRouteBResponse)
    assert started.ok
    assert (started.channel, started.pan_id, started.mac) == (15, beacon.pan_id, beacon.mac)
    assert started.rssi_dbm == beacon.rssi_dbm
    await ok(host, OpenUdpPort(3610))
    reply, _ = await host.request(StartPana())
    assert isinstance(reply, ResultResponse)
    assert reply.ok
    (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
    assert result == PanaResult(0x01, beacon.mac)
    return started


async def test_pairing_sequence_frame_by_frame() -> None:
    async with running("RS-WSUHA-J11") as (sim, host):
        assert sim.is_j11
        version, _ = await host.request(GetVersion())
        assert version == VersionResponse(0x01, 0x0400, 1, 3, 2)
        assert await status(host) == (GlobalState.NOT_STARTED, RouteBState.NOT_STARTED)
        started = await pair(sim, host)
        # The meter multicasts its instance list once the session is up.
        (inf,) = await host.take_until(lambda m: isinstance(m, DataReceived))
        assert await status(host) == (GlobalState.STARTED, RouteBState.AUTHENTICATED)
        assert sim.session_active
        assert isinstance(inf, DataReceived)
        assert inf.multicast
        assert inf.encrypted
        assert inf.source == link_local_address(started.mac or b"")
        frame = Frame.decode(inf.payload)
        assert frame.properties[0].epc == 0xD5
        assert frame.properties[0].edt == bytes.fromhex("01028801")
        # Read the instantaneous power: 0x2008 then 0x6018 with the ground truth.
        meter = link_local_address(started.mac or b"")
        reply, _ = await host.request(TransmitData(meter, 3610, 3610, GET_E7))
        assert reply == TransmitResponse(0x01, 0x00, GET_E7[:5])
        (answer,) = await host.take_until(lambda m: isinstance(m, DataReceived))
        assert isinstance(answer, DataReceived)
        assert not answer.multicast
        assert (answer.source_port, answer.destination_port) == (3610, 3610)
        get_res = Frame.decode(answer.payload)
        assert get_res.tid == 1
        watts = int.from_bytes(get_res.properties[0].edt, "big", signed=True)
        assert watts == sim.meter.instant_power_watts()
        assert sim.payloads_to_meter == [GET_E7]
        assert sim.payloads_from_meter[-1] == answer.payload
        assert sim.flash_writes == 0


@pytest.mark.parametrize(
    ("model", "name", "version"),
    [
        ("bp35c1_j11", "BP35C1-J11-T01", (1, 3, 1)),
        ("BP35C2_J11", "BP35C2-J11-T01", (1, 3, 1)),
        ("rs_wsuha_j11", "RS-WSUHA-J11", (1, 3, 2)),
        ("Bp35C0-J11", "BP35C0-J11", (1, 2, 5)),
    ],
)
async def test_every_preset_by_name(model: str, name: str, version: tuple[int, int, int]) -> None:
    async with running(model) as (sim, host):
        assert isinstance(sim.preset, J11Preset)
        assert sim.preset.name == name
        reply, _ = await host.request(GetVersion())
        assert isinstance(reply, VersionResponse)
        assert (reply.major, reply.minor, reply.revision) == version
        assert reply.firmware_id == 0x0400


def test_unknown_model_lists_the_j11_ones() -> None:
    with pytest.raises(ValueError, match="RS-WSUHA-J11"):
        Simulator("BP35C9-J11")


async def test_getters_after_pairing() -> None:
    async with running() as (sim, host):
        started = await pair(sim, host)
        reply, _ = await host.request(GetPanId())
        assert reply == PanIdResponse(0x01, started.pan_id)
        reply, _ = await host.request(GetUdpPorts())
        assert reply == PortListResponse(0x01, (3610,))
        reply, _ = await host.request(GetMacAddress())
        assert isinstance(reply, MacAddressResponse)
        assert reply.mac == bytes.fromhex(sim.module.mac)
        reply, _ = await host.request(GetIpAddress())
        assert isinstance(reply, IpAddressResponse)
        assert reply.address == link_local_address(bytes.fromhex(sim.module.mac))
        assert sim.module_address == reply.address.exploded.upper()
        reply, _ = await host.request(GetInitialSettings())
        assert reply == InitialSettingsResponse(0x01, 0x05, 0x00, 15, 0x00)
        reply, _ = await host.request(GetConnections())
        assert reply == ConnectionListResponse(
            0x01, [Connection(started.mac or b"", started.pan_id or 0, 0x01, 0x07, 0x02)]
        )
        reply, _ = await host.request(GetTerminals())
        assert reply == TerminalListResponse(0x01, 0x00, ())
        meter = link_local_address(started.mac or b"")
        for ping, data in (
            (Ping(meter, 30), b"abcdefghijklmnopqrstuvwxyzabcd"),
            (Ping(meter, 10, PingFormat.COUNTER), b"0001000200"),
            (Ping(meter, 3, PingFormat.GIVEN, b"xyz"), b"xyz"),
        ):
            reply, _ = await host.request(ping)
            assert reply == ResultResponse(0x20D1, 0x01)
            result = await host.next()
            assert result == PingResult(True, meter, 0x02, -58, data)
        await host.request(Ping(link_local_address(bytes(8)), 4))
        assert await host.next() == PingResult(False)


async def test_rejoin_without_scan_and_teardown() -> None:
    async with running() as (sim, host):
        started = await pair(sim, host)
        # Teardown (note §5.4): 0x0057 then 0x0058; ports close.
        await ok(host, TerminatePana())
        assert await status(host) == (GlobalState.STARTED, RouteBState.OPERATING)
        assert not sim.session_active
        await ok(host, TerminateRouteB())
        assert await status(host) == (GlobalState.STARTED, RouteBState.NOT_STARTED)
        assert isinstance(sim.module, SimulatedJ11Module)
        assert sim.module.ports == set()
        # Rejoin after a reset (note §5.2): no scan, the stored channel.
        await host.send(HardwareReset())
        boot = await host.next()
        assert boot.command == 0x6019
        assert await status(host) == (GlobalState.NOT_STARTED, RouteBState.NOT_STARTED)
        await ok(host, InitialSettings(channel=started.channel or 0))
        await ok(host, SetRouteBCredentials(sim.rbid, sim.password))
        again, _ = await host.request(StartRouteB())
        assert isinstance(again, StartRouteBResponse)
        assert again.mac == started.mac
        await ok(host, OpenUdpPort(3610))
        await ok(host, StartPana())
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert isinstance(result, PanaResult)
        assert result.ok
        assert sim.module.resets == 1


async def test_settings_are_lost_on_reset() -> None:
    async with running() as (sim, host):
        await pair(sim, host)
        await host.send(HardwareReset())
        await host.take_until(lambda m: m.command == 0x6019)
        assert isinstance(sim.module, SimulatedJ11Module)
        assert sim.module.ports == set()
        assert sim.module.rbid is None
        assert isinstance(sim.module, SimulatedJ11Module)
        assert sim.module.channel == 0xFF
        assert sim.session is None
        reply, _ = await host.request(GetInitialSettings())
        assert reply == InitialSettingsResponse(0x01, 0xFF, 0x00, 0xFF, 0x00)


async def test_reset_answers_nothing_and_boot_takes_time() -> None:
    preset = attrs.evolve(J11Preset.RS_WSUHA_J11, boot_s=2.0)
    clock = frozen_clock()
    sim = Simulator(preset, clock=clock, timing="realistic")
    async with sim.memory() as stream:
        host = J11Host(stream, clock)
        try:
            took = await host.wait_for(lambda: bool(host.messages), step=0.25, limit=5.0)
            assert 2.0 <= took <= 2.5
            assert host.messages.pop(0).command == 0x6019
            # Requests while booting are not read at all.
            await host.send(HardwareReset())
            await host.send(GetStatus())
            took = await host.wait_for(lambda: bool(host.messages), step=0.25, limit=5.0)
            assert [m.command for m in host.messages] == [0x6019]
            assert 2.0 <= took <= 2.5
        finally:
            await host.close()


@pytest.mark.parametrize(
    ("request_", "state", "refusal"),
    [
        (StartRouteB(), "fresh", 0x37),
        (SetRouteBCredentials("0" * 32, "A" * 12), "fresh", 0x37),
        (ActiveScan(6), "fresh", 0x37),
        (OpenUdpPort(3610), "started", 0x10),
        (StartPana(), "started", 0x10),
        (TerminatePana(), "operating", 0x34),
        (InitialSettings(channel=4), "operating", 0x34),
        (StartRouteB(), "operating", 0x34),
        (InitialSettings(channel=4), "authenticated", 0x35),
        (SetRouteBCredentials("0" * 32, "A" * 12), "authenticated", 0x35),
        (TerminateRouteB(), "authenticated", 0x35),
        (StartPana(), "authenticated", 0x35),
    ],
)
async def test_command_availability(request_: object, state: str, refusal: int) -> None:
    async with running() as (sim, host):
        if state != "fresh":
            await ok(host, InitialSettings(channel=15))
        if state in ("operating", "authenticated"):
            await ok(host, SetRouteBCredentials(sim.rbid, sim.password))
            await host.request(StartRouteB())
        if state == "authenticated":
            await ok(host, StartPana())
            await host.take_until(lambda m: isinstance(m, PanaResult))
        reply, _ = await host.request(request_)  # type: ignore[arg-type]
        assert isinstance(reply, ResultResponse | StartRouteBResponse)
        assert reply.result == refusal


async def test_scan_timing_and_busy_module() -> None:
    clock = frozen_clock()
    async with running(clock=clock, timing="realistic") as (sim, host):
        await ok_stepped(host, InitialSettings(channel=4))
        await ok_stepped(host, SetRouteBCredentials(sim.rbid, sim.password))
        await host.send(ActiveScan(6, 0x0003FFF0, pairing_id(sim.rbid)))
        first = await host.next(step=0.05, limit=2.0)
        assert first == ScanResult(4)
        # One command at a time: a request during the scan is refused with 0x3D.
        busy, _ = await host.request(GetStatus(), step=0.01, limit=1.0)
        assert isinstance(busy, StatusResponse)
        assert busy.global_state is None
        assert busy.result == ResultCode.BUSY
        took = await host.wait_for(
            lambda: any(m.command == 0x2051 for m in host.messages), step=0.1, limit=30.0
        )
        # 13 more channels of 9.64 ms x 2^6 plus overhead: about 9.2 s of simulated time.
        assert 8.0 <= took <= 11.0
        assert sum(isinstance(m, ScanResult) for m in host.messages) == 13


async def ok_stepped(host: J11Host, request: object) -> None:
    reply, _ = await host.request(request, step=0.01, limit=2.0)  # type: ignore[arg-type]
    assert isinstance(reply, ResultResponse)
    assert reply.ok


async def test_start_route_b_without_beacon_times_out_after_the_beacon_timer() -> None:
    clock = frozen_clock()
    async with running(clock=clock, timing="realistic") as (sim, host):
        await ok_stepped(host, InitialSettings(channel=5))  # the meter is on 15
        await host.send(StartRouteB())
        took = await host.wait_for(
            lambda: any(m.command == 0x2053 for m in host.messages), step=0.1, limit=5.0
        )
        assert 2.5 <= took <= 2.8
        assert host.messages == [StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED)]
        assert isinstance(sim.module, SimulatedJ11Module)
        assert sim.module.route_b_state == RouteBState.NOT_STARTED


async def test_transmission_time_grows_with_the_payload() -> None:
    clock = frozen_clock()
    async with running(clock=clock, timing="realistic") as (sim, host):
        for request in (
            InitialSettings(channel=15),
            SetRouteBCredentials(sim.rbid, sim.password),
            StartRouteB(),
        ):
            await host.request(request, step=0.1, limit=5.0)
        meter = link_local_address(bytes.fromhex(sim.module.pan.mac))
        times = []
        for size in (14, 1232):
            await host.send(TransmitData(meter, 3610, 3610, bytes(size)))
            times.append(
                await host.wait_for(
                    lambda: any(m.command == 0x2008 for m in host.messages), step=0.05, limit=10
                )
            )
            host.messages.clear()
        assert times[0] <= 0.5
        assert 6.0 <= times[1] <= 7.0
