"""``python -m aiobroute.testing``: serve the simulated dongle on a pseudo-terminal.

Prints the tty path and the test credentials, then serves until Ctrl-C (or SIGTERM) and
exits cleanly::

    python -m aiobroute.testing --model BP35C2 --speed 10 --link /tmp/ttyWISUN

J11 models (ROHM's binary protocol) are served the same way: ``--model rs_wsuha_j11``.
``--uart`` delivers the module's output as a real dongle does (115200 baud, 64-byte USB
packets, a 16 ms latency timer; ``--uart-latency-ms`` changes the timer).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from typing import TextIO

import attrs

from aiobroute.errors import UnsafePathError
from aiobroute.testing._faults import FaultPlan
from aiobroute.testing._j11presets import J11Faults, J11Preset
from aiobroute.testing._presets import ModulePreset
from aiobroute.testing._sim import Simulator, model_preset
from aiobroute.testing._usb_serial import UartTiming

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m aiobroute.testing",
        description="Serve a simulated Wi-SUN B-route dongle and smart meter on a pty.",
    )
    names = ", ".join(
        [preset.name for preset in ModulePreset.all()] + [preset.name for preset in J11Preset.all()]
    )
    parser.add_argument("--model", default="BP35A1", help=f"module model, any case ({names})")
    parser.add_argument("--speed", type=float, default=1.0, help="simulated seconds per second")
    parser.add_argument("--timing", choices=("realistic", "instant"), default="realistic")
    parser.add_argument("--seed", type=int, default=0, help="seed of the module's choices")
    parser.add_argument(
        "--erxudp",
        choices=("hex", "binary"),
        help="the module's factory ERXUDP payload format (what ROPT answers: 01 hex, "
        "00 binary); default: the model's",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault plan items, e.g. drop=0.1,expiry@600 (repeatable)",
    )
    parser.add_argument(
        "--j11-fault",
        action="append",
        default=[],
        help="J11-only faults, e.g. route-b-fail=2,no-ack=0.1,pana-no-answer (repeatable)",
    )
    parser.add_argument(
        "--link",
        help="also make this path a symlink to the tty (refused if anything but a stale "
        "simulator link is already there; removed at exit)",
    )
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
    """The simulator the parsed arguments describe."""
    faults = FaultPlan.parse(args.fault) if args.fault else None
    j11_faults = J11Faults.parse(args.j11_fault) if args.j11_fault else None
    preset = model_preset(args.model)
    if args.erxudp is not None and isinstance(preset, ModulePreset):
        preset = attrs.evolve(preset, default_hex=args.erxudp == "hex")
    uart: UartTiming | None = None
    if args.uart_latency_ms is not None:
        uart = UartTiming(latency_s=args.uart_latency_ms / 1000)
    elif args.uart:
        uart = UartTiming()
    return Simulator(
        preset,
        seed=args.seed,
        speed=args.speed,
        timing=args.timing,
        faults=faults,
        uart_timing=uart,
        j11_faults=j11_faults,
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
        preset = model_preset(args.model)
        if args.fault:
            FaultPlan.parse(args.fault)
        if args.uart_latency_ms is not None:
            UartTiming(latency_s=args.uart_latency_ms / 1000)
        if args.j11_fault:
            J11Faults.parse(args.j11_fault)
    except ValueError as error:
        parser.error(str(error))
    if args.j11_fault and not isinstance(preset, J11Preset):
        parser.error("--j11-fault needs a J11 --model")
    try:
        asyncio.run(_serve(args, sys.stdout))
    except UnsafePathError as error:  # --link names something that is not ours
        sys.stderr.write(f"{parser.prog}: error: {error}\n")
        return 2
    except OSError as error:  # --link in a missing or read-only directory, no pty...
        sys.stderr.write(f"{parser.prog}: error: {error}\n")
        return 1
    sys.stdout.write("Stopped.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
