"""The exception tree of aiobroute.

Every exception the library raises on purpose derives from :class:`AiobrouteError`.
Timeouts also derive from the built-in :class:`TimeoutError`, caller mistakes (bad
arguments) also derive from :class:`ValueError`, and misuse of an object also derives
from :class:`RuntimeError`, so generic handlers keep working. The scan and join
timeouts derive from both their stage's error and the timeout base, so both
``except JoinError`` and ``except TimeoutError`` catch a :class:`JoinTimeoutError`::

    AiobrouteError
    ├── InvalidArgumentError (ValueError)     the caller passed something we refuse to send
    │   └── UnsafePathError                   a path that is not a regular file we may use
    ├── ProtocolError                         the peer sent something we cannot understand
    │   ├── FrameDecodeError                  malformed ECHONET Lite frame (what + where)
    │   ├── J11FrameError                     malformed J11 frame or message data (what + where)
    │   └── PropertyDecodeError               an EDT that does not fit its property
    ├── TransportError                        the serial port / socket failed or vanished
    │   └── PortClosedError                   the port was closed (unplugged, peer closed)
    ├── ClientClosedError                     the client was closed; no more calls
    ├── UsageError (RuntimeError)             misuse, e.g. an object used from another event loop
    ├── AiobrouteTimeoutError (TimeoutError)  any timeout
    │   ├── CommandTimeoutError               an SK command got no status line in time
    │   ├── ScanTimeoutError (ScanError)      an active scan never finished (no EVENT 22)
    │   ├── JoinTimeoutError (JoinError)      PANA never ended with EVENT 24 or 25
    │   └── ResponseTimeoutError              the meter did not answer an ECHONET request
    ├── CommandError                          FAIL ERxx from the module (code + redacted command)
    │   └── J11CommandError                   a J11 module's result byte was not success
    ├── ScanError                             the active scan found no usable PAN
    │   └── ScanTimeoutError                  (also a timeout, see above)
    ├── JoinError                             joining failed
    │   ├── AuthenticationError               EVENT 24: the B-route ID/password are the likely cause
    │   └── JoinTimeoutError                  (also a timeout, see above)
    ├── SendError                             SKSENDTO was refused or EVENT 21 reported failure
    │   └── TransmitLimitError                the ARIB transmit-time limit is active (EVENT 32)
    ├── SessionError                          no PANA session (expired, terminated, never joined)
    │   └── ReconnectingError                 the connection is being re-established
    └── MeterError                            the meter answered, but not with what was asked
        └── ServiceNotAvailableError          *_SNA answer (Get_SNA, SetC_SNA, INF_SNA)

Messages never contain the B-route ID or password: the client masks them before it
builds any message.
"""

from __future__ import annotations

#: ``typing.TYPE_CHECKING`` without importing ``typing`` (``import aiobroute`` stays cheap).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "AiobrouteError",
    "AiobrouteTimeoutError",
    "AuthenticationError",
    "ClientClosedError",
    "CommandError",
    "CommandTimeoutError",
    "FrameDecodeError",
    "InvalidArgumentError",
    "J11CommandError",
    "J11FrameError",
    "JoinError",
    "JoinTimeoutError",
    "MeterError",
    "PortClosedError",
    "PropertyDecodeError",
    "ProtocolError",
    "ReconnectingError",
    "ResponseTimeoutError",
    "ScanError",
    "ScanTimeoutError",
    "SendError",
    "ServiceNotAvailableError",
    "SessionError",
    "TransmitLimitError",
    "TransportError",
    "UnsafePathError",
    "UsageError",
]


def _rebuild(
    cls: type[BaseException], args: tuple[object, ...], kwargs: dict[str, Any]
) -> BaseException:
    """Call ``cls(*args, **kwargs)``: how pickle and copy re-create our exceptions."""
    return cls(*args, **kwargs)


class AiobrouteError(Exception):
    """Base class of every error raised by aiobroute.

    Every exception of the tree survives :mod:`pickle` and :mod:`copy` with its message
    and attributes: the classes whose constructor differs from ``Exception(message)``
    rebuild themselves from their original constructor arguments.
    """


