"""The general cases of ``probe --role vtn``: polling, documents the VTN must refuse without failing
(malformed, schema-invalid, an unknown service), security (signed replies, a replayed and a tampered signed
document, the TLS connection) and, last, the cancellation of the probe's registration."""

from __future__ import annotations

from lxml import etree

from transactive.codec import encode_xml
from transactive.ei.oadr.poll import OadrPoll, OadrResponse
from transactive.ei.oadr.registration import OadrCanceledPartyRegistration, OadrCancelPartyRegistration
from transactive.interop.conformance import oadr_vtn_opts_reports  # noqa: F401  (its cases run before these)
from transactive.interop.conformance.checks import ensure, fail
from transactive.interop.conformance.oadr_probe_context import SUITE, ProbeContext
from transactive.interop.conformance.oadr_probe_rules import CANCEL_REGISTRATION, EXCHANGE_PATTERN, POLL
from transactive.interop.conformance.oadr_probe_session import new_id, response_code, tag_of
from transactive.interop.conformance.rules import (
    OADR_HTTP_CODES,
    OADR_HTTP_ENDPOINTS,
    OADR_SCHEMA,
    OADR_SECURITY,
    WELL_FORMED,
)
from transactive.protocol.certs import fingerprint_der, same_fingerprint
from transactive.protocol.oadr import Service
from transactive.transport.base import TransportError

__all__ = ["cancel_registration", "malformed", "poll", "replayed", "schema_invalid", "signed_replies",
           "tampered", "tls_identity", "unknown_service"]

_OADR = "http://openadr.org/oadr-2.0b/2012/07"
#: at most this many polls to empty what waits for the probe
_DRAIN = 5


@SUITE.case("G1_0010", "oadrPoll is answered with oadrResponse or a message a VTN sends a VEN", POLL,
            OADR_SCHEMA)
async def poll(ctx: ProbeContext) -> str:
    kinds = []
    for _ in range(_DRAIN):
        message = await ctx.poll()
        kinds.append("an empty body" if message is None else tag_of(message))
        if message is None or isinstance(message, OadrResponse):
            break
    return "answered with " + ", then ".join(kinds)


@SUITE.case("G1_0020", "a malformed document is refused (4xx or an error code, never a 5xx) and the VTN goes on",
            OADR_HTTP_CODES, WELL_FORMED)
async def malformed(ctx: ProbeContext) -> str:
    await ctx.registered()
    answer = await ctx.session.post(Service.POLL, b"<?xml version='1.0'?><oadrPayload><oadrSignedObject>")
    detail = ctx.session.refusal(answer, None, OADR_HTTP_CODES, "a malformed oadrPoll document")
    await ctx.poll()
    return f"{detail}; the next poll was answered"


def _invalid_poll(ctx: ProbeContext, ven_id: str) -> bytes:
    """A poll with an element the schema does not allow (signed, when the run signs, so that only the
    schema is wrong)."""
    root = etree.fromstring(encode_xml(OadrPoll(ven_id=ven_id)))
    message = root.find(f"{{{_OADR}}}oadrSignedObject/{{{_OADR}}}oadrPoll")
    assert message is not None
    etree.SubElement(message, f"{{{_OADR}}}notInTheSchema").text = "1"
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return ctx.session.signer.sign(document) if ctx.session.signer is not None else document


