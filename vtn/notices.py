"""The notices a VTN sends (``eiCreateTransaction``, ``eiCreateQuote``), kept per party for the HTTP long poll
(``GET /cts/notices``, :mod:`.http`).

Sequence numbers start, per VTN process, at the boot time in microseconds since the Unix epoch, so a cursor
from an earlier run of the VTN is always older than every notice of this one. Notices are kept in memory
only, the last :data:`NOTICE_HISTORY` per party: after a restart a VEN reads missed transactions with
``eiRequestTransaction``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from transactive.model import Model

__all__ = ["NOTICE_HISTORY", "NoticeBoard"]

#: notices kept per party for long polls
NOTICE_HISTORY = 256


@dataclass(slots=True)
class _Inbox:
    notices: deque[tuple[int, Model]] = field(default_factory=lambda: deque(maxlen=NOTICE_HISTORY))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class NoticeBoard:
    """The notices :meth:`VtnService.listen` emits, kept per party for long polls (in memory)."""

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

    def post(self, party_id: str, notice: Model) -> None:
        """Keep a notice for ``party_id`` and wake its pollers (a :data:`NoticeListener`)."""
        self._seq += 1
        self.posted += 1
        inbox = self._inbox(party_id)
        inbox.notices.append((self._seq, notice))
        inbox.arrived.set()
        inbox.arrived = asyncio.Event()

    def pending(self, party_id: str) -> int:
        inbox = self._inboxes.get(party_id)
        return 0 if inbox is None else len(inbox.notices)

    def next_after(self, party_id: str, after: int) -> tuple[int, Model] | None:
        inbox = self._inboxes.get(party_id)
        if inbox is None:
            return None
        for seq, notice in inbox.notices:
            if seq > after:
                return seq, notice
        return None

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
            try:
                await asyncio.wait_for(self._inbox(party_id).arrived.wait(), left)
            except TimeoutError:
                return None
