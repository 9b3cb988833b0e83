"""The simulated meter's ECHONET Lite services (spec section 1.2) and node profile."""

from __future__ import annotations

import datetime as dt

import pytest

from aiobroute.echonet import CONTROLLER, NODE_PROFILE, SMART_METER, Eoj, Esv, Frame, Property
from aiobroute.errors import InvalidArgumentError
from aiobroute.testing._clock import JST, SimClock
from aiobroute.testing._meter import MeterConfig, SimulatedMeter

H = bytes.fromhex

METER_MAP_F = {
    0x80, 0x81, 0x82, 0x88, 0x8A, 0x8D, 0x97, 0x98, 0x9D, 0x9E, 0x9F, 0xD3, 0xD7,
    0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8, 0xEA, 0xEB, 0xEC, 0xED,
}  # fmt: skip
R_EXTRAS = {0xC0, 0xD0, 0xEE, 0xEF}

# PDC of every Get-able meter property (spec 3.1/3.2), EC/EE with the default request.
METER_PDC = {
    0x80: 1, 0x81: 1, 0x82: 4, 0x88: 1, 0x8A: 3, 0x8D: 12, 0x97: 2, 0x98: 4, 0x9D: 4,
    0x9E: 4, 0x9F: 17, 0xC0: 16, 0xD0: 15, 0xD3: 4, 0xD7: 1, 0xE0: 4, 0xE1: 1, 0xE2: 194,
    0xE3: 4, 0xE4: 194, 0xE5: 1, 0xE7: 4, 0xE8: 4, 0xEA: 11, 0xEB: 11, 0xEC: 15, 0xED: 7,
    0xEE: 15, 0xEF: 7,
}  # fmt: skip


def decode_map(edt: bytes) -> set[int]:
    """Independent property-map decoder (spec 3.1)."""
    count = edt[0]
    if count < 16:
        assert len(edt) == 1 + count
        return set(edt[1:])
    assert len(edt) == 17
    epcs = {0x80 + 0x10 * j + i for i in range(16) for j in range(8) if edt[1 + i] >> j & 1}
    assert len(epcs) == count
    return epcs


def request(
    esv: Esv,
    props: list[Property],
    *,
    tid: int = 1,
    deoj: Eoj = SMART_METER,
    seoj: Eoj = CONTROLLER,
    get_props: list[Property] | None = None,
) -> bytes:
    return Frame(tid, seoj, deoj, esv, props, get_props or ()).encode()


def exchange(meter: SimulatedMeter, payload: bytes) -> Frame:
    replies = meter.handle_payload(payload)
    assert len(replies) == 1
    return Frame.decode(replies[0])


def get(meter: SimulatedMeter, *epcs: int, tid: int = 1, deoj: Eoj = SMART_METER) -> Frame:
    return exchange(meter, request(Esv.GET, [Property(e) for e in epcs], tid=tid, deoj=deoj))


def setc(meter: SimulatedMeter, epc: int, edt: bytes, *, tid: int = 1) -> Frame:
    return exchange(meter, request(Esv.SETC, [Property(epc, edt)], tid=tid))


def make(config: MeterConfig | None = None) -> tuple[SimClock, SimulatedMeter]:
    # A nearly frozen clock: time moves only by advance(), so a Get and a ground-truth
    # call made a few microseconds apart see the same instant.
    clock = SimClock(speed=1e-9)
    return clock, SimulatedMeter(clock, config)


# ----------------------------------------------------------------------------- Get
async def test_every_mapped_property_answers_with_its_size() -> None:
    for release in ("F", "R"):
        _, meter = make(MeterConfig(release=release))
        listed = decode_map(get(meter, 0x9F).properties[0].edt)
        for epc in sorted(listed):
            reply = get(meter, epc, tid=epc)
            assert reply.esv is Esv.GET_RES, hex(epc)
            assert reply.tid == epc
            assert reply.seoj == SMART_METER
            assert reply.deoj == CONTROLLER
            assert reply.epcs == (epc,)
            size = 5 if (release, epc) == ("R", 0x9E) else METER_PDC[epc]
            assert len(reply.properties[0].edt) == size, hex(epc)


