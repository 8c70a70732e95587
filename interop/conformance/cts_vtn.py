"""``conformance probe --standard cts --role vtn``: the kit plays a CTS party against the CTS VTN (market) at
a URL and reports, case by case, what it does that CTS and Energy Interoperation do not allow.

The VTN is reached as transactive's own VEN reaches it (:mod:`transactive.transport.http`): ``POST {url}/cts``
with the payload in XML or JSON (``wire``), the bearer token the registration issued, and — for the
registration — the ``Signature`` of :mod:`transactive.protocol.identity` by the party's key: ``--sign-key``
(PEM; with ``--sign-cert`` for an ECDSA or RSA key, whose certificate then travels as the key id) or, without
them, a fresh Ed25519 key for the run. ``--tls-ca/--tls-cert/--tls-key`` make the client's TLS context for an
``https://`` URL (:func:`transactive.transport.tls.client_context`). ``--vtn-fingerprint`` has no use here:
the kit reads no notices, so there is no VTN signature to pin.

The cases, in the order they run (:data:`SUITE`): the market context (``CTS_M_0010``), the registration and
its repetition (``CTS_N_0010``, ``CTS_N_0020``), the tender facet (``CTS_T_*``), transactions, delivery,
position, quote (``CTS_X_0010``, ``CTS_D_0010``, ``CTS_S_0010``, ``CTS_Q_0010``), the general ones
(``CTS_G_*``) and the cancellation of the registration (``CTS_N_0090``). Whatever the cases leave open is
withdrawn when the run ends.
"""

from __future__ import annotations

import importlib
import ssl
import uuid
from pathlib import Path

from transactive.codec.wire import WireFormat
from transactive.interop.conformance.cts_probe_context import SUITE, CtsProbe
from transactive.interop.conformance.cts_probe_wire import CtsWire
from transactive.interop.conformance.model import Options, Report
from transactive.interop.conformance.suite import Progress, Recorder, run_suite
from transactive.protocol.identity import PartyIdentity
from transactive.transport.tls import client_context

__all__ = ["SUITE", "WIRES", "identity_of", "probe", "tls_of"]

#: the wire formats ``--wire`` offers
WIRES = tuple(w.value for w in WireFormat)
# the case modules register their cases on SUITE when imported: this is the order the cases run in
for _module in ("cts_vtn_market", "cts_vtn_trade", "cts_vtn_general"):
    importlib.import_module(f"transactive.interop.conformance.{_module}")


def tls_of(url: str, options: Options) -> ssl.SSLContext | None:
    """The client TLS context for ``url`` from the options (None for http://); ``ValueError`` for TLS flags
    with an http:// URL or a certificate without its key."""
    https = url.lower().startswith("https://")
    given = options.tls_ca is not None or options.tls_cert is not None or options.tls_key is not None
    if not https:
        if given:
            raise ValueError("--tls-ca, --tls-cert and --tls-key are for an https:// URL")
        return None
    return client_context(options.tls_ca, cert=options.tls_cert, key=options.tls_key)


def identity_of(options: Options) -> PartyIdentity:
    """The key the kit's party signs its registration with: ``--sign-key`` (and ``--sign-cert``), else new."""
    if options.sign_key is None:
        if options.sign_cert is not None:
            raise ValueError("--sign-cert needs --sign-key")
        return PartyIdentity.generate()
    cert = Path(options.sign_cert).read_bytes() if options.sign_cert is not None else None
    return PartyIdentity.from_pem(Path(options.sign_key).read_bytes(), cert)


async def probe(url: str, options: Options, *, progress: Progress | None = None, wire: str = "xml",
                market_context: str | None = None) -> Report:
    """Run the CTS cases against the VTN at ``url`` and report. ``wire``: ``xml`` or ``json``;
    ``market_context``: the market context URI (default: the one a transactive VTN names when asked about an
    unknown one). Raises :class:`~.model.EndpointUnreachable` when nothing answers the first request, and
    ``ValueError`` for unusable options."""
    link = CtsWire(url, Recorder(), WireFormat(wire), timeout=options.timeout, tls=tls_of(url, options))
    party = options.party or f"conformance-{uuid.uuid4().hex[:12]}"
    ctx = CtsProbe(link, party, identity_of(options), market_context=market_context)
    try:
        return await run_suite(SUITE, ctx, link.recorder, options, target=url, progress=progress)
    finally:
        await ctx.cleanup()
        await link.close()
