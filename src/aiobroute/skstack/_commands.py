"""The declarative table of SK commands: arity, argument checks and completion rules."""

from __future__ import annotations

import enum
import re

import attrs

from aiobroute.errors import InvalidArgumentError
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    Info,
    Message,
    NeighborTable,
    PortTable,
    RegisterValue,
    Version,
)

__all__ = [
    "COMMANDS",
    "CommandSpec",
    "Completion",
    "check_addr64",
    "check_ipaddr",
    "check_password",
    "check_rbid",
    "check_token",
]


class Completion(enum.Enum):
    """What ends a command's reply."""

    #: ``OK`` (after optional value lines of the listed types).
    OK = "ok"
    #: A single value line without OK (SKLL64 answers with just the address).
    LINE = "line"


@attrs.frozen
class CommandSpec:
    """One SK command: its name, argument count, what completes it, and its quirks."""

    name: str
    #: Allowed argument counts (SKSREG takes 1 to read or 2 to write; SKSCAN and
    #: SKSENDTO differ by family and are checked by the client).
    arity: tuple[int, ...]
    completion: Completion = Completion.OK
    #: Value lines that belong to the reply.
    values: tuple[type[Message], ...] = ()
    #: Writes flash memory (limited write cycles): refused unless explicitly allowed.
    flash: bool = False
    #: Product configuration commands (ROPT/WOPT/RUART/WUART) use CR only.
    cr_only: bool = False
    #: Indexes of arguments to mask in logs and errors.
    secret_args: tuple[int, ...] = ()


_SPECS = (
    CommandSpec("SKVER", (0,), values=(Version,)),
    CommandSpec("SKAPPVER", (0,), values=(AppVersion,)),
    CommandSpec("SKINFO", (0,), values=(Info,)),
    CommandSpec("SKRESET", (0,)),
    CommandSpec("SKSREG", (1, 2), values=(RegisterValue,)),
    CommandSpec("SKSETPWD", (2,), secret_args=(1,)),
    CommandSpec("SKSETRBID", (1,), secret_args=(0,)),
    CommandSpec("SKSCAN", (3, 4)),
    CommandSpec("SKLL64", (1,), completion=Completion.LINE, values=(AddressLine,)),
    CommandSpec("SKADDNBR", (2,)),
    CommandSpec("SKJOIN", (1,)),
    CommandSpec("SKREJOIN", (0,)),
    CommandSpec("SKTERM", (0,)),
    CommandSpec("SKSENDTO", (5, 6)),
    CommandSpec("SKPING", (1, 2)),
    CommandSpec("SKTABLE", (1,), values=(AddressTable, NeighborTable, PortTable)),
    CommandSpec("SKUDPPORT", (2,)),
    CommandSpec("SKSAVE", (0,), flash=True),
    CommandSpec("SKLOAD", (0,)),
    CommandSpec("SKERASE", (0,), flash=True),
    CommandSpec("ROPT", (0,), cr_only=True),
    CommandSpec("WOPT", (1,), cr_only=True, flash=True),
    CommandSpec("RUART", (0,), cr_only=True),
    CommandSpec("WUART", (1,), cr_only=True, flash=True),
)

#: Every command the client knows, by name.
COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}

_TOKEN = re.compile(r"[\x21-\x7e]+")
_IPADDR = re.compile(r"[0-9A-F]{4}(?::[0-9A-F]{4}){7}")
_ADDR64 = re.compile(r"[0-9A-F]{16}")


def check_token(value: str, what: str = "argument") -> str:
    """Accept one command token: printable ASCII, no space, CR, LF or control bytes."""
    if not isinstance(value, str) or not _TOKEN.fullmatch(value):
        raise InvalidArgumentError(f"{what} must be printable ASCII without spaces or line breaks")
    return value


def check_rbid(value: str) -> str:
    """The B-route ID: exactly 32 printable, non-space ASCII characters (never echoed)."""
    if not isinstance(value, str) or len(value) != 32 or not _TOKEN.fullmatch(value):
        raise InvalidArgumentError(
            "the B-route ID must be exactly 32 printable ASCII characters without spaces"
        )
    return value


def check_password(value: str) -> str:
    """The B-route password: 1 to 32 printable, non-space ASCII characters."""
    if not isinstance(value, str) or not 1 <= len(value) <= 32 or not _TOKEN.fullmatch(value):
        raise InvalidArgumentError(
            "the B-route password must be 1 to 32 printable ASCII characters without spaces"
        )
    return value


def check_ipaddr(value: str) -> str:
    """An IPv6 address in the module's full, upper-case 39-character form."""
    text = value.upper() if isinstance(value, str) else ""
    if not _IPADDR.fullmatch(text):
        raise InvalidArgumentError(
            f"IPv6 address must be written in full, e.g. FE80:0000:0000:0000:021D:1290:1234:5678;"
            f" got {value!r}"
        )
    return text


def check_addr64(value: str) -> str:
    """A 64-bit MAC address as 16 hex digits."""
    text = value.upper() if isinstance(value, str) else ""
    if not _ADDR64.fullmatch(text):
        raise InvalidArgumentError(f"MAC address must be 16 hex digits, got {value!r}")
    return text


def check_range(value: int, low: int, high: int, what: str) -> int:
    """An integer argument within ``low..high`` (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgumentError(f"{what} must be an integer in {low}..{high}, got {value!r}")
    return value
