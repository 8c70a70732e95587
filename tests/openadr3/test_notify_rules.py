"""The rules of the OpenADR 3.1 notifiers without I/O: which subscriptions ask for a change, the MQTT topics of
a change, and the retry delays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from transactive.schemas.openadr3 import validate_body
from transactive.services import MemoryStore
from transactive.services.openadr3 import Clients, Oa3Change, Oa3Service, Role
from transactive.services.openadr3.notification import notification, principal_of
from transactive.vtn.openadr3_mqtt import PREFIX, MqttNotifier, _Control, change_topics
from transactive.vtn.openadr3_notify import RetryPolicy, subscription_targets

EVENT = {"id": "e1", "programID": "p1", "objectType": "EVENT", "createdDateTime": "2026-12-05T00:00:00.000Z",
         "modificationDateTime": "2026-12-05T00:00:00.000Z", "intervals": [], "targets": ["zone-a"]}


def _subscription(objects: list[str], operations: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": "s1", "clientID": "c1", "clientName": "x", **extra, "objectOperations": [
        {"objects": objects, "operations": operations, "callbackUrl": "http://a/hook", "bearerToken": "t"},
        {"objects": objects, "operations": operations, "callbackUrl": "http://a/hook", "bearerToken": "other"},
        {"objects": ["PROGRAM"], "operations": operations, "callbackUrl": "http://b/hook"}]}


@pytest.mark.parametrize(("subscription", "wanted"), [
    (_subscription(["EVENT"], ["CREATE"]), [("http://a/hook", "t")]),  # one delivery per URL, the first token
    (_subscription(["EVENT"], ["UPDATE", "DELETE"]), []),  # not the operation asked for
    (_subscription(["REPORT"], ["CREATE"]), []),  # not the object type asked for
    (_subscription(["EVENT"], ["CREATE"], programID="p2"), []),  # another program's event
    (_subscription(["EVENT"], ["CREATE"], programID="p1"), [("http://a/hook", "t")]),
    (_subscription(["EVENT"], ["CREATE"], targets=["zone-b"]), []),  # targets that do not meet the event's
    (_subscription(["EVENT"], ["CREATE"], targets=["zone-a", "zone-b"]), [("http://a/hook", "t")]),
])
def test_a_subscription_asks_for_its_operations_program_and_targets(subscription: dict[str, Any],
                                                                   wanted: list[tuple[str, str | None]]) -> None:
    assert subscription_targets(subscription, Oa3Change("CREATE", "EVENT", EVENT)) == wanted


def test_the_program_filter_does_not_apply_to_objects_of_no_program() -> None:
    ven = {"id": "v1", "venName": "house", "clientID": "c1"}
    subscription = _subscription(["VEN"], ["UPDATE"], programID="p2")
    assert subscription_targets(subscription, Oa3Change("UPDATE", "VEN", ven)) == [("http://a/hook", "t")]


def test_a_notification_carries_the_object_targets_and_validates() -> None:
    body = notification(Oa3Change("DELETE", "EVENT", EVENT))
    assert body == {"objectType": "EVENT", "operation": "DELETE", "object": EVENT, "targets": ["zone-a"]}
    assert validate_body("notification", body) == []


def test_an_event_is_published_on_its_type_its_id_its_program_and_each_ven_copy() -> None:
    assert change_topics(Oa3Change("UPDATE", "EVENT", EVENT), ["v1", "v2"]) == [
        f"{PREFIX}/events/update", f"{PREFIX}/events/e1/update", f"{PREFIX}/programs/p1/events/update",
        f"{PREFIX}/vens/v1/events/update", f"{PREFIX}/vens/v2/events/update"]
    assert change_topics(Oa3Change("CREATE", "REPORT", {"id": "r1"}), ["v1"]) == [f"{PREFIX}/reports/create"]


def test_an_id_that_is_not_one_topic_level_is_refused() -> None:
    with pytest.raises(ValueError, match="topic level"):
        change_topics(Oa3Change("UPDATE", "PROGRAM", {"id": "a/#"}))


def test_retry_delays_double_up_to_the_maximum_less_the_jitter() -> None:
    policy = RetryPolicy(first=1.0, maximum=300.0, jitter=0.2)
    assert [policy.delay(n, lambda: 0.0) for n in (1, 2, 3, 9, 10, 20)] == [1, 2, 4, 256, 300, 300]
    assert policy.delay(3, lambda: 1.0) == pytest.approx(3.2)


def test_an_unknown_client_acts_as_a_ven_only_when_an_outside_provider_is_trusted() -> None:
    clients = Clients(MemoryStore())
    made = clients.create(Role.BL, "utility")
    assert principal_of(clients, "stranger") is None
    outsider = principal_of(clients, "stranger", outside=True)
    assert outsider is not None
    assert outsider.role is Role.VEN
    own = principal_of(clients, made.record.client_id)
    assert own is not None
    assert own.role is Role.BL
    clients.revoke(made.record.client_id)
    assert principal_of(clients, made.record.client_id, outside=True) is None


async def test_an_expired_token_stops_being_the_broker_password() -> None:
    store = MemoryStore()
    notifier = MqttNotifier(Oa3Service(store, wall=lambda: datetime.now(UTC)), Clients(store), "127.0.0.1", 1,
                            acl=True)
    notifier.token_issued("ven_1", "token-1", 0.05)
    notifier.token_issued("ven_1", "token-2", 0.1)
    await asyncio.sleep(0.3)
    passwords = []
    while not notifier._queue.empty():
        item = notifier._queue.get_nowait()
        assert isinstance(item, _Control)
        passwords.append(item.password)
    assert passwords[:2] == ["token-1", "token-2"]  # token-1 expired after token-2 was issued: nothing changes
    assert len(passwords) == 3
    assert passwords[2] not in ("token-1", "token-2")


def test_a_subscription_is_published_on_mqtt_without_its_bearer_tokens() -> None:
    store = MemoryStore()
    notifier = MqttNotifier(Oa3Service(store, wall=lambda: datetime.now(UTC)), Clients(store), "127.0.0.1", 1)
    subscription = {**_subscription(["EVENT"], ["CREATE"]), "objectType": "SUBSCRIPTION",
                    "createdDateTime": "2026-12-05T00:00:00.000Z", "modificationDateTime": "2026-12-05T00:00:00.000Z"}
    notifier.on_change(Oa3Change("CREATE", "SUBSCRIPTION", subscription))
    item = notifier._queue.get_nowait()
    assert isinstance(item, tuple)
    body = orjson.loads(item[1])
    assert validate_body("notification", body) == []
    assert [op.get("bearerToken") for op in body["object"]["objectOperations"]] == [None, None, None]
    assert body["object"]["objectOperations"][0]["callbackUrl"] == "http://a/hook"
