"""The SK command table: typed commands, their per-dialect arguments, encoder and decoder.

Every command is a small frozen class (:class:`SkScan`, :class:`SkSendTo`...) whose
fields are its arguments, each with a codec (``args``). :func:`encode_command` turns one
into the bytes a host writes (in the layout of a :class:`ModuleFamily`: SKSCAN, SKSENDTO
and SKPING take a SIDE argument on the BP35C2 family only); :func:`decode_command` turns
a command line back into a typed command, as a module reads it, and raises
:class:`CommandSyntaxError` carrying the ``FAIL`` code a module answers (ER04 unknown
command, ER05 wrong argument count, ER06 bad value). The client sends with the encoder;
the simulator and the tests read with the decoder. Pure: no I/O.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import Any, ClassVar

from aiobroute._frozen import Frozen
from aiobroute.errors import InvalidArgumentError
from aiobroute.skstack._codecs import (
    Addr64,
    Arg,
    Choice,
    Hex,
    Ipv6,
    Token,
    check_addr64,
    check_ipaddr,
    check_password,
    check_range,
    check_rbid,
    check_token,
)
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    ErrorCode,
    Info,
    Message,
    NeighborTable,
    PortTable,
    RegisterValue,
    Version,
)

__all__ = [
    "COMMANDS",
    "MAX_PAYLOAD",
    "CommandSpec",
    "CommandSyntaxError",
    "Completion",
    "SkCommand",
    "arguments",
    "check_addr64",
    "check_ipaddr",
    "check_password",
    "check_range",
    "check_rbid",
    "check_token",
    "command_display",
    "decode_command",
    "encode_command",
    "secret_values",
]

#: The largest SKSENDTO payload (DATALEN 0x4D0).
MAX_PAYLOAD = 0x4D0
_MASK = "********"
_HEX_DIGITS = frozenset("0123456789ABCDEFabcdef")


class CommandSyntaxError(InvalidArgumentError):
    """A command line a module would refuse; ``code`` is its ``FAIL`` answer."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code


class Completion(enum.Enum):
    """What ends a command's reply."""

    #: ``OK`` (after optional value lines of the listed types).
    OK = "ok"
    #: A single value line without OK (SKLL64 answers with just the address).
    LINE = "line"


_SIDE = Choice((0, 1))
_IPV6 = Ipv6()
_ADDR = Addr64()
_TOK = Token()
_SIDE_ARG = Arg(_SIDE, side=True)


# -------------------------------------------------------------------------- commands


class SkCommand(Frozen):
    """A typed SK command; subclasses carry the arguments as fields.

    ``args`` lists the fields that are arguments on the command line, in order, each
    with its codec (SKSENDTO's ``payload`` is not one: it follows DATALEN raw).
    """

    __slots__ = ()
    name: ClassVar[str] = ""
    args: ClassVar[tuple[tuple[str, Arg], ...]] = ()
    #: The names of the secret arguments (set for each subclass from ``args``).
    secrets: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.secrets = tuple(name for name, arg in cls.args if arg.secret)


class SkVer(SkCommand):
    """``SKVER``."""

    __slots__ = ()
    name: ClassVar[str] = "SKVER"


class SkAppVer(SkCommand):
    """``SKAPPVER``."""

    __slots__ = ()
    name: ClassVar[str] = "SKAPPVER"


class SkInfo(SkCommand):
    """``SKINFO``."""

    __slots__ = ()
    name: ClassVar[str] = "SKINFO"


class SkReset(SkCommand):
    """``SKRESET``."""

    __slots__ = ()
    name: ClassVar[str] = "SKRESET"


class SkSreg(SkCommand):
    """``SKSREG <reg> [<value>]``: read (no value) or write a register (see Register)."""

    __slots__ = ("register", "value")
    name: ClassVar[str] = "SKSREG"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("register", Arg(_TOK)),
        ("value", Arg(_TOK, optional=True)),
    )
    register: str
    value: str | None

    def __init__(self, register: str, value: str | None = None) -> None:
        self._set("register", register)
        self._set("value", value)


