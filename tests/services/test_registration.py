"""Party registration and the market context: tokens, authorization, refusals with code and field."""

from __future__ import annotations

import pytest

from tests.services.conftest import MARKET, proof_of, register
from transactive.codec import decode, encode_json, encode_xml, parse_xml
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import (
    EiCanceledPartyRegistration,
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
    EiReplyPartyRegistration,
    EiRequestPartyRegistration,
)
from transactive.errors import ProtocolError
from transactive.protocol.identity import KeyProof
from transactive.schemas import validate
from transactive.services import MarketConfig, TxReplyEiMarketContext, VtnCore
from transactive.services.examples import examples


def test_registration_issues_a_token_that_is_the_registration_id(core: VtnCore) -> None:
    reply = core.handle(EiCreatePartyRegistration(request_id="r1", registree_party_id="pv-1"), proof=proof_of("pv-1"))
    assert isinstance(reply, EiCreatedPartyRegistration)
    assert reply.response.ok
    assert reply.registrar_party_id == "market-lme"
    assert reply.registree_party_id == "pv-1"
    assert reply.registration_id is not None
    assert len(reply.registration_id) >= 40
    assert core.store.registration_by_token(reply.registration_id) is not None


def test_the_same_registration_request_twice_returns_the_same_registration(core: VtnCore) -> None:
    msg = EiCreatePartyRegistration(request_id="r1", registree_party_id="pv-1")
    assert core.handle(msg, proof=proof_of("pv-1")) == core.handle(msg, proof=proof_of("pv-1"))
    assert core.registered_parties() == ["pv-1"]


def test_re_registering_with_the_token_returns_the_same_registration(core: VtnCore) -> None:
    token = register(core, "pv-1")
    again = core.handle(EiCreatePartyRegistration(request_id="r2", registree_party_id="pv-1"), token=token)
    assert again.registration_id == token  # type: ignore[attr-defined]


def _refusal(core: VtnCore, message: object, token: str | None, proof: KeyProof | None = None
             ) -> tuple[int, str | None]:
    with pytest.raises(ProtocolError) as info:
        core.handle(message, token=token, proof=proof)  # type: ignore[arg-type]
    return info.value.response_code, info.value.field


@pytest.mark.parametrize(("case", "code", "field"), [
    ("someone else registers a registered party", 463, "ei:registreePartyID"),
    ("no registree", 454, "ei:registreePartyID"),
    ("request without token", 463, "ei:partyID"),
    ("request another party's registration", 463, "ei:registreePartyID"),
    ("cancel with a wrong registrar", 452, "ei:registrarPartyID"),
    ("cancel a registration that is not the party's", 452, "ei:registrationID"),
    ("market context of another market", 452, "emix:marketContext[1]"),
])
def test_registration_refusals_carry_code_and_field(core: VtnCore, case: str, code: int, field: str) -> None:
    token = register(core, "pv-1")
    message, tok = {
        "someone else registers a registered party": (  # with a key of their own
            EiCreatePartyRegistration(request_id="x", registree_party_id="pv-1"), None),
        "no registree": (EiCreatePartyRegistration(request_id="x"), None),
        "request without token": (
            EiRequestPartyRegistration(request_id="x", registree_party_id="pv-1", requestor_party_id="pv-1"), None),
        "request another party's registration": (
            EiRequestPartyRegistration(request_id="x", registree_party_id="pv-2", requestor_party_id="pv-1"), token),
        "cancel with a wrong registrar": (
            EiCancelPartyRegistration(request_id="x", registree_party_id="pv-1", registrar_party_id="other",
                                      registration_ids=(token,)), token),
        "cancel a registration that is not the party's": (
            EiCancelPartyRegistration(request_id="x", registree_party_id="pv-1", registrar_party_id="market-lme",
                                      registration_ids=("reg-somebody",)), token),
        "market context of another market": (
            EiRequestEiMarketContext(request_id="x", market_contexts=("https://other.example.com/m",)), None),
    }[case]
    proof = proof_of("intruder") if isinstance(message, EiCreatePartyRegistration) else None
    assert _refusal(core, message, tok, proof) == (code, field)


def test_request_and_cancel_registration(core: VtnCore) -> None:
    token = register(core, "pv-1")
    reply = core.handle(EiRequestPartyRegistration(request_id="q", registree_party_id="pv-1",
                                                   requestor_party_id="pv-1"), token=token)
    assert isinstance(reply, EiReplyPartyRegistration)
    assert reply.registrations[0].registree_party_ids == ("pv-1",)
    cancel = EiCancelPartyRegistration(request_id="c", registree_party_id="pv-1", registrar_party_id="market-lme",
                                       registration_ids=(token,))
    done = core.handle(cancel, token=token)
    assert isinstance(done, EiCanceledPartyRegistration)
    assert done.responses[0].ok
    assert core.handle(cancel, token=token) == done  # replay: same answer
    assert _refusal(core, EiRequestPartyRegistration(request_id="q2", registree_party_id="pv-1",
                                                     requestor_party_id="pv-1"), token) == (463, "ei:partyID")
    # a cancelled party may register again (a new request id, its own key), with a new token
    again = core.handle(EiCreatePartyRegistration(request_id="reg-2", registree_party_id="pv-1"),
                        proof=proof_of("pv-1"))
    assert again.registration_id not in (None, token)  # type: ignore[attr-defined]


def test_market_context_reply_carries_standard_terms_and_the_rules_extension(core: VtnCore,
                                                                            config: MarketConfig) -> None:
    reply = core.handle(EiRequestEiMarketContext(request_id="mc", market_contexts=(MARKET,)))
    assert isinstance(reply, TxReplyEiMarketContext)
    assert reply.market_context is not None
    assert reply.market_context.standard_terms is not None
    assert reply.market_context.standard_terms.currency == "USD"
    assert reply.market_context.standard_terms.granularity == config.interval
    assert MarketConfig.from_reply(reply) == config
    for data in (encode_xml(reply), encode_json(reply)):
        assert decode(data) == reply


def test_the_standard_part_of_the_market_context_reply_is_schema_valid(config: MarketConfig) -> None:
    assert validate(parse_xml(encode_xml(config.market_context_model()))).valid


@pytest.mark.parametrize("message", examples(), ids=lambda m: type(m).__tag__)
def test_extension_payloads_round_trip_and_validate_reports_their_namespace_as_unknown(message: object) -> None:
    for data in (encode_xml(message), encode_json(message)):  # type: ignore[arg-type]
        assert decode(data) == message
    report = validate(parse_xml(encode_xml(message)))  # type: ignore[arg-type]
    assert not report.valid
    assert report.schema is None
    assert "urn:transactive:ext:2026" in report.errors[0].message
