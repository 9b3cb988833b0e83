"""The J11 simulator's input rules and faults, driven with our codec over a memory pipe."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from aiobroute.j11 import (
    ConnectionEvent,
    ConnectionStatusChanged,
    DataReceived,
    ErrorReply,
    GetStatus,
    GetVersion,
    HardwareReset,
    InitialSettings,
    J11Frame,
    OpenUdpPort,
    PanaResult,
    PanaStatus,
    ReceptionFailure,
    RestartPana,
    ResultCode,
    ResultResponse,
    RouteBState,
    SetRouteBCredentials,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    StatusResponse,
    TransmitData,
    TransmitResponse,
    UniqueCode,
    VersionResponse,
    link_local_address,
)
from aiobroute.testing import FaultPlan, J11Faults, J11Preset, Simulator
from tests.testing._j11host import GET_E7, J11Host, frozen_clock, running


async def ok(host: J11Host, request: object) -> None:
    reply, _ = await host.request(request)  # type: ignore[arg-type]
    assert reply.command != 0xFFFF
    assert getattr(reply, "result", None) == ResultCode.SUCCESS, reply


async def route_b(sim: Simulator, host: J11Host, *, password: str | None = None) -> None:
    await ok(host, InitialSettings(channel=sim.module.meter_channel))  # type: ignore[union-attr]
    await ok(host, SetRouteBCredentials(sim.rbid, password or sim.password))
    await ok(host, StartRouteB())
    await ok(host, OpenUdpPort(3610))


async def authenticate(sim: Simulator, host: J11Host) -> None:
    await route_b(sim, host)
    await ok(host, StartPana())
    (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
    assert isinstance(result, PanaResult)
    assert result.ok
    await host.take_until(lambda m: isinstance(m, DataReceived))  # the instance list


def meter_address(sim: Simulator) -> object:
    return link_local_address(bytes.fromhex(sim.module.pan.mac))


async def transmit(sim: Simulator, host: J11Host) -> TransmitResponse:
    reply, _ = await host.request(TransmitData(meter_address(sim), 3610, 3610, GET_E7))  # type: ignore[arg-type]
    assert isinstance(reply, TransmitResponse)
    return reply


def request_bytes(command: int, data: bytes = b"") -> bytearray:
    return bytearray(J11Frame(command, data, UniqueCode.REQUEST).encode())


# --------------------------------------------------------------------- input rules


async def test_bad_header_checksum_answers_0x2fff() -> None:
    async with running() as (_sim, host):
        wire = request_bytes(0x0001)
        wire[9] ^= 0x01
        await host.send(bytes(wire))
        assert await host.next() == ErrorReply(0x2FFF, b"\xf0")
        # The module reads on: the next request is answered.
        reply, _ = await host.request(GetVersion())
        assert isinstance(reply, VersionResponse)


async def test_bad_data_checksum_answers_f1() -> None:
    async with running() as (_sim, host):
        wire = request_bytes(0x005F, bytes([5, 0, 15, 0]))
        wire[-1] ^= 0x01
        await host.send(bytes(wire))
        assert await host.next() == ResultResponse(0x205F, ResultCode.DATA_CHECKSUM_ERROR)


@pytest.mark.parametrize(("length", "result"), [(3, 0xF2), (1354, 0xF3)])
async def test_message_length_out_of_range(length: int, result: int) -> None:
    async with running() as (_sim, host):
        head = UniqueCode.REQUEST.marker + b"\x00\x01" + length.to_bytes(2, "big")
        checksum = sum(head) & 0xFFFF
        await host.send(head + checksum.to_bytes(2, "big") + b"\x00\x00")
        reply = await host.next()
        assert isinstance(reply, StatusResponse)
        assert reply.result == result


@pytest.mark.parametrize(
    ("command", "data", "expected"),
    [
        (0x2001, b"", ErrorReply(0xFFFF, b"\x03")),  # a response code sent as a request
        (0x8000, b"", ErrorReply(0xFFFF, b"\x03")),
        (0x1234, b"", ErrorReply(0xFFFF, b"\x03")),  # no such request
        (0x005F, b"\x05\x00\x0f", ResultResponse(0x205F, 0x11)),  # wrong length
        (0x005F, b"\x05\x00\x03\x00", ResultResponse(0x205F, 0x04)),  # channel 3
        (0x0051, b"\x07\x00\x03\xff\xf0\x02" + bytes(8), ResultResponse(0x2051, 0x04)),
        (0x000A, b"", ResultResponse(0x200A, 0x14)),  # a HAN command
    ],
)
async def test_invalid_requests(command: int, data: bytes, expected: object) -> None:
    async with running() as (_sim, host):
        await host.send(bytes(request_bytes(command, data)))
        assert await host.next() == expected


async def test_both_forms_of_a_scan_without_pairing_id_are_accepted() -> None:
    async with running() as (_sim, host):
        await ok(host, InitialSettings(channel=4))
        for omit in (False, True):
            data = b"\x01\x00\x00\x00\x10\x00" + (b"" if omit else bytes(8))
            await host.send(bytes(request_bytes(0x0051, data)))
            taken = await host.take_until(lambda m: m.command == 0x2051)
            assert taken[-1] == ResultResponse(0x2051, 0x01)


async def test_skstack_text_is_ignored_silently() -> None:
    async with running() as (sim, host):
        await host.send(b"\r\nSKVER\r\nSKINFO\r\n")
        assert await host.idle() == []
        assert sim.module.discarded_bytes == 17  # type: ignore[union-attr]
        # A dialect probe then sends a J11 request and gets a frame back.
        await host.send(b"SKVER\r\n" + GetStatus().encode())
        reply = await host.next()
        assert isinstance(reply, StatusResponse)


async def test_request_stalled_past_the_inter_byte_timeout() -> None:
    clock = frozen_clock()
    async with running(clock=clock) as (_sim, host):
        wire = InitialSettings(channel=4).encode()
        await host.send(wire[:14])
        took = await host.wait_for(lambda: bool(host.messages), step=0.1, limit=3.0)
        assert 1.0 <= took <= 1.2
        assert host.messages.pop() == ResultResponse(0x205F, ResultCode.RECEIVE_TIMEOUT)
        # The rest arrives late: it is noise now, nothing is answered.
        await host.send(wire[14:])
        assert await host.idle() == []


async def test_slow_bytes_within_the_inter_byte_timeout_are_accepted() -> None:
    clock = frozen_clock()
    async with running(clock=clock) as (_sim, host):
        wire = InitialSettings(channel=4).encode()
        for index in range(len(wire)):
            await host.send(wire[index : index + 1])
            for _ in range(20):
                await asyncio.sleep(0)
            clock.advance(0.6)  # 0.6 s per byte: 9.6 s for the whole request
        reply = await host.next(step=0.1, limit=1.0)
        assert reply == ResultResponse(0x205F, ResultCode.SUCCESS)


async def test_zero_checksums_are_refused_unless_the_knob_allows_them() -> None:
    zero_reset = UniqueCode.REQUEST.marker + b"\x00\xd9\x00\x04\x00\x00\x00\x00"
    async with running() as (sim, host):
        await host.send(zero_reset)
        assert await host.next() == ErrorReply(0x2FFF, b"\xf0")
        assert sim.module.resets == 0
    lenient = attrs.evolve(J11Preset.BP35C1_J11, accept_zero_checksum=True)
    async with running(lenient) as (sim, host):  # type: ignore[arg-type]
        await host.send(zero_reset)
        assert (await host.next()).command == 0x6019
        assert sim.module.resets == 1


async def test_firmware_rewrite_mode_ignores_everything() -> None:
    async with running() as (_sim, host):
        await host.send(bytes(request_bytes(0x00F0)))
        await host.send(GetStatus().encode() + HardwareReset().encode())
        assert await host.idle() == []


# ------------------------------------------------------------------------- faults


async def test_start_route_b_fails_n_times() -> None:
    async with running(j11_faults=J11Faults(route_b_failures=2)) as (sim, host):
        await ok(host, InitialSettings(channel=15))
        await ok(host, SetRouteBCredentials(sim.rbid, sim.password))
        for _ in range(2):
            reply, _ = await host.request(StartRouteB())
            assert reply == StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED)
        reply, _ = await host.request(StartRouteB())
        assert isinstance(reply, StartRouteBResponse)
        assert reply.ok


async def test_no_beacon_fault() -> None:
    async with running(faults=FaultPlan(no_beacon=True)) as (_sim, host):
        await ok(host, InitialSettings(channel=15))
        reply, _ = await host.request(StartRouteB())
        assert reply == StartRouteBResponse(ResultCode.MAC_CONNECTION_FAILED)


async def test_wrong_password_is_rejected() -> None:
    async with running() as (sim, host):
        await route_b(sim, host, password="WRONGPASS123")
        await ok(host, StartPana())
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert result == PanaResult(PanaStatus.REJECTED, bytes.fromhex(sim.module.pan.mac))
        assert sim.module.route_b_state == RouteBState.OPERATING  # type: ignore[union-attr]
        assert not sim.session_active


async def test_pana_needs_credentials() -> None:
    async with running() as (_sim, host):
        await ok(host, InitialSettings(channel=15))
        await ok(host, StartRouteB())
        reply, _ = await host.request(StartPana())
        assert reply == ResultResponse(0x2056, ResultCode.PANA_SETTINGS_MISSING)


@pytest.mark.parametrize("send_2056", [True, False])
async def test_pana_without_answer(send_2056: bool) -> None:
    clock = frozen_clock()
    preset = attrs.evolve(J11Preset.RS_WSUHA_J11, pana_response_without_answer=send_2056)
    async with running(
        preset,  # type: ignore[arg-type]
        clock=clock,
        timing="realistic",
        j11_faults=J11Faults(pana_no_answer=True),
    ) as (sim, host):
        for request in (
            InitialSettings(channel=15),
            SetRouteBCredentials(sim.rbid, sim.password),
            StartRouteB(),
            OpenUdpPort(3610),
        ):
            reply, _ = await host.request(request, step=0.1, limit=5.0)
            assert getattr(reply, "result", None) == 0x01
        await host.send(StartPana())
        took = await host.wait_for(
            lambda: any(isinstance(m, PanaResult) for m in host.messages), step=5.0, limit=800
        )
        assert 490 <= took <= 505
        codes = [m.command for m in host.messages]
        assert codes == ([0x2056, 0x6028] if send_2056 else [0x6028])
        assert host.messages[-1] == PanaResult(
            PanaStatus.NO_RESPONSE, bytes.fromhex(sim.module.pan.mac)
        )


async def test_second_pana_while_running_answers_0x52() -> None:
    clock = frozen_clock()
    async with running(clock=clock, timing="realistic") as (sim, host):
        for request in (
            InitialSettings(channel=15),
            SetRouteBCredentials(sim.rbid, sim.password),
            StartRouteB(),
        ):
            await host.request(request, step=0.1, limit=5.0)
        reply, _ = await host.request(StartPana(), step=0.01, limit=1.0)
        assert reply == ResultResponse(0x2056, 0x01)
        reply, _ = await host.request(StartPana(), step=0.01, limit=1.0)
        assert reply == ResultResponse(0x2056, ResultCode.PANA_ALREADY_RUNNING)
        # 0x00D9 aborts the attempt.
        await host.send(HardwareReset())
        taken = await host.take_until(lambda m: m.command == 0x6019, step=0.1, limit=5.0)
        assert not any(isinstance(m, PanaResult) for m in taken)


async def test_transmission_without_ack() -> None:
    async with running(j11_faults=J11Faults(no_ack_first=1)) as (sim, host):
        await authenticate(sim, host)
        first = await transmit(sim, host)
        assert first.status == 0x05
        assert not first.sent
        assert sim.payloads_to_meter == []
        second = await transmit(sim, host)
        assert second.sent
        (answer,) = await host.take_until(lambda m: isinstance(m, DataReceived))
        assert isinstance(answer, DataReceived)
        assert sim.payloads_to_meter == [GET_E7]


async def test_silent_meter_gets_no_ack() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        sim.set_silent(True)
        reply = await transmit(sim, host)
        assert reply.status == 0x05
        assert await host.idle() == []


async def test_dropped_answers_leave_the_transmission_acked() -> None:
    async with running(faults=FaultPlan(drop_reply=1.0)) as (sim, host):
        await authenticate(sim, host)
        reply = await transmit(sim, host)
        assert reply.sent
        assert await host.idle() == []
        assert sim.payloads_to_meter == [GET_E7]


async def test_answer_to_a_closed_port_is_a_reception_failure() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        sim.module.ports.clear()  # type: ignore[union-attr]
        reply = await transmit(sim, host)
        assert reply.sent
        (failure,) = await host.take_until(lambda m: isinstance(m, ReceptionFailure))
        assert isinstance(failure, ReceptionFailure)
        assert failure.reason == 0x40


async def test_radio_budget_exhausted() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        sim.inject_tx_limit(60.0)
        reply = await transmit(sim, host)
        assert reply.status == 0x02
        sim.clock.advance(61.0)
        assert (await transmit(sim, host)).sent


async def test_line_noise_never_hides_a_frame() -> None:
    async with running(faults=FaultPlan(garbage=0.7, seed=4)) as (sim, host):
        await authenticate(sim, host)
        for _ in range(5):
            assert (await transmit(sim, host)).sent
            await host.take_until(lambda m: isinstance(m, DataReceived))
        assert host.skipped
        assert not host.malformed


async def test_garbled_output_is_skipped_by_the_reader() -> None:
    async with running(faults=FaultPlan(garble=1.0, seed=2), boot=False) as (sim, host):
        for _ in range(20):
            await host.send(GetStatus())
        await host.idle()
        # Every frame was damaged: the reader skipped them, nothing crashed or hung.
        assert host.reader.reassembler.discarded_bytes + host.reader.reassembler.buffered > 0
        assert len(host.messages) + len(host.malformed) < 21
        del sim


async def test_injected_noise_is_skipped() -> None:
    async with running() as (sim, host):
        sim.inject_garbage(b"\xd0\xf9\xee\x5d\x00\x01 noise \xd0")
        sim.inject_garbage()
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)
        assert host.skipped


async def test_the_meter_ends_the_session() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        assert sim.inject_termination()
        change = await host.next()
        assert change == ConnectionStatusChanged(
            ConnectionEvent.PANA_DISCONNECTED, bytes.fromhex(sim.module.pan.mac), -58
        )
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)
        assert reply.route_b_state == RouteBState.OPERATING
        assert not (await transmit(sim, host)).sent or sim.payloads_to_meter == []
        # Recovery ladder step 2: PANA again.
        await ok(host, StartPana())
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert isinstance(result, PanaResult)
        assert result.ok
        assert sim.session_active


async def test_session_expiry_reauthenticates_by_itself() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        assert sim.inject_session_expiry(reauth=True)
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert result == PanaResult(PanaStatus.SUCCESS, bytes.fromhex(sim.module.pan.mac))
        assert sim.session_active
        assert (await transmit(sim, host)).sent


async def test_session_expiry_failing_falls_back_to_operating() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        assert sim.inject_session_expiry(reauth=False)
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert isinstance(result, PanaResult)
        assert result.result == PanaStatus.NO_RESPONSE
        assert not sim.session_active
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)
        assert reply.route_b_state == RouteBState.OPERATING


async def test_restart_pana() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        await ok(host, RestartPana())
        (result,) = await host.take_until(lambda m: isinstance(m, PanaResult))
        assert isinstance(result, PanaResult)
        assert result.ok
        assert sim.session_active


async def test_module_restart_is_announced() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        sim.inject_reset()
        taken = await host.take_until(lambda m: m.command == 0x6019)
        assert taken[-1].command == 0x6019
        assert not sim.session_active
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)
        assert reply.global_state == 0x02


async def test_mac_disconnect_and_reception_failure_notifications() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        module = sim.module
        module.inject_reception_failure()  # type: ignore[union-attr]
        failure = await host.next()
        assert isinstance(failure, ReceptionFailure)
        assert failure.reason == 0x01
        assert module.inject_disconnect()  # type: ignore[union-attr]
        change = await host.next()
        assert isinstance(change, ConnectionStatusChanged)
        assert change.state == ConnectionEvent.MAC_DISCONNECTED
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)
        assert reply.route_b_state == RouteBState.NOT_STARTED


async def test_unplug_and_replug_boots_again() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        sim.unplug()
        await host.wait_for(lambda: host.closed)
        sim.replug()
        fresh = J11Host(sim.host_stream(), sim.clock)
        try:
            assert (await fresh.next()).command == 0x6019
            reply, _ = await fresh.request(GetStatus())
            assert isinstance(reply, StatusResponse)
            assert reply.global_state == 0x02
        finally:
            await fresh.close()


async def test_nothing_is_written_to_flash() -> None:
    async with running() as (sim, host):
        await authenticate(sim, host)
        await host.send(HardwareReset())
        await host.take_until(lambda m: m.command == 0x6019)
        assert sim.flash_writes == 0


async def test_a_silent_module_never_answers() -> None:
    async with running(j11_faults=J11Faults(silent_module=True), boot=False) as (sim, host):
        await host.send(GetStatus())
        await host.send(HardwareReset())
        assert await host.idle() == []
        assert host.raw == b""
        assert sim.module.resets == 0
        sim.module.set_hung(False)
        reply, _ = await host.request(GetStatus())
        assert isinstance(reply, StatusResponse)


async def test_scheduled_faults_reach_a_j11_module() -> None:
    from aiobroute.testing import FaultKind, ScheduledFault

    plan = FaultPlan(scheduled=(ScheduledFault(kind=FaultKind.TERMINATION, after_frames=1),))
    async with running(faults=plan) as (sim, host):
        await authenticate(sim, host)
        assert (await transmit(sim, host)).sent
        taken = await host.take_until(lambda m: isinstance(m, ConnectionStatusChanged))
        assert taken[-1].command == 0x601A
        assert not sim.session_active


async def test_swapping_the_port_keeps_the_session() -> None:
    from aiobroute.transport import memory_pipe

    async with running() as (sim, host):
        await authenticate(sim, host)
        new_host, device = memory_pipe(host_name="new-host", device_name="new-device")
        sim.module.swap_port(device)
        fresh = J11Host(new_host, sim.clock)
        try:
            reply, _ = await fresh.request(GetStatus())
            assert isinstance(reply, StatusResponse)
            assert reply.route_b_state == RouteBState.AUTHENTICATED
            assert sim.session_active
        finally:
            await fresh.close()


@pytest.mark.parametrize("password", [None, "WRONGPASS123"])
async def test_pana_result_can_come_before_its_response(password: str | None) -> None:
    preset = attrs.evolve(J11Preset.BP35C2_J11, pana_result_first=True)
    async with running(preset) as (sim, host):  # type: ignore[arg-type]
        await route_b(sim, host, password=password)
        await host.send(StartPana())
        taken = await host.take_until(lambda m: m.command == 0x2056)
        assert [m.command for m in taken] == [0x6028, 0x2056]
        result = taken[0]
        assert isinstance(result, PanaResult)
        assert result.ok is (password is None)