class SkSetPwd(SkCommand):
    """``SKSETPWD <len> <password>``."""

    __slots__ = ("length", "password")
    name: ClassVar[str] = "SKSETPWD"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("length", Arg(Hex(2))),
        ("password", Arg(_TOK, secret=True)),
    )
    length: int
    password: str

    def __init__(self, length: int, password: str) -> None:
        self._set("length", length)
        self._set("password", password)

    def __repr__(self) -> str:
        return f"SkSetPwd(length={self.length}, password={_MASK!r})"


class SkSetRbid(SkCommand):
    """``SKSETRBID <id>``."""

    __slots__ = ("rbid",)
    name: ClassVar[str] = "SKSETRBID"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("rbid", Arg(_TOK, secret=True)),)
    rbid: str

    def __init__(self, rbid: str) -> None:
        self._set("rbid", rbid)

    def __repr__(self) -> str:
        return f"SkSetRbid(rbid={_MASK!r})"


class SkScan(SkCommand):
    """``SKSCAN <mode> <mask> <duration> [<side>]``."""

    __slots__ = ("duration", "mask", "mode", "side")
    name: ClassVar[str] = "SKSCAN"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("mode", Arg(Choice((0, 2, 3)))),
        ("mask", Arg(Hex(8, width=8))),
        ("duration", Arg(Hex(1, high=14))),
        ("side", _SIDE_ARG),
    )
    mode: int
    mask: int
    duration: int
    side: int | None

    def __init__(self, mode: int, mask: int, duration: int, side: int | None = None) -> None:
        self._set("mode", mode)
        self._set("mask", mask)
        self._set("duration", duration)
        self._set("side", side)


class SkLl64(SkCommand):
    """``SKLL64 <addr64>``."""

    __slots__ = ("addr",)
    name: ClassVar[str] = "SKLL64"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("addr", Arg(_ADDR)),)
    addr: str

    def __init__(self, addr: str) -> None:
        self._set("addr", addr)


class SkAddNbr(SkCommand):
    """``SKADDNBR <ipaddr> <addr64>``."""

    __slots__ = ("addr", "ipaddr")
    name: ClassVar[str] = "SKADDNBR"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("ipaddr", Arg(_IPV6)), ("addr", Arg(_ADDR)))
    ipaddr: str
    addr: str

    def __init__(self, ipaddr: str, addr: str) -> None:
        self._set("ipaddr", ipaddr)
        self._set("addr", addr)


class SkJoin(SkCommand):
    """``SKJOIN <ipaddr>``."""

    __slots__ = ("ipaddr",)
    name: ClassVar[str] = "SKJOIN"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("ipaddr", Arg(_IPV6)),)
    ipaddr: str

    def __init__(self, ipaddr: str) -> None:
        self._set("ipaddr", ipaddr)


class SkRejoin(SkCommand):
    """``SKREJOIN``."""

    __slots__ = ()
    name: ClassVar[str] = "SKREJOIN"


class SkTerm(SkCommand):
    """``SKTERM``."""

    __slots__ = ()
    name: ClassVar[str] = "SKTERM"


class SkSendTo(SkCommand):
    """``SKSENDTO <handle> <ipaddr> <port> <sec> [<side>] <datalen> <data>``."""

    __slots__ = ("handle", "ipaddr", "payload", "port", "sec", "side")
    name: ClassVar[str] = "SKSENDTO"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("handle", Arg(Hex(1, low=1, high=6))),
        ("ipaddr", Arg(_IPV6)),
        ("port", Arg(Hex(4, width=4))),
        ("sec", Arg(Choice((0, 1, 2)))),
        ("side", _SIDE_ARG),
    )
    __match_args__: ClassVar[tuple[str, ...]] = ("handle", "ipaddr", "port", "sec", "side")
    handle: int
    ipaddr: str
    port: int
    sec: int
    side: int | None
    payload: bytes

    def __init__(
        self,
        handle: int,
        ipaddr: str,
        port: int,
        sec: int,
        side: int | None = None,
        *,
        payload: bytes = b"",
    ) -> None:
        self._set("handle", handle)
        self._set("ipaddr", ipaddr)
        self._set("port", port)
        self._set("sec", sec)
        self._set("side", side)
        self._set("payload", payload)


