"""ECHONET Lite format-1 frames: encode and decode, no I/O."""

from __future__ import annotations

from collections.abc import Iterable

from aiobroute._frozen import Frozen
from aiobroute.echonet._types import Eoj, Esv
from aiobroute.errors import FrameDecodeError, InvalidArgumentError

__all__ = ["EHD1", "EHD2_FORMAT1", "Frame", "Property", "check_epc"]

EHD1 = 0x10
EHD2_FORMAT1 = 0x81
_HEADER_LEN = 12
_ESVS = {int(esv): esv for esv in Esv}


def check_epc(epc: object) -> int:
    """``epc`` as a property code: a whole number 0..255 (not a bool).

    Raises:
        InvalidArgumentError: anything else.
    """
    if isinstance(epc, bool) or not isinstance(epc, int) or not 0 <= epc <= 0xFF:
        raise InvalidArgumentError(f"EPC must be a whole number 0..255, got {epc!r}")
    return epc


class Property(Frozen):
    """One property of a frame: its code (EPC) and its data (EDT, may be empty)."""

    __slots__ = ("edt", "epc")
    epc: int
    edt: bytes

    def __init__(self, epc: int, edt: bytes | bytearray | memoryview = b"") -> None:
        check_epc(epc)
        edt = bytes(edt)
        if len(edt) > 0xFF:
            raise InvalidArgumentError(
                f"EDT of EPC 0x{epc:02X} is {len(edt)} bytes; at most 255 fit"
            )
        self._set("epc", epc)
        self._set("edt", edt)


def _esv(value: int) -> Esv:
    try:
        return Esv(value)
    except ValueError:
        raise InvalidArgumentError(f"unknown ESV {value!r}") from None


def _check_props(value: tuple[Property, ...], what: str) -> None:
    if len(value) > 0xFF:
        raise InvalidArgumentError(f"a frame carries at most 255 {what}, got {len(value)}")


