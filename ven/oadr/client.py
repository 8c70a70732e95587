"""``OadrVenClient``: an OpenADR 2.0b VEN over simple HTTP (pull), for device vendors.

The protocol rules are :class:`~transactive.ven.oadr.core.OadrVen`'s (sans I/O); this class adds the I/O
(:class:`~transactive.ven.oadr.http.OadrHttp`), the device's handlers and the loop::

    client = OadrVenClient("https://vtn.example.com", "ven-7", ssl=client_context("ca.crt", cert=..., key=...))

    @client.on_event
    def decide(event: ReceivedEvent) -> OptType:
        return OptType.OPT_IN if event.signal("SIMPLE") else OptType.OPT_OUT

    client.add_report(read_meter_w, resource_id="meter-1", measurement="power", sampling_rate=timedelta(seconds=10))
    await client.run()          # register, register reports, request events, poll, report; until stopped

Every request is also a method (:meth:`OadrVenClient.register`, :meth:`~OadrVenClient.request_events`,
:meth:`~OadrVenClient.poll`, :meth:`~OadrVenClient.create_opt`, ...). A VTN's refusal (a non-2xx
``eiResponse``) raises :class:`~transactive.protocol.errors.RequestRefusedError` with its code; transport
failures raise :class:`~transactive.transport.base.TransportError` s. :meth:`~OadrVenClient.run` rides those
out: it retries an unreachable VTN with backoff (one log line per attempt), registers again when the VTN asks
(or refuses the VEN as unknown), and returns when ``stop`` is set or the VTN cancels the registration.

Handlers may be plain functions or coroutines. An event handler gets a
:class:`~transactive.ven.oadr.events.ReceivedEvent` (new events and new versions of known ones) and returns
``OptType.OPT_IN`` or ``OPT_OUT``; one that raises opts out. ``on_event_end`` handlers hear of events that
were cancelled, completed, or are no longer listed. A report callback returns the current value of its data
point (a float).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from transactive.ei.oadr.base import OadrMessage
from transactive.ei.oadr.calendar import CalendarInterval
from transactive.ei.oadr.enums import OptReason, OptType, ReadingType, ReportName, ReportType
from transactive.ei.oadr.items import ItemBase
from transactive.ei.oadr.poll import OadrResponse
from transactive.ei.oadr.registration import OadrCreatedPartyRegistration, OadrRequestReregistration
from transactive.ei.oadr.report import OadrUpdateReport, SamplingRate
from transactive.ei.oadr.target import Target
from transactive.errors import ProtocolError, ResponseCode
from transactive.protocol.clock import Clock, system_clock
from transactive.protocol.errors import RequestRefusedError
from transactive.protocol.oadr import Service
from transactive.transport.base import ConnectionFailedError, TransportError, backoff
from transactive.ven.oadr.core import EventBatch, OadrVen, Outgoing, Step
from transactive.ven.oadr.events import ReceivedEvent
from transactive.ven.oadr.http import DocumentSigner, DocumentVerifier, OadrHttp, Observer
from transactive.ven.oadr.reports import ReportSource, Sample, measurement_item, sampling
from transactive.ven.oadr.state import OadrRegistrationState

__all__ = ["EndHandler", "EventHandler", "OadrVenClient", "ReportCallback"]

_log = logging.getLogger("transactive.ven.oadr")

#: an event handler: the event in, the VEN's answer out
EventHandler = Callable[[ReceivedEvent], OptType | Awaitable[OptType]]
#: told of an event that ended (cancelled, completed, no longer listed)
EndHandler = Callable[[ReceivedEvent], Awaitable[None] | None]
#: reads one data point now
ReportCallback = Callable[[], float | Awaitable[float]]

T = TypeVar("T")

#: at most this many messages are fetched in one round of polls (the VTN may queue several)
MAX_POLLS_PER_ROUND = 20


async def _call(result: T | Awaitable[T]) -> T:
    if inspect.isawaitable(result):
        return await result
    return result


class OadrVenClient:
    """One VEN (see the module's description).

    ``ven_id``/``registration_id`` re-register as a VEN the VTN knows; with ``state_dir`` they are read from
    and kept in that directory (:mod:`~transactive.ven.oadr.state`). ``poll_seconds`` overrides the VTN's
    requested poll frequency. ``ssl``, ``signer``, ``verifier``, ``vtn_fingerprint``, ``observer``: see
    :mod:`~transactive.ven.oadr.http`. ``clock`` is the wall clock (inject one in tests)."""

    def __init__(self, vtn_url: str, ven_name: str, *, ven_id: str | None = None,
                 registration_id: str | None = None, ssl: ssl_module.SSLContext | None = None,
                 signer: DocumentSigner | None = None, verifier: DocumentVerifier | None = None,
                 vtn_fingerprint: str | None = None, poll_seconds: float | None = None, timeout: float = 30.0,
                 state_dir: Path | None = None, clock: Clock = system_clock, observer: Observer | None = None,
                 ids: Callable[[], str] | None = None, retry_cap: float = 30.0) -> None:
        if poll_seconds is not None and not poll_seconds > 0:
            raise ValueError("poll_seconds must be positive")
        self.vtn_url = vtn_url
        self.state_dir = state_dir
        kept = OadrRegistrationState.load(state_dir, vtn_url, ven_name) if state_dir is not None else None
        self.core = OadrVen(ven_name, ven_id=ven_id or (kept.ven_id if kept else None),
                            registration_id=registration_id or (kept.registration_id if kept else None),
                            vtn_id=kept.vtn_id if kept else None, signed=signer is not None)
        if ids is not None:
            self.core.ids = ids
        self.http = OadrHttp(vtn_url, ssl=ssl, signer=signer, verifier=verifier, vtn_fingerprint=vtn_fingerprint,
                             timeout=timeout, observer=observer)
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.retry_cap = retry_cap
        self._event_handlers: list[EventHandler] = []
        self._end_handlers: list[EndHandler] = []
        self._report_callbacks: dict[tuple[str, str], ReportCallback] = {}
        self._cancelled = False

    # -- what the VEN is -------------------------------------------------------------------------------

    @property
    def ven_name(self) -> str:
        return self.core.ven_name

    @property
    def ven_id(self) -> str | None:
        return self.core.ven_id

    @property
    def registration_id(self) -> str | None:
        return self.core.registration_id

    @property
    def vtn_id(self) -> str | None:
        return self.core.vtn_id

    @property
    def poll_interval(self) -> timedelta:
        """How often :meth:`run` polls: ``poll_seconds``, else the VTN's requested frequency."""
        return timedelta(seconds=self.poll_seconds) if self.poll_seconds else self.core.poll_every

    # -- handlers --------------------------------------------------------------------------------------

    def on_event(self, handler: EventHandler) -> EventHandler:
        """Set the event handler (usable as a decorator); the last one set decides."""
        self._event_handlers = [handler]
        return handler

    def on_event_end(self, handler: EndHandler) -> EndHandler:
        """Add a handler told of every event that ended (usable as a decorator)."""
        self._end_handlers.append(handler)
        return handler

    def add_report(self, callback: ReportCallback, resource_id: str, measurement: str | ItemBase = "power", *,
                   sampling_rate: timedelta | SamplingRate | None = None,
                   report_name: str = ReportName.TELEMETRY_USAGE.value, report_specifier_id: str | None = None,
                   r_id: str | None = None, reading_type: str = ReadingType.DIRECT_READ.value,
                   report_type: str = ReportType.USAGE.value,
                   market_context: str | None = None) -> tuple[str, str]:
        """Offer a data point: ``callback()`` reads it, ``measurement`` says what it is (``"power"`` (W),
        ``"energy"`` (Wh), ``"voltage"``, ``"current"``, ``"frequency"``, or an item model), ``sampling_rate``
        how often it can be read (a period, or a :class:`SamplingRate` range). Points with the same
        ``report_name`` share one report unless given their own ``report_specifier_id``. Returns the
        (reportSpecifierID, rID) the VTN will ask for. Call before :meth:`register_reports` (or :meth:`run`)."""
        item = None if report_name == ReportName.TELEMETRY_STATUS.value else measurement_item(measurement)
        if report_specifier_id is None:
            same = next((s for s in self.core.reports.sources if s.report_name == report_name), None)
            report_specifier_id = same.report_specifier_id if same else f"{self.ven_name}-{report_name}".lower()
        r_id = r_id or f"{resource_id}-{measurement if isinstance(measurement, str) else type(measurement).__name__}"
        self.core.reports.add(ReportSource(r_id=r_id, report_specifier_id=report_specifier_id,
                                           resource_id=resource_id, item=item, report_name=report_name,
                                           report_type=report_type, reading_type=reading_type,
                                           sampling_rate=sampling(sampling_rate), market_context=market_context))
        self._report_callbacks[(report_specifier_id, r_id)] = callback
        return report_specifier_id, r_id

    # -- I/O ---------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self.clock()

    async def send(self, service: Service, message: OadrMessage) -> OadrMessage | None:
        """Post any message to a service; the VTN's answer, unchecked."""
        return await self.http.exchange(service, message)

    async def _send_all(self, outgoing: tuple[Outgoing, ...]) -> None:
        """Send a step's messages; their answers are acknowledgements (a refusal raises)."""
        for out in outgoing:
            reply = await self.send(out.service, out.message)
            if reply is not None:
                self.core.expect(reply, OadrMessage)

    async def close(self) -> None:
        await self.http.close()

    # -- registration -------------------------------------------------------------------------------

    async def query_registration(self) -> OadrCreatedPartyRegistration:
        """Ask the VTN what it supports (its ID and poll frequency are kept)."""
        return self.core.on_query(await self.send(Service.REGISTER_PARTY, self.core.query_registration()))

    async def register(self) -> OadrCreatedPartyRegistration:
        """Query, then register (again as the same VEN when a registrationID/venID is known); the state is kept
        in ``state_dir``."""
        await self.query_registration()
        answer = self.core.on_registered(await self.send(Service.REGISTER_PARTY, self.core.create_registration()))
        self._cancelled = False
        self._save()
        _log.info("%s: registered with VTN %s as venID %s (registrationID %s), polling every %g s", self.ven_name,
                  self.vtn_id, self.ven_id, self.registration_id, self.poll_interval.total_seconds())
        return answer

    async def cancel_registration(self) -> None:
        """End the registration with the VTN (the venID is kept)."""
        self.core.on_canceled(await self.send(Service.REGISTER_PARTY, self.core.cancel_registration()))
        self._save()
        _log.info("%s: registration cancelled", self.ven_name)

    def _save(self) -> None:
        if self.state_dir is not None:
            OadrRegistrationState(self.vtn_url, self.ven_name, self.ven_id, self.registration_id,
                                  self.vtn_id).save(self.state_dir)

    # -- events ---------------------------------------------------------------------------------------

    async def request_events(self) -> EventBatch | None:
        """Ask for the VEN's events and handle them (handlers, ``oadrCreatedEvent``); the batch, or None when
        the VTN has none."""
        reply = await self.send(Service.EVENT, self.core.request_events())
        step = await self.handle(reply)
        return step.events

    async def poll(self) -> OadrMessage | None:
        """Poll once and handle what the VTN sent (None: an empty answer)."""
        reply = await self.send(Service.POLL, self.core.poll())
        await self.handle(reply)
        return reply

    async def created_event(self, event_id: str, opt: OptType) -> None:
        """Change the answer to a known event (``oadrCreatedEvent``)."""
        await self._send_all((Outgoing(Service.EVENT, self.core.created_event(event_id, opt)),))

    async def handle(self, message: OadrMessage | None) -> Step:
        """Do what a message from the VTN asks (:meth:`OadrVen.receive`): handlers, replies, re-registration."""
        step = self.core.receive(message, self._now())
        if step.events is not None:
            await self._on_events(step.events)
        await self._send_all(step.send)
        if step.cancelled:
            self._cancelled = True
            self._save()
            _log.warning("%s: the VTN cancelled the registration", self.ven_name)
        if step.reregister:
            _log.info("%s: the VTN asks this VEN to register again", self.ven_name)
            await self.reregister()
        return step

    async def _on_events(self, batch: EventBatch) -> None:
        opts: dict[str, OptType] = {}
        for event in batch.to_decide:
            opts[event.event_id] = await self._decide(event)
            _log.info("%s: event %s #%d (%s)%s: %s", self.ven_name, event.event_id, event.modification_number,
                      event.status.value, " modified" if event.is_update else "", opts[event.event_id].value)
        answer = self.core.answer(batch, opts)
        for event in (*batch.ended, *batch.gone):
            _log.info("%s: event %s #%d %s: dropped", self.ven_name, event.event_id, event.modification_number,
                      event.status.value if event in batch.ended else "no longer listed")
            for end in self._end_handlers:
                try:
                    await _call(end(event))
                except Exception:
                    _log.exception("%s: the event-end handler failed on %s", self.ven_name, event.event_id)
        if answer is not None:
            await self._send_all((Outgoing(Service.EVENT, answer),))

    async def _decide(self, event: ReceivedEvent) -> OptType:
        if not self._event_handlers:
            _log.warning("%s: no event handler: opting out of %s", self.ven_name, event.event_id)
            return OptType.OPT_OUT
        try:
            opt = await _call(self._event_handlers[0](event))
        except Exception:
            _log.exception("%s: the event handler failed on %s: opting out", self.ven_name, event.event_id)
            return OptType.OPT_OUT
        if not isinstance(opt, OptType):
            _log.error("%s: the event handler returned %r, not an OptType: opting out", self.ven_name, opt)
            return OptType.OPT_OUT
        return opt

    # -- opts ------------------------------------------------------------------------------------------

    async def create_opt(self, opt_type: OptType, *, event_id: str | None = None,
                         available: tuple[CalendarInterval, ...] = (), reason: OptReason | str = OptReason.ECONOMIC,
                         market_context: str | None = None, target: Target | None = None) -> str:
        """Send an opt for a known event (``event_id``) or a schedule (``available`` periods); its optID."""
        opt = self.core.create_opt(opt_type, self._now(), reason=reason, event_id=event_id, available=available,
                                   market_context=market_context, target=target)
        self.core.on_created_opt(opt, await self.send(Service.OPT, opt))
        return opt.opt_id

    async def cancel_opt(self, opt_id: str) -> None:
        self.core.on_canceled_opt(opt_id, await self.send(Service.OPT, self.core.cancel_opt(opt_id)))

    # -- reports ---------------------------------------------------------------------------------------

    async def register_reports(self) -> None:
        """Describe the offered reports to the VTN and start those it asks for (``oadrCreatedReport``)."""
        if not self.core.reports.sources:
            return
        now = self._now()
        reply = await self.send(Service.REPORT, self.core.register_reports(now))
        step = self.core.on_registered_reports(reply, now)
        await self._send_all(step.send)
        if self.core.reports.active:
            _log.info("%s: the VTN asked for reports %s", self.ven_name, ", ".join(self.core.reports.pending()))

    async def update_report(self, message: OadrUpdateReport) -> None:
        """Send report data (``oadrUpdateReport``); an answer that cancels reports is acknowledged."""
        step = self.core.on_updated_report(await self.send(Service.REPORT, message))
        await self._send_all(step.send)

    async def send_due_reports(self) -> int:
        """Read the data points whose sampling time has come and send the reports that are due; the number of
        reports sent."""
        now = self._now()
        for sample in self.core.reports.due_samples(now):
            self.core.reports.record(sample, now, await self._read(sample))
        updates = self.core.due_updates(now)
        for update in updates:
            values = sum(len(r.intervals) for r in update.reports)
            _log.debug("%s: report %s: %d value(s)", self.ven_name, update.reports[0].report_request_id, values)
            await self.update_report(update)
        return len(updates)

    async def _read(self, sample: Sample) -> float | None:
        report = self.core.reports.active.get(sample.report_request_id)
        callback = self._report_callbacks.get((report.report_specifier_id, sample.r_id)) if report else None
        if callback is None:
            return None
        try:
            return float(await _call(callback()))
        except Exception:
            _log.exception("%s: reading %s failed", self.ven_name, sample.r_id)
            return None

    # -- the loop ----------------------------------------------------------------------------------

    async def reregister(self) -> None:
        """Register again and start over: reports, events."""
        await self.register()
        await self.register_reports()
        await self.request_events()

    async def _connect(self, stop: asyncio.Event) -> bool:
        """Register, register reports, request events; an unreachable VTN is retried with backoff (one log
        line per attempt), a failed TLS handshake is not (it raises). False when stopped first."""
        failures = 0
        while not stop.is_set():
            try:
                await self.reregister()
                return True
            except TransportError as error:
                if isinstance(error, ConnectionFailedError) and "TLS:" in str(error):
                    raise  # a certificate problem: trying again changes nothing
                failures += 1
                wait = max(backoff(failures, first=0.5, cap=self.retry_cap), 0.2)
                _log.warning("%s: cannot reach the VTN at %s (attempt %d: %s); retrying in %.1f s", self.ven_name,
                             self.vtn_url, failures, error, wait)
                await _sleep(wait, stop)
        return False

    async def _poll_round(self) -> None:
        """Poll until the VTN has nothing more (an ``oadrResponse``), at most :data:`MAX_POLLS_PER_ROUND` times."""
        for _ in range(MAX_POLLS_PER_ROUND):
            if self._cancelled:
                return
            reply = await self.poll()
            if reply is None or isinstance(reply, OadrResponse):
                return

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """The whole VEN: register (retrying an unreachable VTN), register reports, request events, then poll
        every :attr:`poll_interval` and send reports when due, until ``stop`` is set or the VTN cancels the
        registration. A refusal of the registration itself raises :class:`RequestRefusedError`."""
        stop = stop or asyncio.Event()
        if not await self._connect(stop):
            return
        failures = 0
        next_poll = self._now()
        while not stop.is_set() and not self._cancelled:
            try:
                if self._now() >= next_poll:
                    await self._poll_round()
                    next_poll = self._now() + self.poll_interval
                await self.send_due_reports()
                failures = 0
            except TransportError as error:
                failures += 1
                wait = max(backoff(failures, first=0.5, cap=self.retry_cap), 0.2)
                _log.warning("%s: lost the VTN at %s (attempt %d: %s); retrying in %.1f s", self.ven_name,
                             self.vtn_url, failures, error, wait)
                next_poll = self._now() + timedelta(seconds=wait)
            except RequestRefusedError as error:
                if isinstance(error.reply, OadrRequestReregistration) or \
                        error.response_code == ResponseCode.NOT_AUTHORIZED:
                    _log.warning("%s: the VTN no longer knows this VEN (%s): registering again", self.ven_name, error)
                    if not await self._connect(stop):
                        return
                else:
                    _log.warning("%s: the VTN refused: %s", self.ven_name, error)
            except ProtocolError as error:
                _log.warning("%s: ignored a message that breaks the protocol: %s", self.ven_name, error)
            due = [next_poll, *(t for t in (self.core.reports.next_due(),) if t is not None)]
            await _sleep(max((min(due) - self._now()).total_seconds(), 0.0), stop)


async def _sleep(seconds: float, stop: asyncio.Event) -> None:
    """Sleep ``seconds`` or until ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
