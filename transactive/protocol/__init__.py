"""What both roles need and neither owns: the layer between the payloads and the VTN's services or a VEN.

* :mod:`.errors` — the refusals of the transactive services, each with its EI response code
  (:class:`ServiceError` and its subclasses, raised by a VTN) and :class:`RequestRefusedError` (raised by a
  client when a reply carries a refusal);
* :mod:`.replies` — ``ei:eiResponse`` in and out: the error reply for any request, :func:`check_reply`;
* :mod:`.market` — :class:`MarketConfig`: the market's rules as a VTN runs them and a VEN reads them from the
  market-context reply, with the interval grid and the scales tenders are snapped to;
* :mod:`.clock` — the injected clock, and :class:`TimeMapping` / :class:`MarketClock`: the market's time line;
* :mod:`.identity` — party keys, signed requests and notices, what a party id may be;
* :mod:`.oadr_sign` — OpenADR 2.0b XML signatures (signxml): :class:`~.oadr_sign.OadrSigner` signs an
  ``oadrPayload``, :class:`~.oadr_sign.OadrVerifier` checks one (certificate, replay protection, signature
  wrapping) and returns exactly what was signed. Imported on its own (the ``signing`` extra), like
  :mod:`.certs`.

The wire formats (media types, encode/decode by format) are :mod:`transactive.codec.wire`.

Client code (transports, the VEN) imports this package, never :mod:`transactive.services` (the VTN's store
and cores): a device vendor who installs the VEN side loads nothing of the server.
"""

from transactive.protocol.clock import Clock, ManualClock, MarketClock, TimeMapping, system_clock
from transactive.protocol.errors import (
    ConflictError,
    ForgedNoticeError,
    InvalidIdError,
    NotAllowedError,
    NotAuthorizedError,
    OutOfSequenceError,
    OutsideLimitsError,
    RequestRefusedError,
    ServiceError,
)
from transactive.protocol.market import EPOCH, MarketConfig
from transactive.protocol.replies import check_reply, error_reply, ok_response, reply_response

__all__ = [
    "EPOCH",
    "Clock",
    "ConflictError",
    "ForgedNoticeError",
    "InvalidIdError",
    "ManualClock",
    "MarketClock",
    "MarketConfig",
    "NotAllowedError",
    "NotAuthorizedError",
    "OutOfSequenceError",
    "OutsideLimitsError",
    "RequestRefusedError",
    "ServiceError",
    "TimeMapping",
    "check_reply",
    "error_reply",
    "ok_response",
    "reply_response",
    "system_clock",
]
