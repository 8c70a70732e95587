"""The tender lifecycle as data: (state, event) -> next state. Docs and tests read :data:`TENDER_TRANSITIONS`.

::

    OPEN --cancel--> CANCELLED          the owner withdrew it before gate closure
    OPEN --match---> CLEARED            gate closure filled it (in whole or in part: ``filled`` says how much)
    OPEN --no_match-> EXPIRED           gate closure left it unfilled
    CANCELLED --cancel--> CANCELLED     cancelling again is idempotent

A stream tender is one row per stream interval; each row runs this lifecycle on its own.
"""

from __future__ import annotations

from enum import StrEnum

from transactive.protocol.errors import OutOfSequenceError

__all__ = ["TENDER_TRANSITIONS", "TenderEvent", "TenderStatus", "tender_step"]


class TenderStatus(StrEnum):
    OPEN = "open"
    CLEARED = "cleared"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TenderEvent(StrEnum):
    CANCEL = "cancel"
    MATCH = "match"
    NO_MATCH = "no_match"


#: every legal step of a tender; anything else is out of sequence (450)
TENDER_TRANSITIONS: dict[tuple[TenderStatus, TenderEvent], TenderStatus] = {
    (TenderStatus.OPEN, TenderEvent.CANCEL): TenderStatus.CANCELLED,
    (TenderStatus.OPEN, TenderEvent.MATCH): TenderStatus.CLEARED,
    (TenderStatus.OPEN, TenderEvent.NO_MATCH): TenderStatus.EXPIRED,
    (TenderStatus.CANCELLED, TenderEvent.CANCEL): TenderStatus.CANCELLED,
}


def tender_step(status: TenderStatus, event: TenderEvent, *, field: str = "ei:tenderID") -> TenderStatus:
    """The next status, or :class:`OutOfSequenceError` (450) naming ``field``."""
    try:
        return TENDER_TRANSITIONS[(status, event)]
    except KeyError:
        raise OutOfSequenceError(f"a {status.value} tender cannot {event.value.replace('_', ' ')}",
                                 field=field) from None
