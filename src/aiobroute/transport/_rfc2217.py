"""Serial ports over TCP: ``socket://host:port`` (raw) and ``rfc2217://host:port``.

Both are native asyncio connections (name resolution and connecting never block the
event loop). ``rfc2217://`` adds Telnet with COM-PORT-OPTION (RFC 2217): option
negotiation, IAC escaping both ways, and the serial settings. pyserial's own RFC 2217
client does its I/O in a thread and offers no descriptor for pyserial-asyncio to watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse

from aiobroute.errors import InvalidArgumentError, PortClosedError, TransportError

__all__ = ["Rfc2217Stream", "TcpStream", "TelnetCodec", "open_rfc2217", "open_socket"]

_LOGGER = logging.getLogger("aiobroute.transport")

IAC = 255
DONT = 254
DO = 253
WONT = 252
WILL = 251
SB = 250
SE = 240
BINARY = 0
ECHO = 1
SGA = 3
COM_PORT_OPTION = 44
# COM-PORT-OPTION client-to-server commands.
SET_BAUDRATE = 1
SET_DATASIZE = 2
SET_PARITY = 3
SET_STOPSIZE = 4
SET_CONTROL = 5

_WE_DO = frozenset({BINARY, SGA, COM_PORT_OPTION})  # options we perform (WILL)
_THEY_DO = frozenset({BINARY, SGA, ECHO})  # options we accept from the server (DO)
_MAX_SUBNEGOTIATION = 256
_CONNECT_TIMEOUT = 10.0


def escape(data: bytes) -> bytes:
    """Double every 0xFF (IAC) byte, as Telnet requires for data."""
    return data.replace(b"\xff", b"\xff\xff")


class TelnetCodec:
    """Sans-I/O Telnet receiver: splits data from commands and answers negotiations.

    :meth:`feed` returns the data bytes found and queues any replies in ``replies``.
    """

    _DATA, _IAC, _OPTION, _SB, _SB_IAC = range(5)

    def __init__(self) -> None:
        self._state = self._DATA
        self._verb = 0
        self._sub = bytearray()
        self.replies = bytearray()
        self._answered: set[tuple[int, int]] = set()
        self.subnegotiations: list[bytes] = []

    def feed(self, chunk: bytes) -> bytes:
        """Consume received bytes; return the serial data they carry."""
        if self._state == self._DATA and IAC not in chunk:
            return bytes(chunk)  # the common case: plain data
        out = bytearray()
        for byte in chunk:
            state = self._state
            if state == self._DATA:
                if byte == IAC:
                    self._state = self._IAC
                else:
                    out.append(byte)
            elif state == self._IAC:
                if byte == IAC:
                    out.append(IAC)
                    self._state = self._DATA
                elif byte in (DO, DONT, WILL, WONT):
                    self._verb = byte
                    self._state = self._OPTION
                elif byte == SB:
                    self._sub.clear()
                    self._state = self._SB
                else:  # NOP, GA and the other two-byte commands carry nothing for us
                    self._state = self._DATA
            elif state == self._OPTION:
                self._negotiate(self._verb, byte)
                self._state = self._DATA
            elif state == self._SB:
                if byte == IAC:
                    self._state = self._SB_IAC
                elif len(self._sub) < _MAX_SUBNEGOTIATION:
                    self._sub.append(byte)
            elif byte == SE:  # state == _SB_IAC
                self.subnegotiations.append(bytes(self._sub))
                del self.subnegotiations[:-16]
                self._state = self._DATA
            else:
                if len(self._sub) < _MAX_SUBNEGOTIATION:
                    self._sub.append(byte)
                self._state = self._SB
        return bytes(out)

    def _negotiate(self, verb: int, option: int) -> None:
        if verb == DO:
            answer = WILL if option in _WE_DO else WONT
        elif verb == WILL:
            answer = DO if option in _THEY_DO else DONT
        elif verb == DONT:
            answer = WONT
        else:  # WONT
            answer = DONT
        # Answer each (verb, option) once, so two peers cannot loop on negotiations.
        if (verb, option) not in self._answered:
            self._answered.add((verb, option))
            self.replies += bytes((IAC, answer, option))


def _settings(baudrate: int) -> bytes:
    def sub(command: int, value: bytes) -> bytes:
        return bytes((IAC, SB, COM_PORT_OPTION, command)) + escape(value) + bytes((IAC, SE))

    return b"".join(
        (
            bytes((IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA)),
            bytes((IAC, WILL, COM_PORT_OPTION)),
            sub(SET_BAUDRATE, baudrate.to_bytes(4, "big")),
            sub(SET_DATASIZE, b"\x08"),
            sub(SET_PARITY, b"\x01"),  # none
            sub(SET_STOPSIZE, b"\x01"),  # one stop bit
            sub(SET_CONTROL, b"\x01"),  # no flow control
        )
    )


class TcpStream:
    """A :class:`aiobroute.transport.ByteStream` over TCP (raw, or Telnet for RFC 2217)."""

    def __init__(
        self,
        name: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        telnet: bool = False,
    ) -> None:
        self._name = name
        self._reader = reader
        self._writer = writer
        self._codec = TelnetCodec() if telnet else None
        self._closed = False
        self._lost = False

    @property
    def name(self) -> str:
        """The URL that was opened."""
        return self._name

    @property
    def closed(self) -> bool:
        """True once closed or disconnected."""
        return self._closed or self._lost

    async def read(self) -> bytes:
        """Wait for serial data (Telnet commands are handled and dropped)."""
        while True:
            if self.closed:
                raise PortClosedError(f"{self._name}: connection closed")
            try:
                chunk = await self._reader.read(4096)
            except (OSError, asyncio.IncompleteReadError) as exc:
                self._lost = True
                raise PortClosedError(f"{self._name}: connection lost ({exc})") from exc
            if not chunk:
                self._lost = True
                raise PortClosedError(f"{self._name}: the server closed the connection")
            codec = self._codec
            if codec is None:
                return chunk
            data = codec.feed(chunk)
            if codec.replies:
                replies = bytes(codec.replies)
                codec.replies.clear()
                await self._send(replies)
            if data:
                return data

    async def _send(self, raw: bytes) -> None:
        try:
            self._writer.write(raw)
            await self._writer.drain()
        except (OSError, RuntimeError) as exc:
            self._lost = True
            raise PortClosedError(f"{self._name}: write failed ({exc})") from exc

    async def write(self, data: bytes) -> None:
        """Send serial data (0xFF bytes are escaped on Telnet)."""
        if self.closed:
            raise PortClosedError(f"{self._name}: connection closed")
        await self._send(escape(data) if self._codec is not None else data)

    async def close(self) -> None:
        """Close the connection; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            async with asyncio.timeout(2.0):
                await self._writer.wait_closed()

    def __repr__(self) -> str:
        kind = "Rfc2217Stream" if self._codec is not None else "TcpStream"
        return f"<{kind} {self._name!r} {'closed' if self.closed else 'open'}>"


