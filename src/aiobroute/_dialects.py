"""Which dialect a dongle speaks: model names, and starting the right link on a stream.

:class:`~aiobroute.SmartMeter` works with SKSTACK IP modules and ROHM J11 modules alike.
It picks the dialect, in this order:

1. forced by ``model=`` (a model name or ``"j11"`` / ``"skstack"``) or ``family=``;
2. remembered: the dialect of the last link (after an unplug) or of the cached PAN. The
   link of that dialect is opened directly (no probe); only when the module does not
   answer it that way is the port probed;
3. detected with :func:`~aiobroute.link.probe_dialect` (j11.md section 9), which is
   harmless to both kinds of module.

A failed attempt never leaves a module in a bad state: SKSTACK text is ignored by a J11
module, and the probe that follows starts with a line end, which clears whatever binary
request an SKSTACK module's line buffer took in.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiobroute._frozen import Frozen
from aiobroute._probe import DIALECT_J11, DIALECT_SKSTACK, ProbeTimings, probe_dialect
from aiobroute.errors import CommandError, CommandTimeoutError, InvalidArgumentError
from aiobroute.link import LinkListener, MeterLink
from aiobroute.skstack._dialect import ModuleFamily
from aiobroute.transport._base import ByteStream

if TYPE_CHECKING:
    from aiobroute.j11.client import J11Timeouts
    from aiobroute.skstack.client import SkTimeouts

__all__ = [
    "J11_MODELS",
    "SKSTACK_MODELS",
    "DialectChoice",
    "dialect_choice",
    "new_link",
    "start_link",
]

_LOGGER = logging.getLogger("aiobroute.link")

#: SKSTACK model names (and family shorthands) accepted by ``model=`` / ``--model``.
SKSTACK_MODELS: dict[str, ModuleFamily | None] = {
    "skstack": None,
    "bp35a1": ModuleFamily.BP35A1,
    "rl7023_ips": ModuleFamily.BP35A1,
    "a1": ModuleFamily.BP35A1,
    "bp35c0": ModuleFamily.BP35C2,
    "bp35c2": ModuleFamily.BP35C2,
    "rl7023_dss": ModuleFamily.BP35C2,
    "rs_wsuha_p": ModuleFamily.BP35C2,
    "c2": ModuleFamily.BP35C2,
}
#: J11 model names accepted by ``model=`` / ``--model`` (they all speak the same protocol).
J11_MODELS: tuple[str, ...] = (
    "j11",
    "bp35c1_j11",
    "bp35c1_j11_t01",
    "bp35c2_j11",
    "bp35c2_j11_t01",
    "rs_wsuha_j11",
    "bp35c0_j11",
)


class DialectChoice(Frozen):
    """What the user said about the dongle.

    Attributes:
        dialect: ``"skstack"`` or ``"j11"`` when forced, None to detect it.
        family: the SKSTACK module family when forced (SKSTACK only).
    """

    __slots__ = ("dialect", "family")
    dialect: str | None
    family: ModuleFamily | None

    def __init__(self, dialect: str | None = None, family: ModuleFamily | None = None) -> None:
        self._set("dialect", dialect)
        self._set("family", family)


#: Nothing forced: the dialect is detected.
_DETECT = DialectChoice()


def _key(model: str) -> str:
    return model.strip().lower().replace("-", "_").replace(" ", "_")


def dialect_choice(model: str | None = None, family: ModuleFamily | None = None) -> DialectChoice:
    """The dialect and family that ``model`` and ``family`` force (both None: detect).

    ``model`` is a model name in any case, ``-`` or ``_`` alike (``"RS-WSUHA-J11"``,
    ``"bp35c2_j11"``, ``"BP35A1"``...), or a dialect (``"j11"``, ``"skstack"``).

    Raises:
        InvalidArgumentError: an unknown model, or a J11 model with an SKSTACK family.
    """
    if model is None:
        return DialectChoice(DIALECT_SKSTACK if family is not None else None, family)
    if not isinstance(model, str):
        raise InvalidArgumentError("model must be a model name (str)")
    key = _key(model)
    if key in J11_MODELS:
        if family is not None:
            raise InvalidArgumentError(
                f"model {model!r} is a J11 module; family= applies to SKSTACK modules only"
            )
        return DialectChoice(DIALECT_J11, None)
    if key in SKSTACK_MODELS:
        named = SKSTACK_MODELS[key]
        if family is not None and named is not None and family is not named:
            raise InvalidArgumentError(f"model {model!r} is not of the family {family.name}")
        return DialectChoice(DIALECT_SKSTACK, family or named)
    known = ", ".join([*SKSTACK_MODELS, *J11_MODELS])
    raise InvalidArgumentError(f"unknown module model {model!r}; known: {known}")


def new_link(
    stream: ByteStream,
    dialect: str,
    *,
    family: ModuleFamily | None = None,
    sk_timeouts: SkTimeouts | None = None,
    j11_timeouts: J11Timeouts | None = None,
    secrets: tuple[str, ...] = (),
) -> MeterLink:
    """A new (not yet opened) link of ``dialect`` over ``stream``.

    ``secrets`` are masked in the link's logs from the first byte on.
    """
    if dialect == DIALECT_J11:
        from aiobroute.j11.link import J11Link

        j11 = J11Link(stream, timeouts=j11_timeouts)
        # The J11 module is given the ID in upper case: mask that spelling too.
        j11.client.redactor.add(*secrets, *(secret.upper() for secret in secrets))
        return j11
    from aiobroute.skstack._link import SkStackLink

    link = SkStackLink(stream, family=family, timeouts=sk_timeouts)
    if secrets:
        link.client.add_secrets(*secrets)
    return link


class _Lease:
    """A stream lent to a link that may turn out to be of the wrong dialect.

    Closing it closes the stream only once :attr:`owned` is set (the link was right);
    before that, the stream stays open for the probe that follows a failed attempt.
    Reads and writes go straight to the stream's own methods.
    """

    def __init__(self, stream: ByteStream) -> None:
        self._stream = stream
        self.owned = False
        self.read = stream.read
        self.write = stream.write

    @property
    def name(self) -> str:
        return self._stream.name

    @property
    def closed(self) -> bool:
        return self._stream.closed

    async def close(self) -> None:
        if self.owned:
            await self._stream.close()


async def _opened(link: MeterLink, listener: LinkListener | None, *, reset: bool) -> MeterLink:
    link.set_listener(listener)
    try:
        await link.open(reset=reset)
    except BaseException:
        await link.close()
        raise
    return link


async def start_link(
    stream: ByteStream,
    *,
    choice: DialectChoice = _DETECT,
    remembered: str | None = None,
    listener: LinkListener | None = None,
    reset: bool = False,
    sk_timeouts: SkTimeouts | None = None,
    j11_timeouts: J11Timeouts | None = None,
    probe: ProbeTimings | None = None,
    secrets: tuple[str, ...] = (),
) -> MeterLink:
    """Open the link of the right dialect on ``stream`` (see the module doc for the order).

    Args:
        stream: the freshly opened port.
        choice: what the user forced (:func:`dialect_choice`).
        remembered: the dialect that worked last time (None: probe).
        listener: registered on the link before it is opened.
        reset: reset the module when opening the link.
        sk_timeouts, j11_timeouts: the dialects' timeouts.
        probe: the probe's timings.
        secrets: strings masked in the link's logs (the B-route ID and password).

    Returns:
        the opened link; closing it closes ``stream``. On failure ``stream`` is closed.

    Raises:
        CommandTimeoutError: the module answered neither dialect.
        InvalidArgumentError: ``remembered`` is not a dialect.
        TransportError, CommandError: as :meth:`~aiobroute.link.MeterLink.open`.
    """

    def make(on: ByteStream, dialect: str) -> MeterLink:
        return new_link(
            on,
            dialect,
            family=choice.family,
            sk_timeouts=sk_timeouts,
            j11_timeouts=j11_timeouts,
            secrets=secrets,
        )

    if choice.dialect is not None:
        return await _opened(make(stream, choice.dialect), listener, reset=reset)
    excluding: str | None = None  # a dialect that just timed out: not probed again
    if remembered is not None:
        if remembered not in (DIALECT_SKSTACK, DIALECT_J11):
            await stream.close()
            raise InvalidArgumentError(f"unknown dialect {remembered!r}")
        lease = _Lease(stream)
        link = make(lease, remembered)
        link.set_listener(listener)
        try:
            await link.open(reset=reset)
        except (CommandTimeoutError, CommandError) as exc:
            _LOGGER.warning(
                "%s: the module does not answer as %s (%s); probing its dialect",
                stream.name,
                remembered,
                exc,
            )
            await link.close()  # the stream stays open: it is only leased
            if isinstance(exc, CommandTimeoutError):
                excluding = remembered
        except BaseException:
            lease.owned = True
            await link.close()
            raise
        else:
            lease.owned = True
            return link
    try:
        dialect = await probe_dialect(stream, timings=probe, excluding=excluding)
    except BaseException:
        await stream.close()
        raise
    return await _opened(make(stream, dialect), listener, reset=reset)
