"""J11Link against a scripted J11 module (the codec in the module's role, a simulated meter)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from aiobroute.errors import (
    AuthenticationError,
    ClientClosedError,
    CommandTimeoutError,
    InvalidArgumentError,
    J11CommandError,
    JoinError,
    JoinTimeoutError,
    PortClosedError,
    ProtocolError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.j11 import (
    ActiveScan,
    BootCompleted,
    ConnectionStatusChanged,
    ErrorReply,
    GetMacAddress,
    GetStatus,
    InitialSettings,
    J11Frame,
    MacAddressResponse,
    PanaResult,
    PanaStatus,
    ResultCode,
    ResultResponse,
    StartRouteB,
    StatusResponse,
)
from aiobroute.j11.client import J11Timeouts
from aiobroute.j11.link import J11Link
from aiobroute.link import (
    DIALECT_J11,
    LinkLost,
    MeterLink,
    MeterPan,
    ProbeTimings,
    ReauthenticationFailed,
    SendVerdict,
    SessionEnded,
    SessionEndReason,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
    probe_dialect,
)
from aiobroute.testing import DEFAULT_PASSWORD, DEFAULT_RBID
from tests.link._fake_j11 import CHANNEL, METER_MAC, PAN_ID, FakeJ11, fake_j11
from tests.link._recorder import Recorder, get_e7, recorded, watts_of

FAST = J11Timeouts(
    command=1.0,
    boot=1.0,
    scan_margin=1.0,
    start_route_b=1.0,
    join=2.0,
    send=1.0,
    busy_retry=0.0,
    start_retry=0.0,
)
JOIN_SEQUENCE = [
    "HardwareReset",
    "InitialSettings",
    "SetRouteBCredentials",
    "StartRouteB",
    "OpenUdpPort",
    "StartPana",
]
REMEMBERED = MeterPan(dialect="j11", channel=CHANNEL, pan_id=PAN_ID, mac=METER_MAC.hex())


@contextlib.asynccontextmanager
async def linked(
    *, connect: bool = True, timeouts: J11Timeouts = FAST
) -> AsyncIterator[tuple[J11Link, Recorder, FakeJ11]]:
    async with fake_j11() as (stream, module):
        link = J11Link(stream, timeouts=timeouts)
        async with recorded(link, connect={} if connect else None) as recorder:
            yield link, recorder, module


async def join_waiting_for_pana(link: J11Link, module: FakeJ11) -> asyncio.Task[MeterPan]:
    """Start a join that the module leaves waiting for the PANA result (none comes)."""
    module.script.pana = None
    task = asyncio.create_task(
        link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
    )
    for _ in range(200):
        await asyncio.sleep(0)
        if "StartPana" in module.names():
            break
    return task


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


# ------------------------------------------------------------------ pairing and data


@pytest.mark.parametrize("response_first", [False, True], ids=["spec-order", "response-first"])
async def test_pairing_by_scan_then_get_e7_compared_with_the_meter(response_first: bool) -> None:
    async with linked(connect=False) as (link, recorder, module):
        module.script.scan_response_first = response_first
        identity = link.identity
        assert identity is not None
        assert (identity.dialect, identity.family, identity.version) == ("j11", "J11", "1.3.1234")
        module.requests.clear()
        pan = await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD)
        assert (pan.dialect, pan.channel, pan.pan_id, pan.mac) == (
            DIALECT_J11,
            CHANNEL,
            PAN_ID,
            METER_MAC.hex().upper(),
        )
        assert pan.pair_id == DEFAULT_RBID[-8:]
        # j11.md 5.1: reset, settings, credentials, scan, settings with the channel, join.
        assert module.names() == [
            "HardwareReset",
            "InitialSettings",
            "SetRouteBCredentials",
            "ActiveScan",
            "InitialSettings",
            "StartRouteB",
            "OpenUdpPort",
            "StartPana",
        ]
        scan = module.requests[3]
        assert isinstance(scan, ActiveScan)
        assert scan.pairing_id == DEFAULT_RBID[-8:].encode()
        assert scan.channel_mask == 0x0003FFF0
        settings = module.requests[4]
        assert isinstance(settings, InitialSettings)
        assert settings.channel == CHANNEL
        assert link.meter_address == module.meter_address
        assert link.session_active
        assert await link.send(get_e7(0x0042).encode()) is SendVerdict.SENT
        answer = await recorder.answer(0x0042)
        assert watts_of(answer) == module.meter.instant_power_watts()
        datagram = recorder.datagrams[-1]
        assert datagram.source == module.meter_address
        assert (datagram.source_port, datagram.secured, datagram.multicast) == (3610, True, False)
        assert datagram.rssi_dbm == -61.0
    assert recorder.events == []  # our own resets and PANA are no session events
    assert set(recorder.in_reader_task) == {"aiobroute-j11-reader"}


async def test_a_remembered_pan_is_joined_without_a_scan() -> None:
    async with linked(connect=False) as (link, recorder, module):
        module.requests.clear()
        pan = await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert pan.mac == REMEMBERED.mac
        assert module.names() == JOIN_SEQUENCE
        await link.send(get_e7(3).encode())
        assert watts_of(await recorder.answer(3)) == module.meter.instant_power_watts()


async def test_start_route_b_is_resent_after_mac_connection_failures() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.start_failures = 2
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert sum(isinstance(r, StartRouteB) for r in module.requests) == 3
        module.script.start_failures = 10
        with pytest.raises(JoinError, match="MAC connection failed"):
            await link.rejoin()
        assert not link.session_active


async def test_another_meter_answering_is_refused() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.answer_mac = bytes.fromhex("0011223344556677")
        with pytest.raises(JoinError, match="another meter"):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert "StartPana" not in module.names()


@pytest.mark.parametrize(
    ("pana", "error"),
    [
        (PanaStatus.REJECTED, AuthenticationError),
        (PanaStatus.NO_RESPONSE, JoinTimeoutError),
        (None, JoinTimeoutError),
    ],
    ids=["rejected", "no-response", "never"],
)
async def test_pana_failures_are_typed(pana: int | None, error: type[Exception]) -> None:
    timeouts = J11Timeouts(command=0.5, boot=1.0, join=0.2, busy_retry=0.0, start_retry=0.0)
    async with linked(connect=False, timeouts=timeouts) as (link, _recorder, module):
        module.script.pana = pana
        with pytest.raises(error):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert not link.session_active


async def test_wrong_password_is_an_authentication_error() -> None:
    async with linked(connect=False) as (link, _recorder, _module):
        with pytest.raises(AuthenticationError):
            await link.connect(rbid=DEFAULT_RBID, password="0123456789AC", pan=REMEMBERED)


@pytest.mark.parametrize(
    ("first", "response"),
    [(True, True), (False, True), (True, False)],
    ids=["result-first", "response-first", "no-response"],
)
async def test_pana_result_and_response_in_any_order(first: bool, response: bool) -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.pana_first = first
        module.script.pana_response = response
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert link.session_active


async def test_bad_arguments_are_refused_before_anything_is_sent() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        sent = len(module.requests)
        skstack_pan = MeterPan(dialect="skstack", channel=0x21, pan_id=1, mac=METER_MAC.hex())
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=skstack_pan)
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid="not hex" * 4, password=DEFAULT_PASSWORD)
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password="short")
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, channels=(0x21,))
        with pytest.raises(InvalidArgumentError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, durations=(15,))
        assert len(module.requests) == sent


# ------------------------------------------------------------------ send verdicts


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (0x00, SendVerdict.SENT),
        (0x05, SendVerdict.NO_ACK),
        (0x03, SendVerdict.CHANNEL_BUSY),
        (0x08, SendVerdict.FAILED),
        (0x0F, SendVerdict.UNCONFIRMED),
        (0x09, SendVerdict.FAILED),
    ],
)
async def test_transmit_status_gives_the_verdict(status: int, verdict: SendVerdict) -> None:
    async with linked() as (link, _recorder, module):
        module.script.tx_status = status
        assert await link.send(get_e7(1).encode()) is verdict
        assert verdict.transmitted is (verdict in (SendVerdict.SENT, SendVerdict.UNCONFIRMED))


async def test_send_without_a_session_is_a_session_error() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        with pytest.raises(SessionError):
            await link.send(get_e7(1).encode())
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        module.session = False  # the module lost it without telling
        with pytest.raises(SessionError):
            await link.send(get_e7(2).encode())
        assert not link.session_active


async def test_the_radio_budget_gives_transmit_limit_events() -> None:
    async with linked() as (link, recorder, module):
        module.script.tx_status = 0x02
        with pytest.raises(TransmitLimitError):
            await link.send(get_e7(1).encode())
        assert await link.refresh_tx_limit() is True  # within the hour: still assumed on
        module.script.tx_status = 0x00
        assert await link.send(get_e7(2).encode()) is SendVerdict.SENT
        assert await link.refresh_tx_limit() is False
        assert recorder.events == [
            TransmitLimitStarted(source="0x2008 status 2"),
            TransmitLimitReleased(source="transmit status 0"),
        ]
        assert await link.transmit_time_ms() is None


# ------------------------------------------------------------------ session events


@pytest.mark.parametrize(
    ("notification", "expected", "active"),
    [
        (
            ConnectionStatusChanged(0x04, METER_MAC, -60),
            SessionEnded(source="0x601A state 04", reason=SessionEndReason.BY_METER),
            False,
        ),
        (
            ConnectionStatusChanged(0x03, METER_MAC, -60),
            SessionEnded(source="0x601A state 03", reason=SessionEndReason.MAC_DISCONNECTED),
            False,
        ),
        (
            PanaResult(PanaStatus.REJECTED, METER_MAC),
            ReauthenticationFailed(source="0x6028 result 02"),
            False,
        ),
        (
            PanaResult(PanaStatus.NO_RESPONSE, METER_MAC),
            ReauthenticationFailed(source="0x6028 result 03"),
            False,
        ),
        (
            BootCompleted(),
            SessionEnded(source="0x6019", reason=SessionEndReason.MODULE_RESTARTED),
            False,
        ),
    ],
    ids=["pana-disconnected", "mac-disconnected", "reauth-rejected", "reauth-silent", "reboot"],
)
async def test_unsolicited_notifications_give_session_events(
    notification: object, expected: object, active: bool
) -> None:
    async with linked() as (link, recorder, module):
        module.send(notification)
        assert await recorder.event_count(1) == [expected]
        assert link.session_active is active


async def test_reauthentication_after_a_failure_brings_the_session_back() -> None:
    async with linked() as (link, recorder, module):
        module.send(PanaResult(PanaStatus.REJECTED, METER_MAC))
        module.send(PanaResult(PanaStatus.SUCCESS, METER_MAC))
        events = await recorder.event_count(2)
        assert events == [
            ReauthenticationFailed(source="0x6028 result 02"),
            SessionReauthenticated(source="0x6028 result 01"),
        ]
        assert link.session_active
        # A result about another peer is not ours.
        module.send(PanaResult(PanaStatus.REJECTED, bytes.fromhex("0011223344556677")))
        await settle()
        assert len(recorder.events) == 2


async def test_rejoin_after_the_meter_ended_the_session_restarts_only_pana() -> None:
    async with linked() as (link, recorder, module):
        module.session = False  # route B falls back to operating (j11.md 3.3)
        module.send(ConnectionStatusChanged(0x04, METER_MAC, -60))
        await recorder.event_count(1)
        module.requests.clear()
        pan = await link.rejoin()
        assert pan == link.pan
        assert module.names() == ["GetStatus", "OpenUdpPort", "StartPana"]  # no reset, no scan
        assert module.resets == 1
        assert link.session_active
        await link.send(get_e7(9).encode())
        assert watts_of(await recorder.answer(9)) == module.meter.instant_power_watts()
        assert len(recorder.events) == 1


async def test_rejoin_from_a_reset_when_route_b_is_gone_or_pana_is_refused() -> None:
    async with linked() as (link, recorder, module):
        module.route_b = module.session = False  # e.g. MAC disconnected: route B not started
        module.requests.clear()
        await link.rejoin()
        assert module.names() == ["GetStatus", *JOIN_SEQUENCE]
        # Route B operating, but the module refuses to restart PANA: a full rejoin.
        module.session = False
        module.script.reply_to["StartPana"] = [ResultResponse(0x2056, 0x52)]
        module.requests.clear()
        await link.rejoin()
        assert module.names() == [
            "GetStatus",
            "OpenUdpPort",
            "StartPana",
            *JOIN_SEQUENCE,
        ]
        assert link.session_active
        await link.send(get_e7(10).encode())
        assert watts_of(await recorder.answer(10)) == module.meter.instant_power_watts()


async def test_unplugging_gives_link_lost_and_fails_calls() -> None:
    async with linked() as (link, recorder, module):
        module.device.close_nowait()
        (event,) = await recorder.event_count(1)
        assert isinstance(event, LinkLost)
        assert link.closed
        with pytest.raises(PortClosedError):
            await link.send(get_e7(1).encode())
    assert len(recorder.events) == 1


async def test_terminate_tells_the_meter_without_an_event() -> None:
    async with linked() as (link, recorder, module):
        module.requests.clear()
        await link.terminate()
        assert module.names() == ["TerminatePana", "TerminateRouteB"]
        assert not link.session_active
        assert not module.session
        await link.terminate()  # refused by the module: not an error
        await settle()
        assert recorder.events == []


# ------------------------------------------------------------------ robustness


async def test_error_replies_go_to_the_outstanding_request() -> None:
    # A timeout would raise CommandTimeoutError: the reply must fail the request itself.
    async with linked(connect=False) as (link, _recorder, module):
        module.script.reply_with = [ErrorReply(0x2FFF, b"\xf0")]
        with pytest.raises(J11CommandError) as caught:
            await link.client.request(InitialSettings(channel=4))
        assert caught.value.result == 0xF0
        module.script.reply_with = [ErrorReply(0xFFFF)]
        with pytest.raises(J11CommandError) as caught:
            await link.client.request(InitialSettings(channel=4))
        assert "0xFFFF" in str(caught.value)
        # The client stays usable.
        await link.client.request(InitialSettings(channel=4))


async def test_a_late_response_never_answers_the_next_request() -> None:
    # J11 frames carry no sequence number: a response that comes after its request timed
    # out has the command code of the next such request. A Get version fence goes first.
    async with linked(connect=False) as (link, _recorder, module):
        module.script.reply_to["GetStatus"] = []  # no answer in time
        with pytest.raises(CommandTimeoutError):
            await link.client.request(GetStatus(), timeout=0.05)
        stale = StatusResponse(ResultCode.SUCCESS, 2, 1, 1)
        module.script.late = [stale]  # comes while the module takes the next request
        module.channel, module.route_b = CHANNEL, True
        fresh = await link.client.request(GetStatus())
        assert fresh == StatusResponse(ResultCode.SUCCESS, 3, 2, 1)
        assert module.names()[-2:] == ["GetVersion", "GetStatus"]
        # Once in step, no more fences.
        await link.client.request(GetStatus())
        assert module.names()[-2:] == ["GetStatus", "GetStatus"]


async def test_a_late_error_reply_fails_only_the_fence_which_is_asked_again() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.reply_to["InitialSettings"] = []
        with pytest.raises(CommandTimeoutError):
            await link.client.request(InitialSettings(channel=4), timeout=0.05)
        module.script.late = [ErrorReply(0xFFFF)]
        await link.client.request(InitialSettings(channel=CHANNEL))
        assert module.channel == CHANNEL
        assert module.names()[-3:] == ["GetVersion", "GetVersion", "InitialSettings"]


async def test_a_reset_ends_the_need_for_a_fence() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.reply_to["GetStatus"] = []
        with pytest.raises(CommandTimeoutError):
            await link.client.request(GetStatus(), timeout=0.05)
        await link.client.reset()
        await link.client.request(GetStatus())
        assert module.names()[-2:] == ["HardwareReset", "GetStatus"]


async def test_a_busy_module_is_asked_again() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        module.script.busy_once = True
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert link.session_active


async def test_garbage_and_foreign_datagrams_do_not_disturb() -> None:
    async with linked() as (link, recorder, module):
        module.device.write_nowait(b"\x00\xd0\xf9garbage\xd0")
        module.send(module.datagram(b"\x10\x81\x00\x01", port=716))  # not ECHONET Lite
        module.send(module.datagram(get_e7(0x77).encode(), multicast=True))
        await recorder.wait(lambda: recorder.datagrams or None)
        assert [d.multicast for d in recorder.datagrams] == [True]
        await link.send(get_e7(5).encode())
        assert watts_of(await recorder.answer(5)) == module.meter.instant_power_watts()
        assert link.client.skipped_bytes > 0


async def test_close_wakes_a_waiting_join() -> None:
    timeouts = J11Timeouts(command=1.0, boot=1.0, join=30.0)
    async with linked(connect=False, timeouts=timeouts) as (link, _recorder, module):
        task = await join_waiting_for_pana(link, module)
        assert "StartPana" in module.names()
        assert not task.done()
        await link.close()
        with pytest.raises(ClientClosedError):
            await task


async def test_secrets_stay_out_of_logs_and_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(1)
    async with linked() as (link, _recorder, module):
        await link.send(get_e7(1).encode())
        text = repr(link) + repr(link.client) + repr(module.requests) + caplog.text
    assert DEFAULT_PASSWORD not in text
    assert DEFAULT_RBID not in text


async def test_the_probe_recognises_the_j11_module_and_leaves_it_usable() -> None:
    async with fake_j11() as (stream, module):
        timings = ProbeTimings(listen=0.0, settle=0.0, skstack=0.05, j11=1.0)
        assert await probe_dialect(stream, timings=timings) == DIALECT_J11
        assert module.names() == ["GetVersion"]
        link: MeterLink = J11Link(stream, timeouts=FAST)
        async with recorded(link, connect={"pan": REMEMBERED}) as recorder:
            await link.send(get_e7(8).encode())
            assert watts_of(await recorder.answer(8)) == module.meter.instant_power_watts()


async def test_bad_payloads_are_refused_before_sending() -> None:
    async with linked() as (link, _recorder, module):
        sent = len(module.requests)
        for payload, port in ((b"", 3610), (b"x" * 1233, 3610), (b"\x10\x81", 0)):
            with pytest.raises(InvalidArgumentError):
                await link.send(payload, port=port)
        assert len(module.requests) == sent


async def test_a_module_that_does_not_answer_is_reset_at_open() -> None:
    timeouts = J11Timeouts(command=0.2, boot=1.0)
    async with fake_j11() as (stream, module):
        module.script.reply_with = []  # the first request goes unanswered
        link = J11Link(stream, timeouts=timeouts)
        try:
            identity = await link.open()
            assert identity.version == "1.3.1234"
            assert module.names() == ["GetVersion", "HardwareReset", "GetVersion", "GetMacAddress"]
        finally:
            await link.close()


async def test_a_cancelled_join_propagates_and_leaves_the_link_usable() -> None:
    timeouts = J11Timeouts(command=1.0, boot=1.0, join=30.0)
    async with linked(connect=False, timeouts=timeouts) as (link, recorder, module):
        task = await join_waiting_for_pana(link, module)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        module.script.pana = PanaStatus.SUCCESS
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        await link.send(get_e7(4).encode())
        assert watts_of(await recorder.answer(4)) == module.meter.instant_power_watts()


async def test_a_stalled_partial_frame_is_abandoned() -> None:
    timeouts = J11Timeouts(command=2.0, boot=1.0, partial_frame=0.05)
    async with linked(connect=False, timeouts=timeouts) as (link, _recorder, module):
        # A frame start that never completes (announces 100 bytes of data) ...
        module.device.write_nowait(bytes.fromhex("D0F9EE5D6018006803A0"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert link.client.skipped_bytes == 0  # held as a partial frame
        # ... must not swallow the next response once the stall timer gave it up.
        module.script.reply_with = []
        task = asyncio.create_task(link.client.request(GetMacAddress()))
        # The stall timer is real time (the module's silence): wait for its effect.
        for _ in range(100):
            if link.client.skipped_bytes:
                break
            await asyncio.sleep(timeouts.partial_frame)
        module.send(MacAddressResponse(ResultCode.SUCCESS, bytes(8)))
        response = await task
        assert isinstance(response, MacAddressResponse)
        assert link.client.skipped_bytes >= 10


async def test_a_malformed_response_fails_its_request_with_a_protocol_error() -> None:
    async with linked(connect=False) as (link, _recorder, module):
        # 0x2053 success must carry 13 bytes; this one is cut short (checksums valid).
        module.script.reply_to["StartRouteB"] = [J11Frame(0x2053, b"\x01\x0f")]
        with pytest.raises(ProtocolError):
            await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert link.client.malformed_frames == 1
        await link.connect(rbid=DEFAULT_RBID, password=DEFAULT_PASSWORD, pan=REMEMBERED)
        assert link.session_active
