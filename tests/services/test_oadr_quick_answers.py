"""What the OpenADR core answers without a store transaction (so without waiting for a group commit): an unsigned
poll with nothing waiting and an unsigned ``oadrQueryRegistration``; a signed one records its nonce, so it is
not answered that way. The quick answer is the answer :meth:`OadrCore.handle` gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from transactive.ei.oadr import OadrCreatedPartyRegistration, OadrCreatePartyRegistration, OadrQueryRegistration
from transactive.errors import ProtocolError
from transactive.protocol.clock import ManualClock
from transactive.services.oadr import OadrCore, OadrSettings, Peer
from transactive.services.sqlite_store import MemoryStore

T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)
CERT_A = Peer(tls_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33")


def make_core(settings: OadrSettings | None = None) -> OadrCore:
    clock = ManualClock(T0)
    return OadrCore(MemoryStore(), clock, settings, wall=clock)


def test_a_query_is_answered_without_a_transaction_as_handle_answers_it() -> None:
    core = make_core()
    reply = core.handle(OadrCreatePartyRegistration(request_id="r", ven_name="a"), CERT_A)
    assert isinstance(reply, OadrCreatedPartyRegistration)
    for peer in (Peer(), CERT_A):  # a VEN bound to its certificate gets its ids back
        query = OadrQueryRegistration(request_id=f"q-{peer.tls_fingerprint}")
        quick = core.quick(query, peer, "EiRegisterParty")
        assert quick is not None
        assert quick == core.handle(query, peer, "EiRegisterParty")
    known = core.quick(OadrQueryRegistration(request_id="q"), CERT_A)
    assert isinstance(known, OadrCreatedPartyRegistration)
    assert known.ven_id == reply.ven_id


def test_a_signed_query_is_not_answered_quickly() -> None:
    core = make_core()
    signed = Peer(signature_fingerprint="AA:BB:CC:DD:EE:FF:00:11:22:33", nonce="n-1", signed_at=T0)
    assert core.quick(OadrQueryRegistration(request_id="q"), signed) is None


def test_the_quick_query_keeps_the_refusals() -> None:
    core = make_core(OadrSettings(require_signatures=True))
    with pytest.raises(ProtocolError) as refused:
        core.quick(OadrQueryRegistration(request_id="q"), Peer())
    assert refused.value.response_code == 463
    with pytest.raises(ProtocolError) as wrong_service:
        make_core().quick(OadrQueryRegistration(request_id="q"), Peer(), "EiEvent")
    assert wrong_service.value.response_code == 451
