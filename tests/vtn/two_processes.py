"""Two VTN "processes" on one shared SQLite file, for the tests of :mod:`transactive.vtn.shared_objects`.

Each :class:`Process` is what one ``vtn serve`` process builds for the OpenADR roles: its own
:class:`~transactive.services.sqlite_store.SqliteStore` (its own connection to the same WAL file: a real
database with two writers), its own CTS services, the OpenADR 2.0b role (:func:`open_oadr`) and the OpenADR 3
role (:func:`open_openadr3`, with its market bridge), over one data directory (operator token, token key).

The cluster code relays each OpenADR object another process wrote (the PostgreSQL store's notification per
written or deleted ``(kind, key)``); here the store records the ``(kind, key)`` of every write it makes and
:meth:`Process.relay_to` hands them to the other process's :func:`object_changed`, when the test says so (the
delay of a real notification is the time a test lets pass before it relays).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from transactive.services import ManualClock, MarketConfig, VtnCore, VtnService
from transactive.services.sqlite_store import SqliteStore
from transactive.services.store import OadrObject
from transactive.vtn.oadr_app import OadrConfig, open_oadr
from transactive.vtn.oadr_http import OadrOptions
from transactive.vtn.openadr3_app import open_openadr3
from transactive.vtn.openadr3_http import Oa3Options
from transactive.vtn.shared_objects import object_changed

MARKET = "https://lme.example.com/markets/rt15"
T0 = datetime(2026, 12, 4, 12, tzinfo=UTC)


class RecordingStore(SqliteStore):
    """A SQLite store that remembers the ``(kind, key)`` of each OpenADR object it writes or deletes (what the
    PostgreSQL store announces with ``NOTIFY``). A write that is rolled back is remembered too: telling another
    process of it is harmless, as it reads the object from the store."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.written: list[tuple[str, str]] = []

    def put_oadr_object(self, obj: OadrObject) -> None:
        super().put_oadr_object(obj)
        self.written.append((obj.kind, obj.key))

    def delete_oadr_object(self, kind: str, key: str) -> None:
        super().delete_oadr_object(kind, key)
        self.written.append((kind, key))


class Process:
    """One VTN process's OpenADR roles over the shared file ``path``."""

    def __init__(self, path: Path, data_dir: Path, clock: ManualClock) -> None:
        self.store = RecordingStore(path)
        config = MarketConfig(market_context=MARKET, market_party_id="market-lme", name="LME rt15", currency="USD",
                              min_quantity_kwh=Decimal("0.1"), max_quantity_kwh=Decimal("100"),
                              min_price=Decimal("0.01"), max_price=Decimal("1"))
        self.vtn = VtnService(VtnCore(config, self.store, clock))
        self.oadr: OadrOptions = open_oadr(self.vtn, self.store, clock, data_dir, OadrConfig(), wall=clock,
                                           market_context=MARKET, currency="USD")
        self.oa3: Oa3Options = open_openadr3(self.vtn, self.store, data_dir, wall=lambda: datetime.now(UTC),
                                             market_time=clock, operator_token=self.oadr.operator_token,
                                             market_context=MARKET, currency="USD",
                                             interval=timedelta(minutes=15))

    def relay_to(self, other: Process) -> int:
        """Tell ``other`` of every object this process wrote since the last relay; how many."""
        written, self.store.written = self.store.written, []
        for kind, key in written:
            object_changed(other.oadr, other.oa3, kind, key)
        return len(written)

    def close(self) -> None:
        self.store.close()


@contextmanager
def process_pair(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    """Two processes over one file and one data directory, each relaying to the other when told; closed after."""
    data = tmp_path / "data"
    data.mkdir()
    clock = ManualClock(T0)
    a = Process(tmp_path / "vtn.sqlite", data, clock)
    b = Process(tmp_path / "vtn.sqlite", data, clock)
    a.relay_to(b)
    b.relay_to(a)
    try:
        yield a, b
    finally:
        a.close()
        b.close()
