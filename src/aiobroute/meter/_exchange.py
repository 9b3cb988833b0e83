"""The ECHONET Lite exchange: TIDs, waiters, strict answer matching, retries and pacing.

It sends a request through its :class:`Carrier` (the supervisor, owner of the link),
waits for the answer that the link's reader hands to :meth:`Exchange.datagram_received`
(synchronously: from the bytes to the resolved waiter without a task hop), and retries
with fresh TIDs. It never changes the connection state: it raises, and reports what it
learnt about the link through the carrier's one reporting path (:meth:`Carrier.report`).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import attrs

from aiobroute._log import RateLimitedLog
from aiobroute.echonet import CONTROLLER, SMART_METER, Eoj, Esv, Frame, Property
from aiobroute.errors import (
    ClientClosedError,
    CommandError,
    CommandTimeoutError,
    FrameDecodeError,
    PortClosedError,
    ReconnectingError,
    ResponseTimeoutError,
    SendError,
    SessionError,
    TransmitLimitError,
)
from aiobroute.link import ECHONET_PORT, MeterDatagram

__all__ = ["Carrier", "Exchange", "Trouble", "hex_epcs"]

_LOGGER = logging.getLogger("aiobroute.meter")

#: The answers each request service accepts.
ANSWERS: dict[Esv, tuple[Esv, ...]] = {
    Esv.GET: (Esv.GET_RES, Esv.GET_SNA),
    Esv.SETC: (Esv.SET_RES, Esv.SETC_SNA),
    Esv.SETI: (Esv.SETI_SNA,),
    Esv.SETGET: (Esv.SETGET_RES, Esv.SETGET_SNA),
}


class Trouble(enum.Enum):
    """What the exchange (or the link) reports to the supervisor."""

    #: Requests went unanswered in a row: probe the link.
    SILENCE = "silence"
    #: The port vanished.
    PORT_LOST = "port-lost"
    #: The module refused to send for lack of a session: rejoin.
    NO_SESSION = "no-session"
    #: The module refused to send because of the ARIB limit.
    TX_LIMITED = "tx-limited"
    #: The module reports that the PANA session expired: wait for re-authentication.
    EXPIRED = "expired"
    #: The PANA session ended: rejoin.
    SESSION_ENDED = "session-ended"


class Carrier(Protocol):
    """What the exchange needs from the owner of the link."""

    @property
    def meter_address(self) -> str | None:
        """The meter's IPv6 address while a link is joined, else None."""
        ...

    async def send(self, payload: bytes) -> None:
        """Send one datagram to the meter; raises when it was not transmitted."""
        ...

    async def wait_sendable(self, deadline: float) -> None:
        """Wait (until the loop time ``deadline``) until requests may flow, or raise."""
        ...

    def report(self, trouble: Trouble) -> None:
        """Tell the supervisor what happened to the link."""
        ...


@attrs.define
class _Waiter:
    tid: int
    deoj: Eoj
    esv: Esv
    epcs: tuple[int, ...]
    future: asyncio.Future[Frame]


def _drop(_frame: Frame) -> None:
    """No notification consumer yet."""


def hex_epcs(epcs: Iterable[int]) -> str:
    """EPCs for logs and messages: ``[E7 E8]``."""
    return "[" + " ".join(f"{e:02X}" for e in epcs) + "]"


