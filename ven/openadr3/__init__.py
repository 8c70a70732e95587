"""The OpenADR 3.1 VEN side: a typed library client and the reference VEN's ``--protocol openadr3`` mode.

* :mod:`.models` — the specification's objects as pydantic models (camelCase on the wire, snake_case in Python);
* :mod:`.client` — :class:`Oa3Client`, async, OAuth 2 client credentials, paging, one error type;
* :mod:`.behaviour` — the reference personalities answering PRICE events and metering their usage, sans I/O;
* :mod:`.runtime` — :class:`Oa3VenRuntime`, the loop: register, read events, decide, report USAGE.

Like the rest of :mod:`transactive.ven`, nothing here imports the VTN's server packages.
"""

from transactive.ven.openadr3.behaviour import Decision, Oa3Behaviour, PricedInterval, price_intervals
from transactive.ven.openadr3.client import Oa3AuthError, Oa3Client, Oa3ConnectionError, Oa3Error
from transactive.ven.openadr3.runtime import Oa3VenRuntime

__all__ = [
    "Decision",
    "Oa3AuthError",
    "Oa3Behaviour",
    "Oa3Client",
    "Oa3ConnectionError",
    "Oa3Error",
    "Oa3VenRuntime",
    "PricedInterval",
    "price_intervals",
]