async def test_property_maps_release_f_and_r() -> None:
    _, meter = make()
    reply = get(meter, 0x9D, 0x9E, 0x9F)
    anno, settable, gettable = (p.edt for p in reply.properties)
    assert anno == H("03808188")
    assert settable == H("0381E5ED")  # the Toshiba 9E of capture F24
    assert gettable[0] == 25
    assert decode_map(gettable) == METER_MAP_F
    # bitmap computed by hand from the rule byte[1 + low nibble] |= 1 << (high nibble - 8)
    assert gettable == H("19 41414160 40400062 43004140 40430202")

    _, meter_r = make(MeterConfig(release="R"))
    reply = get(meter_r, 0x82, 0x9E, 0x9F)
    assert reply.properties[0].edt == H("00005200")
    assert decode_map(reply.properties[1].edt) == {0x81, 0xE5, 0xED, 0xEF}
    assert decode_map(reply.properties[2].edt) == METER_MAP_F | R_EXTRAS
    assert get(meter, 0x82).properties[0].edt == H("00004600")


async def test_map_without_coefficient_or_reverse() -> None:
    _, meter = make(MeterConfig(coefficient=None))
    assert decode_map(get(meter, 0x9F).properties[0].edt) == METER_MAP_F - {0xD3}
    _, meter = make(MeterConfig(reverse_direction=False))
    assert decode_map(get(meter, 0x9F).properties[0].edt) == METER_MAP_F - {0xE3, 0xE4, 0xEB}
    assert get(meter, 0xE3).esv is Esv.GET_SNA


async def test_d3_absent_gives_the_captured_get_sna() -> None:
    _, meter = make(MeterConfig(coefficient=None))
    replies = meter.handle_payload(H("1081000105FF010288016201D300"))
    assert replies == [H("1081000102880105FF015201D300")]  # capture F8


async def test_partial_get_sna_keeps_readable_values() -> None:
    _, meter = make(MeterConfig(coefficient=None))
    replies = meter.handle_payload(H("1081000605FF01028801 62 02 D300 E700"))
    watts = meter.instant_power_watts()
    expected = H("1081000602880105FF01 52 02 D300 E704") + watts.to_bytes(4, "big", signed=True)
    assert replies == [expected]


async def test_identification_number_is_not_implemented() -> None:
    _, meter = make()
    reply = get(meter, 0x80, 0x83, 0x88)
    assert reply.esv is Esv.GET_SNA
    assert reply.properties == (Property(0x80, b"\x30"), Property(0x83), Property(0x88, b"\x42"))


async def test_captured_static_values() -> None:
    _, meter = make(MeterConfig(digits=7, unit_code=0x02, serial="F24G366505"))
    reply = get(meter, 0x80, 0x81, 0x8A, 0x8D, 0xD7, 0xE1, 0xE5, 0xD3)
    assert [p.edt for p in reply.properties] == [
        H("30"),
        H("61"),
        H("000016"),
        b"F24G366505\x00\x00",
        H("07"),
        H("02"),
        H("00"),
        H("00000001"),
    ]
    _, faulty = make(MeterConfig(fault=True, coefficient=10, location=0x08))
    assert [p.edt for p in get(faulty, 0x88, 0xD3, 0x81).properties] == [
        H("41"),
        H("0000000A"),
        H("08"),
    ]


async def test_clock_properties_follow_the_sim_clock() -> None:
    clock, meter = make()
    reply = get(meter, 0x97, 0x98)
    assert [p.edt for p in reply.properties] == [H("0E1A"), H("07EA0514")]  # capture values
    clock.advance(10 * 3600)  # 2026-05-21 00:26
    reply = get(meter, 0x97, 0x98)
    assert [p.edt for p in reply.properties] == [H("001A"), H("07EA0515")]


async def test_get_limit_answers_all_pdc_zero() -> None:
    _, meter = make(MeterConfig(max_epcs_per_get=4))
    reply = get(meter, 0x80, 0xD7, 0xE1, 0xE7, 0xE0)
    assert reply.esv is Esv.GET_SNA
    assert reply.properties == tuple(Property(e) for e in (0x80, 0xD7, 0xE1, 0xE7, 0xE0))
    reply = get(meter, 0x80, 0xD7, 0xE1, 0xE7)
    assert reply.esv is Esv.GET_RES
    assert all(p.edt for p in reply.properties)
    _, unlimited = make()
    assert get(unlimited, 0x80, 0xD7, 0xE1, 0xE7, 0xE0, 0x8A, 0x8D, 0x82).esv is Esv.GET_RES


async def test_release_r_extras_absent_on_f() -> None:
    _, meter = make()
    for epc in sorted(R_EXTRAS):
        reply = get(meter, epc)
        assert reply.esv is Esv.GET_SNA
        assert reply.properties == (Property(epc),)
    assert setc(meter, 0xEF, H("07EA05140E0005")).esv is Esv.SETC_SNA