class SkPing(SkCommand):
    """``SKPING [<side>] <ipaddr>`` (the SIDE is optional on the BP35C2 family)."""

    __slots__ = ("ipaddr", "side")
    name: ClassVar[str] = "SKPING"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("side", Arg(_SIDE, side=True, optional=True)),
        ("ipaddr", Arg(_IPV6)),
    )
    side: int | None
    ipaddr: str

    def __init__(self, side: int | None = None, ipaddr: str = "") -> None:
        self._set("side", side)
        self._set("ipaddr", ipaddr)


class SkTable(SkCommand):
    """``SKTABLE <which>`` (1 addresses, 2 neighbours, E ports)."""

    __slots__ = ("which",)
    name: ClassVar[str] = "SKTABLE"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("which", Arg(_TOK)),)
    which: str

    def __init__(self, which: str) -> None:
        self._set("which", which)


class SkUdpPort(SkCommand):
    """``SKUDPPORT <handle> <port>``."""

    __slots__ = ("handle", "port")
    name: ClassVar[str] = "SKUDPPORT"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("handle", Arg(Hex(1, low=1, high=6))),
        ("port", Arg(Hex(4, width=4))),
    )
    handle: int
    port: int

    def __init__(self, handle: int, port: int) -> None:
        self._set("handle", handle)
        self._set("port", port)


class SkSave(SkCommand):
    """``SKSAVE`` (writes flash)."""

    __slots__ = ()
    name: ClassVar[str] = "SKSAVE"


class SkLoad(SkCommand):
    """``SKLOAD``."""

    __slots__ = ()
    name: ClassVar[str] = "SKLOAD"


class SkErase(SkCommand):
    """``SKERASE`` (writes flash)."""

    __slots__ = ()
    name: ClassVar[str] = "SKERASE"


class Ropt(SkCommand):
    """``ROPT`` (CR only): the ERXUDP payload format."""

    __slots__ = ()
    name: ClassVar[str] = "ROPT"


class Wopt(SkCommand):
    """``WOPT <01|00>`` (CR only, writes flash)."""

    __slots__ = ("value",)
    name: ClassVar[str] = "WOPT"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (
        ("value", Arg(Hex(2, width=2, min_digits=2, high=1))),
    )
    value: int

    def __init__(self, value: int) -> None:
        self._set("value", value)


class Ruart(SkCommand):
    """``RUART`` (CR only): the UART setting."""

    __slots__ = ()
    name: ClassVar[str] = "RUART"


class Wuart(SkCommand):
    """``WUART <setting>`` (CR only, writes flash)."""

    __slots__ = ("value",)
    name: ClassVar[str] = "WUART"
    args: ClassVar[tuple[tuple[str, Arg], ...]] = (("value", Arg(Hex(2, width=2, min_digits=2))),)
    value: int

    def __init__(self, value: int) -> None:
        self._set("value", value)


