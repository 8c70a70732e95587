"""The notices a VTN sends (``eiCreateTransaction``, ``eiCreateQuote``), kept per party for the HTTP long poll
(``GET /cts/notices``, :mod:`.http`).

Sequence numbers start, per VTN process, at the boot time in microseconds since the Unix epoch, so a cursor
from an earlier run of the VTN is always older than every notice of this one. Notices are kept in memory
only, the last :data:`NOTICE_HISTORY` per party and the latest quote: after a restart a VEN reads missed
transactions with ``eiRequestTransaction``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from transactive.ei.cts.quote import EiCreateQuote
from transactive.model import Model

__all__ = ["NOTICE_HISTORY", "NoticeBoard"]

#: transaction notices kept per party for long polls (quotes: only the latest, see :class:`NoticeBoard`)
NOTICE_HISTORY = 64


@dataclass(slots=True)
class _Inbox:
    notices: deque[tuple[int, Model]]
    #: the latest quote (a newer one replaces it: only the last clearing price matters)
    quote: tuple[int, Model] | None = None
    #: set when a notice arrives; made only while someone waits
    arrived: asyncio.Event | None = None


class NoticeBoard:
    """The notices :meth:`VtnService.listen` emits, kept per party for long polls (in memory), in bounded
    memory: per party the last ``history`` notices that are not quotes (transactions: a VEN that was away
    reads older ones with ``eiRequestTransaction``) and only the latest quote (``eiCreateQuote``: each gate
    sends every registered party one, and only the last price matters; ``eiRequestQuote`` reads it too)."""

    def __init__(self, *, boot: int | None = None, history: int = NOTICE_HISTORY) -> None:
        self._seq = boot if boot is not None else time.time_ns() // 1000
        self._history = history
        self._inboxes: dict[str, _Inbox] = {}
        self.posted = 0  #: notices received so far (for tests and benchmarks)

    @property
    def cursor(self) -> int:
        """The sequence number of the latest notice (of any party): where a new subscriber starts."""
        return self._seq

    def _inbox(self, party_id: str) -> _Inbox:
        inbox = self._inboxes.get(party_id)
        if inbox is None:
            inbox = self._inboxes[party_id] = _Inbox(deque(maxlen=self._history))
        return inbox

    def post(self, party_id: str, notice: Model, *, seq: int | None = None) -> None:
        """Keep a notice for ``party_id`` and wake its pollers (a :data:`NoticeListener`). ``seq``: the number
        the notice already has (several VTN processes number the notices they relay alike, see
        :mod:`.cluster`); it must be above every number given before."""
        if seq is None:
            self._seq += 1
        elif seq <= self._seq:
            raise ValueError(f"notice number {seq} is not above the last one, {self._seq}")
        else:
            self._seq = seq
        self.posted += 1
        inbox = self._inbox(party_id)
        if isinstance(notice, EiCreateQuote):
            inbox.quote = (self._seq, notice)
        else:
            inbox.notices.append((self._seq, notice))
        if inbox.arrived is not None:
            inbox.arrived.set()
            inbox.arrived = None

    def pending(self, party_id: str) -> int:
        """Notices kept for ``party_id``."""
        inbox = self._inboxes.get(party_id)
        return 0 if inbox is None else len(inbox.notices) + (inbox.quote is not None)

    def next_after(self, party_id: str, after: int) -> tuple[int, Model] | None:
        """The kept notice for ``party_id`` with the lowest sequence number above ``after``."""
        inbox = self._inboxes.get(party_id)
        if inbox is None:
            return None
        found = next(((seq, notice) for seq, notice in inbox.notices if seq > after), None)
        quote = inbox.quote
        if quote is not None and quote[0] > after and (found is None or quote[0] < found[0]):
            return quote
        return found

    async def wait(self, party_id: str, after: int, timeout: float) -> tuple[int, Model] | None:
        """The first notice for ``party_id`` with a sequence number above ``after``, waiting up to
        ``timeout`` seconds for one; None if none came."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.next_after(party_id, after)
            if found is not None:
                return found
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            inbox = self._inbox(party_id)
            if inbox.arrived is None:
                inbox.arrived = asyncio.Event()
            try:
                await asyncio.wait_for(inbox.arrived.wait(), left)
            except TimeoutError:
                return None
