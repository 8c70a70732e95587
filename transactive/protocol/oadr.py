"""What the OpenADR 2.0b VTN and VEN roles share: the simple-HTTP endpoints, the profile this project speaks
and the message each endpoint takes.

OpenADR 2.0b's simple HTTP transport posts every message to ``{VTN URL}/OpenADR2/Simple/2.0b/{service}``
(2.0b profile specification, section 9: "Simple HTTP"), where ``service`` is one of :data:`SERVICES`. The VEN
pulls (``OadrPoll``) unless it registered with ``oadrHttpPullModel`` false and a transport address, in which
case the VTN pushes to ``{transport address}/{service}`` the same way.

Refusals use the EI response codes of :class:`transactive.errors.ResponseCode` (450-469 are OpenADR's); the
refusal classes are :mod:`transactive.protocol.errors`' (:class:`~transactive.protocol.errors.ServiceError`
and its subclasses), so a refusal names the offending field the same way on both protocols.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

__all__ = [
    "BASE_PATH",
    "DEFAULT_POLL",
    "SERVICES",
    "Service",
    "service_url",
]

#: the path prefix of the simple HTTP transport, below the VTN's (or a push VEN's) base URL
BASE_PATH = "/OpenADR2/Simple/2.0b"


class Service(StrEnum):
    """The OpenADR 2.0b services, as they appear in the simple-HTTP path."""

    REGISTER_PARTY = "EiRegisterParty"
    EVENT = "EiEvent"
    REPORT = "EiReport"
    OPT = "EiOpt"
    POLL = "OadrPoll"


#: every service's path segment
SERVICES: tuple[str, ...] = tuple(s.value for s in Service)

#: how often a VTN asks its VENs to poll when the operator says nothing (``oadrRequestedOadrPollFreq``)
DEFAULT_POLL = timedelta(seconds=10)


def service_url(base: str, service: Service | str) -> str:
    """The URL a message for ``service`` is posted to: ``base`` is the VTN's URL (with or without
    :data:`BASE_PATH`) or a push VEN's transport address."""
    base = base.rstrip("/")
    if not base.endswith(BASE_PATH):
        base += BASE_PATH
    return f"{base}/{service}"
