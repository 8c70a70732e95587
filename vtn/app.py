"""The runnable VTN: store + services + settlement + ledger + market clock + transports, in one process.

``DATA_DIR`` holds ``vtn.db`` (the :class:`~transactive.services.SqliteStore`), ``ledger.db`` and
``ledger.db.key`` (the embedded ledger and its writer key, with ``--ledger embedded``), ``evm-keys/`` (with
``--ledger evm``: the keystore of the market's and the parties' EVM keys, see
:meth:`VtnApp._open_evm_ledger`), ``clock.json`` (the market time line, see :mod:`.clock`), ``vtn.key`` (the
VTN's identity: it signs every notice, the market rules publish its public half, and a child VTN registers
upstream with it) and ``vtn.db.lock`` (held while a VTN writes there: one VTN per data directory).

:class:`VtnApp` starts, in order: the start-up checks, the store, the market clock, the ledger (and the
VTN's key), the services, the HTTP server (:mod:`.http`), the gate scheduler (which first recovers overdue
gates), and the optional MQTT bridge (``transactive.vtn.mqtt.run_mqtt_bridge``) and upstream link to a parent VTN
(``transactive.vtn.fractal.run_upstream``); :meth:`VtnApp.stop` stops them in reverse order.

TLS (:mod:`transactive.transport.tls`): ``VtnOptions.tls`` makes the HTTP server HTTPS (and, with a client
CA, requires client certificates); ``parent_tls`` is how the child connects to an ``https://`` parent (its
``GET /health`` at start and the upstream link), ``mqtt_tls`` how the bridge connects to the broker. The SSL
contexts are built when :class:`VtnApp` is made, so a bad file stops it before anything starts
(:class:`~transactive.protocol.certs.CertificateError` naming the file).

Start-up checks (:mod:`.startup`: the store, its WAL, the ledger's tail and whether the two agree) run
before anything in ``DATA_DIR`` is opened for writing. A finding refuses the start (:class:`VtnStartError`:
one line naming the file and the problem; ``vtn serve`` exits 2) unless ``read_only`` (``--read-only``) is
set: then the VTN starts for inspection, opens nothing for writing (the store read-only, or an empty one in
memory when it is missing; no ledger, no gate scheduler, no upstream link), answers reads and refuses every
writing request with EI 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aiohttp
from aiohttp import web

from transactive.ledger import EmbeddedLedger, Ledger, LedgerError
from transactive.ledger.embedded.lock import WriterLock
from transactive.protocol.certs import load_certificate, validity_problem
from transactive.protocol.clock import Clock, MarketClock, TimeMapping, system_clock
from transactive.protocol.identity import PartyIdentity, load_or_create_identity
from transactive.services import MemoryStore, Settlement, SqliteStore, VtnCore, VtnService
from transactive.services.store import Store, StoreError
from transactive.services.store import url_for_messages as redacted
from transactive.transport.base import Transport
from transactive.transport.http import HttpTransport
from transactive.transport.tls import ClientTls
from transactive.vtn.clock import CLOCK_FILE, GateScheduler, load_mapping, saved_mapping
from transactive.vtn.cluster import (
    DeliverySettler,
    Leadership,
    NoticePublisher,
    NoticeRelay,
    process_name,
    prune_notices,
)
from transactive.vtn.http import create_server
from transactive.vtn.limits import raise_open_file_limit
from transactive.vtn.notices import NoticeBoard
from transactive.vtn.oadr_app import OadrStartError, http_pusher, open_oadr
from transactive.vtn.oadr_http import OadrOptions
from transactive.vtn.openadr3_app import keep_keys, open_openadr3
from transactive.vtn.openadr3_http import Oa3Options
from transactive.vtn.openadr3_notify import Notifiers, make_notifiers
from transactive.vtn.options import (
    DEFAULT_MARKET_CONTEXT,
    EVM_KEYS_DIR,
    KEY_FILE,
    META_CLOCK,
    META_KEY_ID,
    META_NOTICE_EPOCH,
    MQTT_CONNECT_WAIT,
    PARENT_WAIT,
    STORE_BUSY_TIMEOUT,
    VtnOptions,
    VtnStartError,
    check_store,
)
from transactive.vtn.parent_clock import adopt_parent_clock
from transactive.vtn.shared_objects import object_changed, set_leader
from transactive.vtn.startup import (
    LEDGER_FILE,
    LEDGER_TAIL_CHECK,
    STORE_FILE,
    beside,
    ledger_problems,
    startup_problems,
)
from transactive.vtn.ui import Dashboard

__all__ = ["DEFAULT_MARKET_CONTEXT", "EVM_KEYS_DIR", "KEY_FILE", "LEDGER_FILE", "LEDGER_TAIL_CHECK", "PARENT_WAIT",
           "STORE_FILE", "VtnApp", "VtnOptions", "VtnStartError", "check_store", "serve", "startup_problems"]

if TYPE_CHECKING:
    from transactive.services.pg_store import PgStore

log = logging.getLogger("transactive.vtn")

def _path(name: object) -> Path | None:
    return None if name is None else Path(str(name))


class VtnApp:
    """One running VTN (see the module docstring); ``wall`` is injectable for tests."""

    def __init__(self, options: VtnOptions, *, wall: Clock = system_clock) -> None:
        if options.ledger not in ("embedded", "evm"):
            raise ValueError(f"unknown ledger {options.ledger!r}: embedded or evm")
        if options.ledger == "evm" and not options.evm_url:
            raise ValueError("--ledger evm needs --evm-url")
        if (options.parent is None) != (options.parent_party is None):
            raise ValueError("--parent and --parent-party go together")
        if options.ledger != "evm" and (options.evm_password_file is not None or options.evm_dev_fund is not None):
            raise ValueError("--evm-password-file and --evm-dev-fund go with --ledger evm")
        if options.parent_tls is not None and not (options.parent or "").lower().startswith("https://"):
            raise ValueError("TLS settings for the parent need an https:// parent URL")
        if options.mqtt_tls is not None and options.mqtt is None:
            raise ValueError("TLS settings for MQTT need an MQTT broker (--mqtt)")
        check_store(options)
        self.options = options
        #: the SSL contexts, built now so that a bad file stops the VTN before it starts anything
        self.server_ssl: ssl.SSLContext | None = options.tls.context() if options.tls else None
        if options.tls is not None:  # served all the same: clients refuse it, and say why
            problem = validity_problem(load_certificate(options.tls.cert), wall())
            if problem is not None:
                log.warning("the TLS certificate %s is %s: clients will refuse it", options.tls.cert, problem)
        self.parent_ssl: ssl.SSLContext | None = options.parent_tls.context() if options.parent_tls else None
        self.mqtt_ssl: ssl.SSLContext | None = options.mqtt_tls.context() if options.mqtt_tls else None
        self.config = options.market_config()
        self.wall = wall
        self.stop_event = asyncio.Event()
        self.mapping: TimeMapping | None = None
        self.clock: MarketClock | None = None
        self.store: Store | None = None
        self.ledger: Ledger | None = None
        self.service: VtnService | None = None
        #: the dashboard at /ui, once started
        self.dashboard: Dashboard | None = None
        self.identity: PartyIdentity | None = None
        self.board = NoticeBoard()
        self.scheduler: GateScheduler | None = None
        #: what the start-up checks found (see :func:`startup_problems`; only a read-only VTN starts with any)
        self.problems: list[str] = []
        self._lock: WriterLock | None = None
        self._marked = False  #: the store is marked running (and is marked clean when it stops)
        self._runner: web.ServerRunner | None = None
        self._unlisten: Callable[[], None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._parent: Transport | None = None
        self.port: int | None = None
        #: the OpenADR 2.0b role (services, operator token, signer), once started
        self.oadr: OadrOptions | None = None
        #: the OpenADR 3.1 role (objects, clients, tokens, notifiers), once started
        self.openadr3: Oa3Options | None = None
        #: its webhook and MQTT notifiers (started with a writable VTN)
        self.oa3_notifiers: Notifiers | None = None
        self._push_session: aiohttp.ClientSession | None = None
        #: with ``--store``: who holds the market's duties, and the notices' way between the processes
        self.leadership: Leadership | None = None
        self.relay: NoticeRelay | None = None
        self.publisher: NoticePublisher | None = None
        self._duty_stop: asyncio.Event | None = None
        self._duty_tasks: list[asyncio.Task[None]] = []

    @property
    def client_certificates(self) -> bool:
        """Whether HTTPS clients must present a certificate (``--tls-ca``)."""
        return self.server_ssl is not None and self.server_ssl.verify_mode == ssl.CERT_REQUIRED

    @property
    def url(self) -> str:
        scheme = "https" if self.server_ssl is not None else "http"
        return f"{scheme}://{self.options.host}:{self.port}"

    async def _open_ledger(self) -> Ledger:
        if self.options.ledger == "evm":  # a keystore that does not open, a node that does not answer: LedgerError
            return await self._open_evm_ledger()
        return EmbeddedLedger(self.options.data_dir / LEDGER_FILE)

    async def _open_evm_ledger(self) -> Ledger:
        """The EVM ledger, signing locally. The keys are in ``DATA_DIR/evm-keys/`` (an
        :class:`~transactive.ledger.evm_keys.EvmKeystore`): the market's, which writes the entries and pays
        sellers, and one per party, made the first time the party pays or is paid, with which the VTN pays
        on the party's behalf (``Settlement(auto_pay=True)``). Whoever holds that directory and its password
        moves the money in those accounts. With ``evm_dev_fund`` (development nodes only) every account is
        topped up with that much ether when first used; otherwise the accounts must be funded on chain."""
        try:
            from transactive.ledger.evm import EvmLedger
            from transactive.ledger.evm_dev import DevFundedKeys, DevFunding
            from transactive.ledger.evm_keys import EvmKeystore, PartyKeys
        except ImportError as exc:
            raise VtnStartError(f"--ledger evm needs the evm extra (pip install 'transactive[evm]'): {exc}") from exc

        opts = self.options
        keystore = EvmKeystore.open(opts.data_dir / EVM_KEYS_DIR, password_file=opts.evm_password_file)
        market = await keystore.key(self.config.market_party_id)
        evm = EvmLedger(cast(str, opts.evm_url), signer=market, keys=keystore)
        try:
            keys: PartyKeys = keystore
            if opts.evm_dev_fund is not None:
                funding = DevFunding(evm.rpc, opts.evm_dev_fund)
                await funding.top_up(market.address)
                keys = DevFundedKeys(keystore, funding)
                log.warning("development funding: every EVM account this VTN uses is topped up to %s ether "
                            "(anvil_setBalance)", opts.evm_dev_fund)
            evm.keys = keys
            balance = await evm.rpc.call("eth_getBalance", [market.address, "latest"])
            if balance in ("0x0", "0x", 0):
                log.warning("the market's EVM account %s holds no ether: fund it, or anchors fail (on a "
                            "development node: --evm-dev-fund ETH)", market.address)
            await evm.rebuild_index()
        except BaseException:
            await evm.close()
            raise
        log.info("EVM ledger at %s: market account %s, keys in %s", opts.evm_url, market.address,
                 keystore.directory)
        if keystore.password_in_directory:
            log.warning("the EVM keys in %s are encrypted with a password kept beside them: they are as safe as "
                        "the data directory (give --evm-password-file to keep the password elsewhere)",
                        keystore.directory)
        return evm

    async def start(self) -> None:
        """Check the data directory, open it and serve; :class:`VtnStartError` (one line naming the file or
        the option and what is wrong) for anything that stops the VTN from starting as configured."""
        opts = self.options
        data = opts.data_dir
        try:
            data.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise VtnStartError(f"{data}: cannot use this data directory ({exc.strerror or exc})") from None
        # (with --store the database is PostgreSQL's to check; the leader checks the ledger before it writes it)
        self.problems = startup_problems(data, opts.ledger) if opts.store is None else []
        if self.problems and not opts.read_only:
            more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise VtnStartError(f"{self.problems[0]}{more}; not started (--read-only starts it for inspection)")
        if opts.read_only:
            await self._open_read_only()
        elif opts.store is not None:
            await self._open_shared(opts.store)
        else:
            await self._open_for_writing()
        assert self.service is not None
        assert self.clock is not None
        raise_open_file_limit()
        assert self.store is not None
        try:
            self.oadr = open_oadr(self.service, self.store, self.clock, data, opts.oadr, wall=self.wall,
                                  market_context=self.config.market_context, currency=self.config.currency,
                                  read_only=opts.read_only,
                                  trusted_ca=None if opts.tls is None else _path(opts.tls.client_ca))
        except OadrStartError as exc:
            raise VtnStartError(str(exc)) from None
        # pushes to push VENs: as a TLS client with the VTN's own certificate, trusting the CA of its clients
        push_ssl = (ClientTls(opts.tls.client_ca, opts.tls.cert, opts.tls.key).context() if opts.tls is not None
                    else None)
        self._push_session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=push_ssl or True))
        self.oadr.service.pusher = http_pusher(self.oadr.service, self._push_session, self.oadr.signer)
        self.openadr3 = open_openadr3(self.service, self.store, data, wall=self.wall, market_time=self.clock,
                                      operator_token=self.oadr.operator_token,
                                      market_context=self.config.market_context, currency=self.config.currency,
                                      interval=self.config.interval, read_only=self.service.read_only,
                                      config=opts.openadr3)
        if self.openadr3.tokens.external is not None:
            self._spawn(keep_keys(self.openadr3.tokens.external, self.stop_event), "openadr3-keys")
        self.oa3_notifiers = make_notifiers(self.openadr3, wall=self.wall, mqtt=opts.mqtt, login=opts.mqtt_login,
                                            tls=self.mqtt_ssl, acl=opts.mqtt_acl,
                                            private=opts.openadr3.webhooks_private)
        if not opts.read_only:
            await self.oa3_notifiers.start()
        self.dashboard = dashboard = Dashboard(self.service, operator_token=self.oadr.operator_token,
                                               oadr=self.oadr, openadr3=self.openadr3,
                                               community_dirs=opts.community_dirs)
        server = create_server(self.service, board=self.board, health=self.health, max_body=opts.max_body,
                               limits=opts.limits, oadr=self.oadr, openadr3=self.openadr3, dashboard=dashboard)
        self._unlisten = self.service.listen(self.publisher.post if self.publisher is not None else self.board.post)
        self._runner = web.ServerRunner(server, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, opts.host, opts.port, ssl_context=self.server_ssl,
                           reuse_port=opts.reuse_port or None)
        try:
            await site.start()
        except OSError as exc:
            raise VtnStartError(f"cannot listen on {opts.host}:{opts.port} ({exc.strerror or exc})") from None
        self.port = int(self._runner.addresses[0][1]) if self._runner.addresses else opts.port
        if self.leadership is not None and self.relay is not None:
            set_leader(self.oadr, self.openadr3, False)  # (until this process takes the lock)
            self._spawn(self.relay.run(self.stop_event), "notice-relay")
            self._spawn(self.leadership.run(self.stop_event), "leadership")
        else:
            await self._take_duties(self.stop_event, self._tasks)

    async def _take_duties(self, stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        """The market's duties: the MQTT bridge, the gate scheduler, the link to a parent VTN (their tasks go to
        ``tasks`` and end with ``stop``). This process alone: at start; several on one database: while this one
        is the leader (:meth:`_gain`)."""
        opts = self.options
        assert self.service is not None
        assert self.clock is not None
        if opts.mqtt is not None:  # (before the scheduler: a refused start closes no gate)
            await self._start_mqtt(opts.mqtt, stop, tasks)
        if opts.scheduler and not opts.read_only:
            retry_max = min(5.0, max(0.05, self.wall_seconds_per_interval / 4))
            self.scheduler = GateScheduler(self.service, self.config, self.clock, retry_first=min(0.1, retry_max),
                                           retry_max=retry_max)
            self._spawn(self.scheduler.run(stop), "gate-scheduler", tasks)
        if opts.parent is not None and opts.parent_party is not None and not opts.read_only:
            module = importlib.import_module("transactive.vtn.fractal")
            upstream = cast(Callable[..., Awaitable[None]], module.run_upstream)
            self._parent = HttpTransport(opts.parent, tls=self.parent_ssl)
            poll = min(max(self.wall_seconds_per_interval / 10, 0.05), 1.0)
            self._spawn(upstream(self.service, self.config, self._parent, opts.parent_party, stop=stop,
                                 poll=poll, identity=self.identity), "upstream", tasks)

    async def _open_for_writing(self) -> None:
        opts, data = self.options, self.options.data_dir
        store_path = data / STORE_FILE
        try:
            self._lock = WriterLock(store_path)
        except LedgerError as exc:
            raise VtnStartError(f"{beside(store_path, '.lock')}: cannot be locked, is another VTN running on "
                                f"{data}? ({exc})") from None
        try:
            # the store is used on the event loop: a write waits at most STORE_BUSY_TIMEOUT for the lock (which
            # only an outside tool can hold, vtn.db.lock keeps other VTNs out), then it is a 503
            self.store = SqliteStore(store_path, busy_timeout=STORE_BUSY_TIMEOUT)
            self.store.mark_running()
        except StoreError as exc:
            raise VtnStartError(f"{store_path}: {exc}") from None
        self._marked = True
        await self._open_clock(save=True)
        try:
            self.identity = load_or_create_identity(data / KEY_FILE)
        except ValueError as error:
            raise VtnStartError(str(error)) from None
        self.config = replace(self.config, signing_key=self.identity.public.keyid)
        try:
            self.ledger = await self._open_ledger()
        except (LedgerError, OSError, ValueError) as exc:
            where = f"--evm-url {opts.evm_url}" if opts.ledger == "evm" else str(data / LEDGER_FILE)
            raise VtnStartError(f"{where}: {exc}" if where not in str(exc) else str(exc)) from None
        assert self.clock is not None
        settlement = Settlement(self.store, self.ledger, config=self.config, clock=self.clock)
        self.service = VtnService(VtnCore(self.config, self.store, self.clock), settlement=settlement,
                                  identity=self.identity, wall=self.wall)

    async def _open_shared(self, url: str) -> None:
        """With ``--store``: the PostgreSQL store shared with other VTN processes (:mod:`.cluster`). The market
        clock and the VTN's key must be the same in every process: the first process to start writes the clock
        and its key's id into the database, the others adopt the clock and must hold the same key (copy
        ``DATA_DIR/vtn.key`` to every machine). The ledger is opened by whichever process becomes the leader."""
        try:
            from transactive.services.pg_store import PgStore
        except ImportError as exc:
            raise VtnStartError(f"--store needs the postgresql extra (pip install 'transactive[postgresql]'): "
                                f"{exc}") from None
        where = f"--store {redacted(url)}"

        def failed(exc: StoreError) -> VtnStartError:  # one line (libpq's messages carry hints on lines of their own)
            return VtnStartError(f"{where}: {' '.join(str(exc).replace(f'store {redacted(url)}: ', '').split())}")

        try:
            store = self.store = PgStore(url, busy_timeout=STORE_BUSY_TIMEOUT)
        except StoreError as exc:
            raise failed(exc) from None
        opts = self.options
        try:
            if opts.parent is not None:
                await self._open_clock(save=False)
            else:
                self.mapping = self._shared_mapping(store)
                self.clock = MarketClock(self.mapping, self.wall)
            try:
                self.identity = load_or_create_identity(opts.data_dir / KEY_FILE)
            except ValueError as error:
                raise VtnStartError(str(error)) from None
            keyid = self.identity.public.keyid
            shared = store.meta_put_if_absent(META_KEY_ID, keyid)
            if shared != keyid:
                raise VtnStartError(f"{opts.data_dir / KEY_FILE}: not the key of the VTN on {redacted(url)} (that "
                                    f"one is {shared}, this one {keyid}): copy vtn.key from the first VTN's data "
                                    "directory, so that every process signs as the same VTN")
            epoch = int(store.meta_put_if_absent(META_NOTICE_EPOCH, str(int(self.wall().timestamp() * 1_000_000))))
            cursor = store.last_notice_seq()
        except StoreError as exc:
            raise failed(exc) from None
        self.config = replace(self.config, signing_key=keyid)
        assert self.clock is not None
        self.service = VtnService(VtnCore(self.config, store, self.clock), identity=self.identity, wall=self.wall)
        self.board = NoticeBoard(boot=epoch + cursor)
        self.publisher = NoticePublisher(store)
        self.relay = NoticeRelay(url, self.board, epoch=epoch, cursor=cursor, objects=self._object_changed)
        self.leadership = Leadership(url, on_gain=self._gain, on_loss=self._lose)

    def _shared_mapping(self, store: PgStore) -> TimeMapping:
        """The market time line every process on the database keeps (the first process to start sets it)."""
        opts = self.options
        mine = TimeMapping.for_market(self.config, opts.interval_seconds, self.wall())
        mapping = TimeMapping.from_json(json.loads(store.meta_put_if_absent(META_CLOCK, json.dumps(mine.to_json()))))
        if abs(mapping.speed - mine.speed) > 1e-9 * mine.speed:
            given = "real time" if opts.interval_seconds is None else f"--interval-seconds {opts.interval_seconds:g}"
            shared = ("real time" if mapping.speed == 1.0 else
                      f"--interval-seconds {self.config.interval.total_seconds() / mapping.speed:g}")
            raise VtnStartError(f"{given}: the VTN on {redacted(opts.store or '')} runs its market at {shared}; every "
                                "process must run the same market clock")
        return mapping

    def _object_changed(self, kind: str, key: str) -> None:
        object_changed(self.oadr, self.openadr3, kind, key)

    async def _gain(self) -> None:
        """This process became the leader: check and open the ledger, settle, take the market's duties."""
        opts, data = self.options, self.options.data_dir
        assert self.service is not None
        assert self.store is not None
        assert self.clock is not None
        if opts.ledger == "embedded":
            problems = await asyncio.to_thread(ledger_problems, data / LEDGER_FILE, cast("PgStore", self.store))
            if problems:
                raise VtnStartError("; ".join(problems))
        self.ledger = await self._open_ledger()
        settlement = Settlement(self.store, self.ledger, config=self.config, clock=self.clock)
        self.service.settlement = settlement
        self._duty_stop = asyncio.Event()
        self._duty_tasks = []
        set_leader(self.oadr, self.openadr3, True)
        url = cast(str, opts.store)
        self._spawn(DeliverySettler(url, settlement).run(self._duty_stop), "delivery-settler", self._duty_tasks)
        self._spawn(prune_notices(url, self._duty_stop), "notice-pruning", self._duty_tasks)
        await self._take_duties(self._duty_stop, self._duty_tasks)

    async def _lose(self) -> None:
        """This process is no longer the leader (or stops): stop the duties and close the ledger."""
        set_leader(self.oadr, self.openadr3, False)
        if self._duty_stop is not None:
            self._duty_stop.set()
        await _finish(self._duty_tasks)
        self._duty_tasks = []
        self.scheduler = None
        if self.service is not None:
            self.service.settlement = None
        if self._parent is not None:
            await self._parent.close()
            self._parent = None
        if self.ledger is not None:
            await self.ledger.close()
            self.ledger = None

    async def _open_read_only(self) -> None:
        """For inspection: the store read-only (an empty one in memory if it cannot be opened), no ledger."""
        data = self.options.data_dir
        store_path = data / STORE_FILE
        for problem in self.problems:
            log.warning("%s", problem)
        try:
            self.store = SqliteStore(store_path, read_only=True)
            why = "--read-only"
        except StoreError as exc:
            log.warning("%s: serving an empty store instead (%s)", store_path, exc)
            self.store = MemoryStore()
            why = f"--read-only; {store_path} could not be opened, an empty store is served"
        await self._open_clock(save=False)
        assert self.clock is not None
        self.service = VtnService(VtnCore(self.config, self.store, self.clock), read_only=why)
        log.warning("serving %s read-only for inspection: writing requests are answered with 503", data)

    async def _open_clock(self, *, save: bool) -> None:
        opts = self.options
        path = opts.data_dir / CLOCK_FILE
        if opts.parent is not None:
            self.mapping = await adopt_parent_clock(opts.parent, opts, self.config, self.parent_ssl, self.wall,
                                                    save=save)
        else:
            try:
                if save:
                    self.mapping = load_mapping(opts.data_dir, self.config, opts.interval_seconds, self.wall)
                else:
                    self.mapping = saved_mapping(opts.data_dir) or TimeMapping.for_market(
                        self.config, opts.interval_seconds, self.wall())
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise VtnStartError(f"{path}: not a readable market clock ({type(exc).__name__}: {exc})") from None
        self.clock = MarketClock(self.mapping, self.wall)

    async def _start_mqtt(self, where: tuple[str, int], stop: asyncio.Event, tasks: list[asyncio.Task[None]]) -> None:
        """Serve over the broker too; the first connection must succeed (else :class:`VtnStartError`)."""
        assert self.service is not None
        module = importlib.import_module("transactive.vtn.mqtt")
        bridge = cast(Callable[..., Coroutine[Any, Any, None]], module.run_mqtt_bridge)
        ready = asyncio.Event()
        task = asyncio.get_running_loop().create_task(
            bridge(self.service, where[0], where[1], stop=stop, ready=ready, tls=self.mqtt_ssl,
                   login=self.options.mqtt_login, acl=self.options.mqtt_acl),
            name="transactive-vtn-mqtt-first")
        waiter = asyncio.get_running_loop().create_task(ready.wait())
        await asyncio.wait({task, waiter}, timeout=MQTT_CONNECT_WAIT, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if not ready.is_set():
            if task.done() and not task.cancelled() and task.exception() is not None:
                error = task.exception()
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                error = TimeoutError(f"no connection within {MQTT_CONNECT_WAIT:g} s")
            raise VtnStartError(f"--mqtt {where[0]}:{where[1]}: cannot connect to the broker ({error})")
        self._spawn(task, "mqtt-bridge", tasks)

    @property
    def interval_seconds(self) -> float | None:
        """``--interval-seconds``, or what the adopted parent clock makes of it; None on real time."""
        if self.options.interval_seconds is not None:
            return self.options.interval_seconds
        return None if self.mapping is None or self.mapping.speed == 1.0 else self.wall_seconds_per_interval

    @property
    def wall_seconds_per_interval(self) -> float:
        """How long one market interval lasts on the wall clock."""
        speed = self.mapping.speed if self.mapping is not None else 1.0
        return self.config.interval.total_seconds() / speed

    def _spawn(self, coro: Awaitable[None], name: str, tasks: list[asyncio.Task[None]] | None = None) -> None:
        async def guarded() -> None:
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s stopped with an error", name)

        (self._tasks if tasks is None else tasks).append(
            asyncio.get_running_loop().create_task(guarded(), name=f"transactive-vtn-{name}"))

    async def health(self) -> dict[str, Any]:
        """The facts ``GET /health`` reports beside ``status`` (``"degraded"``, answered with HTTP 503, while
        a part of storage fails, a gate is being retried, or the VTN runs read-only).

        ``faults``: the parts of storage whose writes fail now (``"store"``, ``"ledger"``) and why; a failing
        part is probed with a small write when asked, so this recovers by itself. ``gate_retry``: what the gate
        scheduler is retrying (``what``, ``interval``, ``attempts``, ``error``) or null. ``read_only``: why the
        VTN refuses writes (``--read-only``) or null; ``start_problems``: what the start-up checks found."""
        assert self.clock is not None
        assert self.service is not None
        now = self.clock()
        cfg = self.config
        faults = await self.service.storage_faults()
        store_ok = self.service.store_ok() and "store" not in faults
        nxt = cfg.next_open_interval(now)
        last = self.scheduler.last_closed if self.scheduler else None
        retry = self.scheduler.retrying if self.scheduler else None
        degraded = bool(faults) or not store_ok or retry is not None or self.service.read_only is not None or \
            (self.leadership is not None and self.leadership.error is not None)
        return {
            "status": "degraded" if degraded else "ok",
            "market": cfg.market_context,
            "market_party_id": cfg.market_party_id,
            "market_time": now.isoformat(),
            "interval": cfg.interval.total_seconds(),
            "interval_seconds": self.interval_seconds,
            "clock": None if self.mapping is None else self.mapping.to_json(),
            "current_interval": cfg.interval_containing(now).isoformat(),
            "next_open_interval": nxt.isoformat(),
            "gate_time": cfg.gate_time(nxt).isoformat(),
            "last_closed_interval": None if last is None else last.isoformat(),
            "store": "ok" if store_ok else "error",
            "ledger": self.options.ledger,
            "faults": faults,
            "gate_retry": None if retry is None else {
                "what": retry.what, "interval": None if retry.interval is None else retry.interval.isoformat(),
                "attempts": retry.attempts, "error": retry.error},
            "read_only": self.service.read_only,
            "start_problems": list(self.problems),
            "tls": self.server_ssl is not None,
            "client_certificates": self.client_certificates,
            "event_loop": "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio",
            "cluster": None if self.leadership is None else {
                "process": process_name(), "leader": self.leadership.leader,
                "store": redacted(self.options.store or ""), "duties_error": self.leadership.error},
        }

    async def stop(self) -> None:
        """Stop everything this VTN started (idempotent); a store it wrote is marked cleanly shut down."""
        self.stop_event.set()
        await _finish(self._tasks)  # (the leadership's task gives the duties up first)
        self._tasks = []
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._unlisten is not None:
            self._unlisten()
            self._unlisten = None
        if self.oa3_notifiers is not None:
            await self.oa3_notifiers.stop()
            self.oa3_notifiers = None
        if self._parent is not None:
            await self._parent.close()
            self._parent = None
        if self._push_session is not None:
            await self._push_session.close()
            self._push_session = None
        if self.ledger is not None:
            await self.ledger.close()
            self.ledger = None
        if self.dashboard is not None:
            self.dashboard.close()  # (its read connection: before the store's, which may remove the WAL)
            self.dashboard = None
        if self.store is not None:
            if self._marked and isinstance(self.store, SqliteStore):
                try:
                    self.store.mark_clean()
                except StoreError as exc:  # the next start sees "running" beside the WAL that holds the rest
                    log.warning("%s: not marked as cleanly shut down (%s)", self.store.path, exc)
                self._marked = False
            self.store.close()
            self.store = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None


async def _finish(tasks: list[asyncio.Task[None]]) -> None:
    """Let ``tasks`` end (their stop event is set), cancelling those still running after 5 s."""
    if not tasks:
        return
    _done, pending = await asyncio.wait(tasks, timeout=5.0)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def serve(options: VtnOptions, *, stop: asyncio.Event,
                ready: Callable[[VtnApp], None] | None = None) -> None:
    """Run a VTN until ``stop`` is set; ``ready(app)`` once it listens."""
    vtn = VtnApp(options)
    try:
        await vtn.start()
        if ready is not None:
            ready(vtn)
        await stop.wait()
    finally:
        await vtn.stop()