#: The RFC 2217 flavour of :class:`TcpStream`.
Rfc2217Stream = TcpStream


async def _connect(url: str, *, telnet: bool) -> TcpStream:
    scheme = url.split("://", 1)[0]
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # "Invalid IPv6 URL", "Port out of range"
        host = port = None
    if not host or port is None:
        raise InvalidArgumentError(f"expected {scheme}://host:port, got {url!r}")
    try:
        async with asyncio.timeout(_CONNECT_TIMEOUT):
            reader, writer = await asyncio.open_connection(host, port)
    except UnicodeError as exc:  # a host name IDNA cannot encode (a label over 63 characters)
        raise InvalidArgumentError(f"{url!r}: invalid host name ({exc})") from None
    except (OSError, TimeoutError) as exc:
        raise TransportError(f"cannot open {url}: {exc}") from exc
    return TcpStream(url, reader, writer, telnet=telnet)


async def open_socket(url: str) -> TcpStream:
    """Connect to ``socket://host:port`` (ser2net in raw TCP mode)."""
    stream = await _connect(url, telnet=False)
    _LOGGER.debug("opened %s", url)
    return stream


async def open_rfc2217(url: str, *, baudrate: int = 115200) -> TcpStream:
    """Connect to ``rfc2217://host:port`` and configure the remote port (8N1, no flow)."""
    stream = await _connect(url, telnet=True)
    try:
        await stream._send(_settings(baudrate))
    except PortClosedError as exc:
        await stream.close()
        raise TransportError(f"cannot configure {url}: {exc}") from exc
    _LOGGER.debug("opened %s at %d baud", url, baudrate)
    return stream