class Exchange:
    """Requests and their answers over whatever link the carrier holds.

    Args:
        carrier: the owner of the link (sending, the request gate, trouble reports).

    :attr:`on_notification` is called with each INF/INFC frame, synchronously.
        attempt: seconds to wait for the answer to one transmission.
        retries: how many times a request may be sent again.
        min_interval: minimum seconds between the starts of two requests.
        silence_limit: unanswered requests in a row that make a :attr:`Trouble.SILENCE`.
    """

    def __init__(
        self,
        carrier: Carrier,
        *,
        attempt: float,
        retries: int,
        min_interval: float,
        silence_limit: int,
    ) -> None:
        self._carrier = carrier
        self.on_notification: Callable[[Frame], None] = _drop
        self.attempt = attempt
        self.retries = retries
        self.min_interval = min_interval
        self.silence_limit = silence_limit
        self.wait_for_reconnect = False
        self.closing = False
        self.silent = 0
        self.frames_sent = 0
        self.frames_received = 0
        self._waiters: dict[int, _Waiter] = {}
        self._tids = itertools.count(1)
        self._lock = asyncio.Lock()
        self._last_request = 0.0
        self._peer_logs: dict[str, RateLimitedLog] = {}

    # ------------------------------------------------------------------ receiving

    def datagram_received(self, datagram: MeterDatagram) -> None:
        """A datagram from the link's reader: resolve its waiter or pass a notification on."""
        address = self._carrier.meter_address
        if datagram.source_port != ECHONET_PORT or (
            address is not None and datagram.source != address
        ):
            _LOGGER.debug(
                "ignoring ECHONET datagram from %s port %d", datagram.source, datagram.source_port
            )
            return
        if datagram.secured is False:
            self.warn_peer("ignoring an unsecured ECHONET datagram from %s", datagram.source)
            return
        try:
            frame = Frame.decode(datagram.payload)
        except FrameDecodeError as exc:
            self.warn_peer("ignoring a malformed ECHONET frame: %s", exc)
            return
        self.frames_received += 1
        if frame.esv in (Esv.INF, Esv.INFC):
            self.on_notification(frame)
            return
        waiter = self._waiters.get(frame.tid)
        if waiter is None or waiter.future.done():
            _LOGGER.debug("dropping a late or duplicate answer (TID %04X)", frame.tid)
            return
        if (
            frame.esv not in ANSWERS.get(waiter.esv, ())
            or frame.seoj != waiter.deoj
            or frame.deoj != CONTROLLER
            or sorted(frame.epcs) != sorted(waiter.epcs)
        ):
            self.warn_peer("dropping an answer that does not match its request (%04X)", frame.tid)
            return
        waiter.future.set_result(frame)

    def warn_peer(self, message: str, *args: object) -> None:
        """Warn about bad input from the radio: at most once a minute per kind of message."""
        limited = self._peer_logs.get(message)
        if limited is None:
            limited = self._peer_logs[message] = RateLimitedLog(_LOGGER)
        limited.log(message, *args)

    def fail_waiters(self, error: BaseException) -> None:
        """Fail every request waiting for an answer (the link is going away)."""
        for waiter in list(self._waiters.values()):
            if not waiter.future.done():
                waiter.future.set_exception(error)

    # ------------------------------------------------------------------ sending

    def next_tid(self) -> int:
        """A fresh transaction ID (never 0)."""
        tid = next(self._tids) & 0xFFFF
        return tid or (next(self._tids) & 0xFFFF)

    async def send_frame(self, frame: Frame) -> None:
        """Send one frame without waiting for an answer (INF_REQ, INFC_Res)."""
        await self._carrier.send(frame.encode())
        self.frames_sent += 1

    async def _pace(self) -> None:
        if not self.min_interval:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_request + self.min_interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_request = loop.time()

    async def transact(
        self,
        esv: Esv,
        props: Sequence[Property],
        *,
        budget: float,
        deoj: Eoj = SMART_METER,
        stage: str,
        gate: bool = True,
        count: bool = True,
    ) -> Frame:
        """Send a request and wait for its answer, retrying with fresh TIDs.

        ``gate``: wait at the supervisor's gate before each attempt (internal requests,
        the probe and the connection reads, do not). ``count``: a request that goes
        unanswered counts toward a :attr:`Trouble.SILENCE` report.

        Raises:
            ResponseTimeoutError: no answer within ``budget``.
            CommandError: every attempt was refused by the module (a transient error),
                or one was refused for good.
            ReconnectingError: the link is being re-established.
            TransmitLimitError: the ARIB limit is on (``gate=False`` only).
            ClientClosedError: the meter is closing.
        """
        if self.closing:
            raise ClientClosedError("meter is closed")
        epcs = tuple(p.epc for p in props)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + budget
        sent = False
        # The module itself failed (no status line, a transient FAIL, a failed
        # transmission): the request failed as surely as when the meter stays silent; it
        # counts the same toward the probe.
        module_failed = False
        refused: CommandError | None = None
        async with self._lock:
            if not gate:
                # Internal requests get their whole budget for the radio, not for waiting
                # behind a caller's retries.
                deadline = loop.time() + budget
            for attempt in range(self.retries + 1):
                if gate:
                    await self._carrier.wait_sendable(deadline)
                if deadline - loop.time() <= 0:
                    break
                await self._pace()
                tid = self.next_tid()
                waiter = _Waiter(tid, deoj, esv, epcs, loop.create_future())
                self._waiters[tid] = waiter
                try:
                    # One timer: the module's own timeouts may exceed what is left of the
                    # budget; then the answer gets one attempt's time, within the budget.
                    async with asyncio.timeout_at(deadline) as scope:
                        await self.send_frame(Frame(tid, CONTROLLER, deoj, esv, tuple(props)))
                        sent = True
                        scope.reschedule(min(loop.time() + self.attempt, deadline))
                        answer = await waiter.future
                    self.silent = 0
                    return answer
                except CommandTimeoutError as exc:
                    module_failed = True
                    _LOGGER.warning("the module did not take %s: %s", esv.name, exc)
                except TimeoutError:
                    if not sent:
                        # The budget ran out while the module still had the command (its
                        # own timeout is longer): the module failed to send it in time.
                        module_failed = True
                        _LOGGER.warning(
                            "the module did not take %s within the request's budget", esv.name
                        )
                    else:
                        _LOGGER.info(
                            "no answer to %s %s (attempt %d)",
                            esv.name,
                            hex_epcs(epcs),
                            attempt + 1,
                        )
                except CommandError as exc:
                    if not exc.transient:
                        raise
                    # ER09: the line was damaged on the UART; the module sent nothing.
                    module_failed = True
                    refused = exc
                    _LOGGER.info("sending %s failed (%s); retrying", esv.name, exc)
                except ReconnectingError:
                    if not (gate and self.wait_for_reconnect):
                        raise
                except PortClosedError as exc:
                    self._carrier.report(Trouble.PORT_LOST)
                    raise ReconnectingError(f"the port was lost: {exc}") from exc
                except TransmitLimitError as exc:
                    # The limit is on: wait at the gate for its release.
                    _LOGGER.info("sending %s refused: %s", esv.name, exc)
                    self._carrier.report(Trouble.TX_LIMITED)
                    if not gate:
                        raise
                except SessionError as exc:
                    # No session (module reset, session ended): the supervisor closes the
                    # gate at once, so a waiting caller does not burn its attempts.
                    self._carrier.report(Trouble.NO_SESSION)
                    if not (gate and self.wait_for_reconnect):
                        raise ReconnectingError(f"no session with the meter: {exc}") from exc
                except SendError as exc:
                    module_failed = True  # the module could not transmit
                    _LOGGER.info("sending %s failed (%s); retrying", esv.name, exc)
                    await asyncio.sleep(min(1.0, max(deadline - loop.time(), 0.0)))
                finally:
                    self._waiters.pop(tid, None)
                    if not waiter.future.done():
                        waiter.future.cancel()
                    elif not waiter.future.cancelled():
                        # fail_waiters() may fail the future while the frame is still
                        # being sent; when the send then fails too, nobody awaits it:
                        # retrieve its exception so asyncio does not log it at GC.
                        waiter.future.exception()
        if count and (sent or module_failed):
            self.silent += 1
            if self.silent >= self.silence_limit:
                self._carrier.report(Trouble.SILENCE)
        if refused is not None and not sent:
            raise refused  # every attempt was refused by the module: say so
        who = (
            "the module did not send" if module_failed and not sent else "the meter did not answer"
        )
        raise ResponseTimeoutError(
            f"{who} {esv.name} {hex_epcs(epcs)} ({stage}) within {budget:.0f} s", epcs=epcs
        )