async def test_release_r_extras() -> None:
    clock, meter = make(MeterConfig(release="R", manufacturer_code=0x123456, serial="ABC"))
    reply = get(meter, 0xC0, 0xD0, 0xEE, 0xEF)
    assert reply.esv is Esv.GET_RES
    c0, d0, ee, ef = (p.edt for p in reply.properties)
    assert c0 == H("00123456") + b"ABC" + bytes(9)
    minute = clock.now().replace(second=0, microsecond=0)
    assert d0 == (
        H("07EA05140E1A00")
        + meter.cumulative_raw(minute).to_bytes(4, "big")
        + meter.cumulative_raw(minute, reverse=True).to_bytes(4, "big")
    )
    assert ef == H("FFFFFFFFFFFF01")
    assert ee == H("FFFFFFFFFFFF01FFFFFFFEFFFFFFFE")


# ----------------------------------------------------------------------------- node profile
async def test_node_profile_properties() -> None:
    _, meter = make(MeterConfig(manufacturer_code=0x000016, serial="SIM00000001"))
    epcs = (0x80, 0x82, 0x83, 0x8A, 0x9D, 0x9E, 0x9F, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7)
    reply = get(meter, *epcs, deoj=NODE_PROFILE)
    assert reply.esv is Esv.GET_RES
    assert reply.seoj == NODE_PROFILE
    values = {p.epc: p.edt for p in reply.properties}
    assert values[0x80] == H("30")
    assert values[0x82] == H("010D0100")
    assert values[0x83] == H("FE000016") + b"SIM00000001\x00\x00"
    assert values[0x8A] == H("000016")
    assert decode_map(values[0x9D]) == {0x80, 0xD5}
    assert values[0x9E] == H("00")
    assert decode_map(values[0x9F]) == set(epcs)
    assert values[0xD3] == H("000001")
    assert values[0xD4] == H("0002")
    assert values[0xD5] == values[0xD6] == H("01028801")
    assert values[0xD7] == H("010288")
    # D7 on the meter object means something else (effective digits)
    assert get(meter, 0xD7).properties[0].edt == H("06")
    # the node profile has no meter properties
    assert get(meter, 0xE7, deoj=NODE_PROFILE).esv is Esv.GET_SNA


async def test_instance_zero_addresses_the_class() -> None:
    _, meter = make()
    reply = get(meter, 0xD7, deoj=Eoj(0x02, 0x88, 0x00))
    assert reply.seoj == SMART_METER
    assert reply.properties == (Property(0xD7, H("06")),)
    reply = get(meter, 0xD5, deoj=Eoj(0x0E, 0xF0, 0x00))
    assert reply.seoj == NODE_PROFILE


# ----------------------------------------------------------------------------- Set
async def test_setc_e5_vectors_and_state() -> None:
    _, meter = make()
    assert get(meter, 0xE5).properties[0].edt == H("00")  # documented default: day 0
    replies = meter.handle_payload(H("1081000705FF01028801 61 01 E5 01 01"))
    assert replies == [H("1081000702880105FF017101E500")]
    assert meter.history_day == 1
    replies = meter.handle_payload(H("1081000805FF01028801 61 01 E5 01 64"))
    assert replies == [H("1081000802880105FF015101E50164")]
    assert meter.history_day == 1  # the rejected value did not stick
    assert get(meter, 0xE5).properties[0].edt == H("01")
    e2 = get(meter, 0xE2).properties[0].edt
    assert e2[:2] == H("0001")
    values = [int.from_bytes(e2[2 + 4 * i : 6 + 4 * i], "big") for i in range(48)]
    assert tuple(values) == meter.history_raw(1)


@pytest.mark.parametrize(
    ("epc", "edt"),
    [
        (0xE5, H("0101")),  # wrong PDC
        (0xE5, b""),
        (0xED, H("07EA05140E0F0C")),  # minute 15
        (0xED, H("07EA05140E000D")),  # n = 13
        (0xED, H("07EA05140E0000")),  # n = 0
        (0xED, H("07EA021E0E0001")),  # February 30
        (0xED, H("07EA0514180001")),  # hour 24
        (0xED, H("07EA05140E00")),  # 6 bytes
        (0x81, H("6162")),  # two bytes
        (0x81, H("02") + bytes(16)),  # 17 bytes not starting with 0x01
        (0xE0, H("00000001")),  # read-only
        (0x80, H("31")),  # not in the Set map
    ],
)
async def test_setc_rejections_echo_the_edt(epc: int, edt: bytes) -> None:
    _, meter = make()
    before = (meter.history_day, meter.history2_request, meter.location_edt)
    reply = setc(meter, epc, edt, tid=0x4242)
    assert reply.esv is Esv.SETC_SNA
    assert reply.tid == 0x4242
    assert reply.properties == (Property(epc, edt),)
    assert (meter.history_day, meter.history2_request, meter.location_edt) == before


