"""Identity against the real server (``transactive vtn serve`` in its own process, loopback): replayed
requests get nobody else's reply, an id stays its key's, reserved ids are refused, a restarted device comes
back as itself, and notices carry the VTN's signature, published in the market rules."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.codec import decode_json, encode_json
from transactive.ei.cts.registration import EiCreatedPartyRegistration, EiCreatePartyRegistration
from transactive.model import Model
from transactive.protocol import RequestRefusedError
from transactive.protocol.identity import PartyIdentity, PartyKey, verify_notice
from transactive.protocol.replies import reply_response
from transactive.transport.http import HttpTransport
from transactive.ven import VenClient
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT

JSON = {"Content-Type": "application/json", "Accept": "application/json"}


async def _post(url: str, message: Model, headers: dict[str, str] | None = None) -> tuple[int, Model]:
    async with aiohttp.ClientSession() as http, \
            http.post(url + "/cts", data=encode_json(message), headers={**JSON, **(headers or {})}) as response:
        return response.status, decode_json(await response.read())


def _signed(identity: PartyIdentity, message: Model, audience: str = "market") -> dict[str, str]:
    return {"Signature": identity.request_signature(encode_json(message), audience=audience,
                                                    created=int(time.time()))}


def _code(reply: Model) -> str:
    response = reply_response(reply)
    assert response is not None
    return response.response_code


@pytest.fixture
def vtn(tmp_path: Path, vtn_processes: list[VtnProcess], vtn_store: str | None) -> VtnProcess:
    process = start_vtn(tmp_path / "vtn", store=vtn_store)
    vtn_processes.append(process)
    return process


async def test_a_replayed_registration_gives_its_token_to_nobody_else(vtn: VtnProcess) -> None:
    alice, mallory = PartyIdentity.generate(), PartyIdentity.generate()
    request = EiCreatePartyRegistration(request_id="reg-alice", registree_party_id="alice")
    status, reply = await _post(vtn.url, request, _signed(alice, request))
    assert (status, _code(reply)) == (200, "200")
    assert isinstance(reply, EiCreatedPartyRegistration)
    token = reply.registration_id
    mallory_token = (await _post(vtn.url, EiCreatePartyRegistration(request_id="reg-m", registree_party_id="mallory"),
                                 _signed(mallory, EiCreatePartyRegistration(request_id="reg-m",
                                                                            registree_party_id="mallory"))))[1]
    for headers in ({}, {"Authorization": f"Bearer {mallory_token.registration_id}"},  # type: ignore[attr-defined]
                    _signed(mallory, request)):
        status, replayed = await _post(vtn.url, request, headers)
        assert _code(replayed) == "463"
        assert getattr(replayed, "registration_id", None) != token
        assert token not in encode_json(replayed).decode()  # type: ignore[operator]


async def test_an_id_belongs_to_its_key_and_a_rebooted_device_is_the_same_party(vtn: VtnProcess) -> None:
    key = PartyIdentity.generate()
    first = VenClient(HttpTransport(vtn.url), "pv-7", identity=key)
    try:
        token = await first.register()
    finally:
        await first.transport.close()
    # the device reboots without its token, with its key: the same registration
    rebooted = VenClient(HttpTransport(vtn.url), "pv-7", identity=key)
    try:
        assert await rebooted.register() == token
    finally:
        await rebooted.transport.close()
    # another key asking for the id is refused, whatever it tries
    thief = VenClient(HttpTransport(vtn.url), "pv-7")
    try:
        with pytest.raises(RequestRefusedError) as caught:
            await thief.register()
        assert (caught.value.response_code, caught.value.field) == (463, "ei:registreePartyID")
    finally:
        await thief.transport.close()


@pytest.mark.parametrize("party", ["market", "*", "x" * 100_000])
async def test_reserved_and_absurd_ids_are_refused_with_454(vtn: VtnProcess, party: str) -> None:
    me = PartyIdentity.generate()
    request = EiCreatePartyRegistration(request_id="reg-x", registree_party_id=party)
    status, reply = await _post(vtn.url, request, _signed(me, request))
    assert (status, _code(reply)) == (200, "454")
    assert "[field: ei:registreePartyID]" in (reply_response(reply).response_description or "")  # type: ignore[union-attr]


async def test_a_signature_that_does_not_hold_is_401_with_463(vtn: VtnProcess) -> None:
    me = PartyIdentity.generate()
    request = EiCreatePartyRegistration(request_id="reg-x", registree_party_id="pv-1")
    for headers in (_signed(me, request, audience="another-vtn"),
                    _signed(me, request.replace(request_id="reg-y"))):  # signed for other bytes
        status, reply = await _post(vtn.url, request, headers)
        assert (status, _code(reply)) == (401, "463")


async def test_notices_carry_the_vtns_signature_published_in_the_market_rules(
        tmp_path: Path, vtn_processes: list[VtnProcess], vtn_store: str | None) -> None:
    vtn = start_vtn(tmp_path / "fast", "--interval-seconds", "1", store=vtn_store)
    vtn_processes.append(vtn)
    seller, buyer = (VenClient(HttpTransport(vtn.url), party) for party in ("pv-1", "home-1"))
    try:
        for client in (seller, buyer):
            await client.market_context(DEFAULT_MARKET_CONTEXT)
            await client.register()
        config = seller._market()
        assert config.signing_key is not None
        assert config.signing_key.startswith("ed25519:")
        key = PartyKey.from_keyid(config.signing_key)
        async with aiohttp.ClientSession() as http:
            auth = {"Authorization": f"Bearer {seller.token}"}
            async with http.get(vtn.url + "/cts/notices", params={"timeout": "0"}, headers=auth) as response:
                cursor = response.headers["X-Notice-Seq"]
            async with http.get(vtn.url + "/health") as response:
                health = await response.json()
            interval = datetime.fromisoformat(health["next_open_interval"]) + timedelta(seconds=health["interval"])
            await seller.tender(interval, "sell", 1.0, "0.05")
            await buyer.tender(interval, "buy", 1.0, "0.20")
            async with http.get(vtn.url + "/cts/notices", params={"after": cursor, "timeout": "15"},
                                headers=auth) as response:
                assert response.status == 200
                body, signature = await response.read(), response.headers.get("X-Notice-Signature")
    finally:
        for client in (seller, buyer):
            await client.transport.close()
    assert verify_notice(key, "pv-1", body, signature)
    assert not verify_notice(key, "home-1", body, signature)  # it is pv-1's notice, not anybody's
    forged = body.replace(b'"emix:side":"sell"', b'"emix:side":"buy"')
    assert forged != body
    assert not verify_notice(key, "pv-1", forged, signature)  # altered on the way
