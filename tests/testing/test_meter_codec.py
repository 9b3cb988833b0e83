"""Cross-check: the library's value codecs decode everything the simulated meter sends.

The simulator encodes its EDTs on its own (``struct``), so this pits two independent
implementations of spec section 3 against each other.
"""

from __future__ import annotations

import datetime as dt

from aiobroute.echonet import CONTROLLER, NODE_PROFILE, SMART_METER, Eoj, Esv, Frame, Property
from aiobroute.echonet.properties import decode_property
from aiobroute.testing._clock import JST, SimClock
from aiobroute.testing._meter import MeterConfig, SimulatedMeter

START = dt.datetime(2026, 5, 21, 12, 7, 30, tzinfo=JST)


def get_all(meter: SimulatedMeter, eoj: Eoj) -> dict[int, bytes]:
    payload = Frame(1, CONTROLLER, eoj, Esv.GET, [Property(0x9F)]).encode()
    (reply,) = meter.handle_payload(payload)
    listed = decode_property(eoj.class_id, 0x9F, Frame.decode(reply).properties[0].edt)
    assert isinstance(listed, frozenset)
    values: dict[int, bytes] = {}
    for epc in sorted(listed):
        payload = Frame(2, CONTROLLER, eoj, Esv.GET, [Property(epc)]).encode()
        (reply,) = meter.handle_payload(payload)
        frame = Frame.decode(reply)
        assert frame.esv is Esv.GET_RES
        values[epc] = frame.properties[0].edt
    return values


async def test_library_codecs_decode_every_simulated_property() -> None:
    for config in (
        MeterConfig(release="R", pv_export=True, single_phase_two_wire=True),
        MeterConfig(coefficient=None, unit_code=0x02, digits=7),
    ):
        clock = SimClock(START, speed=1e-9)
        meter = SimulatedMeter(clock, config)
        for epc, text in ((0xED, "07EA05150C000C"), (0xEF, "07EA05150C050A"), (0xE5, "03")):
            prop = Property(epc, bytes.fromhex(text))
            payload = Frame(3, CONTROLLER, SMART_METER, Esv.SETI, [prop])
            meter.handle_payload(payload.encode())
        for eoj in (NODE_PROFILE, SMART_METER):
            values = get_all(meter, eoj)
            assert values
            for epc, edt in values.items():
                decoded = decode_property(eoj.class_id, epc, edt)  # raises if it does not fit
                assert decoded is not None, hex(epc)
        meter_values = get_all(meter, SMART_METER)
        assert decode_property(0x0288, 0xE7, meter_values[0xE7]) == meter.instant_power_watts()
        assert decode_property(0x0288, 0xE0, meter_values[0xE0]) == meter.cumulative_raw()
        assert decode_property(0x0288, 0x9F, meter_values[0x9F]) == frozenset(
            meter.get_property_map()
        )
