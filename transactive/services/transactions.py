"""The transaction facet: the EMIX form of a stored transaction, the notices, and ``eiRequestTransaction``.

Counterparty model: the market (the VTN, ``MarketConfig.market_party_id``) is the counterparty of every
transaction, as in a uniform-price pool. Each matched tender interval becomes one transaction between its
party and the market; ``ei:eiTransaction/ei:tenderID`` names the tender. The notice a party receives is
``eiCreateTransaction`` with ``ei:partyID`` the market and ``ei:counterPartyID`` the party.
"""

from __future__ import annotations

from collections.abc import Iterable

from transactive.ei.cts.transaction import EiCreateTransaction, EiReplyTransaction, EiRequestTransaction, EiTransaction
from transactive.emix import TransactiveState, energy_tender_product
from transactive.ledger.records import canonical_bytes, record_hash
from transactive.protocol.errors import InvalidIdError, NotAuthorizedError
from transactive.protocol.market import MarketConfig
from transactive.services.context import Credentials, ServiceContext
from transactive.services.store import TransactionRow

__all__ = ["document_hash", "notice", "request_transaction", "transaction_model"]


def transaction_model(config: MarketConfig, row: TransactionRow) -> EiTransaction:
    """``ei:eiTransaction``: the party's side, quantity and price for the interval, state ``transaction``."""
    product = energy_tender_product(
        side=row.side, quantity_kwh=float(row.quantity), price=row.price, currency=row.currency,
        market_context=config.market_context, dtstart=row.interval_start, duration=row.interval_duration,
        uid=row.transaction_id, transactive_state=TransactiveState.TRANSACTION,
    )
    return EiTransaction(transaction_id=row.transaction_id, tender_id=row.tender_id, item=product)


def notice(config: MarketConfig, party_id: str, rows: Iterable[TransactionRow], request_id: str) -> EiCreateTransaction:
    """The ``eiCreateTransaction`` that tells ``party_id`` about its transactions."""
    return EiCreateTransaction(request_id=request_id, party_id=config.market_party_id, counter_party_id=party_id,
                               transactions=tuple(transaction_model(config, r) for r in rows))


def document_hash(config: MarketConfig, row: TransactionRow) -> str:
    """What the ledger anchors: SHA-256 of the canonical XML of the one-transaction ``eiCreateTransaction``
    (request id = transaction id), computed with ``document_hash`` left empty."""
    doc = notice(config, row.party_id, [row], row.transaction_id)
    return record_hash(canonical_bytes(doc))


def request_transaction(ctx: ServiceContext, msg: EiRequestTransaction, auth: Credentials) -> EiReplyTransaction:
    reg = ctx.authorize(auth.token, msg.requestor_party_id, "ei:requestorPartyID")
    if msg.party_id != reg.party_id:
        raise NotAuthorizedError("a party may only see its own transactions", field="ei:partyID")
    if msg.transaction_ids:
        rows = []
        for i, txid in enumerate(msg.transaction_ids, 1):
            row = ctx.store.transaction_by_id(txid)
            if row is None:
                raise InvalidIdError(f"no transaction {txid!r}", field=f"ei:transactionID[{i}]")
            if row.party_id != reg.party_id:
                raise NotAuthorizedError(f"transaction {txid!r} belongs to another party",
                                         field=f"ei:transactionID[{i}]")
            rows.append(row)
    else:
        rows = ctx.store.transactions(party_id=reg.party_id)
    return EiReplyTransaction(response=ctx.ok(msg.request_id),
                              transactions=tuple(transaction_model(ctx.config, r) for r in rows))
