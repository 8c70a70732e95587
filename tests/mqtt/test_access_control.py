"""Per-party MQTT credentials and ACLs that the VTN keeps in Mosquitto's Dynamic Security plugin: against a
real broker that admits nobody anonymously, each party logs in with its id and registration token, may
publish only its own requests and read only its own replies and notices, a ``#`` subscriber sees nothing of
anybody else's, and a cancelled party can no longer log in."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import aiomqtt
import pytest

from interop.mosquitto.broker import BrokerError, BrokerTls, MosquittoBroker, install
from tests.pki import Pki
from tests.services.conftest import MARKET, T, proof_of
from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.codec import encode_json
from transactive.codec.wire import WireFormat
from transactive.ei.cts.market_context import EiRequestEiMarketContext
from transactive.ei.cts.registration import (
    EiCancelPartyRegistration,
    EiCreatedPartyRegistration,
    EiCreatePartyRegistration,
)
from transactive.ei.cts.transaction import EiCreateTransaction
from transactive.model import Model
from transactive.protocol import ManualClock, MarketConfig
from transactive.protocol.identity import PartyIdentity
from transactive.services import MemoryStore, VtnCore, VtnService
from transactive.transport import ConnectionFailedError
from transactive.transport.http import HttpTransport
from transactive.transport.mqtt import (
    MqttTransport,
    notices_topic,
    publish_properties,
    reply_topic,
    request_topic,
)
from transactive.ven import VenClient
from transactive.vtn.app import DEFAULT_MARKET_CONTEXT
from transactive.vtn.mqtt import run_mqtt_bridge

ADMIN = ("vtn", secrets.token_urlsafe(16))


@pytest.fixture(scope="module")
def guarded() -> Iterator[MosquittoBroker]:
    """A broker with the Dynamic Security plugin and no anonymous access."""
    try:
        broker = MosquittoBroker(binary=install(), admin=ADMIN).start()
    except BrokerError as error:
        pytest.skip(str(error))
    yield broker
    broker.stop()


@contextlib.asynccontextmanager
async def acl_bridge(service: VtnService, broker: MosquittoBroker) -> AsyncIterator[str]:
    market = f"market-{uuid.uuid4().hex[:8]}"
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_mqtt_bridge(service, broker.host, broker.port, stop=stop, market=market,
                                               ready=ready, login=ADMIN, acl=True))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        waiter.cancel()
        task.result()
    assert ready.is_set(), "the bridge did not connect"
    try:
        yield market
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


@pytest.fixture
def service(config: MarketConfig, clock: ManualClock) -> VtnService:
    vtn = PartyIdentity.generate()
    return VtnService(VtnCore(replace(config, signing_key=vtn.public.keyid), MemoryStore(), clock), identity=vtn)


async def _register(service: VtnService, party: str) -> str:
    """Registration as it arrives over HTTPS (signed): the reply leaves once the broker knows the party."""
    reply = await service.answer(EiCreatePartyRegistration(request_id=f"reg-{party}", registree_party_id=party),
                                 proof=proof_of(party))
    assert isinstance(reply, EiCreatedPartyRegistration)
    assert reply.registration_id is not None
    return reply.registration_id


async def _next_message(client: aiomqtt.Client, within: float) -> aiomqtt.Message | None:
    """The next message the client receives within ``within`` seconds, or None."""
    try:
        async with asyncio.timeout(within):
            async for message in client.messages:
                return message
    except TimeoutError:
        return None
    return None


def _transport(broker: MosquittoBroker, market: str, party: str, token: str) -> MqttTransport:
    return MqttTransport(broker.host, broker.port, market=market, party=party, username=party, password=token,
                         timeout=3)


async def test_registered_parties_trade_over_the_guarded_broker(service: VtnService, guarded: MosquittoBroker,
                                                                 clock: ManualClock) -> None:
    async with acl_bridge(service, guarded) as market:
        tokens = {party: await _register(service, party) for party in ("pv-1", "home-1")}
        transports = {party: _transport(guarded, market, party, token) for party, token in tokens.items()}
        try:
            clients = {party: VenClient(t, party, identity=PartyIdentity.generate(), token=tokens[party])
                       for party, t in transports.items()}
            for client in clients.values():
                await client.market_context(MARKET)
            subs = {party: await c.notices() for party, c in clients.items()}
            await clients["pv-1"].tender(T, "sell", 2.0, "0.10")
            await clients["home-1"].tender(T, "buy", 2.0, "0.20")
            clock.set(service.config.gate_time(T))
            await service.close_gate(T)
            for sub in subs.values():
                while True:
                    notice = await sub.get(timeout=5)
                    if isinstance(notice, EiCreateTransaction):
                        assert notice.transactions[0].item.payload.quantity == 2.0  # type: ignore[union-attr]
                        break
        finally:
            for t in transports.values():
                await t.close()


async def test_a_party_reads_and_writes_only_its_own_topics(service: VtnService, guarded: MosquittoBroker) -> None:
    async with acl_bridge(service, guarded) as market:
        alice, bob = await _register(service, "alice"), await _register(service, "bob")
        async with aiomqtt.Client(guarded.host, guarded.port, username="alice", password=alice,
                                  protocol=aiomqtt.ProtocolVersion.V5) as snoop:
            # every subscription beyond alice's own topics is refused by the broker (reason code 0x87)
            for topic in ("#", f"transactive/v1/{market}/#", notices_topic(market, "bob"),
                          f"transactive/v1/{market}/reply/bob/#", f"transactive/v1/{market}/request/+"):
                granted = await snoop.subscribe(topic, qos=1)
                assert [code.value for code in granted] == [0x87], topic  # type: ignore[union-attr]
            granted = await snoop.subscribe(notices_topic(market, "alice"), qos=1)
            assert [code.value for code in granted] == [1]  # type: ignore[union-attr]
            # a notice for bob never reaches alice's connection
            await service._emit("bob", EiCancelPartyRegistration(request_id="n", registree_party_id="bob",
                                                                registrar_party_id="market-lme",
                                                                registration_ids=("x",)))
            assert await _next_message(snoop, 1.0) is None
        # bob's request topic is not alice's to write: the broker drops what she puts there, the VTN never
        # sees it (and, as a control, it does see what she puts on her own)
        seen: list[str] = []
        answer = service.answer

        async def counting(message: Model, **kwargs: object) -> Model:
            seen.append(getattr(message, "request_id", "?"))
            return await answer(message, **kwargs)  # type: ignore[arg-type]

        service.answer = counting  # type: ignore[method-assign]
        async with aiomqtt.Client(guarded.host, guarded.port, username="alice", password=alice,
                                  protocol=aiomqtt.ProtocolVersion.V5) as writer:
            for party in ("bob", "alice"):
                request = EiRequestEiMarketContext(request_id=f"as-{party}", market_contexts=(MARKET,),
                                                   party_id=party)
                props = publish_properties(WireFormat.JSON, response_topic=reply_topic(market, party, "x"),
                                           correlation=b"c", token=bob if party == "bob" else alice)
                await writer.publish(request_topic(market, party), encode_json(request), qos=1, properties=props)
        for _ in range(50):
            if seen:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert seen == ["as-alice"]


async def test_nobody_logs_in_anonymously_or_with_a_wrong_or_cancelled_token(service: VtnService,
                                                                             guarded: MosquittoBroker) -> None:
    async with acl_bridge(service, guarded) as market:
        token = await _register(service, "pv-9")
        for login in ((None, None), ("pv-9", "wrong"), ("nobody", token)):
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client(guarded.host, guarded.port, username=login[0], password=login[1],
                                          protocol=aiomqtt.ProtocolVersion.V5, timeout=3):
                    pass
        transport = _transport(guarded, market, "pv-9", token)
        try:
            await transport.connect()  # the right login works
            assert transport.connected
        finally:
            await transport.close()
        await service.answer(EiCancelPartyRegistration(request_id="bye", registree_party_id="pv-9",
                                                       registrar_party_id="market-lme", registration_ids=(token,)),
                             token=token)
        with pytest.raises(ConnectionFailedError):
            await _transport(guarded, market, "pv-9", token).connect()


async def test_parties_registered_while_the_bridge_was_away_get_their_login_when_it_connects(
        service: VtnService, guarded: MosquittoBroker) -> None:
    token = await _register(service, "early")  # no bridge yet
    async with acl_bridge(service, guarded) as market:
        transport = _transport(guarded, market, "early", token)
        try:
            await transport.connect()
            assert transport.connected
        finally:
            await transport.close()


async def test_vtn_serve_with_mqtt_acl_gives_a_party_registered_over_https_its_broker_login(
        guarded: MosquittoBroker, tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    password = tmp_path / "mqtt.password"
    password.write_text(ADMIN[1] + "\n")
    vtn = start_vtn(tmp_path / "vtn", "--mqtt", f"{guarded.host}:{guarded.port}", "--mqtt-user", ADMIN[0],
                    "--mqtt-password-file", str(password), "--mqtt-acl")
    vtn_processes.append(vtn)
    me = PartyIdentity.generate()
    async with HttpTransport(vtn.url) as http:
        client = VenClient(http, "pv-5", identity=me)
        config = await client.market_context(DEFAULT_MARKET_CONTEXT)
        token = await client.register()
    transport = _transport(guarded, config.market_party_id, "pv-5", token)
    try:
        for _ in range(50):  # the bridge may still be connecting
            try:
                await transport.connect()
                break
            except ConnectionFailedError:
                await asyncio.sleep(0.1)
        mqtt_client = VenClient(transport, "pv-5", identity=me, token=token)
        assert (await mqtt_client.market_context(DEFAULT_MARKET_CONTEXT)).market_party_id == config.market_party_id
        await (await mqtt_client.notices()).close()  # its own notices: allowed
    finally:
        await transport.close()


async def test_vtn_serve_over_mqtt_with_tls_and_per_party_logins_end_to_end(
        pki: Pki, tmp_path: Path, vtn_processes: list[VtnProcess]) -> None:
    """The whole of the issue's MQTT requirement at once: a broker that speaks TLS only and admits nobody
    anonymously; ``vtn serve`` connects to it over TLS as its administrator and keeps the parties' logins; a
    party registered over HTTPS trades its market context over MQTT with TLS and its own login, a TLS client
    without a login is refused, and one with a login reads nothing of another party's topics."""
    cert, key = pki.pair("vtn")
    try:
        broker = MosquittoBroker(binary=install(), admin=ADMIN, tls=BrokerTls(pki.ca, cert, key)).start()
    except BrokerError as error:
        pytest.skip(str(error))
    try:
        password = tmp_path / "mqtt.password"
        password.write_text(ADMIN[1] + "\n")
        vtn = start_vtn(tmp_path / "vtn", "--tls-cert", str(cert), "--tls-key", str(key),
                        "--mqtt", f"{broker.host}:{broker.port}", "--mqtt-tls-ca", str(pki.ca),
                        "--mqtt-user", ADMIN[0], "--mqtt-password-file", str(password), "--mqtt-acl")
        vtn_processes.append(vtn)
        assert vtn.url.startswith("https://")
        tokens, identities = {}, {}
        async with HttpTransport(vtn.url, tls=pki.client()) as https:
            for party in ("pv-7", "home-7"):
                identities[party] = PartyIdentity.generate()
                tokens[party] = await VenClient(https, party, identity=identities[party]).register()
        market = "market"

        def over_tls(party: str | None, token: str | None = None) -> MqttTransport:
            return MqttTransport(broker.host, broker.port, market=market, party=party, username=party,
                                 password=token, timeout=3, connect_timeout=2, tls=pki.client())

        anonymous = over_tls(None)
        try:
            with pytest.raises(ConnectionFailedError):
                await anonymous.connect()
        finally:
            await anonymous.close()

        transport = over_tls("pv-7", tokens["pv-7"])
        try:
            for _ in range(50):  # the bridge may still be connecting and granting the logins
                try:
                    await transport.connect()
                    break
                except ConnectionFailedError:
                    await asyncio.sleep(0.1)
            client = VenClient(transport, "pv-7", identity=identities["pv-7"], token=tokens["pv-7"])
            assert (await client.market_context(DEFAULT_MARKET_CONTEXT)).market_context == DEFAULT_MARKET_CONTEXT
        finally:
            await transport.close()

        # pv-7's login, a TLS connection, a subscription to everything: home-7's notices never arrive
        async with aiomqtt.Client(broker.host, broker.port, username="pv-7", password=tokens["pv-7"],
                                  protocol=aiomqtt.ProtocolVersion.V5, tls_context=pki.client()) as spy:
            await spy.subscribe("#", qos=1)
            home = VenClient(over_tls("home-7", tokens["home-7"]), "home-7", identity=identities["home-7"],
                             token=tokens["home-7"])
            try:
                await home.market_context(DEFAULT_MARKET_CONTEXT)  # a request and its reply on home-7's topics
            finally:
                await home.transport.close()
            seen = []
            while (message := await _next_message(spy, within=1.0)) is not None:
                seen.append(str(message.topic))
            assert not [topic for topic in seen if "home-7" in topic], f"pv-7 read {seen}"
    finally:
        broker.stop()
