"""The supervisor: owner of the link and of the connection state; keeps the session alive.

It builds the link (``_links.open_link``), joins the meter, listens to the link's session
events, and receives every trouble through one path (:meth:`Supervisor.report`, with a
:class:`~aiobroute.meter._exchange.Trouble`). One task handles the troubles in order:
it waits out a re-authentication, rejoins after the session ends, probes a silent link,
and reopens a vanished port, following the reconnect policy. Every state change is a
:class:`~aiobroute.meter._state.Trigger` of its :class:`~aiobroute.meter._state.StateMachine`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiobroute._log import RateLimitedLog
from aiobroute._tasks import cancel_and_wait
from aiobroute.echonet import Esv, Property
from aiobroute.errors import (
    AiobrouteError,
    ClientClosedError,
    CommandTimeoutError,
    ReconnectingError,
    ResponseTimeoutError,
    SendError,
    TransmitLimitError,
    TransportError,
)
from aiobroute.link import (
    LinkEvent,
    LinkLost,
    MeterDatagram,
    MeterLink,
    ReauthenticationFailed,
    SessionEnded,
    SessionExpired,
    SessionReauthenticated,
    TransmitLimitReleased,
    TransmitLimitStarted,
)
from aiobroute.meter._connector import Connector
from aiobroute.meter._exchange import Exchange, Trouble
from aiobroute.meter._state import StateMachine, Trigger
from aiobroute.supervisor import ConnectionState, ReconnectPolicy, WatchdogSettings

if TYPE_CHECKING:
    import random

__all__ = ["GiveUpError", "Supervisor"]

_LOGGER = logging.getLogger("aiobroute.meter")
S = ConnectionState

#: Troubles a completed recovery makes moot (besides the one it handled).
_MOOT = frozenset({Trouble.SILENCE})


class GiveUpError(Exception):
    """The reconnect policy ran out of attempts."""


class Supervisor:
    """Owns the link and the state; the exchange's :class:`~aiobroute.meter._exchange.Carrier`.

    Args:
        connector: builds and joins links.
        policy: the reconnect policy.
        watchdog: when to probe a silent link.
        give_up: closes the meter when the policy is exhausted.
    """

    def __init__(
        self,
        connector: Connector,
        *,
        policy: ReconnectPolicy,
        watchdog: WatchdogSettings,
        give_up: Callable[[], Awaitable[None]],
    ) -> None:
        self.connector = connector
        self.policy = policy
        self.watchdog = watchdog
        self.machine = StateMachine()
        self.exchange: Exchange | None = None
        self.wait_for_reconnect = False
        self.reconnects = 0
        self.closing = False
        self.started = False
        self.on_recovered: Callable[[], None] = lambda: None
        self._give_up = give_up
        self._rng: random.Random | None = None  # created at the first reconnection
        self._troubles: asyncio.Queue[Trouble] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._push_watch: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._recovering = False
        self._reauth: asyncio.Future[bool] | None = None
        self._pana_outcome: bool | None = None
        self._last_push: float | None = None
        self._unusable_log = RateLimitedLog(_LOGGER)

    # ------------------------------------------------------------------ the carrier

    @property
    def state(self) -> ConnectionState:
        """The connection state."""
        return self.machine.state

    @property
    def meter_address(self) -> str | None:
        """The meter's IPv6 address while joined."""
        return self.connector.meter_address

    async def send(self, payload: bytes) -> None:
        """Send one datagram to the meter over the current link.

        Raises:
            ReconnectingError: no joined link right now.
            SendError: the module did not transmit it (a verdict other than sent).
        """
        link = self.connector.link
        if link is None or self.connector.meter_address is None:
            raise ReconnectingError("the connection to the meter is being re-established")
        verdict = await link.send(payload)
        if not verdict.transmitted:
            raise SendError(f"the module could not transmit the frame ({verdict.value})")

    async def wait_sendable(self, deadline: float) -> None:
        """Wait until requests may flow; paused states wait, reconnecting fails fast."""
        if self.closing:
            raise ClientClosedError("meter is closed")
        machine = self.machine
        if machine.ready.is_set():
            return
        state = machine.state
        if state is S.CLOSED:
            raise ClientClosedError(
                "meter is closed: connect first (`async with SmartMeter(...)` or "
                "`await meter.connect()`), or it was closed"
            )
        pausing = state in (S.REAUTHENTICATING, S.RATE_LIMITED)
        if not pausing and not self.wait_for_reconnect:
            raise ReconnectingError(
                f"the connection to the meter is being re-established ({state.value})"
            )
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            async with asyncio.timeout(max(remaining, 0.0)):
                await machine.ready.wait()
        except TimeoutError:
            raise ResponseTimeoutError(
                f"the meter stayed unavailable ({machine.state.value}) for the request's budget"
            ) from None
        if self.closing:
            raise ClientClosedError("meter is closed")

    def report(self, trouble: Trouble) -> None:
        """The one path by which every trouble reaches the supervisor."""
        if trouble is Trouble.TX_LIMITED:
            self.machine.fire(Trigger.LIMIT_STARTED)
            return
        if trouble is Trouble.NO_SESSION:
            self.machine.fire(Trigger.SESSION_REFUSED)
        elif trouble is Trouble.EXPIRED:
            self.machine.fire(Trigger.EXPIRED)
        elif trouble is Trouble.PORT_LOST:
            self._fail_waiters(None)
        if self.closing or not self.started:
            return
        self._troubles.put_nowait(trouble)

    def _fail_waiters(self, error: BaseException | None) -> None:
        if self.exchange is not None:
            self.exchange.fail_waiters(
                error or ReconnectingError("the connection to the meter is being re-established")
            )

    # ------------------------------------------------------------------ link events

    def datagram_received(self, datagram: MeterDatagram) -> None:
        """A datagram from the link's reader: straight to the exchange."""
        exchange = self.exchange
        if exchange is not None:
            exchange.datagram_received(datagram)

    def session_event(self, event: LinkEvent) -> None:
        """A session event from the link (synchronously, from its reader)."""
        if isinstance(event, LinkLost):
            _LOGGER.warning("lost the port: %s", event.reason)
            self.report(Trouble.PORT_LOST)
            return
        if isinstance(event, TransmitLimitStarted):
            self.machine.fire(Trigger.LIMIT_STARTED)
            if self.started and not self.closing:
                self.spawn(self._check_tx_limit_later())
            return
        if isinstance(event, TransmitLimitReleased):
            self.machine.fire(Trigger.LIMIT_RELEASED)
            return
        reauth = self._reauth
        if isinstance(event, SessionReauthenticated):
            self._pana_outcome = True
            if reauth is not None and not reauth.done():
                reauth.set_result(True)
            return
        gone = isinstance(event, (ReauthenticationFailed, SessionEnded))
        if gone and reauth is not None and not reauth.done():
            reauth.set_result(False)  # the session is gone: rejoin without waiting
            return
        if self._recovering or self.closing or not self.started:
            return  # our own join or termination
        if isinstance(event, SessionExpired):
            # Hold requests at once; the recovery waits for the module's re-authentication.
            self._pana_outcome = None
            self.report(Trouble.EXPIRED)
        elif gone:
            _LOGGER.warning("the PANA session ended (%s)", event.source or type(event).__name__)
            self._pana_outcome = False
            self.report(Trouble.SESSION_ENDED)

    # ------------------------------------------------------------------ lifecycle

    async def establish(self, *, first: bool) -> None:
        """Build a new link (the old one torn down), open it and join the meter."""
        await self.teardown(terminate=False)
        self.machine.fire(Trigger.OPEN)
        await self.connector.establish(first=first, on_step=self.machine.fire)

    def start(self) -> None:
        """The connection is made: READY, and the supervision tasks run."""
        self.started = True
        self.machine.fire(Trigger.USABLE)
        self._task = asyncio.create_task(self._supervise(), name="aiobroute-supervisor")
        if self.watchdog.push_grace is not None:
            self._push_watch = asyncio.create_task(self._watch_pushes(), name="aiobroute-push")

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run a short background job, cancelled when the meter closes."""
        task: asyncio.Task[None] = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def push_seen(self) -> None:
        """The meter's periodic 0xEA/0xEB push arrived."""
        self._last_push = asyncio.get_running_loop().time()

    async def stop(self, *, terminate: bool) -> None:
        """Stop every task and tear the link down (the state stays for the caller)."""
        self.closing = True
        self.machine.ready.set()  # wake requests at the gate: they see the meter closing
        tasks = [self._task, self._push_watch, *self._background]
        self._task = self._push_watch = None
        await cancel_and_wait(tasks)
        self._background.clear()
        await self.teardown(terminate=terminate)

    async def teardown(self, *, terminate: bool) -> None:
        """Fail the waiting requests and close the current link."""
        self._fail_waiters(ClientClosedError("meter closed") if self.closing else None)
        await self.connector.teardown(terminate=terminate)

    # ------------------------------------------------------------------ recovery

    async def _supervise(self) -> None:
        while True:
            trouble = await self._troubles.get()
            if self.closing:
                return
            self._recovering = True
            try:
                try:
                    await self._recover(trouble)
                except GiveUpError:
                    raise
                except Exception:
                    _LOGGER.exception("recovery from %s failed unexpectedly; rejoining", trouble)
                    await self._restore(reopen=False)
            except GiveUpError as exc:
                _LOGGER.error("giving up on the meter connection: %s", exc)  # noqa: TRY400
                self._recovering = False
                await self._give_up()
                return
            finally:
                self._recovering = False
            self._drop_moot(trouble)

    def _drop_moot(self, handled: Trouble) -> None:
        """Forget queued troubles that the recovery just done has made moot."""
        keep = []
        while not self._troubles.empty():
            queued = self._troubles.get_nowait()
            if queued is not handled and queued not in _MOOT:
                keep.append(queued)
        for queued in keep:
            self._troubles.put_nowait(queued)

    async def _recover(self, trouble: Trouble) -> None:
        _LOGGER.info("supervisor: handling %s", trouble.value)
        if trouble is Trouble.EXPIRED:
            self.machine.fire(Trigger.AWAIT_REAUTH)
            outcome = self._pana_outcome  # the outcome may have come already
            if outcome is None:
                self._reauth = asyncio.get_running_loop().create_future()
                try:
                    async with asyncio.timeout(self.watchdog.reauth_timeout):
                        outcome = await self._reauth
                except TimeoutError:
                    _LOGGER.warning("no re-authentication after the session expired; rejoining")
                finally:
                    self._reauth = None
            if outcome:
                _LOGGER.info("the module re-authenticated the session")
                self.settle()
                return
            await self._restore(reopen=False)
        elif trouble is Trouble.SILENCE:
            if await self._probe():
                if self.machine.state is S.RECONNECTING:
                    self.settle()
                return
            await self._restore(reopen=False)
        elif trouble is Trouble.PORT_LOST:
            await self._restore(reopen=True)
        else:  # the session ended or was refused
            await self._restore(reopen=False)

    async def _probe(self) -> bool:
        exchange = self.exchange
        if exchange is None:
            return False
        _LOGGER.info("probing the meter")
        try:
            await exchange.transact(
                Esv.GET,
                [Property(0xE7)],
                stage="probe",
                budget=self.watchdog.probe_timeout,
                gate=False,
                count=False,
            )
        except TransmitLimitError:
            _LOGGER.info("probe not sent: the ARIB limit is active; the link is alive")
            self.settle()
            return True
        except AiobrouteError as exc:
            _LOGGER.warning("probe failed: %s", exc)
            return False
        _LOGGER.info("probe answered; the link is alive")
        return True

    async def _restore(self, *, reopen: bool) -> None:
        """Re-establish the session, following the reconnect policy between attempts.

        The port is reopened only when it was lost or the module stopped answering
        commands; otherwise the same link is re-initialised and rejoined.
        """
        self.machine.fire(Trigger.RECOVER)
        self._fail_waiters(None)
        connector = self.connector
        policy = self.policy
        local = False  # the last attempt failed at the port or the module, not the radio
        if self._rng is None:
            import random  # lazy: only reconnecting needs it

            self._rng = random.Random()
        for attempt, backoff in enumerate(policy.delays(self._rng)):
            if attempt:
                # No airtime is spent on the port or the module: notice it back soon.
                delay = min(backoff, policy.local_cap) if local else backoff
                _LOGGER.info("retrying in %.1f s (attempt %d)", delay, attempt + 1)
                await asyncio.sleep(delay)
            link = connector.link
            usable = link is not None and not link.closed
            if not connector.reopenable and not usable:
                raise GiveUpError(
                    "the stream is gone and cannot be reopened (pass a device path, a URL "
                    "or a stream factory to let the meter reopen its port)"
                )
            try:
                if link is None or not usable or (connector.reopenable and reopen):
                    await self.establish(first=False)
                else:
                    await connector.rejoin(link, on_step=self.machine.fire)
            except (TransportError, CommandTimeoutError) as exc:
                self._unusable_log.log("the module is unusable (%s); reopening the port", exc)
                reopen = local = True
            except Exception as exc:  # noqa: BLE001 - every failure is retried by policy
                _LOGGER.warning("recovery failed: %s: %s", type(exc).__name__, exc)
                local = False
            else:
                self.reconnects += 1
                if self.exchange is not None:
                    self.exchange.silent = 0
                self.on_recovered()
                self.settle()
                return
            self.machine.fire(Trigger.RECOVER)
        raise GiveUpError("the reconnect policy is exhausted")

    def settle(self) -> None:
        """READY, or RATE_LIMITED while the module reports the ARIB limit."""
        link = self.connector.link
        limited = link is not None and link.tx_limited
        self.machine.fire(Trigger.USABLE_LIMITED if limited else Trigger.USABLE)

    async def _check_tx_limit_later(self) -> None:
        """If the release is never reported, ask the module after a while."""
        await asyncio.sleep(self.watchdog.tx_limit_check)
        link: MeterLink | None = self.connector.link
        if self.machine.state is not S.RATE_LIMITED or link is None or link.closed:
            return
        try:
            limited = await link.refresh_tx_limit()
        except AiobrouteError as exc:
            _LOGGER.warning("cannot read the transmit-limit register: %s", exc)
            return
        if not limited and self.machine.state is S.RATE_LIMITED:
            _LOGGER.warning("the ARIB limit is over but its release was never reported; resuming")
            self.settle()

    async def _watch_pushes(self) -> None:
        """Probe the meter when its periodic 0xEA push is overdue."""
        grace = self.watchdog.push_grace or 0.0
        loop = asyncio.get_running_loop()
        self._last_push = loop.time()
        while True:
            due = self._last_push + self.watchdog.push_period + grace
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            # Overdue: probe (when nothing else is being handled) and start a new window.
            self._last_push = loop.time()
            if self.machine.state is S.READY:
                _LOGGER.warning("the periodic push did not arrive; probing the meter")
                self.report(Trouble.SILENCE)
