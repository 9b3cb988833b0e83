"""Driving a simulated J11 dongle (RS-WSUHA-J11) with the J11 codec (run it with pytest).

A J11 module speaks ROHM's binary protocol: every request is a frame built by a typed
class, every answer comes out of a :class:`~aiobroute.j11.MessageReader` as a typed
message. This walks the pairing sequence and reads the instantaneous power.
"""

from __future__ import annotations

from aiobroute.echonet import Frame
from aiobroute.j11 import (
    ActiveScan,
    DataReceived,
    InitialSettings,
    Malformed,
    Message,
    MessageReader,
    OpenUdpPort,
    PanaResult,
    Request,
    ScanResult,
    SetRouteBCredentials,
    Skipped,
    StartPana,
    StartRouteB,
    StartRouteBResponse,
    TransmitData,
    link_local_address,
    pairing_id,
)
from aiobroute.testing import Simulator
from aiobroute.transport import MemoryStream

GET_E7 = bytes.fromhex("1081000105FF010288016201E700")  # Get instantaneous power, TID 1


async def until(stream: MemoryStream, reader: MessageReader, code: int) -> list[Message]:
    """Read messages until one with ``code`` arrives; return them all."""
    seen: list[Message] = []
    while not any(m.command == code for m in seen):
        items = reader.feed(await stream.read())
        # Skipped noise and Malformed frames would be logged by a real client.
        seen.extend(m for m in items if not isinstance(m, Skipped | Malformed))
    return seen


async def ask(stream: MemoryStream, reader: MessageReader, request: Request) -> list[Message]:
    """Send ``request``; return the messages up to its response."""
    await stream.write(request.encode())
    return await until(stream, reader, request.command | 0x2000)


async def test_pair_and_read_power() -> None:
    sim = Simulator("RS-WSUHA-J11", timing="instant")
    async with sim.memory() as stream:
        reader = MessageReader()
        await until(stream, reader, 0x6019)  # boot completed
        await ask(stream, reader, InitialSettings(channel=4))
        await ask(stream, reader, SetRouteBCredentials(sim.rbid, sim.password))
        scan = await ask(stream, reader, ActiveScan(6, pairing_id=pairing_id(sim.rbid)))
        found = [m for m in scan if isinstance(m, ScanResult) and m.beacons]
        await ask(stream, reader, InitialSettings(channel=found[0].channel))
        *_, started = await ask(stream, reader, StartRouteB())
        assert isinstance(started, StartRouteBResponse)
        assert started.mac is not None
        await ask(stream, reader, OpenUdpPort(3610))
        seen = await ask(stream, reader, StartPana())
        if not any(isinstance(m, PanaResult) for m in seen):
            seen = await until(stream, reader, 0x6028)
        assert next(m for m in seen if isinstance(m, PanaResult)).ok

        meter = link_local_address(started.mac)
        await stream.write(TransmitData(meter, 3610, 3610, GET_E7).encode())
        answer = None
        while answer is None:
            for message in await until(stream, reader, 0x6018):
                if isinstance(message, DataReceived) and not message.multicast:
                    answer = message
        frame = Frame.decode(answer.payload)
        watts = int.from_bytes(frame.properties[0].edt, "big", signed=True)
        assert watts == sim.meter.instant_power_watts()
