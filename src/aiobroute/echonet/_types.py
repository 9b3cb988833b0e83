"""ECHONET Lite service codes and object identifiers."""

from __future__ import annotations

import enum

from aiobroute._frozen import Frozen
from aiobroute.errors import InvalidArgumentError

__all__ = [
    "CONTROLLER",
    "NODE_PROFILE",
    "SMART_METER",
    "Eoj",
    "Esv",
]


class Esv(enum.IntEnum):
    """ECHONET Lite service codes (ESV)."""

    SETI_SNA = 0x50
    SETC_SNA = 0x51
    GET_SNA = 0x52
    INF_SNA = 0x53
    SETGET_SNA = 0x5E
    SETI = 0x60
    SETC = 0x61
    GET = 0x62
    INF_REQ = 0x63
    SETGET = 0x6E
    SET_RES = 0x71
    GET_RES = 0x72
    INF = 0x73
    INFC = 0x74
    INFC_RES = 0x7A
    SETGET_RES = 0x7E

    @property
    def is_setget(self) -> bool:
        """True for the SetGet family, whose frames carry two property blocks."""
        return self in (Esv.SETGET, Esv.SETGET_RES, Esv.SETGET_SNA)

    @property
    def is_request(self) -> bool:
        """True for services a controller sends to ask something (0x6x)."""
        return 0x60 <= self <= 0x6F

    @property
    def is_negative(self) -> bool:
        """True for the ``*_SNA`` answers (0x5x)."""
        return 0x50 <= self <= 0x5F

    @property
    def is_notification(self) -> bool:
        """True for INF and INFC (meter-initiated or INF_REQ answers)."""
        return self in (Esv.INF, Esv.INFC)


def _check_byte(name: str, value: int) -> int:
    if not 0 <= value <= 0xFF:
        raise InvalidArgumentError(f"EOJ {name} must be 0..255, got {value!r}")
    return value


class Eoj(Frozen):
    """An ECHONET object: class group, class code, instance code (one byte each).

    Immutable and hashable; ordered by its three codes.
    """

    __slots__ = ("class_code", "class_group", "instance")
    class_group: int
    class_code: int
    instance: int

    def __init__(self, class_group: int, class_code: int, instance: int) -> None:
        self._set("class_group", _check_byte("class_group", class_group))
        self._set("class_code", _check_byte("class_code", class_code))
        self._set("instance", _check_byte("instance", instance))

    def _key(self, other: object) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        if other.__class__ is not self.__class__ or not isinstance(other, Eoj):
            return None
        mine = (self.class_group, self.class_code, self.instance)
        return mine, (other.class_group, other.class_code, other.instance)

    def __lt__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] < pair[1]

    def __le__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] <= pair[1]

    def __gt__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] > pair[1]

    def __ge__(self, other: object) -> bool:
        pair = self._key(other)
        return NotImplemented if pair is None else pair[0] >= pair[1]

    @classmethod
    def from_int(cls, value: int) -> Eoj:
        """Build from a 24-bit integer such as ``0x028801``."""
        if not 0 <= value <= 0xFFFFFF:
            raise InvalidArgumentError(f"EOJ must be a 24-bit value, got {value!r}")
        return cls((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF)

    @classmethod
    def from_bytes(cls, data: bytes) -> Eoj:
        """Build from exactly three bytes."""
        if len(data) != 3:
            raise InvalidArgumentError(f"EOJ needs 3 bytes, got {len(data)}")
        return cls(data[0], data[1], data[2])

    @property
    def class_id(self) -> int:
        """The 16-bit class (class group and class code), e.g. ``0x0288``."""
        return (self.class_group << 8) | self.class_code

    def __int__(self) -> int:
        return (self.class_group << 16) | (self.class_code << 8) | self.instance

    def __bytes__(self) -> bytes:
        return bytes((self.class_group, self.class_code, self.instance))

    def __str__(self) -> str:
        return f"{int(self):06X}"


#: The HEMS controller object on our side (instance fixed at 0x01 by the B-route spec).
CONTROLLER = Eoj(0x05, 0xFF, 0x01)
#: The node profile object, present on both sides.
NODE_PROFILE = Eoj(0x0E, 0xF0, 0x01)
#: The low-voltage smart electric energy meter.
SMART_METER = Eoj(0x02, 0x88, 0x01)