class Frame(Frozen):
    """An ECHONET Lite format-1 frame (EHD1 0x10, EHD2 0x81).

    For the SetGet family (``Esv.SETGET``, ``SETGET_RES``, ``SETGET_SNA``)
    ``properties`` is the Set block and ``get_properties`` the Get block; every other
    service has an empty ``get_properties``. A frame needs at least one property,
    except that either block of a SetGet frame may be empty.
    """

    __slots__ = ("deoj", "esv", "get_properties", "properties", "seoj", "tid")
    tid: int
    seoj: Eoj
    deoj: Eoj
    esv: Esv
    properties: tuple[Property, ...]
    get_properties: tuple[Property, ...]

    def __init__(  # noqa: PLR0917 - the header fields in wire order, positional as before
        self,
        tid: int,
        seoj: Eoj,
        deoj: Eoj,
        esv: Esv | int,
        properties: Iterable[Property],
        get_properties: Iterable[Property] = (),
    ) -> None:
        if not 0 <= tid <= 0xFFFF:
            raise InvalidArgumentError(f"TID must be 0..65535, got {tid!r}")
        esv = _esv(esv)
        properties = tuple(properties)
        get_properties = tuple(get_properties)
        _check_props(properties, "properties")
        _check_props(get_properties, "Get properties")
        if esv.is_setget:
            if not properties and not get_properties:
                raise InvalidArgumentError("a SetGet frame needs at least one property")
        else:
            if get_properties:
                raise InvalidArgumentError(f"{esv.name} frames have a single block")
            if not properties:
                raise InvalidArgumentError("a frame needs at least one property")
        self._set("tid", tid)
        self._set("seoj", seoj)
        self._set("deoj", deoj)
        self._set("esv", esv)
        self._set("properties", properties)
        self._set("get_properties", get_properties)

    @property
    def epcs(self) -> tuple[int, ...]:
        """The EPCs of the first (or only) block, in order."""
        return tuple(p.epc for p in self.properties)

    def encode(self) -> bytes:
        """Serialise to the UDP payload bytes."""
        out = bytearray((EHD1, EHD2_FORMAT1))
        out += self.tid.to_bytes(2, "big")
        out += bytes(self.seoj)
        out += bytes(self.deoj)
        out.append(self.esv)
        _encode_block(out, self.properties)
        if self.esv.is_setget:
            _encode_block(out, self.get_properties)
        return bytes(out)

    def __bytes__(self) -> bytes:
        return self.encode()

    @classmethod
    def decode(cls, data: bytes) -> Frame:
        """Parse one frame; raise :class:`FrameDecodeError` for anything malformed."""
        data = bytes(data)
        if len(data) < 1:
            raise FrameDecodeError("empty frame", 0)
        if data[0] != EHD1:
            raise FrameDecodeError(f"EHD1 is 0x{data[0]:02X}, expected 0x10", 0)
        if len(data) < 2:
            raise FrameDecodeError("truncated before EHD2", 1)
        if data[1] != EHD2_FORMAT1:
            kind = "format-2 (arbitrary) frame" if data[1] == 0x82 else f"0x{data[1]:02X}"
            raise FrameDecodeError(f"EHD2 is {kind}; only format 1 (0x81) is supported", 1)
        if len(data) < _HEADER_LEN:
            raise FrameDecodeError(
                f"truncated header: {len(data)} bytes, need {_HEADER_LEN}", len(data)
            )
        esv = _ESVS.get(data[10])
        if esv is None:
            raise FrameDecodeError(f"unknown ESV 0x{data[10]:02X}", 10)
        props, offset = _decode_block(data, 11, "OPC")
        get_props: tuple[Property, ...] = ()
        if esv.is_setget:
            opc_get_offset = offset
            get_props, offset = _decode_block(data, offset, "OPCGet")
            if not props and not get_props:
                raise FrameDecodeError("OPCSet and OPCGet are both 0", opc_get_offset)
        elif not props:
            raise FrameDecodeError("OPC is 0", 11)
        if offset != len(data):
            raise FrameDecodeError(
                f"{len(data) - offset} trailing bytes after the last property", offset
            )
        # Every field was checked above: build without re-running the validators.
        frame = object.__new__(cls)
        _set(frame, "tid", (data[2] << 8) | data[3])
        _set(frame, "seoj", _eoj(data[4], data[5], data[6]))
        _set(frame, "deoj", _eoj(data[7], data[8], data[9]))
        _set(frame, "esv", esv)
        _set(frame, "properties", props)
        _set(frame, "get_properties", get_props)
        return frame


_set = object.__setattr__
_EOJ_CACHE: dict[tuple[int, int, int], Eoj] = {}


def _eoj(group: int, code: int, instance: int) -> Eoj:
    key = (group, code, instance)
    eoj = _EOJ_CACHE.get(key)
    if eoj is None:
        eoj = Eoj(group, code, instance)
        if len(_EOJ_CACHE) < 1024:
            _EOJ_CACHE[key] = eoj
    return eoj


def _property(epc: int, edt: bytes) -> Property:
    prop = object.__new__(Property)
    _set(prop, "epc", epc)
    _set(prop, "edt", edt)
    return prop


def _encode_block(out: bytearray, props: tuple[Property, ...]) -> None:
    out.append(len(props))
    for prop in props:
        out.append(prop.epc)
        out.append(len(prop.edt))
        out += prop.edt


def _decode_block(data: bytes, offset: int, what: str) -> tuple[tuple[Property, ...], int]:
    if offset >= len(data):
        raise FrameDecodeError(f"truncated before {what}", offset)
    count = data[offset]
    offset += 1
    props: list[Property] = []
    for index in range(count):
        if offset + 2 > len(data):
            raise FrameDecodeError(
                f"{what} says {count} properties but the frame ends after {index}", offset
            )
        epc = data[offset]
        pdc = data[offset + 1]
        start = offset + 2
        if start + pdc > len(data):
            raise FrameDecodeError(
                f"PDC {pdc} of EPC 0x{epc:02X} runs past the end of the frame", offset + 1
            )
        props.append(_property(epc, data[start : start + pdc]))
        offset = start + pdc
    return tuple(props), offset
