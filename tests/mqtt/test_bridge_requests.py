"""What the bridge does with bad, unauthorized and unanswerable requests (sent by a bare MQTT 5 client):
each is answered with its EI response code where there is a topic to answer on, and none stops the bridge."""

from __future__ import annotations

import time

import pytest

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge, raw_request
from tests.services.conftest import MARKET, identity_of
from transactive.codec import decode, encode_json, encode_xml
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import EiCreatePartyRegistration, EiRequestPartyRegistration
from transactive.protocol.replies import reply_response
from transactive.services import EiResponsePayload, ManualClock, MarketConfig, MemoryStore, VtnCore, VtnService
from transactive.transport.mqtt import reply_topic

JSON = "application/json"
XML = "application/xml"


def context_request(party: str = "pv-1") -> EiRequestEiMarketContext:
    return EiRequestEiMarketContext(request_id="ctx-1", market_contexts=(MARKET,), party_id=party)


async def still_answers(broker: MosquittoBroker, market: str) -> None:
    """The bridge is alive: a good request gets a 200."""
    answer = await raw_request(broker, market, "pv-1", encode_json(context_request()))
    assert answer is not None
    response = reply_response(decode(answer[0]))
    assert response is not None
    assert response.response_code == "200"


@pytest.mark.parametrize(("payload", "content_type", "code", "reply_type"), [
    pytest.param(b"\x00\xff garbage", None, "400", XML, id="garbage-bytes"),
    pytest.param(b"<not xml", XML, "400", XML, id="malformed-xml"),
    pytest.param(b"<x:unknown xmlns:x='urn:x'/>", XML, "453", XML, id="unknown-message"),
    pytest.param(b'{"pyld:eiCreateTender": {}}', JSON, "454", JSON, id="invalid-field"),
    pytest.param(encode_json(context_request()), "text/plain", "415", JSON, id="wrong-content-type"),
    pytest.param(encode_xml(context_request()), JSON, "400", JSON, id="xml-sent-as-json"),
])
async def test_a_bad_payload_is_answered_with_its_code(config: MarketConfig, clock: ManualClock,
                                                       mosquitto: MosquittoBroker, payload: bytes,
                                                       content_type: str | None, code: str, reply_type: str) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        answer = await raw_request(mosquitto, market, "pv-1", payload, content_type=content_type)
        assert answer is not None
        data, props = answer
        reply = decode(data)
        assert isinstance(reply, EiResponsePayload)
        assert reply.response.response_code == code
        assert props is not None
        assert getattr(props, "ContentType", None) == reply_type
        assert getattr(props, "CorrelationData", None) == b"corr-1"
        await still_answers(mosquitto, market)


@pytest.mark.parametrize(("payload", "content_type", "reply_type"), [
    pytest.param(encode_json(context_request()), "application/vnd.example+json", JSON, id="vendor-json"),
    pytest.param(encode_json(context_request()), "application/json; charset=utf-8", JSON, id="json-charset"),
    pytest.param(encode_xml(context_request()), "text/xml", XML, id="text-xml"),
    pytest.param(encode_xml(context_request()), "application/vnd.example+xml", XML, id="vendor-xml"),
])
async def test_the_bridge_reads_the_media_types_the_http_server_reads(
        config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker, payload: bytes, content_type: str,
        reply_type: str) -> None:
    # one wire module (transactive.codec.wire) decides for every transport: *+json is JSON over MQTT too
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        answer = await raw_request(mosquitto, market, "pv-1", payload, content_type=content_type)
        assert answer is not None
        data, props = answer
        response = reply_response(decode(data))
        assert response is not None
        assert response.response_code == "200"
        assert getattr(props, "ContentType", None) == reply_type


