"""Every token movement as a settled transaction on a ledger (any :class:`~transactive.ledger.Ledger`; the
community keeps an embedded one, ``tokens.ledger`` in its data directory).

A :class:`~transactive.ven.community.tokens.TokenEvent` is written as the settlement workflow's five steps,
so ``transactive ledger audit FILE TXID`` replays it to ``paid``:

1. ``anchor`` a :class:`~transactive.ledger.TransactionRecord`: transaction id
   ``tok-COMMUNITY-PERIOD-MEMBER-KIND-LLEVEL``; for a reward or a replacement the *seller* is the member (it
   provided availability) and the *buyer* the community; for a penalty the other way round (the community
   "sold" the cover the member failed to give); ``quantity_kwh`` the energy concerned, ``price`` tokens per
   kWh, currency ``TOKEN``, the period's interval, and ``document_hash`` the SHA-256 of the event's canonical
   JSON (:meth:`TokenEvent.document_hash`);
2. two ``delivery`` readings of that energy, the member's and the community's (the availability both agree
   on: what the community measured of the member);
3. a ``payment_request``: the buyer pays the seller ``tokens`` TOKEN (community pays member N TOKEN, or member
   pays community N TOKEN for a penalty), due a day after the period;
4. ``confirm_payment`` with ``paid`` = the tokens: the payment entry; the status is paid.

:func:`ledger_balances` reads the payments back from the file: per member, the TOKEN paid to it minus the TOKEN
it paid (what the community's report must show, to the last digit).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from transactive.ledger.embedded import LedgerReader
from transactive.ledger.interface import Ledger
from transactive.ledger.records import EntryKind, TransactionRecord
from transactive.ven.community.tokens import TokenEvent

__all__ = ["CURRENCY", "ledger_balances", "write_events"]

CURRENCY = "TOKEN"
_CHUNK = 256


def _parties(event: TokenEvent) -> tuple[str, str]:
    """(seller, buyer) of a token event's transaction."""
    if event.kind.is_penalty:
        return event.community, event.member
    return event.member, event.community


async def _write_one(ledger: Ledger, event: TokenEvent, start: datetime, duration: timedelta) -> None:
    seller, buyer = _parties(event)
    txid = event.transaction_id
    await ledger.anchor(TransactionRecord(
        transaction_id=txid, document_hash=event.document_hash(), seller=seller, buyer=buyer,
        quantity_kwh=event.quantity_kwh, price=event.price, currency=CURRENCY, interval_start=start,
        interval_duration=duration))
    end = start + duration
    for party in (seller, buyer):
        await ledger.record_delivery(txid, party, event.quantity_kwh, end)
    await ledger.request_payment(txid, amount=event.tokens, currency=CURRENCY, payer=buyer, payee=seller,
                                 deadline=end + timedelta(days=1))
    await ledger.confirm_payment(txid, now=end, paid=event.tokens)


async def write_events(ledger: Ledger, events: Sequence[TokenEvent], start: datetime, duration: timedelta) -> None:
    """Write ``events`` of the period ``[start, start + duration)`` (several at once, so the embedded ledger
    commits them in groups)."""
    for k in range(0, len(events), _CHUNK):
        await asyncio.gather(*(_write_one(ledger, e, start, duration) for e in events[k:k + _CHUNK]))


def ledger_balances(path: str | os.PathLike[str], community: str) -> dict[str, Decimal]:
    """Per member, the TOKEN paid to it minus the TOKEN it paid, over the token transactions of ``community``
    on the ledger file (``NotALedgerError`` when it is not one)."""
    out: dict[str, Decimal] = {}
    prefix = f"tok-{community}-"
    with LedgerReader(path) as reader:
        for txid in reader.transaction_ids():
            if not txid.startswith(prefix):
                continue
            payer = payee = None
            for entry in reader.trail(txid):
                data = entry.data
                if entry.kind is EntryKind.PAYMENT_REQUEST and data.get("currency") == CURRENCY:
                    payer, payee = str(data["payer"]), str(data["payee"])
                elif entry.kind is EntryKind.PAYMENT and payer is not None and payee is not None:
                    amount = Decimal(str(data["amount"]))
                    for party, sign in ((payee, 1), (payer, -1)):
                        if party != community:
                            out[party] = out.get(party, Decimal(0)) + sign * amount
    return out
