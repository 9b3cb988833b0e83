"""The exchange alone: strict answer matching, retries with fresh TIDs, one reporting path."""

from __future__ import annotations

import asyncio

import pytest

from aiobroute.echonet import CONTROLLER, NODE_PROFILE, SMART_METER, Esv, Frame, Property
from aiobroute.errors import (
    CommandError,
    ReconnectingError,
    ResponseTimeoutError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.link import MeterDatagram
from aiobroute.meter._exchange import Exchange, Trouble

METER = "FE80:0000:0000:0000:021D:1290:1234:5678"


class FakeCarrier:
    """Records what is sent; answers through a callback; collects reports."""

    def __init__(self) -> None:
        self.sent: list[Frame] = []
        self.reports: list[Trouble] = []
        self.errors: list[BaseException] = []
        self.reply: object = None

    @property
    def meter_address(self) -> str | None:
        return METER

    async def send(self, payload: bytes) -> None:
        frame = Frame.decode(payload)
        self.sent.append(frame)
        if self.errors:
            raise self.errors.pop(0)

    async def wait_sendable(self, deadline: float) -> None:
        return None

    def report(self, trouble: Trouble) -> None:
        self.reports.append(trouble)


def make(carrier: FakeCarrier, **options: float) -> Exchange:
    settings = {"attempt": 0.05, "retries": 2, "min_interval": 0.0, "silence_limit": 2}
    settings.update(options)
    return Exchange(carrier, **settings)  # type: ignore[arg-type]


def datagram(frame: Frame, **changes: object) -> MeterDatagram:
    fields: dict[str, object] = {"source": METER, "source_port": 3610, "payload": frame.encode()}
    fields.update(changes)
    return MeterDatagram(**fields)  # type: ignore[arg-type]


def answer(request: Frame, **changes: object) -> Frame:
    fields: dict[str, object] = {
        "tid": request.tid,
        "seoj": SMART_METER,
        "deoj": CONTROLLER,
        "esv": Esv.GET_RES,
        "properties": (Property(0xE7, b"\x00\x00\x01\x00"),),
    }
    fields.update(changes)
    return Frame(**fields)  # type: ignore[arg-type]


async def request(exchange: Exchange, budget: float = 1.0) -> asyncio.Task[Frame]:
    task = asyncio.create_task(
        exchange.transact(Esv.GET, [Property(0xE7)], stage="test", budget=budget)
    )
    for _ in range(10):
        await asyncio.sleep(0)
    return task


async def test_the_answer_resolves_the_waiter_within_the_receive_call() -> None:
    carrier = FakeCarrier()
    exchange = make(carrier)
    task = await request(exchange)
    (sent,) = carrier.sent
    exchange.datagram_received(datagram(answer(sent)))
    # No task hop between the datagram and the waiter: the future is resolved already.
    (waiter,) = exchange._waiters.values()
    assert waiter.future.done()
    result = await task
    assert result.tid == sent.tid
    assert exchange.frames_received == 1
    assert exchange.frames_sent == 1


@pytest.mark.parametrize(
    "wrong",
    [
        {"esv": Esv.SET_RES},
        {"seoj": NODE_PROFILE},
        {"deoj": SMART_METER},
        {"properties": (Property(0xE8, b"\x00\x01\x00\x01"),)},
    ],
    ids=["esv", "seoj", "deoj", "epcs"],
)
async def test_answers_that_do_not_match_are_dropped(wrong: dict[str, object]) -> None:
    carrier = FakeCarrier()
    exchange = make(carrier, retries=0, attempt=0.05)
    task = await request(exchange, budget=0.05)
    exchange.datagram_received(datagram(answer(carrier.sent[0], **wrong)))
    with pytest.raises(ResponseTimeoutError):
        await task


@pytest.mark.parametrize(
    "changes",
    [
        {"source": "FE80:0000:0000:0000:0000:0000:0000:0001"},
        {"source_port": 1234},
        {"secured": False},
    ],
    ids=["address", "port", "unsecured"],
)
async def test_datagrams_from_elsewhere_are_ignored(changes: dict[str, object]) -> None:
    carrier = FakeCarrier()
    exchange = make(carrier, retries=0)
    task = await request(exchange, budget=0.05)
    exchange.datagram_received(datagram(answer(carrier.sent[0]), **changes))
    exchange.datagram_received(datagram(answer(carrier.sent[0]), payload=b"\x10\x81junk"))
    with pytest.raises(ResponseTimeoutError):
        await task
    assert exchange.frames_received == 0


async def test_retries_use_fresh_tids_and_silence_is_reported_once_over_the_limit() -> None:
    carrier = FakeCarrier()
    exchange = make(carrier, retries=2, silence_limit=2)
    for expected in ([], [Trouble.SILENCE]):
        task = await request(exchange, budget=1.0)
        with pytest.raises(ResponseTimeoutError, match="did not answer"):
            await task
        assert carrier.reports == expected
    tids = [frame.tid for frame in carrier.sent]
    assert len(tids) == 6
    assert len(set(tids)) == 6
    # An answer resets the count.
    task = await request(exchange)
    exchange.datagram_received(datagram(answer(carrier.sent[-1])))
    await task
    assert exchange.silent == 0


async def test_refusals_are_raised_and_reported() -> None:
    carrier = FakeCarrier()
    exchange = make(carrier, retries=1)
    carrier.errors = [CommandError(9, "SKSENDTO"), CommandError(9, "SKSENDTO")]
    with pytest.raises(CommandError) as info:
        await exchange.transact(Esv.GET, [Property(0xE7)], stage="test", budget=1.0)
    assert info.value.transient
    carrier.errors = [SessionError("no session")]
    with pytest.raises(ReconnectingError):
        await exchange.transact(Esv.GET, [Property(0xE7)], stage="test", budget=1.0)
    carrier.errors = [TransmitLimitError("limit")]
    with pytest.raises(TransmitLimitError):
        await exchange.transact(Esv.GET, [Property(0xE7)], stage="t", budget=1.0, gate=False)
    assert carrier.reports == [Trouble.NO_SESSION, Trouble.TX_LIMITED]


async def test_notifications_go_to_their_callback() -> None:
    carrier = FakeCarrier()
    exchange = make(carrier)
    seen: list[Frame] = []
    exchange.on_notification = seen.append
    frame = Frame(1, SMART_METER, CONTROLLER, Esv.INF, (Property(0xE7, b"\x00\x00\x00\x01"),))
    exchange.datagram_received(datagram(frame))
    assert seen == [frame]
