"""LineParser against every example of the SKSTACK IP reference (spec sections 2, 3 and 8).

Each vector is fed whole, byte by byte, split at random points, and wrapped in garbage.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.skstack import (
    AddressLine,
    AddressTable,
    AppVersion,
    Echo,
    EdScan,
    ErrorCode,
    Event,
    Fail,
    Info,
    LineParser,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    Pong,
    PortTable,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)
from tests.skstack._chunks import feed_chunks, split_at

CRLF = b"\r\n"

# Addresses used by the reference's transcripts.
NET_SELF = "FE80:0000:0000:0000:1234:5678:1234:5678"  # netlog, own address
NET_PAA = "FE80:0000:0000:0000:9876:5432:9876:5432"  # netlog, meter
SMDN_SELF = "FE80:0000:0000:0000:021D:1290:1234:5678"
SMDN_BEACON = "FE80:0000:0000:0000:021D:1290:0003:C890"
C2_METER = "FE80:0000:0000:0000:1034:5678:ABCD:EF01"
ZERO = "FE80:0000:0000:0000:0000:0000:0000:0000"
ZERO1 = "FE80:0000:0000:0000:0000:0000:0000:0001"
JJ_METER = "FE80:0000:0000:0000:02YY:YYYY:YYYY:YYYY"
JJ_SELF = "FE80:0000:0000:0000:02XX:XXXX:XXXX:XXXX"

EDSCAN_LINE = (
    "21 04 22 04 23 03 24 02 25 05 26 06 27 05 28 11 29 10 2A 0B 2B 10 2C 0C 2D 09 2E 0A "
    "2F 07 30 06 31 05 32 06 33 03 34 03 35 03 36 02 37 03 38 03 39 02 3A 04 3B 06 3C 02"
)
EDSCAN_LEVELS = (
    (0x21, 0x04), (0x22, 0x04), (0x23, 0x03), (0x24, 0x02), (0x25, 0x05), (0x26, 0x06),
    (0x27, 0x05), (0x28, 0x11), (0x29, 0x10), (0x2A, 0x0B), (0x2B, 0x10), (0x2C, 0x0C),
    (0x2D, 0x09), (0x2E, 0x0A), (0x2F, 0x07), (0x30, 0x06), (0x31, 0x05), (0x32, 0x06),
    (0x33, 0x03), (0x34, 0x03), (0x35, 0x03), (0x36, 0x02), (0x37, 0x03), (0x38, 0x03),
    (0x39, 0x02), (0x3A, 0x04), (0x3B, 0x06), (0x3C, 0x02),
)  # fmt: skip

NETLOG_PANA_HEX = "00000028C00000024A1F4DC0C99C3A6A00060000000400000000000500030000000400000000000C"
# A binary PANA datagram for the constructed BP35C2 transcript: it contains CR, LF,
# CRLF, spaces and "OK\r\n" on purpose.
C2_PANA = bytes.fromhex("0000001080000002") + b"\r\nOK\r\n \r\n\n\r" + bytes(range(0x20))


def lines(*items: str | bytes) -> bytes:
    """Join module output lines, each with CRLF (bytes are taken verbatim, no CRLF added)."""
    out = bytearray()
    for item in items:
        out += item if isinstance(item, bytes) else item.encode("ascii") + CRLF
    return bytes(out)


def ev(num: int, sender: str | None, side: int | None = None, param: int | None = None) -> Event:
    return Event(num=num, sender=sender, side=side, param=param)


PANDESC_A1 = [
    "EPANDESC",
    "  Channel:21",
    "  Channel Page:09",
    "  Pan ID:8888",
    "  Addr:12345678ABCDEF01",
    "  LQI:E1",
    "  PairID:AABBCCDD",
]
PANDESC_C2 = [*PANDESC_A1[:6], "  Side:0", PANDESC_A1[6]]
PD_A1 = PanDescriptor(
    channel=0x21, channel_page=9, pan_id=0x8888, addr="12345678ABCDEF01", lqi=0xE1,
    pair_id="AABBCCDD",
)  # fmt: skip
PD_C2 = PanDescriptor(
    channel=0x21, channel_page=9, pan_id=0x8888, addr="12345678ABCDEF01", lqi=0xE1, side=0,
    pair_id="AABBCCDD",
)  # fmt: skip

# --- Section 8 transcripts: what the module writes, in order -----------------------------

T81 = (
    lines(
        "SKINFO",
        f"EINFO {NET_SELF} 1234567812345678 21 FFFF FFFE",
        "OK",
        "SKSETRBID 12345678123456781234567812345678",
        "OK",
        "SKSETPWD c 1234567890ab",
        "OK",
        "SKSCAN 2 FFFFFFFF 6",
        f"EVENT 20 {NET_SELF}",
        "EPANDESC",
        "  Channel:39",
        "  Channel Page:09",
        "  Pan ID:9876",
        "  Addr:1234567812345678",
        "  LQI:2D",
        "  PairID:12345678",
        f"EVENT 22 {NET_SELF}",
        "SKSREG S2 39",
        "OK",
        "SKSREG S3 9876",
        "OK",
        "SKLL64 1234567812345678",
        NET_PAA,
        f"SKJOIN {NET_PAA}",
        "OK",
        f"EVENT 21 {NET_PAA} 02",
        f"EVENT 02 {NET_PAA}",
        f"ERXUDP {NET_PAA} {NET_SELF} 02CC 02CC 1234567812345678 0 0028 {NETLOG_PANA_HEX}",
        f"EVENT 25 {NET_PAA}",
    ),
    [
        Echo("SKINFO"),
        Info(
            ipaddr=NET_SELF, addr64="1234567812345678", channel=0x21, pan_id=0xFFFF, field5="FFFE"
        ),
        Ok(),
        Echo("SKSETRBID 12345678123456781234567812345678"),
        Ok(),
        Echo("SKSETPWD c 1234567890ab"),
        Ok(),
        Echo("SKSCAN 2 FFFFFFFF 6"),
        ev(0x20, NET_SELF),
        PanDescriptor(
            channel=0x39,
            channel_page=9,
            pan_id=0x9876,
            addr="1234567812345678",
            lqi=0x2D,
            pair_id="12345678",
        ),
        ev(0x22, NET_SELF),
        Echo("SKSREG S2 39"),
        Ok(),
        Echo("SKSREG S3 9876"),
        Ok(),
        Echo("SKLL64 1234567812345678"),
        AddressLine(NET_PAA),
        Echo(f"SKJOIN {NET_PAA}"),
        Ok(),
        ev(0x21, NET_PAA, param=2),
        ev(0x02, NET_PAA),
        RxUdp(
            sender=NET_PAA,
            dest=NET_SELF,
            rport=0x2CC,
            lport=0x2CC,
            sender_lla="1234567812345678",
            secured=False,
            data=bytes.fromhex(NETLOG_PANA_HEX),
            hex_payload=True,
        ),
        ev(0x25, NET_PAA),
    ],
)

T82 = (
    lines(
        "",
        f"EVENT 21 {ZERO} 00",
        "OK",
        f"ERXUDP {ZERO} {ZERO1} 0E1A 0E1A 001C64000334809F 1 0012 "
        "1081001A02880105FF0172019E040381E5ED",
    ),
    [
        ev(0x21, ZERO, param=0),
        Ok(),
        RxUdp(
            sender=ZERO,
            dest=ZERO1,
            rport=0x0E1A,
            lport=0x0E1A,
            sender_lla="001C64000334809F",
            secured=True,
            data=bytes.fromhex("1081001A02880105FF0172019E040381E5ED"),
        ),
    ],
)

T83 = (
    lines(
        f"EVENT 21 {JJ_METER} 00",
        "OK",
        f"ERXUDP {JJ_METER} {JJ_SELF} 0E1A 0E1A 00YYYYYYYYYYYYYY 0012 "
        "1081000102880105FF017201E704000003A0",
    ),
    [
        ev(0x21, JJ_METER, param=0),
        Ok(),
        RxUdp(
            sender=JJ_METER,
            dest=JJ_SELF,
            rport=0x0E1A,
            lport=0x0E1A,
            sender_lla="00YYYYYYYYYYYYYY",
            secured=None,
            data=bytes.fromhex("1081000102880105FF017201E704000003A0"),
        ),
    ],
)

T84 = (
    lines(
        "EVER 1.2.10",
        "OK",
        "EAPPVER rev26e",
        "OK",
        f"EINFO {SMDN_SELF} 001D129012345678 21 8888 FFFE",
        "OK",
        "ESREG 21",
        "OK",
        # SKSCAN 2
        "OK",
        f"EVENT 20 {SMDN_BEACON}",
        *PANDESC_A1,
        f"EVENT 22 {SMDN_BEACON}",
        # SKSCAN 0 (ED scan), with the extra empty line of VER 1.2.10
        "OK",
        f"EVENT 1F {SMDN_BEACON}",
        "EEDSCAN",
        EDSCAN_LINE,
        "",
        # SKLL64
        SMDN_SELF,
        # SKSENDTO
        f"EVENT 21 {SMDN_SELF} 02",
        f"EVENT 21 {SMDN_SELF} 00",
        "OK",
        # SKTERM (<paa> = the beacon address, <self> = our address, <1 byte> = LF)
        f"EVENT 21 {SMDN_BEACON} 02",
        "OK",
        f"ERXUDP {SMDN_BEACON} {SMDN_SELF} 02CC 02CC 001D129012345678 0 0001 ".encode() + b"\n\r\n",
        f"EVENT 27 {SMDN_BEACON}",
        # SKTERM without a session
        "FAIL ER10",
        # SKTABLE E, real VER 1.2.10 shape
        "EPORT",
        "3610",
        "716",
        "0",
        "0",
        "0",
        "0",
        "",
        "3610",
        "0",
        "0",
        "0",
        "OK",
    )
    + b"OK 00\r",  # ROPT answer, CR only
    [
        Version("1.2.10"),
        Ok(),
        AppVersion("rev26e"),
        Ok(),
        Info(
            ipaddr=SMDN_SELF, addr64="001D129012345678", channel=0x21, pan_id=0x8888, field5="FFFE"
        ),
        Ok(),
        RegisterValue("21"),
        Ok(),
        Ok(),
        ev(0x20, SMDN_BEACON),
        PD_A1,
        ev(0x22, SMDN_BEACON),
        Ok(),
        ev(0x1F, SMDN_BEACON),
        EdScan(EDSCAN_LEVELS),
        AddressLine(SMDN_SELF),
        ev(0x21, SMDN_SELF, param=2),
        ev(0x21, SMDN_SELF, param=0),
        Ok(),
        ev(0x21, SMDN_BEACON, param=2),
        Ok(),
        RxUdp(
            sender=SMDN_BEACON,
            dest=SMDN_SELF,
            rport=0x2CC,
            lport=0x2CC,
            sender_lla="001D129012345678",
            secured=False,
            data=b"\n",
            hex_payload=False,
        ),
        ev(0x27, SMDN_BEACON),
        Fail(ErrorCode.ER10),
        PortTable(udp_ports=(3610, 716, 0, 0, 0, 0), extra_ports=(3610, 0, 0, 0)),
        Ok(),
        Ok("00"),
    ],
)

T85 = (
    lines(
        "OK",
        f"EINFO {SMDN_SELF} 001D129012345678 21 FFFF 0",
        "OK",
        "OK",
        "OK",
        "OK",
        f"EVENT 20 {SMDN_BEACON} 0",
        *PANDESC_C2,
        f"EVENT 22 {SMDN_BEACON} 0",
        C2_METER,
        "OK",
        "OK",
        "OK",
        f"EVENT 21 {C2_METER} 0 02",
        f"EVENT 02 {C2_METER} 0",
        f"ERXUDP {C2_METER} {SMDN_SELF} 02CC 02CC 12345678ABCDEF01 0 0 {len(C2_PANA):04X} ".encode()
        + C2_PANA
        + CRLF,
        f"EVENT 21 {C2_METER} 0 00",
        f"EVENT 25 {C2_METER} 0",
        "",
        f"EVENT 21 {C2_METER} 0 00",
        "OK",
        f"ERXUDP {C2_METER} {SMDN_SELF} 0E1A 0E1A 12345678ABCDEF01 1 0 0012 "
        "1081000102880105FF017201E70400000064",
    ),
    [
        Ok(),
        Info(ipaddr=SMDN_SELF, addr64="001D129012345678", channel=0x21, pan_id=0xFFFF, field5="0"),
        Ok(),
        Ok(),
        Ok(),
        Ok(),
        ev(0x20, SMDN_BEACON, side=0),
        PD_C2,
        ev(0x22, SMDN_BEACON, side=0),
        AddressLine(C2_METER),
        Ok(),
        Ok(),
        Ok(),
        ev(0x21, C2_METER, side=0, param=2),
        ev(0x02, C2_METER, side=0),
        RxUdp(
            sender=C2_METER,
            dest=SMDN_SELF,
            rport=0x2CC,
            lport=0x2CC,
            sender_lla="12345678ABCDEF01",
            secured=False,
            data=C2_PANA,
            side=0,
            hex_payload=False,
        ),
        ev(0x21, C2_METER, side=0, param=0),
        ev(0x25, C2_METER, side=0),
        ev(0x21, C2_METER, side=0, param=0),
        Ok(),
        RxUdp(
            sender=C2_METER,
            dest=SMDN_SELF,
            rport=0x0E1A,
            lport=0x0E1A,
            sender_lla="12345678ABCDEF01",
            secured=True,
            side=0,
            data=bytes.fromhex("1081000102880105FF017201E70400000064"),
        ),
    ],
)

# --- Sections 2 and 3: single lines and blocks -------------------------------------------

SKRS_SENDER = "FE80:0000:0000:0000:0280:8700:3015:29FC"
SKRS_DEST = "FE80:0000:0000:0000:1207:23FF:FEA0:75B3"
SKRS_HEX = "1081412202880105FF017201E704000001C0"

SINGLE: list[tuple[str, bytes, list[Message]]] = [
    ("2.1 EVER A1", lines("EVER 1.2.10"), [Version("1.2.10")]),
    ("2.1 EVER C2", lines("EVER 1.5.2"), [Version("1.5.2")]),
    ("2.2 EAPPVER A1", lines("EAPPVER rev26e"), [AppVersion("rev26e")]),
    ("2.2 EAPPVER C2", lines("EAPPVER rev15"), [AppVersion("rev15")]),
    ("2.4 OK", lines("OK"), [Ok()]),
    ("2.7 ESREG 21", lines("ESREG 21"), [RegisterValue("21")]),
    ("2.7 ESREG 8888", lines("ESREG 8888"), [RegisterValue("8888")]),
    ("2.7 ESREG S07", lines("ESREG 01234567"), [RegisterValue("01234567")]),
    ("2.7 ESREG SFD", lines("ESREG FFFFFFFFFFFFFFFF"), [RegisterValue("FFFFFFFFFFFFFFFF")]),
    ("2.7 ESREG 0", lines("ESREG 0"), [RegisterValue("0")]),
    ("2.7 ESREG 1", lines("ESREG 1"), [RegisterValue("1")]),
    ("2.7 ESREG S0A", lines("ESREG CCDDEEFF"), [RegisterValue("CCDDEEFF")]),
    (
        "2.7 register echoes",
        lines("SKSREG S02 21", "SKSREG S03 8888", "SKSREG S16 384", "SKSREG SFE 0"),
        [
            Echo("SKSREG S02 21"),
            Echo("SKSREG S03 8888"),
            Echo("SKSREG S16 384"),
            Echo("SKSREG SFE 0"),
        ],
    ),
    (
        "2.8 scan echoes",
        lines("SKSCAN 2 FFFFFFFF 6", "SKSCAN 2 FFFFFFFF 6 0"),
        [Echo("SKSCAN 2 FFFFFFFF 6"), Echo("SKSCAN 2 FFFFFFFF 6 0")],
    ),
    (
        "2.8 smdn scan",
        lines("OK", f"EVENT 20 {SMDN_BEACON}", *PANDESC_A1, f"EVENT 22 {SMDN_BEACON}"),
        [Ok(), ev(0x20, SMDN_BEACON), PD_A1, ev(0x22, SMDN_BEACON)],
    ),
    ("2.9 SKLL64", lines(SMDN_SELF), [AddressLine(SMDN_SELF)]),
    (
        "2.10 join",
        lines("OK", f"EVENT 21 {NET_PAA} 02", f"EVENT 02 {NET_PAA}", f"EVENT 25 {NET_PAA}"),
        [Ok(), ev(0x21, NET_PAA, param=2), ev(0x02, NET_PAA), ev(0x25, NET_PAA)],
    ),
    ("2.10 join failed", lines(f"EVENT 24 {NET_PAA}"), [ev(0x24, NET_PAA)]),
    ("2.11 FAIL ER10", lines("FAIL ER10"), [Fail(ErrorCode.ER10)]),
    (
        "2.12 terminated",
        lines(f"EVENT 27 {NET_PAA}", f"EVENT 28 {NET_PAA}"),
        [ev(0x27, NET_PAA), ev(0x28, NET_PAA)],
    ),
    (
        "2.13 SKSENDTO echo (smdn, payload CRLF echoed)",
        f"SKSENDTO 1 {SMDN_SELF} 0E1A 0 0002 ".encode() + b"\r\n\r\n",
        [Echo(f"SKSENDTO 1 {SMDN_SELF} 0E1A 0 0002 ")],
    ),
    (
        "2.13 SKSENDTO echo (zig fixture, C2)",
        lines(f"SKSENDTO 1 {SMDN_SELF} 0E1A 1 0 0005 12345"),
        [Echo(f"SKSENDTO 1 {SMDN_SELF} 0E1A 1 0 0005 12345")],
    ),
    (
        "2.13 send done C2",
        lines("", f"EVENT 21 {SMDN_SELF} 0 00", "OK"),
        [ev(0x21, SMDN_SELF, side=0, param=0), Ok()],
    ),
    ("2.13 send failed", lines(f"EVENT 21 {SMDN_SELF} 01"), [ev(0x21, SMDN_SELF, param=1)]),
    ("2.14 EPONG", lines(f"EPONG {SMDN_SELF}"), [Pong(SMDN_SELF)]),
    (
        "2.16 EADDR",
        lines("EADDR", SMDN_SELF, "FE80:0000:0000:0000:021D:1290:1234:5679", "OK"),
        [AddressTable((SMDN_SELF, "FE80:0000:0000:0000:021D:1290:1234:5679")), Ok()],
    ),
    (
        "2.16 ENEIGHBOR",
        lines("ENEIGHBOR", f"{SMDN_BEACON} 001D12900003C890 FFFF", "OK"),
        [NeighborTable(((SMDN_BEACON, "001D12900003C890", "FFFF"),)), Ok()],
    ),
    (
        "2.16 EPORT six lines",
        lines("EPORT", "3610", "716", "0", "0", "0", "0", "OK"),
        [PortTable(udp_ports=(3610, 716, 0, 0, 0, 0)), Ok()],
    ),
    (
        "2.16 EPORT real BP35A1",
        b"EPORT\r\n3610\r\n716\r\n0\r\n0\r\n0\r\n0\r\n\r\n3610\r\n0\r\n0\r\n0\r\nOK\r\n",
        [PortTable(udp_ports=(3610, 716, 0, 0, 0, 0), extra_ports=(3610, 0, 0, 0)), Ok()],
    ),
    ("2.16 empty table", lines("OK"), [Ok()]),
    ("2.17 EVENT C0", lines("EVENT C0"), [ev(0xC0, None)]),
    ("2.18 ROPT", b"ROPT\rOK 01\r", [Echo("ROPT"), Ok("01")]),
    ("2.18 ROPT binary", b"OK 00\r", [Ok("00")]),
    ("2.18 WOPT", b"WOPT 01\rOK\r", [Echo("WOPT 01"), Ok()]),
    ("2.18 RUART", b"RUART\rOK 00\r", [Echo("RUART"), Ok("00")]),
    ("2.18 WUART", b"WUART 00\rOK\r", [Echo("WUART 00"), Ok()]),
    ("2.18 ROPT unsupported", lines("FAIL ER04"), [Fail(ErrorCode.ER04)]),
    (
        "3.1 EVENT 1F C2",
        lines(f"EVENT 1F {SMDN_BEACON} 0"),
        [ev(0x1F, SMDN_BEACON, side=0)],
    ),
    (
        "3.1 session events",
        lines(
            f"EVENT 26 {NET_PAA}",
            f"EVENT 29 {NET_PAA}",
            f"EVENT 32 {NET_PAA}",
            f"EVENT 33 {NET_PAA}",
            f"EVENT 45 {NET_PAA} 0 01",
        ),
        [
            ev(0x26, NET_PAA),
            ev(0x29, NET_PAA),
            ev(0x32, NET_PAA),
            ev(0x33, NET_PAA),
            ev(0x45, NET_PAA, side=0, param=1),
        ],
    ),
    (
        "3.2 ERXUDP skrs",
        lines(f"ERXUDP {SKRS_SENDER} {SKRS_DEST} 0E1A 0E1A 00808700301529FC 1 0012 {SKRS_HEX}"),
        [
            RxUdp(
                sender=SKRS_SENDER,
                dest=SKRS_DEST,
                rport=0x0E1A,
                lport=0x0E1A,
                sender_lla="00808700301529FC",
                secured=True,
                data=bytes.fromhex(SKRS_HEX),
            )
        ],
    ),
    (
        "3.2 ERXUDP zig binary C2",
        lines(f"ERXUDP {SMDN_SELF} {SMDN_SELF} 0E1A 0E1A 001D129012345678 1 0 0005 12345"),
        [
            RxUdp(
                sender=SMDN_SELF,
                dest=SMDN_SELF,
                rport=0x0E1A,
                lport=0x0E1A,
                sender_lla="001D129012345678",
                secured=True,
                data=b"12345",
                side=0,
                hex_payload=False,
            )
        ],
    ),
    (
        "3.2 ERXUDP C2 with SA2=1 (RSSI)",
        lines(f"ERXUDP {C2_METER} {SMDN_SELF} 0E1A 0E1A 12345678ABCDEF01 E1 1 0 0012 {SKRS_HEX}"),
        [
            RxUdp(
                sender=C2_METER,
                dest=SMDN_SELF,
                rport=0x0E1A,
                lport=0x0E1A,
                sender_lla="12345678ABCDEF01",
                secured=True,
                data=bytes.fromhex(SKRS_HEX),
                side=0,
                rssi=0xE1,
            )
        ],
    ),
    (
        "3.2 ERXUDP Skyley HAN (RSSI, no SIDE)",
        lines(f"ERXUDP {C2_METER} {SMDN_SELF} 0E1A 0E1A 12345678ABCDEF01 9C 0 0012 {SKRS_HEX}"),
        [
            RxUdp(
                sender=C2_METER,
                dest=SMDN_SELF,
                rport=0x0E1A,
                lport=0x0E1A,
                sender_lla="12345678ABCDEF01",
                secured=False,
                data=bytes.fromhex(SKRS_HEX),
                rssi=0x9C,
            )
        ],
    ),
    ("3.3 EPANDESC A1", lines(*PANDESC_A1), [PD_A1]),
    ("3.3 EPANDESC C2", lines(*PANDESC_C2), [PD_C2]),
    (
        "3.3 EPANDESC mode 3 (no PairID) ends at the next line",
        lines(*PANDESC_A1[:6], f"EVENT 22 {SMDN_BEACON}"),
        [
            PanDescriptor(
                channel=0x21, channel_page=9, pan_id=0x8888, addr="12345678ABCDEF01", lqi=0xE1
            ),
            ev(0x22, SMDN_BEACON),
        ],
    ),
    (
        "3.3 EPANDESC C2 mode 3 (Side, no PairID)",
        lines(*PANDESC_C2[:7], "OK"),
        [
            PanDescriptor(
                channel=0x21,
                channel_page=9,
                pan_id=0x8888,
                addr="12345678ABCDEF01",
                lqi=0xE1,
                side=0,
            ),
            Ok(),
        ],
    ),
    (
        "3.4 EEDSCAN",
        lines(f"EVENT 1F {SMDN_BEACON}", "EEDSCAN", EDSCAN_LINE, ""),
        [ev(0x1F, SMDN_BEACON), EdScan(EDSCAN_LEVELS)],
    ),
    ("4 FAIL ER05", lines("FAIL ER05"), [Fail(ErrorCode.ER05)]),
    ("4 FAIL ER06", lines("FAIL ER06"), [Fail(ErrorCode.ER06)]),
    ("4 FAIL ER09", lines("FAIL ER09"), [Fail(ErrorCode.ER09)]),
    ("4 FAIL with text", lines("FAIL ER10 busy"), [Fail(ErrorCode.ER10, "busy")]),
    (
        "6 INF after join",
        lines(
            f"ERXUDP {NET_PAA} {NET_SELF} 0E1A 0E1A 1234567812345678 1 0012 "
            "108100000EF0010EF0017301D50401028801"
        ),
        [
            RxUdp(
                sender=NET_PAA,
                dest=NET_SELF,
                rport=0x0E1A,
                lport=0x0E1A,
                sender_lla="1234567812345678",
                secured=True,
                data=bytes.fromhex("108100000EF0010EF0017301D50401028801"),
            )
        ],
    ),
]

VECTORS: list[tuple[str, bytes, list[Message]]] = [
    ("8.1 RL7023 IPS join", *T81),
    ("8.2 BP35A1 send", *T82),
    ("8.3 BP35A1 2015 firmware", *T83),
    ("8.4 smdn fixtures", *T84),
    ("8.5 BP35C2 constructed", *T85),
    *SINGLE,
]
IDS = [name for name, _, _ in VECTORS]


def feed_drained(chunks: list[bytes]) -> list[Message]:
    """Feed ``chunks`` to a new parser, which must have nothing left buffered at the end."""
    parser = LineParser()
    out = feed_chunks(chunks, parser)
    assert parser.buffered == 0
    return out


@pytest.mark.parametrize(("name", "data", "expected"), VECTORS, ids=IDS)
def test_vector_whole(name: str, data: bytes, expected: list[Message]) -> None:
    assert feed_drained([data]) == expected


@pytest.mark.parametrize(("name", "data", "expected"), VECTORS, ids=IDS)
def test_vector_byte_by_byte(name: str, data: bytes, expected: list[Message]) -> None:
    assert feed_drained([data[i : i + 1] for i in range(len(data))]) == expected


@given(
    vector=st.sampled_from(VECTORS),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=12),
)
def test_vector_random_splits(vector: tuple[str, bytes, list[Message]], cuts: list[int]) -> None:
    _, data, expected = vector
    assert feed_drained(split_at(data, cuts)) == expected


# Garbage: random bytes, then CRLF. The "~" first byte keeps it from being a valid line
# (and from starting with an LF, which would be swallowed after a CR-only line).
garbage = st.binary(max_size=40).map(
    lambda b: b"~" + b.replace(b"\r", b"").replace(b"\n", b"") + CRLF
)


@given(
    vector=st.sampled_from(VECTORS),
    before=garbage,
    after=garbage,
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=6),
)
def test_vector_with_garbage_around(
    vector: tuple[str, bytes, list[Message]], before: bytes, after: bytes, cuts: list[int]
) -> None:
    _, data, expected = vector
    out = feed_drained(split_at(before + data + after, cuts))
    assert len(out) == len(expected) + 2
    first, *middle, last = out
    assert isinstance(first, Unrecognized)
    assert first.raw == before[:-2]
    assert middle == expected
    assert isinstance(last, Unrecognized)
    assert last.raw == after[:-2]


def test_all_transcripts_concatenated() -> None:
    stream = b"".join(data for _, data, _ in VECTORS if not data.endswith(b"\r"))
    expected = [msg for _, data, msgs in VECTORS if not data.endswith(b"\r") for msg in msgs]
    assert feed_drained([stream]) == expected
    assert feed_drained([stream[i : i + 7] for i in range(0, len(stream), 7)]) == expected
