"""The ``aiobroute`` command: read, watch, history, scan, info, simulate.

Credentials come from ``AIOBROUTE_RBID`` / ``AIOBROUTE_PASSWORD`` or a prompt; with
``--simulate`` every command runs against the built-in simulated dongle and meter.

Exit codes: 0 success, 1 other errors, 2 usage (bad option, missing credentials or
port), 3 the port cannot be used, 4 PANA authentication refused, 5 no meter found,
6 timeout, 130 interrupted (Ctrl-C), 141 the output pipe was closed (`| head`),
143 terminated (SIGTERM).

Testing hook: ``--simulate`` builds its simulator with :func:`_make_simulator`, looked up
at run time, so a test can replace it (``monkeypatch.setattr(cli, "_make_simulator",
factory)``) with a factory returning a :class:`~aiobroute.testing.Simulator` of its own
(seed, frozen clock, faults) and compare the output with that simulator's ground truth.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import errno
import getpass
import importlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TextIO

from aiobroute._dialects import DialectChoice, dialect_choice
from aiobroute._log import TRACE
from aiobroute._time import now_jst
from aiobroute._version import __version__
from aiobroute.cli._service import (
    add_service_arguments,
)
from aiobroute.errors import (
    AiobrouteError,
    AiobrouteTimeoutError,
    AuthenticationError,
    CommandTimeoutError,
    InvalidArgumentError,
    ScanError,
    TransportError,
)
from aiobroute.link import DIALECT_J11, DIALECT_SKSTACK
from aiobroute.meter import SmartMeter
from aiobroute.supervisor import ReconnectPolicy
from aiobroute.transport import ByteStream

if TYPE_CHECKING:
    from aiobroute.testing import Simulator

__all__ = ["main"]

_LOGGER = logging.getLogger("aiobroute.cli")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PORT = 3
EXIT_AUTH = 4
EXIT_NO_PAN = 5
EXIT_TIMEOUT = 6
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
EXIT_BROKEN_PIPE = 141


class CliError(Exception):
    """A failure worth one line: what failed, the likely cause, what to try."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------- parsing


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}..{high}, got {value}")
        return value

    return parse


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:  # also refuses NaN
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--port",
        default=os.environ.get("AIOBROUTE_PORT", "").strip() or None,
        help="device path or URL of the Wi-SUN dongle (/dev/ttyUSB0, socket://host:port); "
        "default $AIOBROUTE_PORT",
    )
    common.add_argument(
        "--simulate",
        action="store_true",
        help="run against the built-in simulated dongle and meter (no hardware needed)",
    )
    common.add_argument(
        "--model",
        help="module model (default: detected): SKSTACK bp35a1, rl7023_ips, bp35c2, "
        "rs_wsuha_p, rl7023_dss; J11 bp35c1_j11, bp35c2_j11, rs_wsuha_j11, bp35c0_j11, or "
        "the family j11 (forces the dialect; with --simulate it picks the simulated module)",
    )
    common.add_argument("--cache", help="JSON file remembering the PAN between runs")
    common.add_argument(
        "--password",
        help="B-route password (insecure: visible to other users; prefer $AIOBROUTE_PASSWORD)",
    )
    common.add_argument(
        "-v", "--verbose", action="count", default=0, help="-v info logs, -vv debug + tracebacks"
    )

    parser = argparse.ArgumentParser(
        prog="aiobroute",
        description="Read a Japanese smart electricity meter over the Wi-SUN B route.",
    )
    parser.add_argument("--version", action="version", version=f"aiobroute {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    read = sub.add_parser("read", parents=[common], help="print one snapshot of the readings")
    read.add_argument("--format", choices=("table", "json"), default="table")

    watch = sub.add_parser("watch", parents=[common], help="print readings until Ctrl-C")
    watch.add_argument("--interval", type=_seconds, default=10.0, help="seconds between reads")
    watch.add_argument(
        "--format",
        choices=("table", "jsonl", "csv"),
        default=None,
        help="default: table on a terminal, JSON lines otherwise",
    )
    watch.add_argument("--output", help="append to this file instead of stdout")
    watch.add_argument(
        "--count", type=_int_range(1, 2**31), default=None, help="stop after this many reads"
    )
    add_service_arguments(watch)

    history = sub.add_parser("history", parents=[common], help="half-hourly history as CSV/JSON")
    group = history.add_mutually_exclusive_group()
    group.add_argument(
        "--days", type=_int_range(1, 100), default=None, help="the last N days (1-100, E2/E4)"
    )
    group.add_argument(
        "--hours", type=_int_range(1, 6), default=None, help="the last N hours (1-6, EC)"
    )
    history.add_argument(
        "--reverse",
        action="store_true",
        help="deprecated, ignored: rows always carry bought and sold columns",
    )
    history.add_argument("--format", choices=("csv", "json"), default="csv")

    sub.add_parser("scan", parents=[common], help="list the PANs (meters) in range")
    sub.add_parser("info", parents=[common], help="module and meter information")

    for name, (module_name, summary) in _MODULE_COMMANDS.items():
        command = sub.add_parser(name, parents=[common], help=summary)
        importlib.import_module(module_name).add_arguments(command)

    simulate = sub.add_parser(
        "simulate", help="serve the simulated dongle on a pseudo-terminal until Ctrl-C"
    )
    simulate.add_argument(
        "args", nargs=argparse.REMAINDER, help="options of python -m aiobroute.testing"
    )
    return parser


# ---------------------------------------------------------------------------- helpers


@contextlib.contextmanager
def _logging(verbose: int) -> Iterator[None]:
    """Send aiobroute's logs to stderr for one run (removed afterwards: main() re-enters)."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    if verbose >= 3:
        level = TRACE
    logger = logging.getLogger("aiobroute")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _progress(text: str) -> None:
    """Progress on stderr, only for a person watching a terminal."""
    if sys.stderr.isatty():
        print(f"\r{text}\x1b[K", end="", file=sys.stderr, flush=True)


def _progress_done(text: str | None = None) -> None:
    if sys.stderr.isatty():
        print(f"\r{text}\x1b[K" if text else "\r\x1b[K", file=sys.stderr, flush=True)


def _choice(model: str | None) -> DialectChoice:
    """What ``--model`` forces (nothing: the dialect is detected)."""
    try:
        return dialect_choice(model)
    except InvalidArgumentError:
        raise CliError(
            f"unknown --model {model!r}: use bp35a1, rl7023_ips, bp35c2, rs_wsuha_p, "
            "rl7023_dss (SKSTACK), bp35c1_j11, bp35c2_j11, rs_wsuha_j11, bp35c0_j11 or j11 "
            "(J11)",
            EXIT_USAGE,
        ) from None


def _credentials(args: argparse.Namespace) -> tuple[str, str]:
    # Neither may contain blanks: surrounding ones (a CRLF environment file, a pasted
    # space) are dropped rather than sent, or refused as a wrong length.
    rbid = os.environ.get("AIOBROUTE_RBID", "").strip()
    password = os.environ.get("AIOBROUTE_PASSWORD", "").strip()
    if args.password:
        print(
            "warning: a password on the command line is visible to other users; "
            "prefer AIOBROUTE_PASSWORD",
            file=sys.stderr,
        )
        password = args.password.strip()
    if not rbid or not password:
        if not sys.stdin.isatty():
            raise CliError(
                "no B-route credentials: set AIOBROUTE_RBID and AIOBROUTE_PASSWORD "
                "(or run on a terminal to be asked)",
                EXIT_USAGE,
            )
        rbid = rbid or input("B-route ID: ").strip()
        password = password or getpass.getpass("B-route password: ").strip()
    return rbid, password


def _make_simulator(model: str) -> Simulator:
    """Build the simulator behind ``--simulate`` (a test hook: tests replace this function).

    Called inside the command's event loop with the ``--model`` value (``"BP35A1"`` when
    none was given). The simulated meter accepts ``sim.rbid`` / ``sim.password``.
    """
    from aiobroute.testing import SimClock, Simulator

    # The simulated household lives in the present, 200 times faster than real time.
    clock = SimClock(now_jst().replace(microsecond=0), speed=200.0)
    return Simulator(model, seed=1, timing="realistic", clock=clock)


@contextlib.asynccontextmanager
async def _simulator(args: argparse.Namespace) -> AsyncIterator[tuple[ByteStream, str, str]]:
    try:
        sim = _make_simulator(args.model or "BP35A1")
    except (KeyError, ValueError) as exc:
        raise CliError(
            f"unknown simulated --model {args.model!r}: use BP35A1, RL7023_IPS, BP35C2, "
            "RS-WSUHA-P, RL7023_DSS, BP35C1-J11-T01, BP35C2-J11-T01, RS-WSUHA-J11 or "
            "BP35C0-J11",
            EXIT_USAGE,
        ) from exc
    # With --simulate, times come from the simulated meter's clock (it may run faster).
    args.sim_clock = sim.clock.now
    args.sim_dialect = DIALECT_J11 if sim.is_j11 else DIALECT_SKSTACK
    async with sim.memory() as stream:
        yield stream, sim.rbid, sim.password


def _now(args: argparse.Namespace, meter: SmartMeter) -> dt.datetime:
    """The meter's wall time: the simulated clock with --simulate, else ``meter_now()``."""
    clock: Callable[[], dt.datetime] | None = getattr(args, "sim_clock", None)
    return clock() if clock is not None else meter.meter_now()


