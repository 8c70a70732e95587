"""The reference VEN: the client library (:mod:`.client`); the runtime and personalities come later."""

from transactive.ven.client import VenClient, join_market, tender_and_wait

__all__ = ["VenClient", "join_market", "tender_and_wait"]
