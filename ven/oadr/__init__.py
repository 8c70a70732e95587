"""The OpenADR 2.0b VEN role: a library for device vendors, and the reference VEN's OpenADR mode.

* :mod:`.core` — :class:`OadrVen`, the VEN's state and protocol rules, sans I/O (message in, messages out);
* :mod:`.events` — :class:`ReceivedEvent`, the typed event an event handler is given;
* :mod:`.reports` — what the VEN can report and when reports are due, sans I/O;
* :mod:`.http` — simple HTTP to the VTN, with the TLS, fingerprint and XML-signature hooks;
* :mod:`.client` — :class:`OadrVenClient`, the async client and its loop (:meth:`OadrVenClient.run`);
* :mod:`.state` — the registration kept between runs;
* :mod:`.behaviour` — the reference personalities (PV, load, battery) answering events and metering power.

Like the rest of :mod:`transactive.ven`, nothing here imports the VTN's server packages.
"""

from transactive.ven.oadr.client import EndHandler, EventHandler, OadrVenClient, ReportCallback
from transactive.ven.oadr.core import EventBatch, OadrVen, Outgoing, Step
from transactive.ven.oadr.events import ReceivedEvent, SignalValue, signal_values
from transactive.ven.oadr.http import DocumentSigner, DocumentVerifier, OadrHttp, VerifiedDocument
from transactive.ven.oadr.reports import ReportBook, ReportSource
from transactive.ven.oadr.state import OadrRegistrationState

__all__ = [
    "DocumentSigner",
    "DocumentVerifier",
    "EndHandler",
    "EventBatch",
    "EventHandler",
    "OadrHttp",
    "OadrRegistrationState",
    "OadrVen",
    "OadrVenClient",
    "Outgoing",
    "ReceivedEvent",
    "ReportBook",
    "ReportCallback",
    "ReportSource",
    "SignalValue",
    "Step",
    "VerifiedDocument",
    "signal_values",
]
