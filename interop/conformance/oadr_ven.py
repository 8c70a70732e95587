"""``conformance listen --role ven --standard openadr20b``: the kit plays an OpenADR 2.0b VTN and walks the VEN
under test through the cases as it connects.

:func:`listen` serves ``{scheme}://HOST:PORT/OpenADR2/Simple/2.0b/{service}`` (HTTPS with client certificates
when the TLS flags are given), calls ``ready(url)`` with the URL to give the VEN, and runs the cases in
order; each waits for the VEN's next request of the kinds it expects (at most ``--timeout`` seconds) and
decides the answer (:mod:`.oadr_listen_context`). With ``--sign-cert``/``--sign-key`` the kit signs every
answer and verifies every request. The last case cancels the VEN's registration, so a well-behaved VEN stops.

The catalogue, in running order:

=========  ==================================================================================================
N1_0010    registration (any model): query optional, then oadrCreatePartyRegistration
R1_0010    the VEN's report metadata; the kit asks for one data point
R1_0020    oadrCreatedReport for that request
E1_0010    a new event: oadrCreatedEvent (eventID, modificationNumber, optType, requestID)
E0_0010    push VENs: the same, the event posted to the VEN's transportAddress
R1_0030    oadrUpdateReport with the reportRequestID and rIDs asked for
E1_0020    the event modified: the answer names the new modificationNumber
E1_0030    the event cancelled: answered without an error
E0_0020    push VENs: the event modified and posted: the answer names the new modificationNumber
E0_0030    push VENs: the event cancelled and posted: answered without an error
E1_0040    a cancelled event the VEN never knew: no error (rule 21's exception)
E1_0050    a distribution with another vtnID: not taken (rule 21)
E1_0060    responseRequired never: no answer
R1_0050    oadrCancelReport: oadrCanceledReport, the report no longer pending
N1_0030    oadrRequestReregistration: acknowledged, then a registration with the registrationID
R1_0040    the kit's metadata (oadrRegisterReport): oadrRegisteredReport
G1_0060    (signed runs) a distribution whose signature does not verify is not acted on
G1_0070    (signed runs) a replayed signed oadrRequestReregistration is not acted on
N1_0040    oadrCancelPartyRegistration: oadrCanceledPartyRegistration; N0_0040 for push VENs
N1_0020    over the run: the assigned venID in every payload
P1_0010    over the run: the VEN's opts (if any) name an event version it was sent or a schedule
G1_0010    over the run: polls no more often than requested (§9.1.8)
G1_0050    (signed runs) over the run: every payload signed and verified (§10)
=========  ==================================================================================================

Pull cases are skipped for a VEN that registered for push and push cases for a pull VEN, saying so.
"""

from __future__ import annotations

from collections.abc import Callable

from transactive.interop.conformance.model import Options, Report
from transactive.interop.conformance.oadr_listen_context import DEFAULT_VTN_ID, ListenContext, Signing
from transactive.interop.conformance.oadr_listen_server import ListenServer
from transactive.interop.conformance.oadr_ven_events import (
    e0_0010,
    e0_0020,
    e0_0030,
    e1_0010,
    e1_0020,
    e1_0030,
    e1_0040,
    e1_0050,
    e1_0060,
)
from transactive.interop.conformance.oadr_ven_registration import n0_0040, n1_0010, n1_0030, n1_0040
from transactive.interop.conformance.oadr_ven_reports import r1_0010, r1_0020, r1_0030, r1_0040, r1_0050
from transactive.interop.conformance.oadr_ven_security import (
    g1_0010,
    g1_0050,
    g1_0060,
    g1_0070,
    n1_0020,
    p1_0010,
)
from transactive.interop.conformance.oadr_ven_suite import SUITE, register
from transactive.interop.conformance.suite import Progress, Recorder, run_suite

__all__ = ["SUITE", "listen"]

register(n1_0010, r1_0010, r1_0020, e1_0010, e0_0010, r1_0030, e1_0020, e1_0030, e0_0020, e0_0030, e1_0040,
         e1_0050, e1_0060, r1_0050, n1_0030, r1_0040, g1_0060, g1_0070, n1_0040, n0_0040, n1_0020, p1_0010,
         g1_0010, g1_0050)


def _signing(options: Options) -> Signing | None:
    if not options.signs:
        return None
    from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier

    assert options.sign_cert is not None
    assert options.sign_key is not None
    return Signing(OadrSigner.from_files(options.sign_cert, options.sign_key),
                   OadrVerifier(trusted_ca=options.tls_ca))


async def listen(host: str, port: int, options: Options, *, progress: Progress | None = None,
                 ready: Callable[[str], None] | None = None) -> Report:
    """Listen on ``host:port`` (0: any free port), tell ``ready`` the URL to give the VEN, run the cases
    ``options.cases`` selects as the VEN connects, and report. Unusable signing files raise
    :class:`~transactive.protocol.certs.CertificateError`; a port that cannot be bound or unusable TLS files
    :class:`~.model.EndpointUnreachable`."""
    signing = _signing(options)
    server = ListenServer(options)
    url = await server.start(host, port)
    ctx = ListenContext(server, Recorder(), options, signing, vtn_id=options.party or DEFAULT_VTN_ID)
    try:
        if ready is not None:
            ready(url)
        return await run_suite(SUITE, ctx, ctx.recorder, options, target=url, progress=progress)
    finally:
        server.closing = True
        if ctx.held is not None:
            ctx.send(ctx.held, ctx.plain_answer())
        server.drain(ctx.encode(ctx.plain_answer()))
        await server.stop()