def _stamp(args: argparse.Namespace, meter: SmartMeter) -> str:
    return _now(args, meter).isoformat(timespec="seconds")


@contextlib.asynccontextmanager
async def _meter(args: argparse.Namespace, **options: Any) -> AsyncIterator[SmartMeter]:
    """The connected meter of ``args``; ``options`` go to :class:`SmartMeter`."""
    if args.simulate:
        async with _simulator(args) as (stream, rbid, password):
            options.setdefault("min_interval", 0.0)
            # The simulated model is known: no dialect probe.
            meter = SmartMeter(
                stream,
                rbid=rbid,
                password=password,
                model=args.sim_dialect,
                cache_path=args.cache,
                **options,
            )
            async with meter:
                yield meter
        return
    _choice(args.model)  # an unknown --model is a usage error, before the port is opened
    if not args.port:
        raise CliError("no port: pass --port /dev/ttyUSB0 (or set AIOBROUTE_PORT)", EXIT_USAGE)
    rbid, password = args.credentials or _credentials(args)
    meter = SmartMeter(
        args.port, rbid=rbid, password=password, model=args.model, cache_path=args.cache, **options
    )
    async with meter:
        yield meter


def _service_meter(
    args: argparse.Namespace,
) -> Callable[[], contextlib.AbstractAsyncContextManager[SmartMeter]]:
    """How a long-running command connects: reconnect forever, waits capped at --retry-max."""
    policy = ReconnectPolicy(initial=min(1.0, args.retry_max), cap=args.retry_max)
    return lambda: _meter(args, reconnect=policy)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(value)
    return str(value)


