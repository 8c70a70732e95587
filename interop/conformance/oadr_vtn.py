"""``transactive conformance probe URL --role vtn --standard openadr20b``: the kit plays a pulling VEN against
an OpenADR 2.0b VTN and reports, case by case, what the VTN does that 2.0b does not allow.

The cases run in this order (``--cases`` selects; a case that needs the registration registers first):

* registration (:mod:`.oadr_vtn_registration`): N1_0010 query, N1_0020 register, N1_0030 register again,
  N1_0040 an unknown venID refused;
* events (:mod:`.oadr_vtn_events`): E1_0010 the distribution and each event, E1_0020 the probe's answer,
  E1_0030 versions and E1_0040 the list of events while the probe watches (``Options.observe_seconds``),
  E1_0050 an unknown eventID refused;
* opts and reports (:mod:`.oadr_vtn_opts_reports`): P1_0010, P1_0020, R1_0010, R1_0020;
* general (:mod:`.oadr_vtn_general`): G1_0010 poll, G1_0020 malformed, G1_0030 schema-invalid, G1_0040 an
  unknown service; with signing flags G1_0050 signed replies, G1_0060 replay, G1_0070 tampering; with TLS
  flags G1_0080; and last N1_0090, the cancellation of the registration.

Every document is checked as :mod:`.oadr_probe_session` describes. The probe is safe against a production
VTN: it registers under its own party name (``--party`` or ``conformance-<8 hex>``), opts out of every event
(it controls no load), reports one interval of its made-up resource marked as having no value, and at the
end cancels its opts and its registration.
"""

from __future__ import annotations

import uuid

from transactive.interop.conformance import oadr_vtn_general  # noqa: F401  (registers every case, in order)
from transactive.interop.conformance.model import Options, Report
from transactive.interop.conformance.oadr_probe_context import SUITE, ProbeContext
from transactive.interop.conformance.oadr_probe_session import ProbeSession
from transactive.interop.conformance.suite import Progress, Recorder, run_suite

__all__ = ["SUITE", "probe"]


async def probe(url: str, options: Options, *, progress: Progress | None = None) -> Report:
    """Run the suite against the VTN at ``url`` (its base URL: the services are below
    ``/OpenADR2/Simple/2.0b``). Raises :class:`~.model.EndpointUnreachable` when nothing answers."""
    recorder = Recorder()
    session = ProbeSession(url, options, recorder)
    party = options.party or f"conformance-{uuid.uuid4().hex[:8]}"
    context = ProbeContext(session, options, party)
    try:
        report = await run_suite(SUITE, context, recorder, options, target=url, progress=progress)
        await context.cleanup()
    finally:
        await session.close()
    return report
