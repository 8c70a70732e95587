"""The OpenADR edge decodes a registered VEN's unsigned oadrPoll document once and encodes its plain reply once:
a poll with nothing waiting gets the same reply object (``OadrContext.plain_replies``) and the same bytes, which
are those ``encode_xml`` writes and are valid 2.0b; any other reply (another oadrResponse of the VEN, an error)
is encoded afresh, and error replies are not kept."""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from transactive.codec import encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrPoll,
    OadrResponse,
)
from transactive.protocol.clock import ManualClock
from transactive.schemas import validate
from transactive.services.oadr import OadrCore, Peer
from transactive.services.oadr.service import OadrService
from transactive.services.sqlite_store import MemoryStore
from transactive.vtn.oadr_http import OadrEdge, OadrOptions

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


async def _no_body(_request: object) -> bytes:
    return b""


def test_a_plain_poll_reply_is_encoded_once_and_stays_valid() -> None:
    clock = ManualClock(T0)
    core = OadrCore(MemoryStore(), clock, wall=clock)
    edge = OadrEdge(OadrOptions(service=OadrService(core)), read_body=_no_body)
    created = core.handle(OadrCreatePartyRegistration(request_id="r", ven_name="a"), Peer())
    assert isinstance(created, OadrCreatedPartyRegistration)
    assert created.ven_id is not None
    poll = OadrPoll(ven_id=created.ven_id)
    while core.quick(poll, Peer()) is None:  # take what waits (the VTN's METADATA report)
        core.handle(poll, Peer())
    first, second = core.quick(poll, Peer()), core.quick(poll, Peer())
    assert first is second
    assert first is not None
    body = edge._encode(first)
    assert body == encode_xml(first)
    assert edge._encode(second) is body
    assert validate(etree.fromstring(body)).valid
    # another oadrResponse for the same VEN is its own document, and then the plain reply is encoded again
    other = OadrResponse(response=EiResponse(response_code=200, response_description="OK", request_id="x"),
                         ven_id=created.ven_id)
    assert edge._encode(other) == encode_xml(other) != body
    assert edge._encode(first) == body
    # an error reply is never kept (its venID may be anything a peer sent)
    error = OadrResponse(response=EiResponse(response_code=463, response_description="no", request_id=""),
                         ven_id="ven-unknown")
    assert edge._encode(error) == encode_xml(error)
    assert "ven-unknown" not in edge._plain
    # a failed transaction drops the plain replies with the other caches: a new object, the same bytes
    core.ctx.forget()
    while (again := core.quick(poll, Peer())) is None:  # every VEN is looked at again after the caches are dropped
        core.handle(poll, Peer())
    assert again is not None
    assert again is not first
    assert edge._encode(again) == body


def test_a_registered_vens_poll_document_is_decoded_once() -> None:
    clock = ManualClock(T0)
    core = OadrCore(MemoryStore(), clock, wall=clock)
    edge = OadrEdge(OadrOptions(service=OadrService(core)), read_body=_no_body)
    created = core.handle(OadrCreatePartyRegistration(request_id="r", ven_name="a"), Peer())
    assert isinstance(created, OadrCreatedPartyRegistration)
    document = encode_xml(OadrPoll(ven_id=created.ven_id))
    first, peer = edge._decode(document, None)
    assert first == OadrPoll(ven_id=created.ven_id)
    assert peer == Peer()
    again, tls_peer = edge._decode(bytes(document), "AA:BB")  # equal bytes, another object: the same model
    assert again is first
    assert tls_peer == Peer(tls_fingerprint="AA:BB")
    # a poll of a venID nobody registered is decoded every time (and kept nowhere)
    stranger = encode_xml(OadrPoll(ven_id="ven-nobody"))
    assert edge._decode(stranger, None)[0] is not edge._decode(stranger, None)[0]
    assert stranger not in edge._polls
