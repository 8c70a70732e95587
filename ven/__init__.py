"""The reference VEN: the client library (:mod:`.client`), the runtime (:mod:`.runtime`), the pricing
strategies (:mod:`.pricing`) and the device personalities (:mod:`.personalities`).

The VEN side needs nothing of the VTN's server: it imports :mod:`transactive.protocol` (errors, replies,
market rules, the market clock) and :mod:`transactive.transport`, never :mod:`transactive.services`."""

from transactive.ven.client import VenClient, join_market, tender_and_wait
from transactive.ven.personalities import PERSONALITIES, Personality, create_personality
from transactive.ven.pricing import STRATEGIES, Pricing, create_pricing
from transactive.ven.runtime import IntervalRecord, SentTender, TimeMap, VenRuntime

__all__ = [
    "PERSONALITIES",
    "STRATEGIES",
    "IntervalRecord",
    "Personality",
    "Pricing",
    "SentTender",
    "TimeMap",
    "VenClient",
    "VenRuntime",
    "create_personality",
    "create_pricing",
    "join_market",
    "tender_and_wait",
]
