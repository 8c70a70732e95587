"""Transports: one interface (:class:`Transport`) with three implementations: in-memory
(:class:`MemoryTransport`), HTTP (:class:`HttpTransport`, aiohttp) and MQTT
(:class:`transactive.transport.mqtt.MqttTransport`, aiomqtt from the ``server`` extra, imported on its own)."""

from transactive.transport.base import (
    ConnectionFailedError,
    Subscription,
    Transport,
    TransportClosedError,
    TransportError,
    TransportTimeoutError,
    WireFormat,
)
from transactive.transport.http import HttpTransport
from transactive.transport.memory import MemorySubscription, MemoryTransport

__all__ = [
    "ConnectionFailedError",
    "HttpTransport",
    "MemorySubscription",
    "MemoryTransport",
    "Subscription",
    "Transport",
    "TransportClosedError",
    "TransportError",
    "TransportTimeoutError",
    "WireFormat",
]
