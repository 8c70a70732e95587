"""Deliveries (metered kWh per transaction) and positions (per party and bounding interval)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.services.conftest import QUARTER, T, create, product
from tests.services.test_gate import _market
from transactive.ei.cts.delivery import EiCreatedDelivery, EiCreateDelivery
from transactive.emix import Delivery, TemixPower, kwh
from transactive.errors import ProtocolError
from transactive.services import EiReplyPosition, EiRequestPosition, ManualClock, VtnCore

TX1, TX2, TX3 = (f"txn-20261121T120000Z-000{n}" for n in (1, 2, 3))


def delivery(party: str, txid: str, quantity: float | None, *, injection: bool = True,
             request_id: str = "d") -> EiCreateDelivery:
    payload = TemixPower(energy_item=kwh(), quantity=quantity)
    return EiCreateDelivery(request_id=request_id, requestor_party_id=party, deliveries=(
        Delivery(dtstart=T, duration=QUARTER, uid=txid, injection=injection, payload=payload),))


def test_a_delivery_is_stored_and_echoed_with_an_id(core: VtnCore, clock: ManualClock) -> None:
    tokens = _market(core)
    core.close_gate(T)
    clock.set(T + QUARTER)
    reply = core.handle(delivery("s1", TX1, 2.95), token=tokens["s1"])
    assert isinstance(reply, EiCreatedDelivery)
    assert reply.response.ok
    assert reply.deliveries[0].delivery_id == f"dlv-{TX1}"
    stored = core.store.delivery(TX1)
    assert stored is not None
    assert stored.quantity == Decimal("2.95")
    assert core.handle(delivery("s1", TX1, 2.95, request_id="d2"), token=tokens["s1"]).response.ok  # type: ignore


@pytest.mark.parametrize(("party", "message", "code", "field"), [
    ("s1", delivery("s1", TX3, 4.0, injection=False), 463, "emix:delivery[1]/emix:uid"),
    ("s1", delivery("s1", "txn-unknown", 1.0), 452, "emix:delivery[1]/emix:uid"),
    ("s1", delivery("s1", TX1, None), 454, "emix:delivery[1]/emix:quantity"),
    ("s1", delivery("s1", TX1, 3.0, injection=False), 454, "emix:delivery[1]/emix:injection"),
])
def test_delivery_refusals(core: VtnCore, clock: ManualClock, party: str, message: EiCreateDelivery, code: int,
                           field: str) -> None:
    tokens = _market(core)
    core.close_gate(T)
    clock.set(T + QUARTER)
    with pytest.raises(ProtocolError) as info:
        core.handle(message, token=tokens[party])
    assert (info.value.response_code, info.value.field) == (code, field)


def test_a_delivery_before_the_interval_ends_is_out_of_sequence(core: VtnCore, clock: ManualClock) -> None:
    tokens = _market(core)
    core.close_gate(T)
    clock.set(T + timedelta(minutes=10))
    with pytest.raises(ProtocolError) as info:
        core.handle(delivery("s1", TX1, 3.0), token=tokens["s1"])
    assert info.value.response_code == 450


def test_a_different_second_report_is_a_conflict(core: VtnCore, clock: ManualClock) -> None:
    tokens = _market(core)
    core.close_gate(T)
    clock.set(T + QUARTER)
    core.handle(delivery("s1", TX1, 3.0), token=tokens["s1"])
    with pytest.raises(ProtocolError) as info:
        core.handle(delivery("s1", TX1, 2.0, request_id="d2"), token=tokens["s1"])
    assert info.value.response_code == 409


def test_positions_add_up_to_zero_against_the_market(core: VtnCore) -> None:
    _market(core)
    core.close_gate(T)
    positions = {p: core.position(p, T, T + QUARTER) for p in ("s1", "s2", "b")}
    assert {p: (x.bought_kwh, x.sold_kwh, x.net_kwh, x.amount) for p, x in positions.items()} == {
        "s1": (0, 3, -3, Decimal("-0.51")), "s2": (0, 1, -1, Decimal("-0.17")), "b": (4, 0, 4, Decimal("0.68"))}
    assert sum(x.net_kwh for x in positions.values()) == 0
    assert sum(x.amount for x in positions.values()) == 0


def test_position_over_several_intervals_and_outside_the_window(core: VtnCore, clock: ManualClock) -> None:
    tokens = _market(core)
    core.close_gate(T)
    core.handle(create("b", "b-t2", product("buy", 1, "0.3", start=T + QUARTER)), token=tokens["b"])
    core.handle(create("s1", "s1-t2", product("sell", 1, "0.1", start=T + QUARTER)), token=tokens["s1"])
    core.close_gate(T + QUARTER)
    both = core.position("b", T, T + 2 * QUARTER)
    assert [line.bought_kwh for line in both.intervals] == [4, 1]
    assert both.amount == Decimal("0.68") + Decimal("0.2")
    assert core.position("b", T + 2 * QUARTER, T + 3 * QUARTER).intervals == ()


def test_position_request_is_own_party_only(core: VtnCore, clock: ManualClock) -> None:
    tokens = _market(core)
    core.close_gate(T)
    clock.set(T + QUARTER)
    core.handle(delivery("b", TX3, 3.9, injection=False), token=tokens["b"])
    reply = core.handle(EiRequestPosition(request_id="p", party_id="b", dtstart=T, duration=QUARTER),
                        token=tokens["b"])
    assert isinstance(reply, EiReplyPosition)
    assert (reply.bought_kwh, reply.net_kwh, reply.amount, reply.currency) == (4, 4, Decimal("0.68"), "USD")
    assert reply.intervals[0].delivered_kwh == Decimal("3.9")
    with pytest.raises(ProtocolError) as info:
        core.handle(EiRequestPosition(request_id="p", party_id="s1", dtstart=T, duration=QUARTER), token=tokens["b"])
    assert (info.value.response_code, info.value.field) == (463, "ei:partyID")
