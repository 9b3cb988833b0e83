"""The typed table of SKSTACK IP virtual registers (``SKSREG``): names, kinds and codecs.

One table shared by the client (which reads and writes a few of them) and the simulator
(which keeps all of them): a register is a :class:`Register` member, never a string
spelled by hand. :meth:`Register.encode` prints a value the way a module prints it in
``ESREG`` and the client writes it in ``SKSREG``; :meth:`Register.decode` is the inverse
and raises :class:`ValueError` for text the module would refuse (``FAIL ER06``).
"""

from __future__ import annotations

import enum

from aiobroute._frozen import Frozen

__all__ = ["Register", "RegisterKind", "RegisterSpec"]

_HEX = frozenset("0123456789ABCDEFabcdef")


class RegisterKind(enum.Enum):
    """How a register's value is written."""

    #: An unsigned integer in hex digits (printed zero-padded to the register's width).
    HEX = "hex"
    #: ``0`` or ``1``.
    FLAG = "flag"
    #: A fixed number of printable characters (the pairing ID of S0A).
    CHARS = "chars"


class RegisterSpec(Frozen):
    """What a register holds: its kind, print width, power-on default and limits.

    ``width`` is the number of digits printed (HEX; also the most digits accepted) or
    of characters held (CHARS).
    """

    __slots__ = ("default", "high", "kind", "low", "width", "writable")
    kind: RegisterKind
    default: int | str
    width: int
    writable: bool
    low: int
    high: int | None

    def __init__(  # noqa: PLR0917 - a row of the register table, positional as before
        self,
        kind: RegisterKind,
        default: int | str,
        width: int = 1,
        writable: bool = True,
        low: int = 0,
        high: int | None = None,
    ) -> None:
        self._set("kind", kind)
        self._set("default", default)
        self._set("width", width)
        self._set("writable", writable)
        self._set("low", low)
        self._set("high", high)


class Register(enum.IntEnum):
    """A virtual register, by its number (``S02`` is ``Register.CHANNEL``)."""

    #: S01: the module's own 64-bit MAC address (read only).
    MAC = 0x01
    #: S02: the logical channel, 0x21..0x3C.
    CHANNEL = 0x02
    #: S03: the PAN ID.
    PAN_ID = 0x03
    #: S07: the MAC frame counter (read only).
    FRAME_COUNTER = 0x07
    #: S0A: the pairing ID (8 characters; SKSETRBID sets it to the ID's last 8).
    PAIR_ID = 0x0A
    #: S15: answer beacon requests.
    BEACON_RESPONSE = 0x15
    #: S16: the PANA session lifetime in seconds (at least 0x3C).
    SESSION_LIFETIME = 0x16
    #: S17: automatic PANA re-authentication.
    AUTO_REAUTH = 0x17
    #: SA0: encrypt IP multicast.
    MULTICAST_ENCRYPTION = 0xA0
    #: SA1: answer ICMP echo requests.
    ICMP_ECHO = 0xA1
    #: SA2: on BP35C0/C2, add an RSSI field to ERXUDP.
    RSSI = 0xA2
    #: SFB: the ARIB transmit-time limit is active (read only).
    TX_LIMITED = 0xFB
    #: SFD: the accumulated transmit time in ms (read only).
    TX_TIME = 0xFD
    #: SFE: command echo.
    ECHO = 0xFE
    #: SFF: load the saved configuration at power-on.
    AUTO_LOAD = 0xFF

    @property
    def spec(self) -> RegisterSpec:
        """The register's kind, width, default and limits."""
        return _SPECS[self]

    @property
    def token(self) -> str:
        """The name written in ``SKSREG`` (``S2``, ``SFE``): no zero padding."""
        return f"S{self.value:X}"

    @classmethod
    def parse(cls, text: str) -> Register:
        """The register named ``text`` (``S2``, ``S02``, ``sfe``).

        Raises:
            ValueError: not a register name, or a register this table does not know.
        """
        if not isinstance(text, str) or len(text) < 2 or text[0] not in "Ss":
            raise ValueError("a register name looks like S02 or SFE")
        digits = text[1:]
        if len(digits) > 2 or not set(digits) <= _HEX:
            raise ValueError("a register name looks like S02 or SFE")
        try:
            return cls(int(digits, 16))
        except ValueError:
            raise ValueError("unknown register") from None

    def encode(self, value: int | str) -> str:
        """``value`` as ``ESREG`` prints it and ``SKSREG`` writes it.

        Raises:
            ValueError: the value is out of the register's range.
            TypeError: the value is not of the register's kind.
        """
        spec = self.spec
        if spec.kind is RegisterKind.CHARS:
            if not isinstance(value, str):
                raise TypeError(f"{self.token} holds {spec.width} characters")
            self.decode(value)
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self.token} holds an integer")
        self._check_range(value)
        if spec.kind is RegisterKind.FLAG:
            return str(value)
        return f"{value:0{spec.width}X}"

    def decode(self, text: str) -> int | str:
        """The value of ``text`` as written after ``SKSREG <reg>`` or printed by ``ESREG``.

        Raises:
            ValueError: the text is not a value of this register.
        """
        spec = self.spec
        if spec.kind is RegisterKind.CHARS:
            if (
                not isinstance(text, str)
                or len(text) != spec.width
                or not all("\x21" <= c <= "\x7e" for c in text)
            ):
                raise ValueError(f"{self.token} holds {spec.width} printable characters")
            return text
        digits = 2 if spec.kind is RegisterKind.FLAG else spec.width
        if not isinstance(text, str) or not text or len(text) > digits or not set(text) <= _HEX:
            raise ValueError(f"{self.token} holds up to {digits} hex digits")
        value = int(text, 16)
        self._check_range(value)
        return value

    def _check_range(self, value: int) -> None:
        spec = self.spec
        high = spec.high if spec.high is not None else (1 << (4 * spec.width)) - 1
        if not spec.low <= value <= high:
            raise ValueError(f"{self.token} holds {spec.low:X}..{high:X}")


def _flag(default: int, *, writable: bool = True) -> RegisterSpec:
    return RegisterSpec(RegisterKind.FLAG, default, writable=writable, high=1)


_SPECS: dict[Register, RegisterSpec] = {
    Register.MAC: RegisterSpec(RegisterKind.HEX, 0, width=16, writable=False),
    Register.CHANNEL: RegisterSpec(RegisterKind.HEX, 0x21, width=2, low=0x21, high=0x3C),
    Register.PAN_ID: RegisterSpec(RegisterKind.HEX, 0xFFFF, width=4),
    Register.FRAME_COUNTER: RegisterSpec(RegisterKind.HEX, 0, width=8, writable=False),
    Register.PAIR_ID: RegisterSpec(RegisterKind.CHARS, "00000000", width=8),
    Register.BEACON_RESPONSE: _flag(1),
    Register.SESSION_LIFETIME: RegisterSpec(RegisterKind.HEX, 86400, width=8, low=0x3C),
    Register.AUTO_REAUTH: _flag(1),
    Register.MULTICAST_ENCRYPTION: _flag(0),
    Register.ICMP_ECHO: _flag(1),
    Register.RSSI: _flag(0),
    Register.TX_LIMITED: _flag(0, writable=False),
    Register.TX_TIME: RegisterSpec(RegisterKind.HEX, 0, width=16, writable=False),
    Register.ECHO: _flag(1),
    Register.AUTO_LOAD: _flag(0),
}