async def test_setc_accepts_location_forms() -> None:
    _, meter = make()
    assert setc(meter, 0x81, H("08")).esv is Esv.SET_RES
    assert get(meter, 0x81).properties[0].edt == H("08")
    position = H("01") + bytes(range(16))
    assert setc(meter, 0x81, position).properties == (Property(0x81),)
    assert get(meter, 0x81).properties[0].edt == position


async def test_setc_mixed_block_applies_the_valid_part() -> None:
    _, meter = make()
    payload = request(Esv.SETC, [Property(0xE5, H("03")), Property(0xE5, H("FF"))])
    reply = exchange(meter, payload)
    assert reply.esv is Esv.SETC_SNA
    assert reply.properties == (Property(0xE5), Property(0xE5, H("FF")))
    assert meter.history_day == 3


async def test_seti_silent_on_success_sna_on_failure() -> None:
    _, meter = make()
    assert meter.handle_payload(request(Esv.SETI, [Property(0xE5, H("05"))], tid=9)) == []
    assert meter.history_day == 5
    reply = exchange(meter, request(Esv.SETI, [Property(0xE5, H("63")), Property(0xE0, H("00"))]))
    assert reply.esv is Esv.SETI_SNA
    assert reply.properties == (Property(0xE5), Property(0xE0, H("00")))
    assert meter.history_day == 99


async def test_set_on_node_profile_is_refused() -> None:
    _, meter = make()
    reply = exchange(meter, request(Esv.SETC, [Property(0x80, H("31"))], deoj=NODE_PROFILE))
    assert reply.esv is Esv.SETC_SNA
    assert reply.seoj == NODE_PROFILE
    assert reply.properties == (Property(0x80, H("31")),)


async def test_ed_sets_ec_request() -> None:
    _, meter = make()
    replies = meter.handle_payload(H("1081000A05FF01028801 61 01 ED 07 07EA05140E000C"))
    assert replies == [H("1081000A02880105FF017101ED00")]
    assert get(meter, 0xED).properties[0].edt == H("07EA05140E000C")
    ec = get(meter, 0xEC).properties[0].edt
    assert len(ec) == 7 + 8 * 12
    assert ec[:7] == H("07EA05140E000C")


async def test_ec_default_before_ed_is_set() -> None:
    _, meter = make()
    assert get(meter, 0xED).properties[0].edt == H("FFFFFFFFFFFF01")
    assert get(meter, 0xEC).properties[0].edt == H("FFFFFFFFFFFF01FFFFFFFEFFFFFFFE")


async def test_ef_validation_on_release_r() -> None:
    _, meter = make(MeterConfig(release="R"))
    assert setc(meter, 0xEF, H("07EA05140E0B0A")).esv is Esv.SET_RES  # any minute, n = 10
    assert meter.history3_request == H("07EA05140E0B0A")
    assert setc(meter, 0xEF, H("07EA05140E0B0B")).esv is Esv.SETC_SNA  # n = 11
    assert setc(meter, 0xEF, H("07EA05140E3C01")).esv is Esv.SETC_SNA  # minute 60
    assert meter.history3_request == H("07EA05140E0B0A")


# ----------------------------------------------------------------------------- INF_REQ / SetGet
async def test_inf_req_d5_vector() -> None:
    _, meter = make()
    replies = meter.handle_payload(H("108100090EF0010EF0016301D500"))
    assert replies == [H("108100090EF0010EF0017301D50401028801")]


async def test_inf_req_unavailable_gives_inf_sna() -> None:
    _, meter = make()
    reply = exchange(meter, request(Esv.INF_REQ, [Property(0x80), Property(0x83)], tid=0x77))
    assert reply.esv is Esv.INF_SNA
    assert reply.tid == 0x77
    assert reply.properties == (Property(0x80, H("30")), Property(0x83))


