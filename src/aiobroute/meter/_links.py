"""The one place where the meter layer builds a link for a byte stream.

Everything else in :mod:`aiobroute.meter` sees only :class:`~aiobroute.link.MeterLink`;
dialect selection belongs here.
"""

from __future__ import annotations

import attrs

from aiobroute.errors import ClientClosedError, InvalidArgumentError
from aiobroute.link import DIALECT_SKSTACK, MeterLink, MeterPan
from aiobroute.skstack import ModuleFamily, PanDescriptor
from aiobroute.skstack._link import SkStackLink, descriptor_of, meter_pan_of
from aiobroute.skstack.client import SkStackClient, SkTimeouts
from aiobroute.transport import ByteStream

__all__ = ["LinkOptions", "as_descriptor", "as_meter_pan", "open_link", "skstack_client"]


@attrs.frozen
class LinkOptions:
    """What the user asked of the dongle: the module family and its command timeouts."""

    family: ModuleFamily | None = None
    sk_timeouts: SkTimeouts | None = None


def open_link(stream: ByteStream, options: LinkOptions, *, secrets: tuple[str, ...]) -> MeterLink:
    """A new link over an open stream (not opened yet: call ``open()``).

    ``secrets`` (the B-route ID and password) are masked in the link's logs from the
    first byte on, before :meth:`~aiobroute.link.MeterLink.connect` registers them.
    """
    link = SkStackLink(stream, family=options.family, timeouts=options.sk_timeouts)
    link.client.add_secrets(*secrets)
    return link


def skstack_client(link: MeterLink | None) -> SkStackClient:
    """The SKSTACK client under ``link`` (for diagnostics); refuses other dialects."""
    if link is None:
        raise ClientClosedError("meter is not connected")
    if not isinstance(link, SkStackLink):
        raise InvalidArgumentError(f"the module speaks {link.dialect!r}, not SKSTACK IP")
    return link.client


def as_meter_pan(pan: PanDescriptor | MeterPan | None) -> MeterPan | None:
    """A PAN given by the user (an SKSTACK descriptor or a MeterPan) as a MeterPan."""
    if pan is None or isinstance(pan, MeterPan):
        return pan
    return meter_pan_of(pan)


def as_descriptor(pan: MeterPan | None) -> PanDescriptor | None:
    """An SKSTACK PAN as the descriptor :attr:`SmartMeter.pan` has always returned."""
    if pan is None or pan.dialect != DIALECT_SKSTACK:
        return None
    return descriptor_of(pan)
