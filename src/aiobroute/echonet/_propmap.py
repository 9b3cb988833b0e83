"""Property maps (EPC 0x9D, 0x9E, 0x9F): list form below 16 entries, bitmap form above."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from aiobroute.errors import InvalidArgumentError, PropertyDecodeError

__all__ = ["decode_property_map", "encode_property_map"]

_LOGGER = logging.getLogger(__name__)

#: From this many entries on, a property map uses the 16-byte bitmap form.
_BITMAP_THRESHOLD = 16


class _MapError(Exception):
    """Internal: why a property map EDT is malformed."""


def _decode(edt: bytes) -> frozenset[int]:
    if not edt:
        raise _MapError("empty property map")
    count = edt[0]
    if count < _BITMAP_THRESHOLD:
        if len(edt) != 1 + count:
            raise _MapError(f"list form of {count} properties needs {1 + count} bytes")
        epcs = edt[1:]
        for epc in epcs:
            if epc < 0x80:
                raise _MapError(f"EPC 0x{epc:02X} is outside 0x80..0xFF")
        result = frozenset(epcs)
        if len(result) != count:
            _LOGGER.warning(
                "property map lists %d properties but only %d distinct EPCs", count, len(result)
            )
        return result
    if len(edt) != 1 + _BITMAP_THRESHOLD:
        raise _MapError(f"bitmap form of {count} properties needs 17 bytes")
    found: set[int] = set()
    for low, bits in enumerate(edt[1:]):
        for high in range(8):
            if bits & (1 << high):
                found.add(0x80 + (high << 4) + low)
    if len(found) != count:
        _LOGGER.warning(
            "property map says %d properties but its bitmap holds %d", count, len(found)
        )
    return frozenset(found)


def _is_epc(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0x80 <= value <= 0xFF


def decode_property_map(
    edt: bytes | bytearray | memoryview, *, class_id: int = 0, epc: int = 0x9F
) -> frozenset[int]:
    """Decode a property map EDT into the set of EPCs it names.

    A count that disagrees with the bitmap (or duplicate EPCs in the list form) is
    logged and tolerated; the EPCs actually present are returned.

    Args:
        edt: the EDT of 0x9D, 0x9E or 0x9F.
        class_id: the class the map belongs to, only used to label errors.
        epc: the map's EPC, only used to label errors.

    Returns:
        The EPCs, each in 0x80..0xFF.

    Raises:
        PropertyDecodeError: the EDT is empty, has the wrong length for its count, or
            lists an EPC below 0x80.
    """
    data = bytes(edt)
    try:
        return _decode(data)
    except _MapError as exc:
        raise PropertyDecodeError(class_id, epc, data, str(exc)) from None


def encode_property_map(epcs: Iterable[int]) -> bytes:
    """Encode a set of EPCs as a property map EDT.

    Args:
        epcs: the EPCs (0x80..0xFF); duplicates are ignored.

    Returns:
        The list form (count + EPCs in ascending order) for fewer than 16 EPCs,
        otherwise the 17-byte bitmap form.

    Raises:
        InvalidArgumentError: an EPC is not an int in 0x80..0xFF.
    """
    unique: set[int] = set()
    for epc in epcs:
        if not _is_epc(epc):
            raise InvalidArgumentError(f"property map EPCs must be 0x80..0xFF, got {epc!r}")
        unique.add(epc)
    if len(unique) < _BITMAP_THRESHOLD:
        return bytes((len(unique), *sorted(unique)))
    out = bytearray(1 + _BITMAP_THRESHOLD)
    out[0] = len(unique)
    for epc in unique:
        out[1 + (epc & 0x0F)] |= 1 << ((epc >> 4) - 8)
    return bytes(out)
