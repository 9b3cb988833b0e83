"""Throughput of the J11 codec: frame reassembly + message decoding, and request encoding.

Builds a synthetic module-to-host stream (0x2008 transmit replies and 0x6018 Data received
notifications carrying Get_Res E7/E8/E0, a 0x4051 scan result every 50 cycles), feeds it to
:class:`aiobroute.j11.MessageReader` in chunks of 1 to 4096 bytes, clean and with line noise
between frames, and encodes Transmit Data requests. Prints a table and writes
``benchmarks/results/j11_parse.json`` (or ``--output``).

Run: ``python benchmarks/j11_parse.py [--quick] [--output PATH]``. Numbers depend on the
machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
from pathlib import Path

from _common import best_of, get_res, print_columns, python_fields, write_json

from aiobroute.j11 import (
    Beacon,
    DataReceived,
    MessageReader,
    ScanResult,
    Skipped,
    TransmitData,
    TransmitResponse,
    link_local_address,
)

RESULTS = Path(__file__).resolve().parent / "results" / "j11_parse.json"
CHUNK_SIZES = (1, 64, 256, 1024, 4096)
METER_MAC = bytes.fromhex("001234FFFE56789A")
METER = link_local_address(METER_MAC)


def stream(cycles: int, noise: bool) -> tuple[bytes, int]:
    """Return (bytes, number of frames): one cycle = a transmit reply + a data notification."""
    rng = random.Random(cycles)
    parts: list[bytes] = []
    frames = 0
    for i in range(cycles):
        payload = get_res(i)
        parts.append(TransmitResponse(0x01, 0x00, payload[:5]).encode())
        parts.append(DataReceived(METER, 3610, 3610, 0x4B2D, 0, 2, -75, payload).encode())
        frames += 2
        if i % 50 == 0:
            parts.append(ScanResult(15, [Beacon(METER_MAC, 0x4B2D, -75)]).encode())
            frames += 1
        if noise and i % 4 == 0:
            parts.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 24))))
    return b"".join(parts), frames


def read_all(data: bytes, size: int) -> int:
    reader = MessageReader()
    count = 0
    for offset in range(0, len(data), size):
        for item in reader.feed(data[offset : offset + size]):
            if not isinstance(item, Skipped):
                count += 1
    return count


def encode_all(count: int) -> int:
    total = 0
    for i in range(count):
        total += len(TransmitData(METER, 3610, 3610, get_res(i)).encode())
    return total


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--quick", action="store_true", help="smaller streams, one run")
    args.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    opts = args.parse_args()
    cycles = 1000 if opts.quick else 10000
    runs = 1 if opts.quick else 3

    rows: list[dict[str, object]] = []
    clean, clean_frames = stream(cycles, noise=False)
    noisy, noisy_frames = stream(cycles, noise=True)
    for size in CHUNK_SIZES:
        row: dict[str, object] = {"chunk_bytes": size}
        for name, full, frames in (("clean", clean, clean_frames), ("noisy", noisy, noisy_frames)):
            # Byte by byte is slow: a tenth of the stream is enough outside --quick.
            data = full[: len(full) // 10] if size == 1 and not opts.quick else full
            secs, count = best_of(runs, functools.partial(read_all, data, size))
            if size != 1 or opts.quick:
                assert count >= frames, (name, count, frames)
            row[f"{name}_frames_per_s"] = round(count / secs)
            row[f"{name}_mib_per_s"] = round(len(data) / secs / 2**20, 2)
        rows.append(row)
    secs, _ = best_of(runs, functools.partial(encode_all, cycles))
    encode_per_s = round(cycles / secs)

    columns = [
        ("chunk", "chunk_bytes"),
        ("clean frames/s", "clean_frames_per_s"),
        ("clean MiB/s", "clean_mib_per_s"),
        ("noisy frames/s", "noisy_frames_per_s"),
        ("noisy MiB/s", "noisy_mib_per_s"),
    ]
    print_columns(columns, rows)
    print(f"TransmitData encode: {encode_per_s:,} requests/s")

    report = {
        "benchmark": "j11 MessageReader",
        **python_fields(),
        "cycles": cycles,
        "runs": runs,
        "clean_stream_bytes": len(clean),
        "clean_stream_frames": clean_frames,
        "noisy_stream_bytes": len(noisy),
        "noisy_stream_frames": noisy_frames,
        "encode_requests_per_s": encode_per_s,
        "results": rows,
    }
    write_json(opts.output, report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
