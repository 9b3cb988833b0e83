"""EEDSCAN in both families' shapes: BP35A1 prints pairs, BP35C2 the SIDE then pairs."""

from __future__ import annotations

import pytest

from aiobroute.skstack import EdScan, LineParser, Ok, Unrecognized
from aiobroute.skstack._wire import encode


def parse(data: bytes) -> list[object]:
    return list(LineParser().feed(data))


def test_bp35a1_shape_has_no_side() -> None:
    assert parse(b"EEDSCAN\r\n21 04 22 1A\r\nOK\r\n") == [
        EdScan(((0x21, 0x04), (0x22, 0x1A))),
        Ok(),
    ]


@pytest.mark.parametrize("side", [0, 1])
def test_bp35c2_shape_starts_with_the_side(side: int) -> None:
    out = parse(f"EEDSCAN\r\n{side} 21 1A 22 19 3C 02\r\n".encode())
    assert out == [EdScan(((0x21, 0x1A), (0x22, 0x19), (0x3C, 0x02)), side)]


@pytest.mark.parametrize(
    "line",
    [b"2 21 1A", b"0 21 1A 22", b"0", b"0 2G 1A", b"0 21 1A 22 19 33"],
)
def test_malformed_data_lines_are_reported(line: bytes) -> None:
    out = parse(b"EEDSCAN\r\n" + line + b"\r\n")
    assert out[0] == Unrecognized(b"EEDSCAN", "EEDSCAN without its data line")


@pytest.mark.parametrize("side", [None, 0, 1])
def test_encode_and_parse_round_trip(side: int | None) -> None:
    scan = EdScan(((0x21, 0x04), (0x3C, 0x12)), side)
    assert parse(encode(scan)) == [scan]