@SUITE.case("G1_0030", "a document the schema refuses is refused", OADR_SCHEMA, OADR_HTTP_CODES)
async def schema_invalid(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    answer = await ctx.session.post(Service.POLL, _invalid_poll(ctx, ven_id))
    return ctx.session.refusal(answer, None, OADR_SCHEMA, "an oadrPoll with an element outside the schema")


@SUITE.case("G1_0040", "a POST to a service that does not exist is answered with 404", OADR_HTTP_ENDPOINTS,
            OADR_HTTP_CODES)
async def unknown_service(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    answer = await ctx.session.post("EiNoSuchService", ctx.session.encode(OadrPoll(ven_id=ven_id)))
    ensure(answer.status == 404, OADR_HTTP_ENDPOINTS,
           f"{ctx.session.url_of('EiNoSuchService')} answered with HTTP {answer.status}, not 404")
    return "HTTP 404"


@SUITE.case("G1_0050", "the VTN's replies are signed and the signatures verify", OADR_SECURITY, needs=("sign",))
async def signed_replies(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    answer = await ctx.session.send(Service.POLL, OadrPoll(ven_id=ven_id))
    ensure(answer.status == 200, OADR_SECURITY, f"a signed oadrPoll answered with HTTP {answer.status}")
    reply = ctx.session.read(answer, "the reply to a signed oadrPoll")
    ensure(reply.message is not None, EXCHANGE_PATTERN, "the reply to a signed oadrPoll is empty")
    ensure(reply.signed, OADR_SECURITY, "the reply to a signed oadrPoll carries no XML signature")
    pinned = f" by the certificate {ctx.options.vtn_fingerprint}" if ctx.options.vtn_fingerprint else ""
    if reply.message is not None:
        await ctx.handle(reply.message, answer.body)
    return f"signed{pinned}, and it verifies"


@SUITE.case("G1_0060", "a replayed signed document is refused", OADR_SECURITY, needs=("sign",))
async def replayed(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    document = ctx.session.encode(OadrPoll(ven_id=ven_id))
    first = await ctx.session.post(Service.POLL, document)
    ensure(first.status == 200, OADR_SECURITY, f"a signed oadrPoll answered with HTTP {first.status}")
    reply = ctx.session.read(first, "the reply to a signed oadrPoll")
    code = response_code(reply.message)
    ensure(code is None or 200 <= code < 300, OADR_SECURITY, f"a signed oadrPoll was refused (code {code})")
    if reply.message is not None:
        await ctx.handle(reply.message, first.body)
    again = await ctx.session.post(Service.POLL, document)
    return ctx.session.refusal(again, None, OADR_SECURITY, "the same signed oadrPoll sent again")


def _tampered(document: bytes) -> bytes:
    """``document`` with a space added inside the signed message: what it says is the same, its signature
    no longer matches."""
    root = etree.fromstring(document)
    message = root.find(f"{{{_OADR}}}oadrSignedObject/{{{_OADR}}}oadrPoll")
    assert message is not None
    message.text = (message.text or "") + " "
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@SUITE.case("G1_0070", "a signed document changed after signing is refused", OADR_SECURITY, needs=("sign",))
async def tampered(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    answer = await ctx.session.post(Service.POLL, _tampered(ctx.session.encode(OadrPoll(ven_id=ven_id))))
    return ctx.session.refusal(answer, None, OADR_SECURITY, "a signed oadrPoll changed after it was signed")


@SUITE.case("G1_0080", "TLS 1.2 or later with the VTN's certificate; a client without a certificate is refused",
            OADR_SECURITY, needs=("tls",))
async def tls_identity(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    if not ctx.session.https:
        fail(OADR_SECURITY, f"{ctx.session.url} is not an https:// URL: OpenADR 2.0b runs over TLS")
    await ctx.poll()
    version = ctx.session.tls_version
    ensure(version in ("TLSv1.2", "TLSv1.3"), OADR_SECURITY, f"the connection uses {version}")
    seen = fingerprint_der(ctx.session.peer_certificate) if ctx.session.peer_certificate else None
    wanted = ctx.options.vtn_fingerprint
    if wanted is not None:
        same = seen is not None and same_fingerprint(seen, wanted)
        ensure(same, OADR_SECURITY, f"the VTN's certificate has fingerprint {seen}, not {wanted}")
    client = ctx.session.client(ctx.session.tls_context(with_certificate=False))
    try:
        answer = await ctx.session.post(Service.POLL, ctx.session.encode(OadrPoll(ven_id=ven_id)), client=client)
    except TransportError as exc:
        refused = f"refused at the TLS layer ({exc})"
    else:
        refused = ctx.session.refusal(answer, None, OADR_SECURITY, "a poll over TLS without a client certificate")
    finally:
        await client.close()
    return f"{version}, VTN certificate {seen}; a client without a certificate: {refused}"


@SUITE.case("N1_0090", "oadrCancelPartyRegistration is answered with oadrCanceledPartyRegistration; the venID "
            "is then refused", CANCEL_REGISTRATION, EXCHANGE_PATTERN, OADR_SCHEMA)
async def cancel_registration(ctx: ProbeContext) -> str:
    ven_id = await ctx.registered()
    assert ctx.registration_id is not None
    request = OadrCancelPartyRegistration(request_id=new_id(), registration_id=ctx.registration_id, ven_id=ven_id)
    answer = await ctx.session.send(Service.REGISTER_PARTY, request)
    reply = ctx.session.accepted(answer, request, (OadrCanceledPartyRegistration,), CANCEL_REGISTRATION)
    assert isinstance(reply, OadrCanceledPartyRegistration)
    ctx.cancelled = True
    after = await ctx.session.send(Service.POLL, OadrPoll(ven_id=ven_id))
    refused = ctx.session.refusal(after, None, CANCEL_REGISTRATION, f"a poll for the cancelled venID {ven_id!r}")
    return f"registration {ctx.registration_id!r} cancelled; a later poll {refused}"
