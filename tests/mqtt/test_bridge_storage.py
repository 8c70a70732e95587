"""A request the VTN cannot store is answered over MQTT with the same EI code as over HTTP: 503, the part of
storage named; the same request succeeds once the storage works again."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from interop.mosquitto.broker import MosquittoBroker
from tests.mqtt.conftest import bridge, raw_request
from transactive.codec import decode, encode_json
from transactive.ei.cts.registration import EiCreatedPartyRegistration, EiCreatePartyRegistration
from transactive.protocol.identity import PartyIdentity
from transactive.protocol.replies import reply_response
from transactive.services import ManualClock, MarketConfig, SqliteStore, VtnCore, VtnService


async def test_a_write_the_store_cannot_make_is_answered_503_over_mqtt(tmp_path: Path, config: MarketConfig,
                                                                      clock: ManualClock,
                                                                      mosquitto: MosquittoBroker) -> None:
    path = tmp_path / "vtn.db"
    service = VtnService(VtnCore(config, SqliteStore(path, busy_timeout=0.1), clock))
    request = encode_json(EiCreatePartyRegistration(request_id="reg-1", registree_party_id="pv-1"))
    key = PartyIdentity.generate()  # a registration names the key the party proves (issue 11)

    def signature() -> str:
        return key.request_signature(request, audience=config.market_party_id, created=int(time.time()))

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock past the store's timeout
    async with bridge(service, mosquitto) as market:
        try:
            answer = await raw_request(mosquitto, market, "pv-1", request, signature=signature())
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert answer is not None
        reply = decode(answer[0])
        assert isinstance(reply, EiCreatedPartyRegistration)
        response = reply_response(reply)
        assert response is not None
        assert response.response_code == "503"
        assert (response.response_description or "").startswith("storage unavailable (store: ")
        assert service.core.registered_parties() == []

        again = await raw_request(mosquitto, market, "pv-1", request, signature=signature())
        assert again is not None
        response = reply_response(decode(again[0]))
        assert response is not None
        assert response.response_code == "200"
        assert service.core.registered_parties() == ["pv-1"]
