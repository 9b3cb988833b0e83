"""Throughput of the SKSTACK IP line parser (and ECHONET Lite frame decoding on top of it).

Builds synthetic module output (ERXUDP in binary and hex with realistic Get_Res E7/E8/E0
frames, EVENT lines of both module families, EPANDESC blocks, OK lines), feeds it to
:class:`aiobroute.skstack.LineParser` in chunks of 64 to 4096 bytes, prints a table and
writes ``benchmarks/results/parse.json``.

Run: ``python benchmarks/parse.py [--quick]``. Numbers depend on the machine; nothing
here is asserted.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from pathlib import Path

from _common import best_of, get_res, print_columns, python_fields, write_json

from aiobroute.echonet import Frame
from aiobroute.skstack import LineParser, RxUdp

DecodeProperty = Callable[[int, int, bytes], object]
decode_property: DecodeProperty | None
try:  # written in parallel by another engineer; optional here
    from aiobroute.echonet.properties import decode_property
except ImportError:  # pragma: no cover - depends on the checkout
    decode_property = None

RESULTS = Path(__file__).resolve().parent / "results" / "parse.json"
CHUNK_SIZES = (64, 256, 1024, 4096)

METER = "FE80:0000:0000:0000:1034:5678:ABCD:EF01"
SELF = "FE80:0000:0000:0000:021D:1290:1234:5678"
METER_MAC = "12345678ABCDEF01"
METER_CLASS = 0x0288


def erxudp_binary(payload: bytes) -> bytes:
    """BP35C2 layout (SECURED SIDE), raw payload (WOPT 00)."""
    head = f"ERXUDP {METER} {SELF} 0E1A 0E1A {METER_MAC} 1 0 {len(payload):04X} "
    return head.encode() + payload + b"\r\n"


def erxudp_hex(payload: bytes) -> bytes:
    """BP35A1 layout (SECURED), ASCII hex payload (WOPT 01)."""
    head = f"ERXUDP {METER} {SELF} 0E1A 0E1A {METER_MAC} 1 {len(payload):04X} "
    return head.encode() + payload.hex().upper().encode() + b"\r\n"


PANDESC = (
    b"EPANDESC\r\n  Channel:21\r\n  Channel Page:09\r\n  Pan ID:8888\r\n"
    b"  Addr:12345678ABCDEF01\r\n  LQI:E1\r\n  Side:0\r\n  PairID:AABBCCDD\r\n"
)


def mixed_stream(cycles: int) -> tuple[bytes, int]:
    """Return (stream, number of lines). One cycle = one request/answer round trip."""
    parts: list[bytes] = []
    lines = 0
    for i in range(cycles):
        payload = get_res(i)
        if i % 2:
            parts += [f"EVENT 21 {METER} 0 00\r\n".encode(), b"OK\r\n", erxudp_binary(payload)]
        else:
            parts += [f"EVENT 21 {METER} 00\r\n".encode(), b"OK\r\n", erxudp_hex(payload)]
        lines += 3
        if i % 50 == 0:
            parts += [
                f"EVENT 20 {METER} 0\r\n".encode(),
                PANDESC,
                f"EVENT 22 {METER} 0\r\n".encode(),
            ]
            lines += 10
        if i % 100 == 0:
            parts += [f"EVENT 29 {METER}\r\n".encode(), f"EVENT 25 {METER} 0\r\n".encode()]
            lines += 2
    return b"".join(parts), lines


def chunked(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def parse_only(chunks: list[bytes]) -> int:
    parser = LineParser()
    count = 0
    for chunk in chunks:
        count += len(parser.feed(chunk))
    return count


def parse_and_decode(chunks: list[bytes], *, values: bool) -> int:
    parser = LineParser()
    frames = 0
    for chunk in chunks:
        for msg in parser.feed(chunk):
            if type(msg) is RxUdp and msg.lport == 0x0E1A:
                frame = Frame.decode(msg.data)
                if values and decode_property is not None:
                    for prop in frame.properties:
                        decode_property(METER_CLASS, prop.epc, prop.edt)
                frames += 1
    return frames


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--quick", action="store_true", help="smaller streams, one run")
    opts = args.parse_args()
    cycles = 2000 if opts.quick else 20000
    runs = 1 if opts.quick else 3

    values_ok = decode_property is not None
    if decode_property is not None:
        try:
            frame = Frame.decode(get_res(1))
            for prop in frame.properties:
                decode_property(METER_CLASS, prop.epc, prop.edt)
        except Exception as exc:  # the codec is work in progress elsewhere
            print(f"note: decode_property unusable ({exc!r}); value decoding skipped")
            values_ok = False

    mixed, mixed_lines = mixed_stream(cycles)
    rx_bin = b"".join(erxudp_binary(get_res(i)) for i in range(cycles * 2))
    rx_hex = b"".join(erxudp_hex(get_res(i)) for i in range(cycles * 2))
    rx_lines = cycles * 2

    rows: list[dict[str, object]] = []
    for size in CHUNK_SIZES:
        row: dict[str, object] = {"chunk_bytes": size}
        m_chunks = chunked(mixed, size)
        secs, msgs = best_of(runs, functools.partial(parse_only, m_chunks))
        row["mixed_lines_per_s"] = round(mixed_lines / secs)
        row["mixed_messages_per_s"] = round(msgs / secs)
        row["mixed_mib_per_s"] = round(len(mixed) / secs / 2**20, 2)
        for name, stream in (("binary", rx_bin), ("hex", rx_hex)):
            chunks = chunked(stream, size)
            secs, count = best_of(runs, functools.partial(parse_only, chunks))
            assert count == rx_lines
            row[f"erxudp_{name}_lines_per_s"] = round(rx_lines / secs)
        chunks = chunked(rx_bin, size)
        secs, count = best_of(runs, functools.partial(parse_and_decode, chunks, values=False))
        assert count == rx_lines
        row["frames_per_s"] = round(count / secs)
        if values_ok:
            secs, count = best_of(runs, functools.partial(parse_and_decode, chunks, values=True))
            row["frames_with_values_per_s"] = round(count / secs)
        rows.append(row)

    columns = [
        ("chunk", "chunk_bytes"),
        ("mixed lines/s", "mixed_lines_per_s"),
        ("mixed MiB/s", "mixed_mib_per_s"),
        ("ERXUDP bin/s", "erxudp_binary_lines_per_s"),
        ("ERXUDP hex/s", "erxudp_hex_lines_per_s"),
        ("frames/s", "frames_per_s"),
    ]
    if values_ok:
        columns.append(("frames+values/s", "frames_with_values_per_s"))
    print_columns(columns, rows)

    report = {
        "benchmark": "skstack LineParser",
        **python_fields(),
        "cycles": cycles,
        "runs": runs,
        "mixed_stream_bytes": len(mixed),
        "mixed_stream_lines": mixed_lines,
        "erxudp_lines": rx_lines,
        "value_decoding": values_ok,
        "results": rows,
    }
    write_json(RESULTS, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
