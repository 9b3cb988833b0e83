"""Module-side formatting of SKSTACK IP output: typed messages to the bytes a module prints.

This is the inverse of the line parser, written from the module's point of view, and is
what the simulator (:mod:`aiobroute.testing`) prints. It is pure: no I/O, no asyncio.

Both command dialects are covered by the messages themselves: a message whose ``side`` is
None prints in the BP35A1 layout (no SIDE field), one with a ``side`` prints in the BP35C2
layout. :func:`encode` turns any :class:`~aiobroute.skstack.Message` into its bytes,
including the trailing CRLF (or the lone CR of ``OK`` answers to BP35A1 product commands).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiobroute.skstack._events import (
    AddressLine,
    AddressTable,
    AppVersion,
    Echo,
    EdScan,
    Event,
    Fail,
    Info,
    Message,
    NeighborTable,
    Ok,
    PanDescriptor,
    Pong,
    PortTable,
    RegisterValue,
    RxUdp,
    Unrecognized,
    Version,
)

if TYPE_CHECKING:
    import ipaddress

__all__ = [
    "CRLF",
    "MULTICAST_ALL_NODES",
    "canonical_ipv6",
    "encode",
    "link_local_from_mac",
    "mac_from_link_local",
]

#: The line terminator of everything a module prints (except product-command answers).
CRLF = b"\r\n"

#: ``FF02::1`` in the module's 39-character notation (the meter's startup INF goes there).
MULTICAST_ALL_NODES = "FF02:0000:0000:0000:0000:0000:0000:0001"


def canonical_ipv6(text: str) -> str:
    """Return ``text`` as the module prints IPv6 addresses: 8 groups of 4 upper-case digits.

    Raises:
        ValueError: ``text`` is not an IPv6 address.
    """
    import ipaddress  # lazy: the module's own form (the usual case) needs no parsing

    address = ipaddress.IPv6Address(text)
    return ":".join(f"{group:04X}" for group in _groups(address))


def _groups(address: ipaddress.IPv6Address) -> tuple[int, ...]:
    raw = address.packed
    return tuple(int.from_bytes(raw[i : i + 2], "big") for i in range(0, 16, 2))


def link_local_from_mac(mac: str) -> str:
    """The link-local address SKLL64 derives from a 64-bit MAC (the U/L bit flipped).

    ``001D129012345678`` gives ``FE80:0000:0000:0000:021D:1290:1234:5678``.

    Raises:
        ValueError: ``mac`` is not 16 hex digits.
    """
    if len(mac) != 16:
        raise ValueError("a 64-bit MAC address has 16 hex digits")
    value = int(mac, 16) ^ (0x02 << 56)
    iid = f"{value:016X}"
    return "FE80:0000:0000:0000:" + ":".join(iid[i : i + 4] for i in range(0, 16, 4))


def mac_from_link_local(address: str) -> str:
    """The inverse of :func:`link_local_from_mac` (interface identifier, U/L bit flipped back).

    Raises:
        ValueError: ``address`` is not an IPv6 address.
    """
    import ipaddress  # lazy, as in canonical_ipv6

    raw = ipaddress.IPv6Address(address).packed[8:]
    value = int.from_bytes(raw, "big") ^ (0x02 << 56)
    return f"{value:016X}"


def encode(message: Message) -> bytes:
    """Serialise one message the way a module prints it, terminator included.

    Block messages (``EPANDESC``, ``EEDSCAN``, ``EADDR``, ``ENEIGHBOR``, ``EPORT``) print
    their header and every line of the block; the status line that may follow is a separate
    :class:`~aiobroute.skstack.Ok`.

    Raises:
        TypeError: ``message`` is of a kind no module prints.
    """
    if isinstance(message, Ok):
        text = "OK" if message.value is None else f"OK {message.value}"
        return text.encode("ascii") + (b"\r" if message.cr_only else CRLF)
    if isinstance(message, Fail):
        text = f"FAIL ER{int(message.code):02d}"
        if message.text is not None:
            text += f" {message.text}"
        return _line(text)
    if isinstance(message, Echo):
        return _line(message.line)
    if isinstance(message, Event):
        return _line(_event_text(message))
    if isinstance(message, RxUdp):
        return _rx_udp(message)
    if isinstance(message, PanDescriptor):
        return _pan_descriptor(message)
    return _simple(message)


def _simple(message: Message) -> bytes:
    if isinstance(message, Version):
        return _line(f"EVER {message.version}")
    if isinstance(message, AppVersion):
        return _line(f"EAPPVER {message.version}")
    if isinstance(message, Info):
        return _line(
            f"EINFO {message.ipaddr} {message.addr64} {message.channel:02X} "
            f"{message.pan_id:04X} {message.field5}"
        )
    if isinstance(message, RegisterValue):
        return _line(f"ESREG {message.value}")
    if isinstance(message, AddressLine):
        return _line(message.ipaddr)
    if isinstance(message, Pong):
        return _line(f"EPONG {message.sender}")
    if isinstance(message, EdScan):
        pairs = " ".join(f"{channel:02X} {lqi:02X}" for channel, lqi in message.levels)
        if message.side is not None:
            pairs = f"{message.side} {pairs}"
        return _line("EEDSCAN") + _line(pairs)
    if isinstance(message, AddressTable):
        return _line("EADDR") + b"".join(_line(address) for address in message.addresses)
    if isinstance(message, NeighborTable):
        return _line("ENEIGHBOR") + b"".join(_line(" ".join(entry)) for entry in message.entries)
    if isinstance(message, PortTable):
        out = _line("EPORT") + b"".join(_line(str(port)) for port in message.udp_ports)
        if message.extra_ports:
            out += CRLF + b"".join(_line(str(port)) for port in message.extra_ports)
        return out
    if isinstance(message, Unrecognized):
        return message.raw
    raise TypeError(f"no module prints a {type(message).__name__}")


def _line(text: str) -> bytes:
    return text.encode("ascii") + CRLF


def _event_text(event: Event) -> str:
    text = f"EVENT {event.num:02X}"
    if event.sender is not None:
        text += f" {event.sender}"
    if event.side is not None:
        text += f" {event.side:X}"
    if event.param is not None:
        text += f" {event.param:02X}"
    return text


def _pan_descriptor(pan: PanDescriptor) -> bytes:
    lines = [
        "EPANDESC",
        f"  Channel:{pan.channel:02X}",
        f"  Channel Page:{pan.channel_page:02X}",
        f"  Pan ID:{pan.pan_id:04X}",
        f"  Addr:{pan.addr}",
        f"  LQI:{pan.lqi:02X}",
    ]
    if pan.side is not None:
        lines.append(f"  Side:{pan.side:X}")
    if pan.pair_id is not None:
        lines.append(f"  PairID:{pan.pair_id}")
    return b"".join(_line(line) for line in lines)


def _rx_udp(rx: RxUdp) -> bytes:
    fields = [
        "ERXUDP",
        rx.sender,
        rx.dest,
        f"{rx.rport:04X}",
        f"{rx.lport:04X}",
        rx.sender_lla,
    ]
    if rx.rssi is not None:
        fields.append(f"{rx.rssi:02X}")
    if rx.secured is not None:
        fields.append("1" if rx.secured else "0")
    if rx.side is not None:
        fields.append(f"{rx.side:X}")
    fields.append(f"{len(rx.data):04X}")
    head = " ".join(fields).encode("ascii") + b" "
    body = rx.data.hex().upper().encode("ascii") if rx.hex_payload else rx.data
    return head + body + CRLF