async def test_setget_sets_first_then_reads() -> None:
    _, meter = make()
    payload = request(Esv.SETGET, [Property(0xE5, H("02"))], tid=0x1234, get_props=[Property(0xE2)])
    reply = exchange(meter, payload)
    assert reply.esv is Esv.SETGET_RES
    assert reply.tid == 0x1234
    assert reply.properties == (Property(0xE5),)
    assert reply.get_properties[0].edt[:2] == H("0002")
    assert len(reply.get_properties[0].edt) == 194
    # exact layout: OPCSet, EPC, PDC 0, OPCGet, EPC, PDC, EDT
    assert meter.frames_sent[-1][10:17] == H("7E01E50001E2") + bytes([194])


async def test_setget_failure_keeps_both_blocks() -> None:
    _, meter = make()
    payload = request(
        Esv.SETGET,
        [Property(0xE5, H("FF"))],
        get_props=[Property(0xE1), Property(0x83)],
    )
    reply = exchange(meter, payload)
    assert reply.esv is Esv.SETGET_SNA
    assert reply.properties == (Property(0xE5, H("FF")),)
    assert reply.get_properties == (Property(0xE1, H("01")), Property(0x83))


# ----------------------------------------------------------------------------- discards
@pytest.mark.parametrize(
    "payload",
    [
        b"",
        H("10"),
        H("1082000105FF010288016201E700"),  # format 2
        H("2081000105FF010288016201E700"),  # bad EHD1
        H("1081000105FF010288016202E700"),  # OPC says 2, one property
        H("1081000105FF010288016201E705"),  # PDC runs past the end
        H("1081000105FF010288016200"),  # OPC 0
        H("1081000105FF010288016201E70000"),  # trailing byte
        H("1081000105FF01028801FF01E700"),  # unknown ESV
        H("1081000105FF0101300162018000"),  # air conditioner: not on this node
        H("1081000105FF0105FF016201E700"),  # the controller object is not ours
        H("1081000105FF010288027201E70100"),  # meter instance 2 does not exist
        H("1081000105FF010288017201E70400000001"),  # a Get_Res to the meter
        H("1081000105FF010288017301E70400000001"),  # an INF to the meter
        H("1081000105FF010288015201E700"),  # a Get_SNA to the meter
    ],
)
async def test_discarded_frames(payload: bytes) -> None:
    _, meter = make()
    assert meter.handle_payload(payload) == []
    assert meter.frames_received == [payload]
    assert meter.frames_sent == []


async def test_frames_are_recorded() -> None:
    _, meter = make()
    first = request(Esv.GET, [Property(0xE7)], tid=1)
    second = request(Esv.GET, [Property(0xE0)], tid=2)
    replies = meter.handle_payload(first) + meter.handle_payload(second)
    assert meter.frames_received == [first, second]
    assert meter.frames_sent == replies
    assert [Frame.decode(r).tid for r in replies] == [1, 2]


async def test_answers_the_requesters_eoj() -> None:
    _, meter = make()
    other = Eoj(0x05, 0xFF, 0x02)
    reply = exchange(meter, request(Esv.GET, [Property(0xE1)], seoj=other, tid=0xFFFF))
    assert (reply.seoj, reply.deoj, reply.tid) == (SMART_METER, other, 0xFFFF)


# ----------------------------------------------------------------------------- spontaneous
async def test_startup_frame_layout() -> None:
    _, meter = make(MeterConfig(initial_tid=0x2EDA))
    assert meter.startup_frames() == [H("10812EDA0EF0010EF0017301D50401028801")]  # capture F2
    assert meter.frames_sent == [H("10812EDA0EF0010EF0017301D50401028801")]


async def test_push_times_are_half_hours() -> None:
    clock, meter = make()
    now = clock.now()  # 14:26
    first = meter.next_push_time(now)
    assert first == dt.datetime(2026, 5, 20, 14, 30, tzinfo=JST)
    assert meter.next_push_time(first) == dt.datetime(2026, 5, 20, 15, 0, tzinfo=JST)
    late = dt.datetime(2026, 5, 20, 23, 45, 10, tzinfo=JST)
    assert meter.next_push_time(late) == dt.datetime(2026, 5, 21, 0, 0, tzinfo=JST)
    utc = dt.datetime(2026, 5, 20, 5, 29, 59, tzinfo=dt.UTC)  # 14:29:59 JST
    assert meter.next_push_time(utc) == first
    _, every_ten = make(MeterConfig(push_interval_minutes=10))
    assert every_ten.next_push_time(now) == dt.datetime(2026, 5, 20, 14, 30, tzinfo=JST)
    assert every_ten.next_push_time(first) == dt.datetime(2026, 5, 20, 14, 40, tzinfo=JST)


