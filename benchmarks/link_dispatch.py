"""Cost of delivering received datagrams to the meter layer: listener vs. subscription queue.

A device on an in-memory pipe writes N datagrams from the meter (Get_Res E7/E8/E0), in
bursts; the host side counts them until all arrived. Paths compared:

* ``skstack listener``: :class:`aiobroute.skstack.SkStackLink` and a
  :class:`aiobroute.link.LinkListener`, called synchronously from the client's reader;
* ``skstack subscription``: :class:`aiobroute.skstack.client.SkStackClient` and a
  ``subscribe()`` queue drained by a consumer task (what the meter layer did before
  :mod:`aiobroute.link`);
* ``j11 listener``: :class:`aiobroute.j11.link.J11Link` with 0x6018 notifications.

Prints µs per datagram (wall and CPU) and datagrams/s, and writes
``benchmarks/results/link_dispatch.json`` (or ``--output``).

Run: ``python benchmarks/link_dispatch.py [--quick] [--output PATH]``. Numbers depend on
the machine; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cpu_seconds, environment, fmt, get_res, print_table, write_json

from aiobroute.j11 import DataReceived, link_local_address
from aiobroute.j11.link import J11Link
from aiobroute.link import LinkEvent, MeterDatagram
from aiobroute.skstack import RxUdp, SkStackLink
from aiobroute.skstack._wire import encode, link_local_from_mac
from aiobroute.skstack.client import SkStackClient
from aiobroute.transport import MemoryStream, memory_pipe

DeliveryPath = Callable[[list[bytes], int], Coroutine[Any, Any, None]]
RESULTS = Path(__file__).resolve().parent / "results" / "link_dispatch.json"
METER_MAC = "001234FFFE56789A"
BURST = 32


def skstack_bytes(count: int) -> list[bytes]:
    sender = link_local_from_mac(METER_MAC)
    own = link_local_from_mac("001D129012345678")
    lines = [
        encode(RxUdp(sender, own, 3610, 3610, METER_MAC, True, get_res(i), hex_payload=True))
        for i in range(count)
    ]
    return [b"".join(lines[i : i + BURST]) for i in range(0, count, BURST)]


def j11_bytes(count: int) -> list[bytes]:
    source = link_local_address(bytes.fromhex(METER_MAC))
    frames = [
        DataReceived(source, 3610, 3610, 0x4B2D, 0, 2, -60, get_res(i)).encode()
        for i in range(count)
    ]
    return [b"".join(frames[i : i + BURST]) for i in range(0, count, BURST)]


class Counter:
    """A LinkListener that sets ``done`` after ``target`` datagrams."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.count = 0
        self.done = asyncio.Event()

    def datagram_received(self, datagram: MeterDatagram) -> None:
        self.count += 1
        if self.count >= self.target:
            self.done.set()

    def session_event(self, event: LinkEvent) -> None:
        pass


async def feed(device: MemoryStream, bursts: list[bytes]) -> None:
    for burst in bursts:
        await device.write(burst)


async def listener_path(
    make_link: Callable[[MemoryStream], SkStackLink | J11Link], bursts: list[bytes], count: int
) -> None:
    """Feed ``bursts`` to a link made by ``make_link``; wait until a listener got ``count``."""
    host, device = memory_pipe()
    link = make_link(host)
    counter = Counter(count)
    link.set_listener(counter)
    link.client.start()
    try:
        await feed(device, bursts)
        async with asyncio.timeout(60):
            await counter.done.wait()
    finally:
        await link.close()


async def skstack_subscription(bursts: list[bytes], count: int) -> None:
    host, device = memory_pipe()
    client = SkStackClient(host)
    client.start()
    received = 0
    try:
        with client.subscribe() as events:

            async def consume() -> None:
                nonlocal received
                while received < count:
                    if isinstance(await events.get(timeout=60), RxUdp):
                        received += 1

            consumer = asyncio.create_task(consume())
            await feed(device, bursts)
            await consumer
    finally:
        await client.close()


def measure(path: DeliveryPath, bursts: list[bytes], count: int, runs: int) -> tuple[float, float]:
    """Best wall and CPU seconds of ``runs`` runs."""
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        wall, cpu = time.perf_counter(), cpu_seconds()
        asyncio.run(path(bursts, count))
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, cpu_seconds() - cpu)
    return best_wall, best_cpu


def main() -> int:
    args = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    args.add_argument("--quick", action="store_true", help="fewer datagrams, one run")
    args.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON")
    opts = args.parse_args()
    count = 2000 if opts.quick else 20000
    runs = 1 if opts.quick else 3
    sk = skstack_bytes(count)
    j11 = j11_bytes(count)
    paths: list[tuple[str, DeliveryPath, list[bytes]]] = [
        ("skstack listener", functools.partial(listener_path, SkStackLink), sk),
        ("skstack subscription", skstack_subscription, sk),
        ("j11 listener", functools.partial(listener_path, J11Link), j11),
    ]
    results: list[dict[str, Any]] = []
    for name, path, bursts in paths:
        wall, cpu = measure(path, bursts, count, runs)
        results.append(
            {
                "path": name,
                "datagrams": count,
                "us_per_datagram_wall": wall / count * 1e6,
                "us_per_datagram_cpu": cpu / count * 1e6,
                "datagrams_per_s": count / wall,
            }
        )
    print_table(
        f"Datagram delivery ({count:,} datagrams in bursts of {BURST}, best of {runs})",
        ["path", "µs/datagram (wall)", "µs/datagram (CPU)", "datagrams/s"],
        [
            [
                str(r["path"]),
                fmt(r["us_per_datagram_wall"], 1),
                fmt(r["us_per_datagram_cpu"], 1),
                fmt(round(r["datagrams_per_s"])),
            ]
            for r in results
        ],
    )
    write_json(
        opts.output,
        {"benchmark": "link_dispatch", "environment": environment(), "results": results},
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
