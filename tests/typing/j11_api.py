"""Type-checked only (mypy --strict tests/typing): the J11 codec and simulator in use."""

from __future__ import annotations

import ipaddress

from aiobroute.errors import J11FrameError
from aiobroute.j11 import (
    ActiveScan,
    DataReceived,
    ErrorReply,
    J11Frame,
    Malformed,
    Message,
    MessageReader,
    PanaResult,
    Request,
    ResultCode,
    ScanResult,
    SetRouteBCredentials,
    Skipped,
    StartRouteBResponse,
    TransmitData,
    decode_message,
    is_error_reply,
    link_local_address,
    pairing_id,
)
from aiobroute.testing import J11Faults, J11Preset, J11Timing, SimulatedJ11Module, Simulator


def requests(rbid: str, password: str) -> list[bytes]:
    sequence: list[Request] = [
        SetRouteBCredentials(rbid, password),
        ActiveScan(6, 0x0003FFF0, pairing_id(rbid)),
    ]
    return [request.encode() for request in sequence]


def dispatch(data: bytes) -> list[str]:
    reader = MessageReader()
    seen: list[str] = []
    for item in reader.feed(data):
        match item:
            case Skipped(data=junk):
                seen.append(repr(junk))
            case Malformed(error=error):
                seen.append(error.reason)
            case ErrorReply():
                seen.append(f"error reply {item.result}")
            case ScanResult(channel=channel, beacons=beacons):
                seen.extend(f"{channel}: {b.mac.hex()} {b.rssi_dbm} dBm" for b in beacons)
            case StartRouteBResponse(result=ResultCode.SUCCESS, mac=mac) if mac is not None:
                address: ipaddress.IPv6Address = link_local_address(mac)
                seen.append(str(address))
            case DataReceived(payload=payload):
                seen.append(payload.hex())
            case PanaResult():
                seen.append("ok" if item.ok else "failed")
            case _:
                message: Message = item
                seen.append(f"0x{message.command:04X} {is_error_reply(message)}")
    return seen


def strict(data: bytes) -> Message | tuple[str, int]:
    try:
        return decode_message(J11Frame.decode(data))
    except J11FrameError as error:
        return error.reason, error.offset


def simulators() -> list[Simulator]:
    module_type: type[SimulatedJ11Module] = SimulatedJ11Module
    del module_type
    return [
        Simulator("rs_wsuha_j11", timing=J11Timing.instant()),
        Simulator(J11Preset.BP35C1_J11, j11_faults=J11Faults(route_b_failures=1)),
    ]


def transmit(mac: bytes, payload: bytes) -> bytes:
    return TransmitData(link_local_address(mac), 3610, 3610, payload).encode()