def _cmd_simulate(argv: list[str]) -> int:
    from aiobroute.testing.__main__ import main as simulate_main

    return simulate_main(argv)


#: Subcommands that live in a module of their own: name -> (module, one-line help).
#: Each module defines ``add_arguments(parser)`` and ``async def run(args, out) -> int``;
#: it is imported only when the parser is built, and should import optional
#: dependencies (aiomqtt, prometheus_client, sqlite3) lazily inside ``run``.
_MODULE_COMMANDS: dict[str, tuple[str, str]] = {
    "mqtt": ("aiobroute.cli.mqtt", "publish to Home Assistant over MQTT until stopped"),
    "exporter": ("aiobroute.cli.exporter", "serve Prometheus metrics until stopped"),
    "record": ("aiobroute.cli.record", "keep a complete half-hourly record in SQLite"),
    "export": ("aiobroute.cli.export", "export a record database (CSV, JSON, Home Assistant)"),
}


def _needs_credentials(name: str) -> bool:
    """Whether a command talks to a meter (a module may say ``NEEDS_CREDENTIALS = False``)."""
    if name == "scan":
        return False
    if name in _MODULE_COMMANDS:
        module = importlib.import_module(_MODULE_COMMANDS[name][0])
        return bool(getattr(module, "NEEDS_CREDENTIALS", True))
    return True


#: The built-in subcommands, whose options :func:`_parser` declares: name -> module.
#: Each module defines ``async def run(args, out) -> int``.
_COMMANDS: dict[str, str] = {
    "read": "aiobroute.cli.read",
    "watch": "aiobroute.cli.watch",
    "history": "aiobroute.cli.history",
    "scan": "aiobroute.cli.scan",
    "info": "aiobroute.cli.info",
}


def _command(name: str) -> Callable[[argparse.Namespace, TextIO], Any]:
    module = _MODULE_COMMANDS[name][0] if name in _MODULE_COMMANDS else _COMMANDS[name]
    run: Callable[[argparse.Namespace, TextIO], Any] = importlib.import_module(module).run
    return run


