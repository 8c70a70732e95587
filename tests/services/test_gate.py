"""Gate closure: the worked example by hand, pay-as-bid, idempotency, notices and the quote."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from tests.services.conftest import MARKET, T, create, product, register
from transactive.ei.cts.quote import EiReplyQuote, EiRequestQuote
from transactive.ei.cts.transaction import EiReplyTransaction, EiRequestTransaction
from transactive.emix import Product
from transactive.errors import ProtocolError
from transactive.market import Mechanism
from transactive.services import MarketConfig, MemoryStore, TenderStatus, VtnCore


def _market(core: VtnCore) -> dict[str, str]:
    """Two sellers and a buyer: s1 sells 3 kWh at 0.10, s2 sells 2 kWh at 0.14, b buys 4 kWh at 0.20."""
    tokens = {p: register(core, p) for p in ("s1", "s2", "b")}
    core.handle(create("s1", "s1-t", product("sell", 3, "0.10")), token=tokens["s1"])
    core.handle(create("s2", "s2-t", product("sell", 2, "0.14")), token=tokens["s2"])
    core.handle(create("b", "b-t", product("buy", 4, "0.20")), token=tokens["b"])
    return tokens


def test_worked_example_uniform_price(core: VtnCore) -> None:
    # bids: b 4@0.20; offers: s1 3@0.10, s2 2@0.14. Demand 4 meets supply at s2's offer: 4 kWh trade,
    # s1 fully (3), s2 in part (1). Price = (lowest accepted bid 0.20 + highest accepted offer 0.14) / 2 = 0.17.
    _market(core)
    result = core.close_gate(T)
    assert (result.price, result.quantity) == (Decimal("0.1700"), Decimal("4.000"))
    got = [(t.transaction_id, t.party_id, t.side.value, str(t.quantity), str(t.price), t.counterparty_id)
           for t in result.transactions]
    assert got == [
        ("txn-20261121T120000Z-0001", "s1", "sell", "3.000", "0.1700", "market-lme"),
        ("txn-20261121T120000Z-0002", "s2", "sell", "1.000", "0.1700", "market-lme"),
        ("txn-20261121T120000Z-0003", "b", "buy", "4.000", "0.1700", "market-lme"),
    ]
    assert {r.tender_id: (r.status, str(r.filled)) for r in core.store.tenders()} == {
        "s1-t": (TenderStatus.CLEARED, "3.000"), "s2-t": (TenderStatus.CLEARED, "1.000"),
        "b-t": (TenderStatus.CLEARED, "4.000")}
    # each party gets one notice from the market with its own transactions
    assert sorted(result.notices) == ["b", "s1", "s2"]
    notice = result.notices["s2"]
    assert (notice.party_id, notice.counter_party_id) == ("market-lme", "s2")
    [tx] = notice.transactions
    assert tx.tender_id == "s2-t"
    assert isinstance(tx.item, Product)
    assert tx.item.payload.quantity == 1.0
    assert tx.item.payload.price is not None
    assert tx.item.payload.price.value == Decimal("0.1700")
    assert tx.item.transactive_state.value == "transaction"
    # the quote publishes the clearing price
    assert result.quote is not None
    assert result.quote.quote_id == "quote-20261121T120000Z"
    message = result.quote_message("b")
    assert message is not None
    assert message.subscriber_party_id == "b"


def test_worked_example_pay_as_bid(store: MemoryStore, clock: object, config: MarketConfig) -> None:
    core = VtnCore(replace(config, mechanism=Mechanism.PAY_AS_BID), store, clock)  # type: ignore[arg-type]
    _market(core)
    result = core.close_gate(T)
    assert [(t.party_id, str(t.quantity), str(t.price)) for t in result.transactions] == [
        ("s1", "3.000", "0.1000"), ("s2", "1.000", "0.1400"), ("b", "4.000", "0.2000")]


def test_an_unmatched_tender_expires_and_nothing_is_quoted(core: VtnCore) -> None:
    token = register(core, "s1")
    core.handle(create("s1", "t", product("sell", 1, "0.5")), token=token)
    result = core.close_gate(T)
    assert result.transactions == ()
    assert result.price is None
    assert result.quote is None
    assert core.store.tenders()[0].status is TenderStatus.EXPIRED


def test_closing_a_gate_twice_returns_the_same_result_without_duplicates(core: VtnCore) -> None:
    _market(core)
    first = core.close_gate(T)
    second = core.close_gate(T)
    assert second.transactions == first.transactions
    assert second.notices == first.notices
    assert second.gate == first.gate
    assert len(core.store.transactions()) == 3


def test_a_gate_off_the_grid_is_refused(core: VtnCore) -> None:
    with pytest.raises(ProtocolError) as info:
        core.close_gate(T.replace(minute=7))
    assert (info.value.response_code, info.value.field) == (454, "interval_start")


def test_request_transaction_shows_only_the_partys_own(core: VtnCore) -> None:
    tokens = _market(core)
    core.close_gate(T)
    reply = core.handle(EiRequestTransaction(request_id="q", party_id="s1", requestor_party_id="s1"),
                        token=tokens["s1"])
    assert isinstance(reply, EiReplyTransaction)
    assert [t.transaction_id for t in reply.transactions] == ["txn-20261121T120000Z-0001"]
    for txid, code in (("txn-20261121T120000Z-0003", 463), ("txn-nope", 452)):
        with pytest.raises(ProtocolError) as info:
            core.handle(EiRequestTransaction(request_id="q", party_id="s1", requestor_party_id="s1",
                                             transaction_ids=(txid,)), token=tokens["s1"])
        assert (info.value.response_code, info.value.field) == (code, "ei:transactionID[1]")


def test_request_quote_returns_the_last_clearing_price(core: VtnCore) -> None:
    tokens = _market(core)
    core.close_gate(T)
    reply = core.handle(EiRequestQuote(request_id="q", requestor_party_id="b", publisher_party_id="market-lme",
                                       market_contexts=(MARKET,)), token=tokens["b"])
    assert isinstance(reply, EiReplyQuote)
    [quote] = reply.quotes
    [item] = quote.items
    assert isinstance(item, Product)
    assert item.payload.price is not None
    assert item.payload.price.value == Decimal("0.1700")