async def test_push_frames_carry_the_fixed_time_readings() -> None:
    clock, meter = make(MeterConfig(initial_tid=0x2EDA, pv_export=True))
    meter.startup_frames()
    at = meter.next_push_time(clock.now())
    clock.advance((at - clock.now()).total_seconds())
    (payload,) = meter.push_frames(at)
    frame = Frame.decode(payload)
    assert frame.tid == 0x2EDB  # the meter's own counter, after the startup INF
    assert (frame.seoj, frame.deoj, frame.esv) == (SMART_METER, CONTROLLER, Esv.INF)
    assert frame.epcs == (0xEA, 0xEB)
    normal = meter.cumulative_raw(at)
    reverse = meter.cumulative_raw(at, reverse=True)
    assert frame.properties[0].edt == H("07EA05140E1E00") + normal.to_bytes(4, "big")
    assert frame.properties[1].edt == H("07EA05140E1E00") + reverse.to_bytes(4, "big")
    # a Get of EA a bit later answers the same reading
    clock.advance(600)
    assert get(meter, 0xEA).properties[0].edt == frame.properties[0].edt


async def test_push_as_infc_and_infc_res_counted() -> None:
    _, meter = make(MeterConfig(notify_with_infc=True, initial_tid=0x1234))
    at = dt.datetime(2026, 5, 20, 14, 0, tzinfo=JST)
    (payload,) = meter.push_frames(at)
    reading = meter.cumulative_raw(at).to_bytes(4, "big")
    assert payload == H("10811234 028801 05FF01 74 02 EA0B 07EA05140E0000") + (
        reading
        + H("EB0B07EA05140E0000")
        + meter.cumulative_raw(at, reverse=True).to_bytes(4, "big")
    )
    # the controller's INFC_Res (constructed vector): counted, not answered
    assert meter.handle_payload(H("1081123405FF010288017A01EA00")) == []
    assert meter.infc_res_received == 1


async def test_push_separately_and_without_reverse() -> None:
    _, meter = make(MeterConfig(push_eb_separately=True))
    at = dt.datetime(2026, 5, 20, 13, 30, tzinfo=JST)
    frames = [Frame.decode(p) for p in meter.push_frames(at)]
    assert [f.epcs for f in frames] == [(0xEA,), (0xEB,)]
    assert frames[1].tid == (frames[0].tid + 1) & 0xFFFF
    _, one_way = make(MeterConfig(reverse_direction=False))
    frames = [Frame.decode(p) for p in one_way.push_frames(at)]
    assert [f.epcs for f in frames] == [(0xEA,)]


async def test_tid_counter_wraps() -> None:
    _, meter = make(MeterConfig(initial_tid=0xFFFF))
    first = Frame.decode(meter.startup_frames()[0])
    second = Frame.decode(meter.startup_frames()[0])
    assert (first.tid, second.tid) == (0xFFFF, 0x0000)


async def test_meter_answers_infc_with_infc_res() -> None:
    _, meter = make()
    replies = meter.handle_payload(H("1081000505FF010288017401800130"))
    assert replies == [H("1081000502880105FF017A018000")]


# ----------------------------------------------------------------------------- config
@pytest.mark.parametrize(
    "kwargs",
    [
        {"release": "G"},
        {"coefficient": 0},
        {"coefficient": 1_000_000},
        {"unit_code": 0x05},
        {"digits": 0},
        {"digits": 9},
        {"initial_normal_raw": -1},
        {"pv_export": True, "reverse_direction": False},
        {"max_epcs_per_get": 0},
        {"push_interval_minutes": 7},
        {"serial": "THIRTEEN_CHAR"},
        {"serial": "Ünicode"},
        {"manufacturer_code": 0x1000000},
        {"initial_history_day": 100},
        {"initial_tid": 0x10000},
    ],
)
def test_config_validation(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        MeterConfig(**kwargs)  # type: ignore[arg-type]


def test_config_kwh_per_count() -> None:
    assert str(MeterConfig().kwh_per_count) == "0.1"
    assert str(MeterConfig(unit_code=0x02, coefficient=None).kwh_per_count) == "0.01"
    assert str(MeterConfig(unit_code=0x0A, coefficient=3).kwh_per_count) == "30"