#: Where each message's troubleshooting row is (docs/guides/troubleshooting.md).
_TROUBLESHOOTING = "https://aiobroute.readthedocs.io/en/latest/guides/troubleshooting/"


def _see(anchor: str) -> str:
    return f" See {_TROUBLESHOOTING}#{anchor}"


def _permission_denied(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, PermissionError) or getattr(cause, "errno", None) == errno.EACCES:
            return True
        cause = cause.__cause__
    return "Permission denied" in str(exc)


def _explain(exc: BaseException) -> CliError:
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, AuthenticationError):
        return CliError(
            "joining the meter failed: PANA authentication was refused. Likely cause: a wrong "
            "B-route ID or password, or a B route not yet activated. Check the credentials "
            "sent by the grid company." + _see("pana-authentication-was-refused"),
            EXIT_AUTH,
        )
    if isinstance(exc, ScanError) and not isinstance(exc, AiobrouteTimeoutError):
        return CliError(
            "no smart meter answered the scan. Likely cause: the dongle is too far from the "
            "meter or the B route is not activated. Move the dongle closer and try again."
            + _see("no-smart-meter-answered-the-scan"),
            EXIT_NO_PAN,
        )
    if isinstance(exc, TransportError) and _permission_denied(exc):
        return CliError(
            f"cannot use the port: {exc}. Permission denied: add your user to the group that "
            "owns the device (usually dialout: sudo usermod -aG dialout $USER, then log in "
            "again)." + _see("permission-denied-on-the-port"),
            EXIT_PORT,
        )
    if isinstance(exc, TransportError):
        return CliError(
            f"cannot use the port: {exc}. Check the --port path, that the dongle is plugged "
            "in, and that no other program uses it." + _see("cannot-use-the-port"),
            EXIT_PORT,
        )
    if isinstance(exc, CommandTimeoutError):
        return CliError(
            f"the dongle does not answer: {exc}. Check that --port is the Wi-SUN dongle (not "
            "another serial port with nothing behind it), that it runs at 115200 baud, and "
            "unplug and replug it." + _see("the-dongle-does-not-answer"),
            EXIT_PORT,
        )
    if isinstance(exc, AiobrouteTimeoutError):
        return CliError(
            f"timed out: {exc}. The radio link may be weak; try again, or move the dongle."
            + _see("timed-out"),
            EXIT_TIMEOUT,
        )
    if isinstance(exc, InvalidArgumentError):
        return CliError(str(exc), EXIT_USAGE)
    if isinstance(exc, AiobrouteError):
        return CliError(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError) and exc.filename is not None:
        return CliError(f"cannot use {exc.filename}: {exc.strerror or exc}")
    return CliError(f"unexpected error: {type(exc).__name__}: {exc}")


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


class _TerminatedError(Exception):
    """SIGTERM arrived; the command was cancelled and cleaned up."""


async def _until_terminated(coro: Coroutine[Any, Any, int]) -> int:
    """Run ``coro``; on SIGTERM cancel it (so sessions end cleanly) and raise _TerminatedError."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
        return await task
    try:
        code = await task
    except asyncio.CancelledError:
        if terminated:
            raise _TerminatedError from None
        raise
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
    if terminated:
        raise _TerminatedError
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Each call runs its own event loop (``asyncio.run``), so it cannot be called from a
    running loop's thread.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["simulate"]:
        # Everything after "simulate" belongs to the simulator's own parser.
        return _cmd_simulate(arguments[1:])
    args = _parser().parse_args(arguments)
    command = _command(args.command)
    with _logging(args.verbose):
        args.credentials = None
        try:
            if _needs_credentials(args.command) and not args.simulate and args.port:
                # Asked before the event loop starts, so Ctrl-C at the prompt just works.
                args.credentials = _credentials(args)
            return int(asyncio.run(_until_terminated(command(args, sys.stdout))))
        except KeyboardInterrupt:
            print("\ninterrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except _TerminatedError:
            print("terminated", file=sys.stderr)
            return EXIT_TERMINATED
        except BrokenPipeError:
            # The reader went away (`aiobroute export ... | head`): stop quietly, as other
            # command-line tools do, and keep the interpreter from complaining at exit.
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        except Exception as exc:
            error = _explain(exc)
            if args.verbose >= 2:
                _LOGGER.exception("%s failed", args.command)
            print(f"error: {error}", file=sys.stderr)
            return error.code
