"""Sample messages for the codec tests.

Every example message the message packages publish (``transactive.ei.oadr.examples.examples()``,
``transactive.ei.cts.examples.examples()``) plus one ``oadrDistributeEvent`` built here, so the tests
run (and grow) with whatever message families exist.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from transactive.model.base import Model

EXAMPLE_MODULES = ("transactive.ei.oadr.examples", "transactive.ei.cts.examples")


def distribute_event() -> Model:
    """A realistic oadrDistributeEvent that uses most of the event structure."""
    from transactive.ei.oadr.base import EiResponse
    from transactive.ei.oadr.enums import EventStatus, ResponseRequired, SignalType
    from transactive.ei.oadr.event import (
        ActivePeriod,
        Event,
        EventDescriptor,
        EventSignal,
        Interval,
        OadrDistributeEvent,
        OadrEvent,
        SignalPayload,
    )
    from transactive.ei.oadr.items import CurrencyPerKWh
    from transactive.ei.oadr.payloads import PayloadFloat
    from transactive.ei.oadr.target import Target

    t0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return OadrDistributeEvent(
        response=EiResponse(response_code=200, response_description="OK", request_id="poll-7"),
        request_id="req-1",
        vtn_id="vtn-1",
        events=(
            OadrEvent(
                event=Event(
                    descriptor=EventDescriptor(
                        event_id="ev-1",
                        modification_number=3,
                        market_context="http://mc.example/price",
                        created_date_time=t0 - timedelta(days=1),
                        event_status=EventStatus.FAR,
                        priority=1,
                        vtn_comment="peak <price> & \"more\"",
                    ),
                    active_period=ActivePeriod(
                        dtstart=t0, duration=timedelta(hours=1), notification=timedelta(minutes=5)
                    ),
                    signals=(
                        EventSignal(
                            intervals=(
                                Interval(
                                    duration=timedelta(minutes=30),
                                    uid="0",
                                    payloads=(SignalPayload(payload=PayloadFloat(value=1.5)),),
                                ),
                                Interval(
                                    duration=timedelta(minutes=30),
                                    uid="1",
                                    payloads=(SignalPayload(payload=PayloadFloat(value=-0.25)),),
                                ),
                            ),
                            signal_name="ELECTRICITY_PRICE",
                            signal_type=SignalType.PRICE,
                            signal_id="sig-1",
                            item_base=CurrencyPerKWh(item_units="USD"),
                            current_value=0.0,
                        ),
                    ),
                    target=Target(ven_ids=("ven-1",), group_ids=("g1", "g2")),
                ),
                response_required=ResponseRequired.ALWAYS,
            ),
        ),
    )


def _flatten(found: Any, prefix: str) -> list[tuple[str, Model]]:
    out: list[tuple[str, Model]] = []
    items: Iterable[Any] = [(str(k), v) for k, v in found.items()] if isinstance(found, Mapping) else list(found)
    for n, item in enumerate(items):
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Model):
            name, value = str(item[0]), item[1]
        else:
            name, value = f"{type(item).__name__}-{n}", item
        if isinstance(value, Model) and type(value).__tag__:
            out.append((f"{prefix}:{name}", value))
    return out


@cache
def example_messages() -> tuple[tuple[str, Model], ...]:
    """(id, message) for every published example, plus our own oadrDistributeEvent."""
    found: list[tuple[str, Model]] = [("local:oadrDistributeEvent", distribute_event())]
    for module_name in EXAMPLE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # the family (or its examples) does not exist yet; anything else is a real error
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        family = module_name.split(".")[-2]
        found.extend(_flatten(module.examples(), family))
    return tuple(found)


def example_ids() -> list[str]:
    return [name for name, _ in example_messages()]


def examples() -> list[Model]:
    return [message for _, message in example_messages()]


def replace_first(value: Any, predicate: Any, new: Any) -> tuple[Any, bool]:
    """``value`` with the first nested scalar for which ``predicate`` holds replaced by ``new``
    (depth first; models are rebuilt, so the result is validated); ``(value, False)`` if none matched."""
    if isinstance(value, Model):
        for name in type(value).model_fields:
            changed, done = replace_first(getattr(value, name), predicate, new)
            if done:
                return value.replace(**{name: changed}), True
        return value, False
    if isinstance(value, tuple):
        for n, item in enumerate(value):
            changed, done = replace_first(item, predicate, new)
            if done:
                return (*value[:n], changed, *value[n + 1 :]), True
        return value, False
    if predicate(value):
        return new, True
    return value, False
