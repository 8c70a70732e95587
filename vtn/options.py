"""What ``transactive vtn serve`` is told (:class:`VtnOptions`), the names of what its data directory holds, and
its refusal to start (:class:`VtnStartError`); :class:`~transactive.vtn.app.VtnApp` runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from transactive.market import DEFAULT_RESERVE, ReservePrices
from transactive.protocol.market import MarketConfig
from transactive.services.store import url_for_messages
from transactive.transport.tls import ClientTls, ServerTls
from transactive.vtn.http import DEFAULT_MAX_BODY
from transactive.vtn.limits import Limits
from transactive.vtn.oadr_app import OadrConfig
from transactive.vtn.openadr3_app import Oa3Config

__all__ = ["DEFAULT_MARKET_CONTEXT", "EVM_KEYS_DIR", "KEY_FILE", "META_CLOCK", "META_KEY_ID", "META_NOTICE_EPOCH",
           "MQTT_CONNECT_WAIT", "PARENT_WAIT", "STORE_BUSY_TIMEOUT", "VtnOptions", "VtnStartError", "check_store"]

DEFAULT_MARKET_CONTEXT = "urn:transactive:market:rt15"
#: the VTN's own key (it signs the notices; a child VTN registers upstream with it): PEM, mode 0600
KEY_FILE = "vtn.key"
#: the EVM keystore in the data directory (``--ledger evm``): one encrypted key file per party
EVM_KEYS_DIR = "evm-keys"
#: how long a child VTN waits for its parent's ``GET /health`` at start by default (seconds)
PARENT_WAIT = 15.0
#: how long a store write waits for the database's write lock before it fails (seconds; see _open_for_writing)
STORE_BUSY_TIMEOUT = 1.0
#: how long the first connection to the MQTT broker may take before the start is refused (seconds)
MQTT_CONNECT_WAIT = 15.0
#: what the processes sharing one database agree on, kept in its ``meta`` table (see :meth:`VtnApp._open_shared`)
META_CLOCK, META_KEY_ID, META_NOTICE_EPOCH = "clock", "vtn_key_id", "notice_epoch"


class VtnStartError(RuntimeError):
    """The VTN cannot start as configured (the message says why; ``vtn serve`` exits 2)."""


@dataclass(frozen=True, slots=True)
class VtnOptions:
    """What ``transactive vtn serve`` is told (see its ``--help``)."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    interval_seconds: float | None = None
    ledger: str = "embedded"
    evm_url: str | None = None
    #: the EVM keystore's password file (its first line); None: a generated one in DATA_DIR/evm-keys/
    evm_password_file: Path | None = None
    #: development nodes only: top every EVM account the VTN uses up to this much ether (anvil_setBalance)
    evm_dev_fund: Decimal | None = None
    mqtt: tuple[str, int] | None = None
    #: the bridge's (name, password) at the broker
    mqtt_login: tuple[str, str] | None = None
    #: keep per-party broker logins and ACLs (the broker's Dynamic Security plugin; ``mqtt_login`` administers it)
    mqtt_acl: bool = False
    parent: str | None = None
    parent_party: str | None = None
    market_context: str = DEFAULT_MARKET_CONTEXT
    market_party_id: str = "market"
    interval: timedelta = timedelta(minutes=15)
    gate_closure: timedelta = timedelta(minutes=5)
    max_body: int = DEFAULT_MAX_BODY
    scheduler: bool = True
    parent_wait: float = PARENT_WAIT
    #: start even when the start-up checks find problems, for inspection: answer reads, refuse writes (503)
    read_only: bool = False
    #: the main grid's (selling, buying) prices per kWh (default :data:`transactive.market.DEFAULT_RESERVE`,
    #: as ``vtn serve``), or None: no grid, the price band is [0, 10]
    reserve: tuple[float, float] | None = DEFAULT_RESERVE
    #: serve HTTPS with these files (None: plain HTTP)
    tls: ServerTls | None = None
    #: how to connect to an https:// parent (None: the system's trusted CAs, no client certificate)
    parent_tls: ClientTls | None = None
    #: connect to the MQTT broker over TLS with these files (None: plain MQTT)
    mqtt_tls: ClientTls | None = None
    limits: Limits = field(default_factory=Limits)
    max_tenders: int = 100
    max_stream_intervals: int = 672
    horizon: timedelta = timedelta(days=7)
    #: the OpenADR 2.0b role (served beside the CTS services under /OpenADR2/Simple/2.0b/)
    oadr: OadrConfig = field(default_factory=OadrConfig)
    #: the OpenADR 3.1 role (served under /openadr3/3.1.0)
    openadr3: Oa3Config = field(default_factory=Oa3Config)
    #: a PostgreSQL database shared with other VTN processes (``postgresql://USER@HOST:PORT/DB``; see
    #: :mod:`.cluster`); None: the SQLite store in ``data_dir``, this process alone
    store: str | None = None
    #: share the listening port with other processes on this machine (SO_REUSEPORT; ``--workers`` sets it)
    reuse_port: bool = False
    #: data directories of community aggregators trading in this market (``transactive community run
    #: --data-dir``): the dashboard shows their goals, tokens and rankings (read-only)
    community_dirs: tuple[Path, ...] = ()

    def market_config(self) -> MarketConfig:
        reserve, min_price, max_price = None, Decimal(0), Decimal("10")
        if self.reserve is not None:
            grid_buy, grid_sell = self.reserve
            reserve = ReservePrices(grid_buy=grid_buy, grid_sell=grid_sell)
            min_price, max_price = Decimal(repr(grid_sell)), Decimal(repr(grid_buy))
        return MarketConfig(market_context=self.market_context, market_party_id=self.market_party_id,
                            interval=self.interval, gate_closure=self.gate_closure, reserve=reserve,
                            min_price=min_price, max_price=max_price, max_tenders=self.max_tenders,
                            max_stream_intervals=self.max_stream_intervals, horizon=self.horizon)



def check_store(options: VtnOptions) -> None:
    """``ValueError`` naming the flags if ``--store`` does not go with the other options."""
    if options.store is None:
        return
    if not options.store.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"--store {url_for_messages(options.store)}: a postgresql://USER@HOST:PORT/DB URL (without "
                         "--store: the SQLite store in --data-dir)")
    if options.read_only:
        raise ValueError("--read-only inspects a data directory's SQLite store; with --store, 'transactive "
                         "vtn report --store URL' reads the database")
    if options.mqtt_acl:
        raise ValueError("--mqtt-acl keeps the broker's logins in step with the registrations one process "
                         "sees; it does not go with --store (several processes)")
