"""Argument codecs and checks of SK commands (the command table is in ``_commands``)."""

from __future__ import annotations

import re
from typing import Any, Protocol

from aiobroute._frozen import Frozen
from aiobroute.errors import InvalidArgumentError

__all__ = [
    "Arg",
    "Choice",
    "Codec",
    "Hex",
    "check_addr64",
    "check_ipaddr",
    "check_password",
    "check_range",
    "check_rbid",
    "check_token",
]

_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")
_IPV6_TEXT = re.compile(r"[0-9A-Fa-f:.]{2,45}")


class Codec(Protocol):
    """Turns one argument value into its token and back."""

    def encode(self, value: Any) -> str:
        """The token of ``value``; ValueError if it does not fit."""
        ...

    def decode(self, text: str) -> Any:
        """The value of ``text``; ValueError if it is not one."""
        ...


class Hex(Frozen):
    """An unsigned integer in 1..``digits`` hex digits, printed zero-padded to ``width``."""

    __slots__ = ("digits", "high", "low", "min_digits", "width")
    digits: int
    width: int
    min_digits: int
    low: int
    high: int | None

    def __init__(
        self,
        digits: int,
        width: int = 1,
        min_digits: int = 1,
        low: int = 0,
        high: int | None = None,
    ) -> None:
        self._set("digits", digits)
        self._set("width", width)
        self._set("min_digits", min_digits)
        self._set("low", low)
        self._set("high", high)

    def _check(self, value: int) -> int:
        high = (1 << (4 * self.digits)) - 1 if self.high is None else self.high
        if isinstance(value, bool) or not isinstance(value, int) or not self.low <= value <= high:
            raise ValueError(f"must be an integer in {self.low:X}..{high:X}")
        return value

    def encode(self, value: int) -> str:
        return f"{self._check(value):0{self.width}X}"

    def decode(self, text: str) -> int:
        if not self.min_digits <= len(text) <= self.digits or not set(text) <= _HEX_DIGITS:
            raise ValueError(f"must be {self.min_digits} to {self.digits} hex digits")
        return self._check(int(text, 16))


class Choice(Frozen):
    """One decimal digit among ``choices`` (scan mode, security, SIDE)."""

    __slots__ = ("choices",)
    choices: tuple[int, ...]

    def __init__(self, choices: tuple[int, ...]) -> None:
        self._set("choices", choices)

    def encode(self, value: int) -> str:
        if isinstance(value, bool) or value not in self.choices:
            raise ValueError(f"must be one of {self.choices}")
        return str(value)

    def decode(self, text: str) -> int:
        if text not in {str(choice) for choice in self.choices}:
            raise ValueError(f"must be one of {self.choices}")
        return int(text)


class Ipv6:
    """An IPv6 address; always written in the module's 39-character form."""

    def encode(self, value: str) -> str:
        return self.decode(value)

    def decode(self, text: str) -> str:
        if not isinstance(text, str) or not _IPV6_TEXT.fullmatch(text):
            raise ValueError("must be an IPv6 address")
        if _IPADDR.fullmatch(text):  # already in the module's form (the usual case)
            return text
        # Lazy: the module-side formatter (and ipaddress) only for other spellings.
        from aiobroute.skstack._wire import canonical_ipv6

        return canonical_ipv6(text)


class Addr64:
    """A 64-bit MAC address: 16 hex digits."""

    def encode(self, value: str) -> str:
        return self.decode(value)

    def decode(self, text: str) -> str:
        if not isinstance(text, str) or not _ADDR64.fullmatch(text.upper()):
            raise ValueError("must be 16 hex digits")
        return text.upper()


class Token:
    """Any printable ASCII token without spaces (kept as written)."""

    def encode(self, value: str) -> str:
        return self.decode(value)

    def decode(self, text: str) -> str:
        if not isinstance(text, str) or not _TOKEN.fullmatch(text):
            raise ValueError("must be printable ASCII without spaces or line breaks")
        return text


class Arg(Frozen):
    """One argument of a command: its codec and where it appears.

    Attributes:
        codec: turns the value into its token and back.
        side: present in the BP35C2 dialect only.
        optional: may be left out (SKSREG's value; SKPING's SIDE).
        secret: masked in logs and errors.
    """

    __slots__ = ("codec", "optional", "secret", "side")
    codec: Codec
    side: bool
    optional: bool
    secret: bool

    def __init__(
        self, codec: Codec, *, side: bool = False, optional: bool = False, secret: bool = False
    ) -> None:
        self._set("codec", codec)
        self._set("side", side)
        self._set("optional", optional)
        self._set("secret", secret)


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
