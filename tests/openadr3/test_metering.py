"""USAGE reports as metering, in the service layer: which interval each value is for, Wh and kWh, energy put
into the grid, the share over several transactions, and the first report winning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from transactive.emix.base import Side
from transactive.services import MemoryStore
from transactive.services.openadr3 import SYSTEM, Oa3Service, Principal, Role
from transactive.services.openadr3.metering import meter_usage, usage_values
from transactive.services.store import TransactionRow

T = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
Q = timedelta(minutes=15)
EVENT = {"id": "e1", "intervalPeriod": {"start": "2026-12-05T12:00:00Z", "duration": "PT15M"}}


def _usage(values: list[float], **resource: object) -> dict[str, object]:
    return {"resourceName": "meter", **resource,
            "intervals": [{"id": n, "payloads": [{"type": "USAGE", "values": [v]}]} for n, v in enumerate(values)]}


def test_each_value_is_for_its_interval_and_wh_is_converted() -> None:
    report = {"payloadDescriptors": [{"payloadType": "USAGE", "units": "WH"}],
              "resources": [_usage([500.0, 250.0]), _usage([1500.0])]}
    assert usage_values(report, EVENT, Q) == {T: Decimal("2"), T + Q: Decimal("0.25")}
    own = {"resources": [{"resourceName": "m", "intervals": [
        {"id": 0, "intervalPeriod": {"start": "2026-12-05T13:00:00Z", "duration": "PT15M"},
         "payloads": [{"type": "USAGE", "values": [1.0]}, {"type": "DEMAND", "values": [9.0]}]}]}]}
    assert usage_values(own, EVENT, Q) == {T + 4 * Q: Decimal("1")}


def _tx(store: MemoryStore, tx_id: str, party: str, side: Side, kwh: str) -> None:
    store.add_transaction(TransactionRow(tx_id, party, "market", f"t-{tx_id}", 0, side, T, Q, Decimal(kwh),
                                         Decimal("0.2"), "USD", "h", T))


def test_usage_is_shared_over_the_partys_transactions_and_the_first_report_wins() -> None:
    store = MemoryStore()
    service = Oa3Service(store)
    program = service.create(SYSTEM, "programs", {"programName": "market"})
    price = [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.2]}]}]
    event = service.create(SYSTEM, "events", {"programID": program["id"], "intervalPeriod": EVENT["intervalPeriod"],
                                              "intervals": price})
    home = Principal("c-home", Role.VEN, frozenset({"write_vens", "write_reports", "read_targets"}))
    service.create(home, "vens", {"objectType": "VEN_VEN_REQUEST", "venName": "home-1"})
    with store.transaction():
        _tx(store, "a", "home-1", Side.BUY, "1")
        _tx(store, "b", "home-1", Side.BUY, "3")
        _tx(store, "c", "home-1", Side.SELL, "2")
    report = service.create(home, "reports", {"eventID": event["id"], "clientName": "home-1",
                                              "resources": [_usage([2.0])]})
    assert sorted(meter_usage(service, report, Q)) == ["a", "b"]
    deliveries = {t: store.delivery(t) for t in "abc"}
    assert deliveries["a"] is not None
    assert deliveries["a"].quantity == Decimal("0.5")
    assert deliveries["b"] is not None
    assert deliveries["b"].quantity == Decimal("1.5")
    assert deliveries["c"] is None  # energy used is not energy sold
    again = service.create(home, "reports", {"eventID": event["id"], "clientName": "home-1",
                                             "resources": [_usage([9.0])]})
    assert meter_usage(service, again, Q) == []
    assert store.delivery("a").quantity == Decimal("0.5")  # type: ignore[union-attr]
    stranger = Principal("c-none", Role.VEN, frozenset({"write_reports", "read_targets"}))
    lone = service.create(stranger, "reports", {"eventID": event["id"], "clientName": "x",
                                                "resources": [_usage([1.0])]})
    assert meter_usage(service, lone, Q) == []  # no VEN object: no market party
