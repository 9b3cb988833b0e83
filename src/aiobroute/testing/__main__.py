"""``python -m aiobroute.testing``: serve the simulated dongle on a pseudo-terminal.

Prints the tty path and the test credentials, then serves until Ctrl-C (or SIGTERM) and
exits cleanly::

    python -m aiobroute.testing --model BP35C2 --speed 10 --link /tmp/ttyWISUN

``--uart`` delivers the module's output as a real dongle does (115200 baud, 64-byte USB
packets, a 16 ms latency timer; ``--uart-latency-ms`` changes the timer).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._presets import ModulePreset
from aiobroute.testing._sim import Simulator
from aiobroute.testing._usb_serial import UartTiming

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiobroute.testing",
        description="Serve a simulated Wi-SUN B-route dongle and smart meter on a pty.",
    )
    names = ", ".join(preset.name for preset in ModulePreset.all())
    parser.add_argument("--model", default="BP35A1", help=f"module model ({names})")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--timing", choices=("realistic", "instant"), default="realistic")
    parser.add_argument("--seed", type=int, default=0, help="seed of the module's choices")
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault plan items, e.g. drop=0.1,expiry@600 (repeatable)",
    )
    parser.add_argument("--link", help="also make this path a symlink to the tty")
    parser.add_argument(
        "--uart",
        action="store_true",
        help="deliver output like a 115200 baud UART behind an FTDI-like USB bridge",
    )
    parser.add_argument(
        "--uart-latency-ms",
        type=float,
        metavar="MS",
        help="the USB bridge's latency timer (default 16; implies --uart)",
    )
    return parser


def _simulator(args: argparse.Namespace) -> Simulator:
    """The simulator the command line describes."""
    faults = FaultPlan.parse(args.fault) if args.fault else None
    uart: UartTiming | None = None
    if args.uart_latency_ms is not None:
        uart = UartTiming(latency_s=args.uart_latency_ms / 1000)
    elif args.uart:
        uart = UartTiming()
    return Simulator(
        args.model,
        seed=args.seed,
        speed=args.speed,
        timing=args.timing,
        faults=faults,
        uart_timing=uart,
    )


async def _serve(args: argparse.Namespace, out: TextIO) -> None:
    sim = _simulator(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with sim.pty(link=args.link) as path:
            out.write(f"Simulated {sim.preset.name} on {path}\n")
            out.write(f"B-route ID: {sim.rbid}\n")
            out.write(f"Password:   {sim.password}\n")
            out.write("Press Ctrl-C to stop.\n")
            out.flush()
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the simulator command; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        ModulePreset.by_name(args.model)
        if args.fault:
            FaultPlan.parse(args.fault)
        if args.uart_latency_ms is not None:
            UartTiming(latency_s=args.uart_latency_ms / 1000)
    except ValueError as error:
        parser.error(str(error))
    asyncio.run(_serve(args, sys.stdout))
    sys.stdout.write("Stopped.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
