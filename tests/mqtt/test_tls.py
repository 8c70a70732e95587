"""MQTT over TLS through a real Mosquitto whose listener speaks TLS only and requires client certificates:
VENs on ``MqttTransport(tls=...)``, the VTN's bridge (``run_mqtt_bridge(tls=...)`` and ``transactive vtn serve
--mqtt --mqtt-tls-ca --mqtt-tls-cert --mqtt-tls-key``); requests get replies and notices arrive; a client
that does not trust the broker, or that the broker does not trust, gets a ``ConnectionFailedError`` saying
why."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from interop.mosquitto.broker import BrokerError, BrokerTls, MosquittoBroker, install
from tests.mqtt.conftest import bridge
from tests.pki import Pki
from tests.scenarios import three_ven_trade
from tests.services.conftest import MARKET, T
from tests.vtn.conftest import start_vtn
from transactive.ledger import EmbeddedLedger
from transactive.services import ManualClock, MarketConfig, MemoryStore, Settlement, VtnCore, VtnService
from transactive.transport import ConnectionFailedError
from transactive.transport.mqtt import MqttTransport
from transactive.ven import join_market
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT
from transactive.vtn.mqtt import run_mqtt_bridge


@pytest.fixture(scope="module")
def tls_broker(pki: Pki) -> Iterator[MosquittoBroker]:
    """Mosquitto on 127.0.0.1 over TLS only, presenting the VTN's certificate, requiring client certificates."""
    try:
        binary = install()
    except BrokerError as error:
        pytest.skip(str(error))
    cert, key = pki.pair("vtn")
    broker = MosquittoBroker(binary=binary, tls=BrokerTls(pki.ca, cert, key, require_certificate=True)).start()
    yield broker
    broker.stop()


def test_the_broker_config_has_a_tls_listener_that_requires_certificates(tls_broker: MosquittoBroker,
                                                                        pki: Pki) -> None:
    assert tls_broker.directory is not None
    config = (tls_broker.directory / "mosquitto.conf").read_text().splitlines()
    assert config[0] == f"listener {tls_broker.port} 127.0.0.1"
    assert f"cafile {pki.ca.resolve()}" in config
    assert "require_certificate true" in config
    assert "tls_version tlsv1.2" in config


async def test_vens_trade_one_interval_over_mqtt_with_tls_requests_and_notices(
        tls_broker: MosquittoBroker, pki: Pki, tmp_path: Path, config: MarketConfig, clock: ManualClock) -> None:
    store = MemoryStore()
    async with EmbeddedLedger(tmp_path / "ledger.db", now=clock) as ledger:
        settlement = Settlement(store, ledger, config=config, clock=clock)
        service = VtnService(VtnCore(config, store, clock), settlement=settlement)
        async with bridge(service, tls_broker, tls=pki.client("vtn")) as market, \
                MqttTransport(tls_broker.host, tls_broker.port, market=market, timeout=5,
                              tls=pki.client("ven-1")) as transport:
            # register, market context, tenders, positions: request/reply; transactions and quotes: notices
            outcome = await three_ven_trade(transport, service, settlement, config, clock, market=MARKET, interval=T)
    assert set(outcome.transactions) == {"pv-1", "pv-2", "home-1"}
    assert transport.bytes_in > 0


@pytest.mark.parametrize(("client", "why"), [
    ("untrusting", "TLS: the server's certificate is not trusted"),
    ("no certificate", "TLS: the server requires a client certificate"),
    ("another CA's certificate", "TLS: the server does not trust the CA of this client's certificate"),
])
async def test_a_failed_tls_handshake_says_why(tls_broker: MosquittoBroker, pki: Pki, client: str, why: str) -> None:
    context = {"untrusting": pki.client("ven-1", ca=pki.other_ca), "no certificate": pki.client(),
               "another CA's certificate": pki.client("ven-1", other=True)}[client]
    transport = MqttTransport(tls_broker.host, tls_broker.port, market="m", tls=context, connect_timeout=2)
    try:
        with pytest.raises(ConnectionFailedError, match=f"MQTT broker 127.0.0.1:{tls_broker.port}: {why}"):
            await transport.connect()
    finally:
        await transport.close()


async def test_a_plain_client_gets_nowhere_on_the_tls_listener(tls_broker: MosquittoBroker) -> None:
    transport = MqttTransport(tls_broker.host, tls_broker.port, market="m", connect_timeout=1)
    try:
        with pytest.raises(ConnectionFailedError):
            await transport.connect()
    finally:
        await transport.close()


async def test_the_bridge_that_does_not_trust_the_broker_fails_its_first_connection_with_the_reason(
        tls_broker: MosquittoBroker, pki: Pki, config: MarketConfig, clock: ManualClock) -> None:
    service = VtnService(VtnCore(config, MemoryStore(), clock))
    with pytest.raises(ConnectionFailedError, match="TLS: the server's certificate is not trusted"):
        await asyncio.wait_for(run_mqtt_bridge(service, tls_broker.host, tls_broker.port, stop=asyncio.Event(),
                                               tls=pki.client("vtn", ca=pki.other_ca)), 20)


async def test_vtn_serve_answers_over_an_mqtt_broker_with_tls(tls_broker: MosquittoBroker, pki: Pki,
                                                              tmp_path: Path) -> None:
    cert, key = pki.pair("vtn")
    vtn = start_vtn(tmp_path / "vtn", "--mqtt", f"{tls_broker.host}:{tls_broker.port}", "--mqtt-tls-ca", str(pki.ca),
                    "--mqtt-tls-cert", str(cert), "--mqtt-tls-key", str(key))
    try:
        async with MqttTransport(tls_broker.host, tls_broker.port, market="market", timeout=2,
                                 tls=pki.client("ven-2")) as transport:
            for attempt in range(50):  # the bridge connects once the VTN is up: retry the first request briefly
                try:
                    client = await join_market(transport, "ven-2", DEFAULT_MARKET_CONTEXT)
                    break
                except TimeoutError:
                    assert attempt < 49, vtn.log.read_text()[-2000:]
            assert client.config is not None
            assert client.config.market_context == DEFAULT_MARKET_CONTEXT
        assert vtn.terminate() == 0
    finally:
        if vtn.proc.poll() is None:
            vtn.proc.kill()
            vtn.proc.wait(10)