class CommandSpec(Frozen):
    """One SK command: its typed class, what completes it, and its quirks.

    Attributes:
        command: the typed command class.
        completion: what ends the reply.
        values: value lines that belong to the reply.
        flash: writes flash memory (limited write cycles): refused unless explicitly
            allowed.
        cr_only: a product configuration command (ROPT/WOPT/RUART/WUART), ended by CR
            only.
    """

    __slots__ = ("command", "completion", "cr_only", "flash", "values")
    command: type[SkCommand]
    completion: Completion
    values: tuple[type[Message], ...]
    flash: bool
    cr_only: bool

    def __init__(
        self,
        command: type[SkCommand],
        completion: Completion = Completion.OK,
        values: tuple[type[Message], ...] = (),
        flash: bool = False,
        cr_only: bool = False,
    ) -> None:
        self._set("command", command)
        self._set("completion", completion)
        self._set("values", values)
        self._set("flash", flash)
        self._set("cr_only", cr_only)

    @property
    def name(self) -> str:
        """The command word."""
        return self.command.name

    def arity(self, family: ModuleFamily | None = None) -> tuple[int, ...]:
        """The argument counts (DATALEN included) ``family`` accepts (None: either dialect)."""
        families = (family,) if family is not None else tuple(ModuleFamily)
        counts: set[int] = set()
        for each in families:
            args = arguments(self.command, each)
            extra = 1 if self.command is SkSendTo else 0
            required = sum(1 for _, arg in args if not arg.optional)
            counts.update(range(required + extra, len(args) + extra + 1))
        return tuple(sorted(counts))


_SPECS = (
    CommandSpec(SkVer, values=(Version,)),
    CommandSpec(SkAppVer, values=(AppVersion,)),
    CommandSpec(SkInfo, values=(Info,)),
    CommandSpec(SkReset),
    CommandSpec(SkSreg, values=(RegisterValue,)),
    CommandSpec(SkSetPwd),
    CommandSpec(SkSetRbid),
    CommandSpec(SkScan),
    CommandSpec(SkLl64, completion=Completion.LINE, values=(AddressLine,)),
    CommandSpec(SkAddNbr),
    CommandSpec(SkJoin),
    CommandSpec(SkRejoin),
    CommandSpec(SkTerm),
    CommandSpec(SkSendTo),
    CommandSpec(SkPing),
    CommandSpec(SkTable, values=(AddressTable, NeighborTable, PortTable)),
    CommandSpec(SkUdpPort),
    CommandSpec(SkSave, flash=True),
    CommandSpec(SkLoad),
    CommandSpec(SkErase, flash=True),
    CommandSpec(Ropt, cr_only=True),
    CommandSpec(Wopt, cr_only=True, flash=True),
    CommandSpec(Ruart, cr_only=True),
    CommandSpec(Wuart, cr_only=True, flash=True),
)

#: Every command the client knows, by name.
COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}
_BY_TYPE: dict[type[SkCommand], CommandSpec] = {spec.command: spec for spec in _SPECS}


def spec_of(command: SkCommand) -> CommandSpec:
    """The table entry of a typed command."""
    return _BY_TYPE[type(command)]


def has_dialects(command: SkCommand) -> bool:
    """True when the command is written differently by the two families (a SIDE field)."""
    return any(arg.side for _, arg in arguments(type(command), None))


def arguments(cls: type[SkCommand], family: ModuleFamily | None) -> tuple[tuple[str, Arg], ...]:
    """The argument fields of ``cls`` in the layout of ``family`` (None: all of them)."""
    key = (cls, family)
    found = _LAYOUTS.get(key)
    if found is None:
        found = tuple(
            (name, arg)
            for name, arg in cls.args
            if not (arg.side and family is not None and not family.has_side)
        )
        _LAYOUTS[key] = found
    return found


_LAYOUTS: dict[tuple[type[SkCommand], ModuleFamily | None], tuple[tuple[str, Arg], ...]] = {}


def _tokens(command: SkCommand, family: ModuleFamily, *, masked: bool) -> Iterator[str]:
    yield command.name
    for name, arg in arguments(type(command), family):
        value = getattr(command, name)
        if value is None:
            if arg.optional:
                continue
            value = 0  # a SIDE left unset: 0 is the B route
        try:
            text = arg.codec.encode(value)
        except ValueError as exc:
            shown = "" if arg.secret else f": {value!r}"
            raise InvalidArgumentError(f"{command.name} {name} {exc}{shown}") from None
        yield _MASK if masked and arg.secret else text
    if isinstance(command, SkSendTo):
        if not 1 <= len(command.payload) <= MAX_PAYLOAD:
            raise InvalidArgumentError(f"SKSENDTO's payload must be 1 to {MAX_PAYLOAD} bytes")
        yield f"{len(command.payload):04X}"