class InvalidArgumentError(AiobrouteError, ValueError):
    """The caller passed a value that cannot be sent to the module or the meter.

    Raised before anything is written to the port.
    """


class UnsafePathError(InvalidArgumentError):
    """A file path given by the user is refused: it is not a regular file we may use.

    Raised for a device node, FIFO, socket or directory, a symbolic link, a file owned
    by another user (when it would be replaced), or a file larger than the reader's
    limit. Nothing is read from or written to such a path.
    """


class ProtocolError(AiobrouteError):
    """The module or the meter sent something that does not follow the protocol."""


class FrameDecodeError(ProtocolError):
    """A byte string is not a well-formed ECHONET Lite format-1 frame.

    Attributes:
        reason: what is wrong, in words.
        offset: the byte offset at which the problem was found.
    """

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"malformed ECHONET Lite frame at byte {offset}: {reason}")
        self.reason = reason
        self.offset = offset

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), (self.reason, self.offset), {}), self.__dict__


class J11FrameError(ProtocolError):
    """A byte string is not a well-formed ROHM J11 frame, or its data does not fit its command.

    Attributes:
        reason: what is wrong, in words.
        offset: the byte offset (from the start of the frame) at which the problem was found.
    """

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(f"malformed J11 frame at byte {offset}: {reason}")
        self.reason = reason
        self.offset = offset

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), (self.reason, self.offset), {}), self.__dict__


class PropertyDecodeError(ProtocolError):
    """A property value (EDT) does not fit the encoding of its property.

    Attributes:
        class_code: the 16-bit ECHONET class (``0x0288``, ``0x0EF0``...).
        epc: the property code.
        edt: the offending raw bytes.
    """

    def __init__(self, class_code: int, epc: int, edt: bytes, reason: str) -> None:
        super().__init__(
            f"cannot decode property 0x{epc:02X} of class 0x{class_code:04X} "
            f"from {edt.hex().upper() or '(empty)'}: {reason}"
        )
        self.class_code = class_code
        self.epc = epc
        self.edt = edt
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.class_code, self.epc, self.edt, self.reason)
        return _rebuild, (type(self), args, {}), self.__dict__


class TransportError(AiobrouteError):
    """The serial port or socket could not be opened, read or written."""


class PortClosedError(TransportError):
    """The port went away (USB unplugged, remote end closed) or was closed."""


class ClientClosedError(AiobrouteError):
    """The client has been closed and cannot be used any more."""


class UsageError(AiobrouteError, RuntimeError):
    """The object was used in a way it does not support.

    For example a :class:`~aiobroute.SmartMeter` connected in one event loop and then
    called from another one (another thread, or a second :func:`asyncio.run`): its
    tasks, locks and futures belong to the first loop, so the call fails at once
    instead of waiting for an answer that cannot arrive.
    """


class AiobrouteTimeoutError(AiobrouteError, TimeoutError):
    """Base class of every timeout; also a built-in :class:`TimeoutError`."""


class CommandTimeoutError(AiobrouteTimeoutError):
    """An SK command did not complete within its timeout."""


class ResponseTimeoutError(AiobrouteTimeoutError):
    """The meter did not answer an ECHONET Lite request in time (after all retries).

    Attributes:
        epcs: the property codes that were asked for.
    """

    def __init__(self, message: str, *, epcs: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.epcs = epcs

    def __reduce__(self) -> tuple[Any, ...]:
        return _rebuild, (type(self), self.args, {"epcs": self.epcs}), self.__dict__


class CommandError(AiobrouteError):
    """The module answered ``FAIL ERxx`` to a command.

    Attributes:
        code: the error number (4 for ER04 and so on); see
            :class:`aiobroute.skstack.ErrorCode` for the meanings.
        command: the command line as sent, with the B-route ID and password masked.
        meaning: the short description of the code given to the constructor (may be empty).
    """

    #: Codes of errors that say nothing about the command itself: ``ER09`` (UART input
    #: error: the line was damaged on its way to the module). Sending it again is safe.
    TRANSIENT_CODES = frozenset({9})

    def __init__(self, code: int, command: str, meaning: str = "") -> None:
        detail = f" ({meaning})" if meaning else ""
        super().__init__(f"module answered FAIL ER{code:02d}{detail} to {command!r}")
        self.code = code
        self.command = command
        self.meaning = meaning

    @property
    def transient(self) -> bool:
        """True when the same command may simply be sent again (see ``TRANSIENT_CODES``).

        ``ER10`` (execution failed) is not transient: on SKSENDTO it means there is no
        session, which only a rejoin fixes.
        """
        return self.code in self.TRANSIENT_CODES

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.code, self.command, self.meaning)
        return _rebuild, (type(self), args, {}), self.__dict__


