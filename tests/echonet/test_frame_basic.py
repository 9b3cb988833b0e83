from aiobroute.echonet import CONTROLLER, SMART_METER, Esv, Frame, Property


def test_get_sna_vector_round_trips() -> None:
    raw = bytes.fromhex("1081000102880105FF015201D300")
    frame = Frame.decode(raw)
    assert frame.esv is Esv.GET_SNA
    assert frame.seoj == SMART_METER
    assert frame.deoj == CONTROLLER
    assert frame.properties == (Property(0xD3),)
    assert frame.encode() == raw
