"""The one place where the meter layer builds a link for a byte stream.

Everything else in :mod:`aiobroute.meter` sees only :class:`~aiobroute.link.MeterLink`;
dialect selection belongs here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiobroute._dialects import DialectChoice, start_link
from aiobroute._frozen import Frozen
from aiobroute.errors import ClientClosedError, InvalidArgumentError
from aiobroute.link import DIALECT_SKSTACK, LinkListener, MeterLink, MeterPan, ProbeTimings
from aiobroute.transport import ByteStream

if TYPE_CHECKING:
    from aiobroute.j11.client import J11Timeouts
    from aiobroute.skstack import PanDescriptor
    from aiobroute.skstack.client import SkStackClient, SkTimeouts

__all__ = ["LinkOptions", "as_descriptor", "as_meter_pan", "open_link", "skstack_client"]


class LinkOptions(Frozen):
    """What the user asked of the dongle: its dialect (and family), and the timeouts.

    Attributes:
        choice: the dialect (and SKSTACK family) ``model=`` / ``family=`` forced; a
            dialect of None is detected.
        sk_timeouts: the SKSTACK command timeouts.
        j11_timeouts: the J11 command timeouts.
        probe: the timings of the dialect probe.
    """

    __slots__ = ("choice", "j11_timeouts", "probe", "sk_timeouts")
    choice: DialectChoice
    sk_timeouts: SkTimeouts | None
    j11_timeouts: J11Timeouts | None
    probe: ProbeTimings | None

    def __init__(
        self,
        choice: DialectChoice | None = None,
        sk_timeouts: SkTimeouts | None = None,
        j11_timeouts: J11Timeouts | None = None,
        probe: ProbeTimings | None = None,
    ) -> None:
        self._set("choice", DialectChoice() if choice is None else choice)
        self._set("sk_timeouts", sk_timeouts)
        self._set("j11_timeouts", j11_timeouts)
        self._set("probe", probe)


async def open_link(
    stream: ByteStream,
    options: LinkOptions,
    *,
    secrets: tuple[str, ...],
    remembered: str | None = None,
    listener: LinkListener | None = None,
    reset: bool = False,
) -> MeterLink:
    """The opened link of the right dialect over a freshly opened stream.

    The dialect is the forced one, else ``remembered`` (the last link's, or the cached
    PAN's) when the module answers that way, else the one the probe finds (see
    :mod:`aiobroute._dialects`). ``secrets`` (the B-route ID and password) are masked in
    the link's logs from the first byte on; ``listener`` is registered before the link
    is opened. On failure the stream is closed.
    """
    return await start_link(
        stream,
        choice=options.choice,
        remembered=remembered,
        listener=listener,
        reset=reset,
        sk_timeouts=options.sk_timeouts,
        j11_timeouts=options.j11_timeouts,
        probe=options.probe,
        secrets=secrets,
    )


def skstack_client(link: MeterLink | None) -> SkStackClient:
    """The SKSTACK client under ``link`` (for diagnostics); refuses other dialects."""
    if link is None:
        raise ClientClosedError("meter is not connected")
    from aiobroute.skstack._link import SkStackLink  # loaded with the first SKSTACK link

    if not isinstance(link, SkStackLink):
        raise InvalidArgumentError(f"the module speaks {link.dialect!r}, not SKSTACK IP")
    return link.client


def as_meter_pan(pan: PanDescriptor | MeterPan | None) -> MeterPan | None:
    """A PAN given by the user (an SKSTACK descriptor or a MeterPan) as a MeterPan."""
    if pan is None or isinstance(pan, MeterPan):
        return pan
    from aiobroute.skstack._link import meter_pan_of  # an SKSTACK descriptor was given

    return meter_pan_of(pan)


def as_descriptor(pan: MeterPan | None) -> PanDescriptor | None:
    """An SKSTACK PAN as the descriptor :attr:`SmartMeter.pan` has always returned."""
    if pan is None or pan.dialect != DIALECT_SKSTACK:
        return None
    from aiobroute.skstack._link import descriptor_of  # loaded by the SKSTACK link

    return descriptor_of(pan)
