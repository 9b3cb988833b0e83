"""Frame codec: every vector of the spec (section 5), SetGet layouts, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiobroute.echonet import (
    CONTROLLER,
    NODE_PROFILE,
    SMART_METER,
    Eoj,
    Esv,
    Frame,
    Property,
)
from aiobroute.errors import FrameDecodeError, InvalidArgumentError

F7 = (
    "1081000102880105FF017201E2C20000"
    "001807A4001807B8001807CB001807D9001807DC001807DF001807E3001807E7"
    "001807EA001807EE001807F2001807F6001807FC0018081100180833001808450018085E"
    "0018087700180899001808AB001808C9001808FE001809360018096000180988"
    "001809910018099B001809B5001809CF001809DC001809EF00180A0900180A2B"
    "00180A5600180A6900180A7C00180A9900180AB500180AC5"
    "FFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFE"
)

# name -> (hex, tid, seoj, deoj, esv, [(epc, edt hex)])
VECTORS: dict[str, tuple[str, int, Eoj, Eoj, Esv, list[tuple[int, str]]]] = {
    "F2": (
        "10812EDA0EF0010EF0017301D50401028801",
        0x2EDA,
        NODE_PROFILE,
        NODE_PROFILE,
        Esv.INF,
        [(0xD5, "01028801")],
    ),
    "F3": (
        "10812EDB02880105FF017301EA0B07E7030D001E000007A3F8",
        0x2EDB,
        SMART_METER,
        CONTROLLER,
        Esv.INF,
        [(0xEA, "07E7030D001E000007A3F8")],
    ),
    "F8": (
        "1081000102880105FF015201D300",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_SNA,
        [(0xD3, "")],
    ),
    "F8b": (
        "1081000102880105FF017201D70107",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xD7, "07")],
    ),
    "F8c": (
        "1081000102880105FF017201E00400180ACF",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE0, "00180ACF")],
    ),
    "F8d": (
        "1081000102880105FF017201E10102",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE1, "02")],
    ),
    "F8e": (
        "1081000102880105FF017201E50100",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE5, "00")],
    ),
    "F7": (F7, 1, SMART_METER, CONTROLLER, Esv.GET_RES, [(0xE2, F7[28:])]),
    "F9b": (
        "1081000102880105FF017201E7040000011C",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE7, "0000011C")],
    ),
    "F10b": (
        "1081000102880105FF017201E804000F0011",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE8, "000F0011")],
    ),
    "F13b": (
        "1081000102880105FF017201800130",
        1,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0x80, "30")],
    ),
    "F23": (
        "1081412202880105FF017201E704000001C0",
        0x4122,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0xE7, "000001C0")],
    ),
    "F24-request": (
        "1081001A05FF0102880162019E00",
        0x1A,
        CONTROLLER,
        SMART_METER,
        Esv.GET,
        [(0x9E, "")],
    ),
    "F24-answer": (
        "1081001A02880105FF0172019E040381E5ED",
        0x1A,
        SMART_METER,
        CONTROLLER,
        Esv.GET_RES,
        [(0x9E, "0381E5ED")],
    ),
    "get-E7": (
        "1081000505FF0102880162 01E700".replace(" ", ""),
        5,
        CONTROLLER,
        SMART_METER,
        Esv.GET,
        [(0xE7, "")],
    ),
    "get-sna-D3-E7": (
        "10810006 028801 05FF01 52 02 D300 E704 00000278".replace(" ", ""),
        6,
        SMART_METER,
        CONTROLLER,
        Esv.GET_SNA,
        [(0xD3, ""), (0xE7, "00000278")],
    ),
    "setc-E5": (
        "10810007 05FF01 028801 61 01 E5 01 01".replace(" ", ""),
        7,
        CONTROLLER,
        SMART_METER,
        Esv.SETC,
        [(0xE5, "01")],
    ),
    "set-res-E5": (
        "10810007 028801 05FF01 71 01 E5 00".replace(" ", ""),
        7,
        SMART_METER,
        CONTROLLER,
        Esv.SET_RES,
        [(0xE5, "")],
    ),
    "setc-sna-E5": (
        "10810008 028801 05FF01 51 01 E5 01 64".replace(" ", ""),
        8,
        SMART_METER,
        CONTROLLER,
        Esv.SETC_SNA,
        [(0xE5, "64")],
    ),
    "setc-ED": (
        "1081000A 05FF01 028801 61 01 ED 07 07EA05140E000C".replace(" ", ""),
        0x0A,
        CONTROLLER,
        SMART_METER,
        Esv.SETC,
        [(0xED, "07EA05140E000C")],
    ),
    "inf-req-D5": (
        "10810009 0EF001 0EF001 63 01 D5 00".replace(" ", ""),
        9,
        NODE_PROFILE,
        NODE_PROFILE,
        Esv.INF_REQ,
        [(0xD5, "")],
    ),
    "infc-EA": (
        "10811234 028801 05FF01 74 01 EA 0B 07EA05140E00000000FE68".replace(" ", ""),
        0x1234,
        SMART_METER,
        CONTROLLER,
        Esv.INFC,
        [(0xEA, "07EA05140E00000000FE68")],
    ),
    "infc-res-EA": (
        "10811234 05FF01 028801 7A 01 EA 00".replace(" ", ""),
        0x1234,
        CONTROLLER,
        SMART_METER,
        Esv.INFC_RES,
        [(0xEA, "")],
    ),
}


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_vector_decodes_and_reencodes(name: str) -> None:
    hex_text, tid, seoj, deoj, esv, props = VECTORS[name]
    raw = bytes.fromhex(hex_text)
    frame = Frame.decode(raw)
    assert frame.tid == tid
    assert frame.seoj == seoj
    assert frame.deoj == deoj
    assert frame.esv is esv
    assert frame.properties == tuple(Property(epc, bytes.fromhex(edt)) for epc, edt in props)
    assert frame.get_properties == ()
    assert frame.encode() == raw
    assert bytes(frame) == raw


def test_f7_is_208_bytes_with_pdc_194() -> None:
    frame = Frame.decode(bytes.fromhex(F7))
    assert len(bytes.fromhex(F7)) == 208
    assert len(frame.properties[0].edt) == 194


def test_infc_res_built_from_infc_matches_vector() -> None:
    infc = Frame.decode(bytes.fromhex(VECTORS["infc-EA"][0]))
    reply = Frame(
        tid=infc.tid,
        seoj=infc.deoj,
        deoj=infc.seoj,
        esv=Esv.INFC_RES,
        properties=[Property(p.epc) for p in infc.properties],
    )
    assert reply.encode() == bytes.fromhex(VECTORS["infc-res-EA"][0])


# --- SetGet family ----------------------------------------------------------------------

SETGET_REQUEST = bytes.fromhex("10810010 05FF01 028801 6E 01 E501 01 02 E200 E400".replace(" ", ""))


def test_setget_request_has_two_blocks() -> None:
    frame = Frame.decode(SETGET_REQUEST)
    assert frame.esv is Esv.SETGET
    assert frame.properties == (Property(0xE5, b"\x01"),)
    assert frame.get_properties == (Property(0xE2), Property(0xE4))
    assert frame.epcs == (0xE5,)
    assert frame.encode() == SETGET_REQUEST


def test_setget_response_layout() -> None:
    frame = Frame(
        tid=0x10,
        seoj=SMART_METER,
        deoj=CONTROLLER,
        esv=Esv.SETGET_RES,
        properties=[Property(0xE5)],
        get_properties=[Property(0xE7, b"\x00\x00\x01\x00")],
    )
    assert frame.encode() == bytes.fromhex(
        "10810010 028801 05FF01 7E 01 E500 01 E7 04 00000100".replace(" ", "")
    )
    assert Frame.decode(frame.encode()) == frame


def test_setget_sna_with_empty_set_block() -> None:
    raw = bytes.fromhex("10810011 028801 05FF01 5E 00 01 E7 00".replace(" ", ""))
    frame = Frame.decode(raw)
    assert frame.esv is Esv.SETGET_SNA
    assert frame.properties == ()
    assert frame.get_properties == (Property(0xE7),)
    assert frame.encode() == raw


def test_setget_with_empty_get_block() -> None:
    raw = bytes.fromhex("10810012 05FF01 028801 6E 01 E50101 00".replace(" ", ""))
    frame = Frame.decode(raw)
    assert frame.properties == (Property(0xE5, b"\x01"),)
    assert frame.get_properties == ()


# --- malformed input --------------------------------------------------------------------

HEADER = "1081000105FF01028801"


@pytest.mark.parametrize(
    ("hex_text", "offset", "fragment"),
    [
        pytest.param("", 0, "empty", id="empty"),
        pytest.param("20", 0, "EHD1", id="bad-ehd1"),
        pytest.param("10", 1, "EHD2", id="truncated-before-ehd2"),
        pytest.param("108201", 1, "format-2", id="format-2"),
        pytest.param("1083", 1, "EHD2", id="bad-ehd2"),
        pytest.param("1081000105FF01", 7, "truncated header", id="truncated-header"),
        pytest.param(HEADER + "99" + "01E700", 10, "unknown ESV", id="unknown-esv"),
        pytest.param(HEADER + "62", 11, "truncated header", id="missing-opc"),
        pytest.param(HEADER + "6200", 11, "OPC is 0", id="opc-zero"),
        pytest.param(HEADER + "6201E7", 12, "ends after 0", id="missing-pdc"),
        pytest.param(HEADER + "6202E700", 14, "ends after 1", id="opc-says-more"),
        pytest.param(HEADER + "7201E704000001", 13, "runs past", id="pdc-past-end"),
        pytest.param(HEADER + "6201E700FF", 14, "trailing", id="trailing-byte"),
        pytest.param(HEADER + "6201E700E800", 14, "trailing", id="opc-says-fewer"),
        pytest.param(HEADER + "6E01E50101", 15, "OPCGet", id="setget-missing-opcget"),
        pytest.param(HEADER + "6E0000", 12, "both 0", id="setget-both-empty"),
        pytest.param(HEADER + "6E000102", 13, "OPCGet says 1", id="setget-get-truncated"),
    ],
)
def test_malformed_frames_raise_frame_decode_error(
    hex_text: str, offset: int, fragment: str
) -> None:
    data = bytes.fromhex(hex_text)
    with pytest.raises(FrameDecodeError) as info:
        Frame.decode(data)
    assert info.value.offset == offset
    assert fragment in info.value.reason
    assert f"byte {offset}" in str(info.value)


def test_every_truncation_of_f7_raises_frame_decode_error() -> None:
    raw = bytes.fromhex(F7)
    for cut in range(len(raw)):
        with pytest.raises(FrameDecodeError) as info:
            Frame.decode(raw[:cut])
        assert 0 <= info.value.offset <= cut


def test_non_setget_frame_cannot_carry_a_get_block() -> None:
    with pytest.raises(InvalidArgumentError):
        Frame(1, CONTROLLER, SMART_METER, Esv.GET, [Property(0xE7)], [Property(0xE8)])


# --- properties (hypothesis) -------------------------------------------------------------

eojs = st.builds(Eoj, st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))
properties = st.builds(Property, st.integers(0, 255), st.binary(max_size=40))
property_lists = st.lists(properties, max_size=6)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    esv = draw(st.sampled_from(list(Esv)))
    first = draw(property_lists)
    second = draw(property_lists) if esv.is_setget else []
    if not first and not second:
        first = [draw(properties)]
    return Frame(
        tid=draw(st.integers(0, 0xFFFF)),
        seoj=draw(eojs),
        deoj=draw(eojs),
        esv=esv,
        properties=first,
        get_properties=second,
    )


def decode_or_error(data: bytes) -> Frame | FrameDecodeError:
    """Decode, or return the FrameDecodeError; any other exception propagates."""
    try:
        return Frame.decode(data)
    except FrameDecodeError as exc:
        return exc


@given(frames())
def test_frame_round_trip(frame: Frame) -> None:
    assert Frame.decode(frame.encode()) == frame


@given(st.binary(max_size=80))
def test_arbitrary_bytes_only_raise_frame_decode_error(data: bytes) -> None:
    result = decode_or_error(data)
    if isinstance(result, FrameDecodeError):
        assert 0 <= result.offset <= len(data)
    else:
        assert result.encode() == data


@given(frames(), st.data())
def test_mutated_frames_only_raise_frame_decode_error(frame: Frame, data: st.DataObject) -> None:
    raw = bytearray(frame.encode())
    index = data.draw(st.integers(0, len(raw) - 1))
    raw[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw) + 2))
    mutated = bytes(raw[:cut]) + data.draw(st.binary(max_size=2))
    result = decode_or_error(mutated)
    if isinstance(result, FrameDecodeError):
        assert 0 <= result.offset <= len(mutated)
    else:
        assert result.encode() == mutated
