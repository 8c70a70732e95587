"""The notices a VTN sends (``eiCreateTransaction``, ``eiCreateQuote``), kept per party for the HTTP long poll
(``GET /cts/notices``, :mod:`.http`).

Sequence numbers start, per VTN process, at the boot time in microseconds since the Unix epoch, so a cursor
from an earlier run of the VTN is always older than every notice of this one (several processes on one
database number them alike instead, see :mod:`.cluster`). Notices are kept in memory only, the last
:data:`NOTICE_HISTORY` per party and the latest quote: after a restart, or away for longer, a VEN reads missed
transactions with ``eiRequestTransaction``.

Memory: a notice is kept as its JSON encoding (about 0.6 KB for a quote, 1 KB for a transaction notice; the
decoded message took about 4 KB), which is also what a JSON long poll sends, so the common case encodes nothing
per poll. The board holds every registered party's latest quote, so its size is about (history + 1) x 1 KB per
party: the figure the soak benchmark measures per VEN.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from transactive.codec import decode_json, encode_json
from transactive.ei.cts.quote import EiCreateQuote
from transactive.model import Model

__all__ = ["NOTICE_HISTORY", "NoticeBoard", "is_quote"]

#: transaction notices kept per party for long polls (quotes: only the latest, see :class:`NoticeBoard`): an hour
#: of a 15-minute market
NOTICE_HISTORY = 4

#: how a quote's JSON encoding begins (the encoder writes the message's tag first)
_QUOTE_PREFIX = b'{"' + EiCreateQuote.__tag__.encode() + b'"'


def is_quote(data: bytes) -> bool:
    """Whether a notice's JSON encoding is an ``eiCreateQuote``."""
    return data.startswith(_QUOTE_PREFIX)


@dataclass(slots=True)
class _Inbox:
    #: (sequence number, JSON encoding) of the last notices that are not quotes, oldest first
    notices: list[tuple[int, bytes]] = field(default_factory=list)
    #: the latest quote (a newer one replaces it: only the last clearing price matters)
    quote: tuple[int, bytes] | None = None
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

    def post(self, party_id: str, notice: Model, *, seq: int | None = None) -> None:
        """Keep a notice for ``party_id`` and wake its pollers (a :data:`NoticeListener`). ``seq``: the number
        the notice already has (see :meth:`post_encoded`)."""
        self.post_encoded(party_id, encode_json(notice), seq=seq)

    def post_encoded(self, party_id: str, data: bytes, *, seq: int | None = None) -> None:
        """:meth:`post` for a notice in its JSON encoding. ``seq``: the number it already has (several VTN
        processes number the notices they relay alike, see :mod:`.cluster`), above every number given before."""
        if seq is None:
            self._seq += 1
        elif seq <= self._seq:
            raise ValueError(f"notice number {seq} is not above the last one, {self._seq}")
        else:
            self._seq = seq
        self.posted += 1
        inbox = self._inboxes.get(party_id)
        if inbox is None:
            inbox = self._inboxes[party_id] = _Inbox()
        if is_quote(data):
            inbox.quote = (self._seq, data)
        else:
            inbox.notices.append((self._seq, data))
            if len(inbox.notices) > self._history:
                del inbox.notices[0]
        if inbox.arrived is not None:
            inbox.arrived.set()
            inbox.arrived = None

    def pending(self, party_id: str) -> int:
        """Notices kept for ``party_id``."""
        inbox = self._inboxes.get(party_id)
        return 0 if inbox is None else len(inbox.notices) + (inbox.quote is not None)

    def encoded_after(self, party_id: str, after: int) -> tuple[int, bytes] | None:
        """The kept notice for ``party_id`` with the lowest sequence number above ``after``, JSON-encoded."""
        inbox = self._inboxes.get(party_id)
        if inbox is None:
            return None
        found = next(((seq, data) for seq, data in inbox.notices if seq > after), None)
        quote = inbox.quote
        if quote is not None and quote[0] > after and (found is None or quote[0] < found[0]):
            return quote
        return found

    def next_after(self, party_id: str, after: int) -> tuple[int, Model] | None:
        """:meth:`encoded_after`, decoded."""
        found = self.encoded_after(party_id, after)
        return None if found is None else (found[0], decode_json(found[1]))

    async def wait(self, party_id: str, after: int, timeout: float) -> tuple[int, bytes] | None:
        """The first notice for ``party_id`` with a sequence number above ``after`` (JSON-encoded), waiting up
        to ``timeout`` seconds for one; None if none came."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.encoded_after(party_id, after)
            if found is not None:
                return found
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return None
            inbox = self._inboxes.get(party_id)
            if inbox is None:
                inbox = self._inboxes[party_id] = _Inbox()
            if inbox.arrived is None:
                inbox.arrived = asyncio.Event()
            try:
                await asyncio.wait_for(inbox.arrived.wait(), left)
            except TimeoutError:
                return None
