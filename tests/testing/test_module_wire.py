"""Module-side formatting (skstack._wire), the UART input splitter and PANA datagrams."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.skstack import (
    AddressLine,
    AppVersion,
    ErrorCode,
    Event,
    Fail,
    Info,
    LineParser,
    Message,
    Ok,
    PanDescriptor,
    PortTable,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)
from aiobroute.skstack._wire import (
    canonical_ipv6,
    encode,
    link_local_from_mac,
    mac_from_link_local,
)
from aiobroute.testing._pana import PanaBuilder
from aiobroute.testing._uart import CommandLine, SendToCommand, UartInput

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"

macs = st.integers(0, 2**64 - 1).map(lambda value: f"{value:016X}")
addresses = macs.map(link_local_from_mac)
sides = st.none() | st.just(0)


def test_examples_from_the_reference() -> None:
    assert encode(Ok()) == b"OK\r\n"
    assert encode(Ok("01", cr_only=True)) == b"OK 01\r"
    assert encode(Fail(ErrorCode.ER05)) == b"FAIL ER05\r\n"
    assert encode(Version("1.2.10")) == b"EVER 1.2.10\r\n"
    assert encode(AppVersion("rev26e")) == b"EAPPVER rev26e\r\n"
    assert encode(RegisterValue("21")) == b"ESREG 21\r\n"
    assert encode(AddressLine(ADDR)) == ADDR.encode() + b"\r\n"
    assert (
        encode(Info(ADDR, "001D129012345678", 0x21, 0x8888, "FFFE"))
        == f"EINFO {ADDR} 001D129012345678 21 8888 FFFE\r\n".encode()
    )
    assert encode(Event(0x21, ADDR, side=0, param=0)) == f"EVENT 21 {ADDR} 0 00\r\n".encode()
    assert encode(Event(0xC0, None)) == b"EVENT C0\r\n"
    assert (
        encode(PortTable((3610, 716, 0, 0, 0, 0), (3610, 0, 0, 0)))
        == b"EPORT\r\n3610\r\n716\r\n0\r\n0\r\n0\r\n0\r\n\r\n3610\r\n0\r\n0\r\n0\r\n"
    )
    rx = RxUdp(
        sender=ADDR,
        dest=ADDR,
        rport=0x0E1A,
        lport=0x0E1A,
        sender_lla="001D129012345678",
        secured=True,
        data=b"12345",
        side=0,
        hex_payload=False,
    )
    assert encode(rx) == (
        f"ERXUDP {ADDR} {ADDR} 0E1A 0E1A 001D129012345678 1 0 0005 12345\r\n".encode()
    )
    with pytest.raises(TypeError):
        encode(Message())


def test_addresses() -> None:
    assert link_local_from_mac("001D129012345678") == ADDR
    assert mac_from_link_local(ADDR) == "001D129012345678"
    assert canonical_ipv6("fe80::21d:1290:1234:5678") == ADDR
    assert canonical_ipv6("ff02::1") == "FF02:0000:0000:0000:0000:0000:0000:0001"
    with pytest.raises(ValueError):
        canonical_ipv6("FE80::G")
    with pytest.raises(ValueError):
        link_local_from_mac("1234")


@given(macs)
def test_link_local_round_trip(mac: str) -> None:
    assert mac_from_link_local(link_local_from_mac(mac)) == mac


@given(
    st.sampled_from([0x02, 0x20, 0x21, 0x22, 0x24, 0x25, 0x29, 0x32]),
    addresses,
    sides,
    st.none() | st.integers(0, 2),
)
def test_event_round_trip(num: int, sender: str, side: int | None, param: int | None) -> None:
    if num != 0x21:
        param = None
    event = Event(num, sender, side=side, param=param)
    assert LineParser().feed(encode(event)) == [event]


@given(
    sender=addresses,
    dest=addresses,
    lla=macs,
    secured=st.none() | st.booleans(),
    side=sides,
    rssi=st.none() | st.integers(0, 255),
    data=st.binary(min_size=1, max_size=300),
    hex_payload=st.booleans(),
)
def test_rx_udp_round_trip(
    *,
    sender: str,
    dest: str,
    lla: str,
    secured: bool | None,
    side: int | None,
    rssi: int | None,
    data: bytes,
    hex_payload: bool,
) -> None:
    if rssi is not None:
        side = 0  # the RSSI field only exists on the BP35C2 family
    if secured is None:
        side = rssi = None  # old BP35A1 firmware
    rx = RxUdp(
        sender=sender,
        dest=dest,
        rport=0x0E1A,
        lport=0x02CC,
        sender_lla=lla,
        secured=secured,
        data=data,
        side=side,
        rssi=rssi,
        hex_payload=hex_payload,
    )
    wire = encode(rx) + encode(Ok())
    assert LineParser().feed(wire) == [rx, Ok()]


@given(
    channel=st.integers(0x21, 0x3C),
    pan_id=st.integers(0, 0xFFFF),
    mac=macs,
    lqi=st.integers(0, 255),
    side=sides,
    pair_id=st.none() | st.text("0123456789ABCDEF", min_size=8, max_size=8),
)
def test_pan_descriptor_round_trip(
    *, channel: int, pan_id: int, mac: str, lqi: int, side: int | None, pair_id: str | None
) -> None:
    pan = PanDescriptor(channel, 9, pan_id, mac, lqi, side=side, pair_id=pair_id)
    event = Event(0x22, ADDR, side=side)
    assert LineParser().feed(encode(pan) + encode(event)) == [pan, event]


# ----------------------------------------------------------------------- UART


def test_uart_lines_and_terminators() -> None:
    uart = UartInput()
    assert uart.feed(b"SKVER\r") == [CommandLine(b"SKVER")]
    assert uart.feed(b"\nROPT\rWOPT 01\n\r\nSKINFO") == [
        CommandLine(b"ROPT"),
        CommandLine(b"WOPT 01"),
        CommandLine(b""),
    ]
    assert uart.feed(b"\r\n") == [CommandLine(b"SKINFO")]


def test_uart_sendto_data_may_hold_line_ends() -> None:
    uart = UartInput()
    header = b"SKSENDTO 1 FE80:0000:0000:0000:021D:1290:1234:5678 0E1A 1 0005 "
    out = uart.feed(header + b"\r\n\r\nA" + b"SKVER\r\n")
    assert out == [
        SendToCommand(header, ("1", ADDR, "0E1A", "1", "0005"), b"\r\n\r\nA"),
        CommandLine(b"SKVER"),
    ]
    side = b"SKSENDTO 1 FE80:0000:0000:0000:021D:1290:1234:5678 0E1A 1 0 0002 "
    assert uart.feed(side + b"\x00\xff") == [
        SendToCommand(side, ("1", ADDR, "0E1A", "1", "0", "0002"), b"\x00\xff")
    ]
    assert uart.feed(b"SKSENDTO 1\r\n") == [CommandLine(b"SKSENDTO 1")]
    assert uart.feed(b"SKSENDTO 1 X 0E1A 1 FFFF ") == [
        SendToCommand(b"SKSENDTO 1 X 0E1A 1 FFFF ", ("1", "X", "0E1A", "1", "FFFF"), b"", True)
    ]


@given(st.randoms(use_true_random=False))
def test_uart_input_does_not_depend_on_chunking(rnd: random.Random) -> None:
    stream = (
        b"SKSREG SFE 0\r\nROPT\r"
        b"SKSENDTO 1 FE80:0000:0000:0000:021D:1290:1234:5678 0E1A 1 0004 \r\nOK"
        b"\r\nSKVER\nSKSENDTO 1 FE80::1 0E1A 2 0 0003 abc"
    )
    whole = UartInput().feed(stream)
    uart = UartInput()
    pieces: list[CommandLine | SendToCommand] = []
    position = 0
    while position < len(stream):
        size = rnd.randint(1, 12)
        pieces += uart.feed(stream[position : position + size])
        position += size
    assert pieces == whole
    assert len(whole) == 6


def test_pana_start_message_has_the_captured_layout() -> None:
    pana = PanaBuilder(random.Random(1))
    start = pana.auth_start()
    assert len(start) == 0x28
    assert start[:8] == bytes.fromhex("00000028C0000002")
    assert start[16:] == bytes.fromhex("00060000000400000000000500030000000400000000000C")
    second = pana.auth_eap(1)
    assert int.from_bytes(second[2:4], "big") == len(second)
    assert int.from_bytes(second[12:16], "big") == int.from_bytes(start[12:16], "big") + 1


def test_unrecognized_is_written_raw() -> None:
    assert encode(Unrecognized(b"\x00junk\r\n", "noise")) == b"\x00junk\r\n"
