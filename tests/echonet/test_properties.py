"""Property value codecs: the spec's vectors, every property's edge cases and errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from aiobroute.echonet import (
    SMART_METER,
    CumulativeEnergyAtTime,
    DayHistory,
    EnergyUnit,
    Eoj,
    FaultStatus,
    Frame,
    HistoryTarget,
    IdentificationNumber,
    InstallationLocation,
    InstantaneousCurrents,
    IntervalHistory,
    LocationCode,
    MeterProperties,
    NodeProfileProperties,
    NodeVersion,
    OneMinuteEnergy,
    OperationStatus,
    RouteBId,
    StandardVersion,
    codec_for,
    decode_property,
    encode_property,
    energy_kwh,
    property_name,
    registered_properties,
)
from aiobroute.errors import InvalidArgumentError, PropertyDecodeError

M = 0x0288
N = 0x0EF0

F7_EDT = bytes.fromhex(
    "0000"
    "001807A4001807B8001807CB001807D9001807DC001807DF001807E3001807E7"
    "001807EA001807EE001807F2001807F6001807FC0018081100180833001808450018085E"
    "0018087700180899001808AB001808C9001808FE001809360018096000180988"
    "001809910018099B001809B5001809CF001809DC001809EF00180A0900180A2B"
    "00180A5600180A6900180A7C00180A9900180AB500180AC5"
    "FFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFEFFFFFFFE"
)


def frame_value(hex_text: str, index: int = 0) -> object:
    """Decode a whole frame, then the value of one of its properties."""
    frame = Frame.decode(bytes.fromhex(hex_text.replace(" ", "")))
    prop = frame.properties[index]
    return decode_property(frame.seoj.class_id, prop.epc, prop.edt)


# --- section 5 vectors ------------------------------------------------------------------


def test_f2_startup_instance_list() -> None:
    value = frame_value("10812EDA0EF0010EF0017301D50401028801")
    assert value == (SMART_METER,)


def test_f3_fixed_time_energy() -> None:
    value = frame_value("10812EDB02880105FF017301EA0B07E7030D001E000007A3F8")
    assert value == CumulativeEnergyAtTime(dt.datetime(2023, 3, 13, 0, 30, 0), 500_728)
    assert isinstance(value, CumulativeEnergyAtTime)
    assert value.measured_at is not None
    assert value.measured_at.tzinfo is None


def test_f8_get_sna_d3_has_no_edt_and_coefficient_defaults_to_one() -> None:
    frame = Frame.decode(bytes.fromhex("1081000102880105FF015201D300"))
    assert frame.properties[0].edt == b""
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xD3, frame.properties[0].edt)
    assert energy_kwh(10, None, unit=EnergyUnit.KWH_1) == Decimal(10)


def test_f8b_effective_digits() -> None:
    assert frame_value("1081000102880105FF017201D70107") == 7


def test_f8c_f8d_cumulative_energy_in_kwh() -> None:
    raw = frame_value("1081000102880105FF017201E00400180ACF")
    unit = frame_value("1081000102880105FF017201E10102")
    assert raw == 1_575_631
    assert unit is EnergyUnit.KWH_0_01
    assert isinstance(raw, int)
    assert isinstance(unit, EnergyUnit)
    kwh = energy_kwh(raw, 1, unit=unit)
    assert kwh == Decimal("15756.31")
    assert str(kwh) == "15756.31"


def test_f8e_history_day_today() -> None:
    assert frame_value("1081000102880105FF017201E50100") == 0


def test_f7_day_history() -> None:
    frame = Frame.decode(bytes.fromhex("1081000102880105FF017201E2C2") + F7_EDT)
    value = decode_property(M, 0xE2, frame.properties[0].edt)
    assert isinstance(value, DayHistory)
    assert value.day == 0
    assert len(value.raw_values) == 48
    known = value.raw_values[:39]
    assert known[0] == 1_574_820
    assert known[-1] == 1_575_621
    readings = [v for v in known if v is not None]
    assert len(readings) == 39
    assert value.raw_values[39:] == (None,) * 9
    assert readings == sorted(readings)  # cumulative readings never go down
    assert MeterProperties.HISTORY_1_NORMAL.encode(value) == F7_EDT


def test_f9b_f23_instant_power() -> None:
    assert frame_value("1081000102880105FF017201E7040000011C") == 284
    assert frame_value("1081412202880105FF017201E704000001C0") == 448


def test_f10b_instant_currents() -> None:
    value = frame_value("1081000102880105FF017201E804000F0011")
    assert value == InstantaneousCurrents(Decimal("1.5"), Decimal("1.7"))


def test_f13b_operation_status() -> None:
    assert frame_value("1081000102880105FF017201800130") is OperationStatus.ON


def test_f24_set_property_map() -> None:
    assert frame_value("1081001A02880105FF0172019E040381E5ED") == frozenset({0x81, 0xE5, 0xED})


def test_get_sna_keeps_the_good_value() -> None:
    frame = Frame.decode(
        bytes.fromhex("10810006028801 05FF01 52 02 D300 E704 00000278".replace(" ", ""))
    )
    assert decode_property(M, 0xE7, frame.properties[1].edt) == 632


def test_setc_e5_vectors() -> None:
    assert encode_property(M, 0xE5, 1) == b"\x01"
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xE5, 100)
    # what a simulated meter sees in "SetC E5 = 100": it must refuse it
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xE5, b"\x64")


def test_setc_ed_vector() -> None:
    target = HistoryTarget(dt.datetime(2026, 5, 20, 14, 0), 12)
    edt = encode_property(M, 0xED, target)
    assert edt == bytes.fromhex("07EA05140E000C")
    assert decode_property(M, 0xED, edt) == target


def test_infc_ea_vector() -> None:
    value = frame_value("10811234 028801 05FF01 74 01 EA 0B 07EA05140E00000000FE68")
    assert value == CumulativeEnergyAtTime(dt.datetime(2026, 5, 20, 14, 0, 0), 0xFE68)


def test_single_phase_two_wire_currents() -> None:
    value = decode_property(M, 0xE8, bytes.fromhex("001E7FFE"))
    assert value == InstantaneousCurrents(Decimal("3.0"), None)


@pytest.mark.parametrize("edt", ["7FFFFFFE", "7FFFFFFF", "80000000"])
def test_instant_power_no_data(edt: str) -> None:
    assert decode_property(M, 0xE7, bytes.fromhex(edt)) is None


@pytest.mark.parametrize(
    ("edt", "watts"),
    [
        # The spec quotes this wild fixture as -1960 W; two's complement gives -1962.
        ("FFFFF856", -1962),
        ("FFFFFCB8", -840),
        ("80000001", -2147483647),
        ("7FFFFFFD", 2147483645),
    ],
)
def test_instant_power_signed(edt: str, watts: int) -> None:
    assert decode_property(M, 0xE7, bytes.fromhex(edt)) == watts
    assert encode_property(M, 0xE7, watts) == bytes.fromhex(edt)


def test_instant_power_none_encodes_as_not_measured() -> None:
    assert encode_property(M, 0xE7, None) == bytes.fromhex("7FFFFFFE")


@pytest.mark.parametrize(
    ("edt", "r", "t"),
    [
        ("7FFF8000", None, None),
        ("8001 7FFD", Decimal("-3276.7"), Decimal("3276.5")),
        ("FFF6 0000", Decimal("-1.0"), Decimal(0)),
    ],
)
def test_instant_currents_ranges(edt: str, r: Decimal | None, t: Decimal | None) -> None:
    value = decode_property(M, 0xE8, bytes.fromhex(edt.replace(" ", "")))
    assert value == InstantaneousCurrents(r, t)


# --- superclass values as captured ------------------------------------------------------


def test_captured_superclass_values() -> None:
    location = decode_property(M, 0x81, b"\x61")
    assert isinstance(location, InstallationLocation)
    assert location.code is LocationCode.GARDEN
    assert location.number == 1
    assert location.raw == 0x61
    assert location == InstallationLocation.at(LocationCode.GARDEN, 1)
    assert decode_property(M, 0x82, bytes.fromhex("00004600")) == StandardVersion("F", 0)
    assert decode_property(M, 0x88, b"\x42") is FaultStatus.NO_FAULT
    assert decode_property(M, 0x8A, bytes.fromhex("000016")) == 0x16
    assert decode_property(M, 0x8D, b"F24G366505\x00\x00") == "F24G366505"
    assert decode_property(M, 0x97, bytes.fromhex("0E1A")) == dt.time(14, 26)
    assert decode_property(M, 0x98, bytes.fromhex("07EA0514")) == dt.date(2026, 5, 20)


def test_installation_location_special_values() -> None:
    unset = decode_property(M, 0x81, b"\x00")
    assert unset == InstallationLocation.not_set()
    assert isinstance(unset, InstallationLocation)
    assert not unset.is_set
    assert unset.code is None
    assert unset.number is None
    odd = decode_property(M, 0x81, b"\xff")
    assert odd == InstallationLocation.indeterminate()
    assert isinstance(odd, InstallationLocation)
    assert odd.is_indeterminate
    assert odd.code is None
    user = decode_property(M, 0x81, b"\x85")
    assert isinstance(user, InstallationLocation)
    assert user.is_user_defined
    assert user.code is None
    position = bytes(range(16))
    with_pos = decode_property(M, 0x81, b"\x01" + position)
    assert with_pos == InstallationLocation.with_position(position)
    assert encode_property(M, 0x81, with_pos) == b"\x01" + position


@pytest.mark.parametrize(
    "edt",
    ["01", "02" + "00" * 16, "6161", "", "01" + "00" * 15],
)
def test_installation_location_malformed(edt: str) -> None:
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x81, bytes.fromhex(edt))


def test_installation_location_encoding_and_checks() -> None:
    assert encode_property(M, 0x81, InstallationLocation.at(LocationCode.LIVING_ROOM, 7)) == b"\x0f"
    with pytest.raises(InvalidArgumentError):
        InstallationLocation.at(LocationCode.OTHER, 8)
    with pytest.raises(InvalidArgumentError):
        InstallationLocation.at(0, 0)
    with pytest.raises(InvalidArgumentError):
        InstallationLocation(0x01)
    with pytest.raises(InvalidArgumentError):
        InstallationLocation(0x61, bytes(16))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x81, 0x61)


def test_standard_version_release_a_is_lower_case_on_the_wire() -> None:
    assert decode_property(M, 0x82, bytes.fromhex("00006101")) == StandardVersion("A", 1)
    assert encode_property(M, 0x82, StandardVersion("A", 1)) == bytes.fromhex("00006101")
    assert encode_property(M, 0x82, StandardVersion("R", 2)) == bytes.fromhex("00005202")
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x82, bytes.fromhex("00003000"))
    with pytest.raises(InvalidArgumentError):
        StandardVersion("f", 0)


def test_identification_number() -> None:
    edt = bytes.fromhex("FE000016") + bytes(range(13))
    value = decode_property(M, 0x83, edt)
    assert value == IdentificationNumber(0x16, bytes(range(13)))
    assert encode_property(M, 0x83, value) == edt
    assert decode_property(N, 0x83, edt) == value
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x83, b"\x00" + edt[1:])
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x83, edt[:9])


def test_production_number_padding_and_checks() -> None:
    assert encode_property(M, 0x8D, "F24G366505") == b"F24G366505\x00\x00"
    assert decode_property(M, 0x8D, b"ABC         ") == "ABC"
    assert decode_property(M, 0x8D, bytes(12)) == ""
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x8D, b"\xff" * 12)
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0x8D, b"SHORT")
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x8D, "THIRTEEN-LONG")
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x8D, "\u00e9")


@pytest.mark.parametrize(
    ("epc", "edt"),
    [
        (0x80, "32"),
        (0x80, "3030"),
        (0x88, "40"),
        (0x97, "1800"),
        (0x97, "0C3C"),
        (0x98, "07EA0D01"),
        (0x98, "07EA021E"),
        (0x98, "0000 0101"),
        (0x8A, "0016"),
    ],
)
def test_superclass_invalid_content(epc: int, edt: str) -> None:
    with pytest.raises(PropertyDecodeError) as info:
        decode_property(M, epc, bytes.fromhex(edt.replace(" ", "")))
    assert info.value.class_code == M
    assert info.value.epc == epc


def test_time_and_date_encoders() -> None:
    assert encode_property(M, 0x97, dt.time(14, 26)) == bytes.fromhex("0E1A")
    assert encode_property(M, 0x98, dt.date(2026, 5, 20)) == bytes.fromhex("07EA0514")
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x97, dt.time(14, 26, 5))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x98, dt.datetime(2026, 5, 20, 1, 2))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x97, "14:26")


def test_operation_and_fault_status_encoders() -> None:
    assert encode_property(M, 0x80, OperationStatus.OFF) == b"\x31"
    assert encode_property(M, 0x80, 0x30) == b"\x30"
    assert encode_property(M, 0x88, FaultStatus.FAULT) == b"\x41"
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x80, 0x32)
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0x88, True)


# --- class-specific values --------------------------------------------------------------


def test_route_b_id_never_shows_its_content() -> None:
    auth = b"SECRETSECRET"
    edt = b"\x00\x00\x00\x16" + auth
    value = decode_property(M, 0xC0, edt)
    assert value == RouteBId(0x16, auth)
    assert "SECRET" not in repr(value)
    assert auth.hex() not in repr(value).lower()
    assert encode_property(M, 0xC0, value) == edt
    bad = b"\x01\x00\x00\x16" + auth
    with pytest.raises(PropertyDecodeError) as info:
        decode_property(M, 0xC0, bad)
    assert bad.hex().upper() not in str(info.value)
    assert auth.hex().upper() not in str(info.value)
    assert info.value.edt == b""
    with pytest.raises(PropertyDecodeError) as info:
        decode_property(M, 0xC0, edt[:-1])
    assert auth[:-1].hex().upper() not in str(info.value)


def test_one_minute_energy() -> None:
    edt = bytes.fromhex("07EA05140E0100 0000FE68 FFFFFFFE".replace(" ", ""))
    value = decode_property(M, 0xD0, edt)
    assert value == OneMinuteEnergy(dt.datetime(2026, 5, 20, 14, 1, 0), 65128, None)
    assert encode_property(M, 0xD0, value) == edt
    unset = decode_property(M, 0xD0, b"\xff" * 7 + bytes(8))
    assert unset == OneMinuteEnergy(None, 0, 0)


def test_coefficient_and_digits() -> None:
    assert decode_property(M, 0xD3, bytes.fromhex("00000001")) == 1
    assert decode_property(M, 0xD3, bytes.fromhex("000F423F")) == 999_999
    assert encode_property(M, 0xD3, 40) == bytes.fromhex("00000028")
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xD3, bytes.fromhex("000F4240"))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xD3, 1_000_000)
    for digits in range(1, 9):
        assert decode_property(M, 0xD7, bytes((digits,))) == digits
        assert encode_property(M, 0xD7, digits) == bytes((digits,))
    for bad in (0, 9, 0xFF):
        with pytest.raises(PropertyDecodeError):
            decode_property(M, 0xD7, bytes((bad,)))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xD7, 9)


def test_cumulative_energy_counter_range() -> None:
    assert decode_property(M, 0xE0, bytes.fromhex("05F5E0FF")) == 99_999_999
    assert decode_property(M, 0xE3, bytes.fromhex("FFFFFFFE")) is None
    assert encode_property(M, 0xE3, None) == bytes.fromhex("FFFFFFFE")
    for bad in ("05F5E100", "FFFFFFFF"):
        with pytest.raises(PropertyDecodeError):
            decode_property(M, 0xE0, bytes.fromhex(bad))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xE0, -1)
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xE0, 100_000_000)


@pytest.mark.parametrize("code", [0x00, 0x01, 0x02, 0x03, 0x04, 0x0A, 0x0B, 0x0C, 0x0D])
def test_energy_unit_defined_codes(code: int) -> None:
    unit = decode_property(M, 0xE1, bytes((code,)))
    assert unit == code
    assert isinstance(unit, EnergyUnit)
    assert encode_property(M, 0xE1, unit) == bytes((code,))


@pytest.mark.parametrize("code", [0x05, 0x06, 0x07, 0x08, 0x09, 0x0E, 0x10, 0xFF])
def test_energy_unit_undefined_codes_rejected(code: int) -> None:
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xE1, bytes((code,)))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xE1, code)


def test_day_history_default_day_and_errors() -> None:
    edt = bytes.fromhex("00FF") + bytes.fromhex("FFFFFFFE") * 48
    value = decode_property(M, 0xE4, edt)
    assert value == DayHistory(None, (None,) * 48)
    assert encode_property(M, 0xE4, value) == edt
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xE2, bytes.fromhex("0064") + bytes(192))
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xE2, F7_EDT[:-4])
    with pytest.raises(InvalidArgumentError):
        DayHistory(0, (1,) * 47)
    with pytest.raises(InvalidArgumentError):
        DayHistory(100, (1,) * 48)


def test_history_day() -> None:
    assert decode_property(M, 0xE5, b"\x63") == 99
    assert decode_property(M, 0xE5, b"\xff") is None
    assert encode_property(M, 0xE5, 99) == b"\x63"
    assert encode_property(M, 0xE5, None) == b"\xff"
    for bad in (-1, 100, True, "1", 1.0):
        with pytest.raises(InvalidArgumentError):
            encode_property(M, 0xE5, bad)


def test_interval_history_ec_default_and_order() -> None:
    default = bytes.fromhex("FFFFFFFFFFFF01FFFFFFFEFFFFFFFE")
    assert decode_property(M, 0xEC, default) == IntervalHistory(None, ((None, None),))
    edt = bytes.fromhex("07EA05140E0002" + "0000001000000001" + "0000000F00000000")
    value = decode_property(M, 0xEC, edt)
    assert value == IntervalHistory(dt.datetime(2026, 5, 20, 14, 0), ((16, 1), (15, 0)))
    assert encode_property(M, 0xEC, value) == edt


@pytest.mark.parametrize(
    ("epc", "edt"),
    [
        (0xEC, "07EA05140E0000"),  # count 0
        (0xEC, "07EA05140E000D" + "00" * 104),  # count 13
        (0xEC, "07EA05140E0002" + "00" * 8),  # count says 2, one pair present
        (0xEE, "07EA05140E000B" + "00" * 88),  # count 11 on EE
        (0xEC, "07EA02 1E 0E0001" + "00" * 8),  # February 30th
        (0xEC, "07EA0514"),  # too short
    ],
)
def test_interval_history_malformed(epc: int, edt: str) -> None:
    with pytest.raises(PropertyDecodeError):
        decode_property(M, epc, bytes.fromhex(edt.replace(" ", "")))


def test_history_target_ed_checks() -> None:
    assert decode_property(M, 0xED, bytes.fromhex("FFFFFFFFFFFF01")) == HistoryTarget(None, 1)
    assert encode_property(M, 0xED, HistoryTarget(None, 1)) == bytes.fromhex("FFFFFFFFFFFF01")
    for bad_edt in ("07EA05140E0F0C", "07EA05140E000D", "07EA05140E0000"):
        with pytest.raises(PropertyDecodeError):
            decode_property(M, 0xED, bytes.fromhex(bad_edt))
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xED, HistoryTarget(dt.datetime(2026, 5, 20, 14, 15), 12))
    with pytest.raises(InvalidArgumentError):
        HistoryTarget(dt.datetime(2026, 5, 20, 14, 0), 13)
    with pytest.raises(InvalidArgumentError):
        HistoryTarget(dt.datetime(2026, 5, 20, 14, 0), 0)
    with pytest.raises(InvalidArgumentError):
        HistoryTarget(dt.datetime(2026, 5, 20, 14, 0, 30), 1)
    with pytest.raises(InvalidArgumentError):
        HistoryTarget(dt.datetime(2026, 5, 20, 14, 0, tzinfo=dt.UTC), 1)


def test_history_target_ef_any_minute_count_up_to_ten() -> None:
    target = HistoryTarget(dt.datetime(2026, 5, 20, 14, 17), 10)
    edt = encode_property(M, 0xEF, target)
    assert edt == bytes.fromhex("07EA05140E110A")
    assert decode_property(M, 0xEF, edt) == target
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xEF, HistoryTarget(dt.datetime(2026, 5, 20, 14, 17), 11))
    with pytest.raises(PropertyDecodeError):
        decode_property(M, 0xEF, bytes.fromhex("07EA05140E110B"))


def test_interval_history_ee_encoder_limits_pairs() -> None:
    value = IntervalHistory(dt.datetime(2026, 5, 20, 14, 17), ((1, 2),) * 11)
    assert len(encode_property(M, 0xEC, value)) == 7 + 8 * 11
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xEE, value)


def test_fixed_time_energy_checks() -> None:
    unset = decode_property(M, 0xEB, bytes.fromhex("FFFFFFFFFFFFFF FFFFFFFE".replace(" ", "")))
    assert unset == CumulativeEnergyAtTime(None, None)
    assert encode_property(M, 0xEB, unset) == bytes.fromhex("FFFFFFFFFFFFFFFFFFFFFE")
    for bad in ("07E7030D18000000000001", "07E7030D001E3C00000001", "0000010100000000000001"):
        with pytest.raises(PropertyDecodeError):
            decode_property(M, 0xEA, bytes.fromhex(bad))
    with pytest.raises(InvalidArgumentError):
        CumulativeEnergyAtTime(dt.datetime(2023, 3, 13, 0, 30, 0, 5), 1)


def test_instant_currents_encoder_checks() -> None:
    value = InstantaneousCurrents(Decimal("3.0"), None)
    assert encode_property(M, 0xE8, value) == bytes.fromhex("001E7FFE")
    assert InstantaneousCurrents(3, 0).r_phase_amperes == Decimal(3)  # ints are converted
    for bad in (Decimal("1.55"), Decimal("3276.6"), Decimal("-3276.8"), Decimal("NaN"), 1.5):
        with pytest.raises(InvalidArgumentError):
            InstantaneousCurrents(bad, None)


# --- node profile -----------------------------------------------------------------------


def test_node_profile_values() -> None:
    version = decode_property(N, 0x82, bytes.fromhex("010D0100"))
    assert version == NodeVersion(1, 13, 0x01)
    assert isinstance(version, NodeVersion)
    assert version.supports_format1
    assert not version.supports_format2
    assert encode_property(N, 0x82, version) == bytes.fromhex("010D0100")
    assert decode_property(N, 0x80, b"\x30") is OperationStatus.ON
    assert decode_property(N, 0xD3, bytes.fromhex("000001")) == 1
    assert encode_property(N, 0xD3, 1) == bytes.fromhex("000001")
    assert decode_property(N, 0xD4, bytes.fromhex("0002")) == 2
    assert decode_property(N, 0xD6, bytes.fromhex("01028801")) == (SMART_METER,)
    assert decode_property(N, 0xD7, bytes.fromhex("010288")) == (0x0288,)
    assert encode_property(N, 0xD7, (0x0288,)) == bytes.fromhex("010288")
    assert encode_property(N, 0xD5, (SMART_METER,)) == bytes.fromhex("01028801")
    assert decode_property(N, 0xD5, b"\x00") == ()


def test_same_epc_differs_by_class() -> None:
    assert decode_property(M, 0xD7, b"\x06") == 6
    with pytest.raises(PropertyDecodeError):
        decode_property(N, 0xD7, b"\x06")
    assert decode_property(M, 0x82, bytes.fromhex("00004600")) == StandardVersion("F", 0)
    assert decode_property(N, 0x82, bytes.fromhex("00004600")) == NodeVersion(0, 0, 0x46)
    assert property_name(M, 0xD3) == "coefficient"
    assert property_name(N, 0xD3) == "number of self-node instances"


@pytest.mark.parametrize(
    ("epc", "edt"),
    [
        (0xD3, "0001"),
        (0xD4, "000001"),
        (0xD5, "02028801"),
        (0xD6, ""),
        (0xD6, "0102880101"),
        (0xD7, "02028805"),
        (0xD7, ""),
        (0x82, "010D01"),
    ],
)
def test_node_profile_malformed(epc: int, edt: str) -> None:
    with pytest.raises(PropertyDecodeError) as info:
        decode_property(N, epc, bytes.fromhex(edt))
    assert info.value.class_code == N
    assert info.value.edt == bytes.fromhex(edt)


def test_node_profile_encoder_checks() -> None:
    with pytest.raises(InvalidArgumentError):
        encode_property(N, 0xD5, (0x028801,))
    with pytest.raises(InvalidArgumentError):
        encode_property(N, 0xD6, (SMART_METER,) * 85)
    with pytest.raises(InvalidArgumentError):
        encode_property(N, 0xD7, (0x10000,))
    with pytest.raises(InvalidArgumentError):
        encode_property(N, 0xD3, 0x1000000)
    assert len(encode_property(N, 0xD6, (Eoj(2, 0x88, 1),) * 84)) == 253


# --- registry ---------------------------------------------------------------------------


def test_unknown_property_returns_raw_bytes() -> None:
    assert decode_property(M, 0xF0, b"\x01\x02") == b"\x01\x02"
    assert decode_property(0x0130, 0x80, b"\x30") == b"\x30"
    assert decode_property(M, 0xE9, bytearray(b"\x07")) == b"\x07"
    assert encode_property(M, 0xF0, b"\x01\x02") == b"\x01\x02"
    assert property_name(M, 0xF0) is None
    assert codec_for(M, 0xF0) is None
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xF0, 5)
    with pytest.raises(InvalidArgumentError):
        encode_property(M, 0xF0, bytes(256))


def test_registry_covers_the_spec() -> None:
    meter = {0x80, 0x81, 0x82, 0x83, 0x88, 0x8A, 0x8D, 0x97, 0x98, 0x9D, 0x9E, 0x9F}
    meter |= {0xC0, 0xD0, 0xD3, 0xD7, 0xE0, 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE7, 0xE8}
    meter |= {0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF}
    node = {0x80, 0x82, 0x83, 0x8A, 0x9D, 0x9E, 0x9F, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7}
    registered = registered_properties()
    assert {(M, epc) for epc in meter} <= registered
    assert {(N, epc) for epc in node} <= registered
    for class_id, epc in registered:
        codec = codec_for(class_id, epc)
        assert codec is not None
        assert (codec.class_id, codec.epc) == (class_id, epc)
        assert property_name(class_id, epc) == codec.name


def test_typed_codecs_carry_their_epc() -> None:
    assert MeterProperties.INSTANT_POWER.epc == 0xE7
    assert MeterProperties.INSTANT_POWER.decode(bytes.fromhex("0000011C")) == 284
    assert MeterProperties.HISTORY_2_TARGET.epc == 0xED
    assert NodeProfileProperties.INSTANCE_LIST_NOTIFICATION.epc == 0xD5
    assert codec_for(M, 0xE7) is MeterProperties.INSTANT_POWER
    assert codec_for(0x05FF, 0x80) is not None


@pytest.mark.parametrize("key", sorted(registered_properties()))
def test_every_codec_rejects_wrong_lengths(key: tuple[int, int]) -> None:
    class_id, epc = key
    codec = codec_for(class_id, epc)
    assert codec is not None
    for edt in (b"", bytes(255)):
        with pytest.raises(PropertyDecodeError) as info:
            codec.decode(edt)
        assert info.value.epc == epc
        assert info.value.class_code == class_id
