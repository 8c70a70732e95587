"""Fixtures for the service tests: a 15-minute market, a manual clock at 11:30 UTC, tender builders."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from interop.postgresql.cluster import PostgresCluster
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.ei.cts.tender import EiCreateTender, EiTender
from transactive.emix import Product, energy_stream_product, energy_tender_product
from transactive.protocol.identity import KeyProof, PartyIdentity
from transactive.services import ManualClock, MarketConfig, MemoryStore, VtnCore
from transactive.services.store import Store

MARKET = "https://lme.example.com/markets/rt15"
#: the interval every test trades in (gate closes 11:55)
T = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 11, 30, tzinfo=UTC)
QUARTER = timedelta(minutes=15)


@pytest.fixture
def config() -> MarketConfig:
    return MarketConfig(market_context=MARKET, market_party_id="market-lme", name="LME rt15", currency="USD",
                        min_quantity_kwh=Decimal("0.1"), max_quantity_kwh=Decimal("100"),
                        min_price=Decimal("0.01"), max_price=Decimal("1"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


#: empties every table of the store's schema and restarts its identity columns (order_no, seq, ... from 1
#: again, as in a new database), in one round trip
_PG_RESET = """DO $$ DECLARE t record; BEGIN
    FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations' LOOP
        EXECUTE format('DELETE FROM %I', t.tablename);
    END LOOP;
    FOR t IN SELECT table_name, column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND is_identity = 'YES' LOOP
        PERFORM setval(pg_get_serial_sequence(format('%I', t.table_name), t.column_name), 1, false);
    END LOOP; END $$"""


@pytest.fixture(scope="session")
def pg_services_db(pg_server: PostgresCluster) -> Iterator[tuple[str, Callable[[], None]]]:
    """One database of the session's PostgreSQL server for the service tests, its schema made once: its URL,
    and what empties it again."""
    import psycopg  # the extra "postgresql"

    from transactive.services.pg_store import PgStore

    url = pg_server.create_database("transactive_services")
    PgStore(url).close()
    with psycopg.connect(url, autocommit=True) as admin:
        yield url, lambda: admin.execute(_PG_RESET) and None


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Every test that uses the store runs against both stores: SQLite in memory, and PostgreSQL. The
    PostgreSQL tests share one database emptied after each test (as good as a new one, and ~5 ms against
    ~100 ms for a CREATE DATABASE per test: the CI budget is tight); tests/services/test_pg_store.py, which
    stops the server and migrates, gets a new database each (``pg_url``)."""
    if request.param == "sqlite":
        yield MemoryStore()
        return
    from transactive.services.pg_store import PgStore

    url, reset = request.getfixturevalue("pg_services_db")
    pg = PgStore(url)
    try:
        yield pg
    finally:
        pg.close()
        reset()


@pytest.fixture
def core(config: MarketConfig, store: Store, clock: ManualClock) -> VtnCore:
    return VtnCore(config, store, clock)


#: one key per party name, for the whole test session (a party id is bound to its key for good)
_KEYS: dict[str, PartyIdentity] = {}


def identity_of(party: str) -> PartyIdentity:
    """The key the tests register ``party`` with (the same one every time)."""
    if party not in _KEYS:
        _KEYS[party] = PartyIdentity.generate()
    return _KEYS[party]


def proof_of(party: str, at: datetime = T) -> KeyProof:
    """What a transport hands the core once it has checked ``party``'s signature."""
    return KeyProof(identity_of(party).public, at)


def register(core: VtnCore, party: str) -> str:
    reply = core.handle(EiCreatePartyRegistration(request_id=f"reg-{party}", registree_party_id=party),
                        proof=proof_of(party))
    token = reply.registration_id  # type: ignore[attr-defined]
    assert isinstance(token, str)
    return token


def product(side: str = "sell", quantity: float = 2.5, price: str = "0.12", *, start: datetime = T,
            market: str = MARKET, uid: str = "p", duration: timedelta = QUARTER) -> Product:
    return energy_tender_product(side=side, quantity_kwh=quantity, price=price, currency="USD",
                                 market_context=market, dtstart=start, duration=duration, uid=uid)


def create(party: str, tender_id: str, item: Product, *, request_id: str | None = None,
           counter: str = "market-lme") -> EiCreateTender:
    return EiCreateTender(request_id=request_id or f"req-{tender_id}", party_id=party, counter_party_id=counter,
                          tenders=(EiTender(tender_id=tender_id, item=item),))


def stream(side: str, quantities: tuple[float, ...], prices: str | tuple[str, ...], *, start: datetime = T,
           uid: str = "s") -> Product:
    return energy_stream_product(side=side, quantities_kwh=quantities, prices=prices, currency="USD",
                                 market_context=MARKET, dtstart=start, interval=QUARTER, uid=uid)