@pytest.mark.parametrize("response_topic", [
    pytest.param(None, id="missing"),
    pytest.param("somewhere/else", id="outside-the-reply-tree"),
    pytest.param("OTHER", id="another-partys-reply-topic"),
    pytest.param("WILDCARD", id="wildcard"),
])
async def test_a_request_without_a_proper_response_topic_is_not_answered(
        config: MarketConfig, clock: ManualClock, mosquitto: MosquittoBroker, response_topic: str | None) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        if response_topic == "OTHER":
            response_topic = reply_topic(market, "pv-2", "x")
        elif response_topic == "WILDCARD":
            response_topic = reply_topic(market, "pv-1", "x").rsplit("/", 1)[0] + "/#"
        answer = await raw_request(mosquitto, market, "pv-1", encode_json(context_request()),
                                   response_topic=response_topic, timeout=0.3)
        assert answer is None
        await still_answers(mosquitto, market)


def signature(party: str, body: bytes, audience: str = "market-lme") -> str:
    """``party``'s signature of a request ``body`` (its key from the tests' key ring)."""
    return identity_of(party).request_signature(body, audience=audience, created=int(time.time()))


async def register(broker: MosquittoBroker, market: str, party: str) -> str:
    body = encode_json(EiCreatePartyRegistration(request_id=f"reg-{party}", registree_party_id=party))
    answer = await raw_request(broker, market, party, body, signature=signature(party, body))
    assert answer is not None
    token = decode(answer[0]).registration_id
    assert isinstance(token, str)
    return token


def registration_query(party: str) -> bytes:
    return encode_json(EiRequestPartyRegistration(request_id="q-1", registree_party_id=party,
                                                  requestor_party_id=party))


async def test_a_token_must_belong_to_the_party_of_the_topic(config: MarketConfig, clock: ManualClock,
                                                             mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        token1 = await register(mosquitto, market, "pv-1")
        token2 = await register(mosquitto, market, "pv-2")
        own = await raw_request(mosquitto, market, "pv-1", registration_query("pv-1"), token=token1)
        assert own is not None
        assert reply_response(decode(own[0])).response_code == "200"  # type: ignore[union-attr]
        # pv-2's token on pv-1's topic, for a payload that is pv-1's too: refused before the service sees it
        stolen = await raw_request(mosquitto, market, "pv-1", registration_query("pv-1"), token=token2)
        assert stolen is not None
        response = reply_response(decode(stolen[0]))
        assert response is not None
        assert response.response_code == "463"
        assert "[field: authorization]" in (response.response_description or "")
        # a public request carrying someone else's token is refused too
        public = await raw_request(mosquitto, market, "pv-1", encode_json(context_request()), token=token2)
        assert public is not None
        assert reply_response(decode(public[0])).response_code == "463"  # type: ignore[union-attr]


@pytest.mark.parametrize("authorization", ["Basic cHYtMTp4", "Bearer", "token-without-scheme"])
async def test_a_malformed_authorization_property_is_refused(config: MarketConfig, clock: ManualClock,
                                                             mosquitto: MosquittoBroker, authorization: str) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        answer = await raw_request(mosquitto, market, "pv-1", encode_json(context_request()),
                                   authorization=authorization)
        assert answer is not None
        assert reply_response(decode(answer[0])).response_code == "463"  # type: ignore[union-attr]


async def test_a_payload_naming_another_party_than_the_topic_is_refused(config: MarketConfig, clock: ManualClock,
                                                                        mosquitto: MosquittoBroker) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    async with bridge(service, mosquitto) as market:
        token2 = await register(mosquitto, market, "pv-2")
        # pv-2, with its own valid token, sends a pv-2 payload on pv-1's topic
        answer = await raw_request(mosquitto, market, "pv-1", registration_query("pv-2"), token=token2)
        assert answer is not None
        response = reply_response(decode(answer[0]))
        assert response is not None
        assert response.response_code == "463"
        assert "[field: ei:requestorPartyID]" in (response.response_description or "")
        # registering someone else through one's own topic is refused as well (however well signed)
        body = encode_json(EiCreatePartyRegistration(request_id="reg-x", registree_party_id="pv-3"))
        answer = await raw_request(mosquitto, market, "pv-1", body, signature=signature("pv-3", body))
        assert answer is not None
        assert reply_response(decode(answer[0])).response_code == "463"  # type: ignore[union-attr]
        assert "pv-3" not in service.core.registered_parties()
