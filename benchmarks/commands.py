"""Cost of the SK command table: encoding commands (client) and decoding lines (simulator).

For each command of a realistic session mix (SKSENDTO with a 14-byte Get request, SKSREG,
SKSCAN, SKJOIN, SKSETPWD...), encodes it in both dialects and decodes the bytes back, as
the client writes and the simulator reads them. Prints µs per operation.

Run: ``python benchmarks/commands.py [--quick]``. Numbers depend on the machine; nothing
here is asserted.
"""

from __future__ import annotations

import argparse
import time

from aiobroute.skstack import ModuleFamily
from aiobroute.skstack._commands import (
    SkCommand,
    SkJoin,
    SkScan,
    SkSendTo,
    SkSetPwd,
    SkSreg,
    SkVer,
    decode_command,
    encode_command,
)

ADDR = "FE80:0000:0000:0000:021D:1290:1234:5678"
GET_E7 = bytes.fromhex("1081000105FF010288016201E700")
MIX: list[SkCommand] = [
    SkSendTo(1, ADDR, 0x0E1A, 1, side=0, payload=GET_E7),
    SkSreg("S2", "21"),
    SkScan(2, 0xFFFFFFFF, 6, side=0),
    SkJoin(ADDR),
    SkSetPwd(12, "0123456789AB"),
    SkVer(),
]


def _split(wire: bytes, command: SkCommand) -> tuple[bytes, bytes | None]:
    if isinstance(command, SkSendTo):
        cut = len(wire) - len(command.payload)
        return wire[:cut], wire[cut:]
    return wire.rstrip(b"\r\n"), None


def measure(rounds: int) -> dict[str, float]:
    """µs per encode and per decode, over ``rounds`` passes of the mix in both dialects."""
    wires = [
        (family, command, encode_command(command, family))
        for family in ModuleFamily
        for command in MIX
    ]
    start = time.perf_counter()
    for _ in range(rounds):
        for family, command, _wire in wires:
            encode_command(command, family)
    encode_s = time.perf_counter() - start
    split = [(family, *_split(wire, command)) for family, command, wire in wires]
    start = time.perf_counter()
    for _ in range(rounds):
        for family, line, payload in split:
            decode_command(line, family, payload=payload)
    decode_s = time.perf_counter() - start
    count = rounds * len(wires)
    return {"encode_us": encode_s / count * 1e6, "decode_us": decode_s / count * 1e6}


def main() -> None:
    """Parse the arguments, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (smoke test)")
    args = parser.parse_args()
    result = measure(200 if args.quick else 5000)
    print(f"encode: {result['encode_us']:.1f} µs per command")
    print(f"decode: {result['decode_us']:.1f} µs per command line")


if __name__ == "__main__":
    main()