class J11CommandError(CommandError):
    """A J11 module answered a request with a result other than success (0x01).

    Also raised for the error replies 0x2FFF / 0xFFFF, which answer the one request in
    flight. ``code`` and ``result`` are the result byte (see
    :class:`aiobroute.j11.ResultCode`); ``command`` names the request (never its data).
    """

    def __init__(self, code: int, command: str, meaning: str = "") -> None:
        detail = f" ({meaning})" if meaning else ""
        AiobrouteError.__init__(
            self, f"J11 module answered result 0x{code:02X}{detail} to {command!r}"
        )
        self.code = code
        self.command = command
        self.meaning = meaning

    @property
    def result(self) -> int:
        """The result byte (same as ``code``)."""
        return self.code


class ScanError(AiobrouteError):
    """No PAN (smart meter) answered the active scan."""


class ScanTimeoutError(ScanError, AiobrouteTimeoutError):
    """An active scan did not report its end (EVENT 22) in time.

    Both a :class:`ScanError` and a timeout (:class:`AiobrouteTimeoutError`).
    """


class JoinError(AiobrouteError):
    """Joining the meter's PAN failed."""


class JoinTimeoutError(JoinError, AiobrouteTimeoutError):
    """PANA authentication ended with neither EVENT 25 nor EVENT 24 in time.

    Both a :class:`JoinError` and a timeout (:class:`AiobrouteTimeoutError`).
    """


class AuthenticationError(JoinError):
    """PANA authentication failed (EVENT 24).

    The usual cause is a wrong B-route ID or password, or a meter whose B-route
    service has not been activated yet by the grid company.

    Attributes:
        peer_answered: True when the meter took part in the PANA exchange before it
            failed (it is there, on that PAN, and refused): scanning again will not
            help. False when nothing came from it; None when the module cannot tell.
    """

    def __init__(self, message: str, *, peer_answered: bool | None = None) -> None:
        super().__init__(message)
        self.peer_answered = peer_answered

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"peer_answered": self.peer_answered}
        return _rebuild, (type(self), self.args, kwargs), self.__dict__


class SendError(AiobrouteError):
    """The module did not transmit a UDP datagram (EVENT 21 with status 01, or FAIL)."""


class TransmitLimitError(SendError):
    """The ARIB STD-T108 transmit-time limit is active (EVENT 32); sending is blocked."""


class SessionError(AiobrouteError):
    """There is no usable PANA session with the meter."""


class ReconnectingError(SessionError):
    """The connection to the meter is being re-established; try again later."""


class MeterError(AiobrouteError):
    """The meter answered in a way that does not satisfy the request.

    Attributes:
        epc: the property concerned, when one is.
        esv: the ECHONET service code of the answer, when there was one.
        stage: what the client was doing (``"get"``, ``"set"``, ``"connect"``...).
    """

    def __init__(
        self, message: str, *, epc: int | None = None, esv: int | None = None, stage: str = ""
    ) -> None:
        super().__init__(message)
        self.epc = epc
        self.esv = esv
        self.stage = stage

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"epc": self.epc, "esv": self.esv, "stage": self.stage}
        return _rebuild, (type(self), self.args, kwargs), self.__dict__


class ServiceNotAvailableError(MeterError):
    """The meter answered with a ``*_SNA`` service (it cannot read or set a property)."""
