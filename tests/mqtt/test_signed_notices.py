"""Notices are signed by the VTN and a VEN refuses what does not verify: through a real Mosquitto, a forged
``eiCreateTransaction`` (another price) published on a party's notice topic by someone else is never
delivered to the party's client, while the VTN's own notices are."""

from __future__ import annotations

from dataclasses import replace

import aiomqtt
import pytest

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge
from tests.services.conftest import MARKET
from transactive.codec import encode_json
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.protocol import ForgedNoticeError
from transactive.protocol.identity import PartyIdentity
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore, VtnService
from transactive.transport.base import WireFormat
from transactive.transport.mqtt import MqttTransport, notices_topic, publish_properties
from transactive.ven import VenClient


@pytest.fixture
def signing_service(config: MarketConfig, clock: ManualClock) -> VtnService:
    vtn = PartyIdentity.generate()
    signed = replace(config, signing_key=vtn.public.keyid)
    return VtnService(VtnCore(signed, MemoryStore(), clock), identity=vtn)


@pytest.mark.parametrize("forgery", ["unsigned", "signed by another key", "signed for another party"])
async def test_a_forged_notice_on_a_partys_topic_is_refused_and_the_vtns_own_arrives(
        signing_service: VtnService, mosquitto: MosquittoBroker, forgery: str) -> None:
    async with bridge(signing_service, mosquitto) as market:
        transport = MqttTransport(mosquitto.host, mosquitto.port, market=market, party="pv-1")
        client = VenClient(transport, "pv-1")
        try:
            await client.market_context(MARKET)
            await client.register()
            sub = await client.notices()
            fake = EiRequestEiMarketContext(request_id="forged", market_contexts=(MARKET,))
            data = encode_json(fake)
            signature = {"unsigned": None,
                         "signed by another key": PartyIdentity.generate().notice_signature("pv-1", data),
                         "signed for another party": signing_service.sign_notice("pv-2", data)}[forgery]
            async with aiomqtt.Client(mosquitto.host, mosquitto.port, protocol=aiomqtt.ProtocolVersion.V5) as evil:
                await evil.publish(notices_topic(market, "pv-1"), data, qos=1,
                                   properties=publish_properties(WireFormat.JSON, notice_signature=signature))
            with pytest.raises(ForgedNoticeError) as caught:
                await sub.get(timeout=5)
            assert caught.value.response_code == 463
            genuine = EiRequestEiMarketContext(request_id="genuine", market_contexts=(MARKET,))
            await signing_service._emit("pv-1", genuine)
            assert await sub.get(timeout=5) == genuine
        finally:
            await transport.close()
