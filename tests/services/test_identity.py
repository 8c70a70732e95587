"""A party is its key: the id is bound to the key that first registered it, a restarted device comes back as
itself, nobody else can take the id (not even after a cancellation), and stored replies go to their owner
only — the core's side of issue 11's findings 1 and 2."""

from __future__ import annotations

import pytest

from tests.services.conftest import T, create, product, proof_of, register
from transactive.ei.cts.registration import (
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
)
from transactive.errors import ProtocolError
from transactive.model import Model
from transactive.protocol.identity import KeyProof
from transactive.services import VtnCore


def _registration(party: str, request_id: str = "reg-1") -> EiCreatePartyRegistration:
    return EiCreatePartyRegistration(request_id=request_id, registree_party_id=party)


def _refusal(core: VtnCore, message: Model, *, token: str | None = None,
             proof: KeyProof | None = None) -> tuple[int, str | None]:
    with pytest.raises(ProtocolError) as caught:
        core.handle(message, token=token, proof=proof)
    return caught.value.response_code, caught.value.field


def test_the_first_key_binds_the_id_and_a_restarted_device_gets_its_registration_back(core: VtnCore) -> None:
    token = register(core, "pv-1")
    # the device lost its token (a reboot): the same key, a new request, the same registration
    again = core.handle(_registration("pv-1", "reg-after-reboot"), proof=proof_of("pv-1"))
    assert isinstance(again, EiCreatedPartyRegistration)
    assert again.registration_id == token
    assert core.store.party_key("pv-1").fingerprint == proof_of("pv-1").fingerprint  # type: ignore[union-attr]


def test_another_key_cannot_take_the_id_even_after_a_cancellation(core: VtnCore) -> None:
    token = register(core, "pv-1")
    assert _refusal(core, _registration("pv-1", "steal"), proof=proof_of("mallory")) == (463, "ei:registreePartyID")
    core.handle(EiCancelPartyRegistration(request_id="bye", registree_party_id="pv-1", registrar_party_id="market-lme",
                                          registration_ids=(token,)), token=token)
    assert _refusal(core, _registration("pv-1", "steal-2"), proof=proof_of("mallory")) == (463, "ei:registreePartyID")
    # the owner takes it back with its key: a new registration, the same party
    back = core.handle(_registration("pv-1", "back"), proof=proof_of("pv-1"))
    assert back.registration_id not in (None, token)  # type: ignore[attr-defined]
    assert core.registered_parties() == ["pv-1"]


def test_a_registration_without_a_key_or_the_partys_token_is_463(core: VtnCore) -> None:
    assert _refusal(core, _registration("pv-1")) == (463, "ei:registreePartyID")
    assert core.registered_parties() == []


@pytest.mark.parametrize("party", ["market-lme", "MARKET-LME", "*", "x" * 100_000, "pv 1"])
def test_reserved_and_malformed_ids_cannot_register(core: VtnCore, party: str) -> None:
    assert _refusal(core, _registration(party), proof=proof_of("whoever")) == (454, "ei:registreePartyID")
    assert core.registered_parties() == []


def test_a_registrations_stored_reply_goes_to_its_owner_only(core: VtnCore) -> None:
    message = _registration("pv-1", "reg-pv-1")
    token = core.handle(message, proof=proof_of("pv-1")).registration_id  # type: ignore[attr-defined]
    mallory = register(core, "mallory")
    # resending the same request id without credentials, or with another party's token or key, gets no reply
    assert _refusal(core, message) == (463, "ei:registreePartyID")
    assert _refusal(core, message, token=mallory) == (463, "ei:registreePartyID")
    assert _refusal(core, message, proof=proof_of("mallory")) == (463, "ei:registreePartyID")
    # the owner gets the same reply (idempotency is kept)
    assert core.handle(message, proof=proof_of("pv-1")).registration_id == token  # type: ignore[attr-defined]


def test_a_tenders_stored_reply_and_its_409_go_to_its_owner_only(core: VtnCore) -> None:
    alice, bob = register(core, "pv-1"), register(core, "pv-2")
    tender = create("pv-1", "t-1", product(start=T))
    assert core.handle(tender, token=alice).response.ok  # type: ignore[attr-defined]
    # bob resends alice's request: the same refusal as for an id nobody used, never alice's reply
    assert _refusal(core, tender, token=bob) == (463, "ei:partyID")
    # bob reuses alice's request id with other content: 463, not the 409 that would tell him the id exists
    other = create("pv-1", "t-2", product(start=T, quantity=1.0)).replace(request_id=tender.request_id)
    assert _refusal(core, other, token=bob) == (463, "ei:partyID")
    assert _refusal(core, other, token=alice) == (409, "pyld:requestID")


def test_the_market_id_cannot_tender(core: VtnCore) -> None:
    # the market's own id cannot be registered, so nobody holds a token that tenders as the market
    assert _refusal(core, _registration("market-lme"), proof=proof_of("market-lme")) == (454, "ei:registreePartyID")
    assert _refusal(core, create("market-lme", "t", product(start=T))) == (463, "ei:partyID")
