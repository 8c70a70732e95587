"""The tender facet: acceptance, every refusal with its EI code and field, idempotency, cancel, streams."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.services.conftest import QUARTER, T, create, product, register, stream
from transactive.ei.cts.tender import EiCancelTender, EiCreatedTender, EiReplyTender, EiRequestTender
from transactive.errors import ProtocolError
from transactive.services import ManualClock, TenderStatus, VtnCore
from transactive.services.lifecycle import TENDER_TRANSITIONS, TenderEvent

P = "ei:eiTender[1]/emix:product"


def test_a_valid_tender_is_accepted_and_stored_open(core: VtnCore) -> None:
    token = register(core, "pv-1")
    reply = core.handle(create("pv-1", "t1", product()), token=token)
    assert isinstance(reply, EiCreatedTender)
    assert reply.response.ok
    assert reply.tender_ids == ("t1",)
    [row] = core.store.tenders(party_id="pv-1")
    assert (row.interval_start, row.side, str(row.price), str(row.quantity), row.status) == (
        T, "sell", "0.12", "2.5", TenderStatus.OPEN)


CASES: list[tuple[str, Callable[[str], object], int, str]] = [
    ("unregistered party", lambda tok: (create("pv-9", "t", product()), None), 463, "ei:partyID"),
    ("token of another party", lambda tok: (create("pv-2", "t", product()), tok), 463, "ei:partyID"),
    ("counterparty is not the market", lambda tok: (create("pv-1", "t", product(), counter="x"), tok), 452,
     "ei:counterPartyID"),
    ("another market context", lambda tok: (create("pv-1", "t", product(market="https://x.example.com/m")), tok),
     452, f"{P}/emix:marketContext"),
    ("quantity below the minimum", lambda tok: (create("pv-1", "t", product(quantity=0.05)), tok), 454,
     f"{P}/emix:quantity"),
    ("quantity above the maximum", lambda tok: (create("pv-1", "t", product(quantity=101)), tok), 454,
     f"{P}/emix:quantity"),
    ("quantity off the scale", lambda tok: (create("pv-1", "t", product(quantity=1.0005)), tok), 454,
     f"{P}/emix:quantity"),
    ("price above the band", lambda tok: (create("pv-1", "t", product(price="1.5")), tok), 454,
     f"{P}/emix:price/emix:value"),
    ("price below the band", lambda tok: (create("pv-1", "t", product(price="0.001")), tok), 454,
     f"{P}/emix:price/emix:value"),
    ("interval off the grid", lambda tok: (create("pv-1", "t", product(start=T + timedelta(minutes=5))), tok), 454,
     f"{P}/xcal:dtStart"),
    ("duration not one interval", lambda tok: (create("pv-1", "t", product(duration=QUARTER * 2)), tok), 454,
     f"{P}/xcal:duration"),
    ("interval whose gate has closed", lambda tok: (create("pv-1", "t", product(start=T - QUARTER * 2)), tok), 450,
     f"{P}/xcal:dtStart"),
    ("stream with a closed interval", lambda tok: (create("pv-1", "t", stream("buy", (1, 1), "0.1",
                                                                                start=T - QUARTER * 3)), tok),
     450, f"{P}/strm:intervals/strm:streamInterval[1]"),
]


@pytest.mark.parametrize(("case", "build", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_tender_refusals_carry_code_and_field(core: VtnCore, case: str, build: Callable[[str], object],
                                              code: int, field: str) -> None:
    token = register(core, "pv-1")
    register(core, "pv-2")
    message, tok = build(token)  # type: ignore[misc]
    with pytest.raises(ProtocolError) as info:
        core.handle(message, token=tok)
    assert (info.value.response_code, info.value.field) == (code, field)
    assert core.store.tenders() == []  # a refused request changes nothing


def test_a_tender_for_a_cleared_interval_is_out_of_sequence(core: VtnCore) -> None:
    token = register(core, "pv-1")
    core.close_gate(T)
    with pytest.raises(ProtocolError) as info:
        core.handle(create("pv-1", "t1", product()), token=token)
    assert (info.value.response_code, info.value.field) == (450, f"{P}/xcal:dtStart")


def test_the_same_request_twice_gives_the_same_reply_and_one_tender(core: VtnCore) -> None:
    token = register(core, "pv-1")
    msg = create("pv-1", "t1", product())
    assert core.handle(msg, token=token) == core.handle(msg, token=token)
    assert len(core.store.tenders()) == 1


def test_the_same_tender_under_a_new_request_id_is_not_duplicated(core: VtnCore) -> None:
    token = register(core, "pv-1")
    core.handle(create("pv-1", "t1", product(), request_id="a"), token=token)
    core.handle(create("pv-1", "t1", product(), request_id="b"), token=token)
    assert len(core.store.tenders()) == 1


@pytest.mark.parametrize(("first", "second", "field"), [
    (create("pv-1", "t1", product(), request_id="a"), create("pv-1", "t1", product(quantity=3), request_id="b"),
     "ei:eiTender[1]/ei:tenderID"),
    (create("pv-1", "t1", product(), request_id="a"), create("pv-1", "t2", product(), request_id="a"),
     "pyld:requestID"),
])
def test_reusing_an_id_for_different_content_is_a_conflict(core: VtnCore, first: object, second: object,
                                                            field: str) -> None:
    token = register(core, "pv-1")
    core.handle(first, token=token)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError) as info:
        core.handle(second, token=token)  # type: ignore[arg-type]
    assert (info.value.response_code, info.value.field) == (409, field)


def test_cancel_own_tender_and_cancel_again(core: VtnCore) -> None:
    token = register(core, "pv-1")
    core.handle(create("pv-1", "t1", product()), token=token)
    cancel = EiCancelTender(request_id="c1", party_id="pv-1", tender_ids=("t1",))
    assert core.handle(cancel, token=token).response.ok  # type: ignore[attr-defined]
    assert core.handle(cancel.replace(request_id="c2"), token=token).response.ok  # type: ignore[attr-defined]
    assert [r.status for r in core.store.tenders()] == [TenderStatus.CANCELLED]


@pytest.mark.parametrize(("tender_id", "code"), [("t-of-pv-2", 463), ("no-such-tender", 452)])
def test_a_party_cannot_cancel_another_partys_or_an_unknown_tender(core: VtnCore, tender_id: str, code: int) -> None:
    token = register(core, "pv-1")
    other = register(core, "pv-2")
    core.handle(create("pv-2", "t-of-pv-2", product()), token=other)
    with pytest.raises(ProtocolError) as info:
        core.handle(EiCancelTender(request_id="c", party_id="pv-1", tender_ids=(tender_id,)), token=token)
    assert (info.value.response_code, info.value.field) == (code, "ei:tenderID[1]")
    assert core.store.tenders(tender_id="t-of-pv-2")[0].status is TenderStatus.OPEN


def test_cancelling_a_cleared_tender_is_out_of_sequence(core: VtnCore) -> None:
    token = register(core, "pv-1")
    core.handle(create("pv-1", "t1", product()), token=token)
    core.close_gate(T)
    with pytest.raises(ProtocolError) as info:
        core.handle(EiCancelTender(request_id="c", party_id="pv-1", tender_ids=("t1",)), token=token)
    assert info.value.response_code == 450


def test_a_stream_tender_is_one_row_per_interval_and_each_clears_at_its_gate(core: VtnCore,
                                                                             clock: ManualClock) -> None:
    token = register(core, "home-1")
    seller = register(core, "pv-1")
    core.handle(create("home-1", "day", stream("buy", (1.0, 2.0, 3.0), ("0.2", "0.3", "0.4"))), token=token)
    rows = core.store.tenders(party_id="home-1")
    assert [(r.seq, r.interval_start, str(r.quantity), str(r.price)) for r in rows] == [
        (0, T, "1.0", "0.2"), (1, T + QUARTER, "2.0", "0.3"), (2, T + 2 * QUARTER, "3.0", "0.4")]
    core.handle(create("pv-1", "s", product(quantity=5, price="0.1")), token=seller)
    result = core.close_gate(T)
    assert [(t.party_id, str(t.quantity)) for t in result.transactions] == [("home-1", "1.000"), ("pv-1", "1.000")]
    statuses = [r.status for r in core.store.tenders(party_id="home-1")]
    assert statuses == [TenderStatus.CLEARED, TenderStatus.OPEN, TenderStatus.OPEN]
    core.handle(EiCancelTender(request_id="c", party_id="home-1", tender_ids=("day",)), token=token)
    statuses = [r.status for r in core.store.tenders(party_id="home-1")]
    assert statuses == [TenderStatus.CLEARED, TenderStatus.CANCELLED, TenderStatus.CANCELLED]


def test_request_tender_returns_only_the_partys_own_tenders_as_sent(core: VtnCore) -> None:
    token = register(core, "pv-1")
    other = register(core, "pv-2")
    sent = create("pv-1", "t1", product())
    core.handle(sent, token=token)
    core.handle(create("pv-2", "t2", product()), token=other)
    reply = core.handle(EiRequestTender(request_id="q", party_id="pv-1", requestor_party_id="pv-1"), token=token)
    assert isinstance(reply, EiReplyTender)
    assert reply.tenders == sent.tenders
    with pytest.raises(ProtocolError) as info:
        core.handle(EiRequestTender(request_id="q", party_id="pv-2", requestor_party_id="pv-1"), token=token)
    assert info.value.response_code == 463


def test_the_tender_lifecycle_table() -> None:
    assert {(s.value, e.value): t.value for (s, e), t in TENDER_TRANSITIONS.items()} == {
        ("open", "cancel"): "cancelled", ("open", "match"): "cleared", ("open", "no_match"): "expired",
        ("cancelled", "cancel"): "cancelled"}
    assert all(s is TenderStatus.OPEN or e is TenderEvent.CANCEL for s, e in TENDER_TRANSITIONS)