def encode_command(command: SkCommand, family: ModuleFamily) -> bytes:
    """The bytes a host writes for ``command`` in the dialect of ``family``.

    A line ends with CRLF (a lone CR for the product commands); SKSENDTO ends with a
    space and its raw payload, without a terminator.

    Raises:
        InvalidArgumentError: an argument does not fit its field.
    """
    text = " ".join(_tokens(command, family, masked=False)).encode("ascii")
    if isinstance(command, SkSendTo):
        return text + b" " + command.payload
    return text + (b"\r" if spec_of(command).cr_only else b"\r\n")


def command_display(command: SkCommand, family: ModuleFamily) -> str:
    """The command as logs show it: secrets masked, SKSENDTO's payload as its size."""
    text = " ".join(_tokens(command, family, masked=True))
    if isinstance(command, SkSendTo):
        text += f" <{len(command.payload)} bytes>"
    return text


def secret_values(command: SkCommand) -> list[str]:
    """The secret arguments of ``command`` (to register with a redactor before sending)."""
    return [str(value) for name in command.secrets if (value := getattr(command, name)) is not None]


def decode_command(
    line: str | bytes, family: ModuleFamily | None = None, *, payload: bytes | None = None
) -> SkCommand:
    """Read one command line (terminator removed) as a module of ``family`` reads it.

    ``family`` None accepts either dialect (decided by the argument count). For SKSENDTO,
    ``line`` is the header up to DATALEN and ``payload`` the raw data that followed.

    Raises:
        CommandSyntaxError: with ``code`` ER04 (unknown command), ER05 (wrong argument
            count) or ER06 (a bad value; also a payload with any other command).
    """
    text = line.decode("latin-1") if isinstance(line, bytes) else line
    words = text.split()
    if not words:
        raise CommandSyntaxError(ErrorCode.ER04, "empty command line")
    name, args = words[0], words[1:]
    spec = COMMANDS.get(name)
    if spec is None:
        raise CommandSyntaxError(ErrorCode.ER04, "unknown command")
    cls = spec.command
    if (payload is not None) != (cls is SkSendTo):
        raise CommandSyntaxError(ErrorCode.ER06, "a binary payload goes with SKSENDTO only")
    families = (family,) if family is not None else tuple(ModuleFamily)
    for each in families:
        if len(args) in spec.arity(each):
            return _decode_args(cls, each, args, payload)
    raise CommandSyntaxError(ErrorCode.ER05, f"{name} takes {spec.arity(family)} arguments")


def _decode_args(
    cls: type[SkCommand], family: ModuleFamily, args: list[str], payload: bytes | None
) -> SkCommand:
    fields = arguments(cls, family)
    values: dict[str, Any] = {}
    if payload is not None:
        datalen, args = args[-1], args[:-1]
        try:
            length = Hex(4, min_digits=4).decode(datalen)
        except ValueError:
            raise CommandSyntaxError(ErrorCode.ER06, "SKSENDTO DATALEN: 4 hex digits") from None
        if length != len(payload) or not 1 <= length <= MAX_PAYLOAD:
            raise CommandSyntaxError(
                ErrorCode.ER06, f"SKSENDTO's DATALEN must match a 1..{MAX_PAYLOAD}-byte payload"
            )
        values["payload"] = payload
    skip = len(fields) - len(args)  # optional fields left out
    queue = iter(args)
    for name, arg in fields:
        if arg.optional and skip > 0:
            skip -= 1
            continue
        text = next(queue)
        try:
            values[name] = arg.codec.decode(text)
        except ValueError as exc:
            raise CommandSyntaxError(ErrorCode.ER06, f"{cls.name} {name} {exc}") from None
    if family.has_side:
        for name, arg in fields:
            if arg.side and not arg.optional:
                values.setdefault(name, 0)
    return cls(**values)
