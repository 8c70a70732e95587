"""Transports: one interface (:class:`Transport`), in-memory (:class:`MemoryTransport`); HTTP and MQTT
implement the same interface."""

from transactive.transport.base import (
    ConnectionFailedError,
    Subscription,
    Transport,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
    WireFormat,
)
from transactive.transport.memory import MemorySubscription, MemoryTransport

__all__ = [
    "ConnectionFailedError",
    "MemorySubscription",
    "MemoryTransport",
    "Subscription",
    "Transport",
    "TransportClosedError",
    "TransportError",
    "TransportTimeoutError",
    "WireFormat",
]
