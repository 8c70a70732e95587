"""The reference VEN: the client library (:mod:`.client`), the runtime (:mod:`.runtime`) and the device
personalities (:mod:`.personalities`)."""

from transactive.ven.client import VenClient, join_market, tender_and_wait
from transactive.ven.personalities import PERSONALITIES, Personality, create_personality
from transactive.ven.runtime import STRATEGIES, IntervalRecord, TimeMap, VenRuntime, create_pricing

__all__ = [
    "PERSONALITIES",
    "STRATEGIES",
    "IntervalRecord",
    "Personality",
    "TimeMap",
    "VenClient",
    "VenRuntime",
    "create_personality",
    "create_pricing",
    "join_market",
    "tender_and_wait",
]
