"""IOTA Rebased ledger adapter.

No IOTA node runs here. What is checked, and against what:

* golden vectors from the official TypeScript SDK (``interop/iota_vectors``: ``@iota/iota-sdk`` pinned,
  installed by ``install.sh`` into ``.cache/iota-vectors``): our Python side (``iota-sdk==3.0.0b1``)
  derives the same addresses from the same keys and builds byte-identical transaction data, digests and
  signatures for the same inputs;
* our JSON-RPC requests against the method names, positional parameters and option/filter shapes that
  the TypeScript SDK's JSON-RPC client uses (its ``params.ts``/``generated.ts`` are generated from the
  node's OpenRPC spec, ``crates/iota-open-rpc/spec/openrpc.json``, which no npm/PyPI package ships);
* the adapter against an in-memory fake node, and the aiohttp transport against a local HTTP server;
* a live node only when ``TRANSACTIVE_IOTA_NODE`` (JSON-RPC URL) and ``TRANSACTIVE_IOTA_KEY``
  (``iotaprivkey1...`` of a funded account) are set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

iota_sdk = pytest.importorskip("iota_sdk", reason="the iota extra (iota-sdk==3.0.0b1) is not installed")

from transactive.ledger import (  # noqa: E402
    EntryKind,
    LedgerError,
    LedgerUnavailableError,
    PaymentStatus,
    TransactionRecord,
    UnknownTransactionError,
)
from transactive.ledger.iota import (  # noqa: E402
    ANCHOR_MAGIC,
    DEFAULT_ANCHOR_TARGET,
    GasParams,
    IotaLedger,
    IotaSigner,
    MoveTarget,
    ObjectRef,
    build_anchor,
    build_payment,
    build_transfer,
    decode_payload,
    encode_payload,
)
from transactive.ledger.iota_fake import FakeIotaTransport  # noqa: E402
from transactive.ledger.iota_rpc import (  # noqa: E402
    IotaRpcError,
    IotaTransport,
    JsonRpcTransport,
    execute_transaction_block,
    get_balance,
    get_coins,
    get_reference_gas_price,
    get_transaction_block,
    query_events,
    query_transaction_blocks,
)

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "interop" / "iota_vectors" / "install.sh"
PREFIX = REPO / ".cache" / "iota-vectors"
SDK_DIR = PREFIX / "node_modules" / "@iota" / "iota-sdk"
N_TRANSACTION_VECTORS = 5


# --------------------------------------------------------------------------------------------------
# golden vectors
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """Install the TypeScript SDK and generate the vectors (idempotent); skip only if npm cannot."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node/npm not on PATH: cannot install @iota/iota-sdk to generate the IOTA golden vectors")
    done = subprocess.run(["bash", str(INSTALL)], capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        pytest.skip("npm could not install @iota/iota-sdk for the IOTA golden vectors: " + " | ".join(tail))
    data: dict[str, Any] = json.loads((PREFIX / "vectors.json").read_text())
    return data


def test_vectors_come_from_the_pinned_official_sdk(vectors: dict[str, Any]) -> None:
    pinned = json.loads((REPO / "interop" / "iota_vectors" / "package.json").read_text())
    assert vectors["sdk"] == {"name": "@iota/iota-sdk", "version": pinned["dependencies"]["@iota/iota-sdk"]}
    assert vectors["anchor_magic"].encode() == ANCHOR_MAGIC
    assert len(vectors["transactions"]) == N_TRANSACTION_VECTORS


@pytest.mark.parametrize("index", range(3))
def test_same_address_and_secret_from_the_same_seed(vectors: dict[str, Any], index: int) -> None:
    key = vectors["keys"][index]
    signer = IotaSigner.from_seed(bytes.fromhex(key["seed_hex"]))
    assert signer.address == key["address"]
    assert signer.public_key_hex == key["public_key_hex"]
    assert IotaSigner.from_bech32(key["bech32_secret"]).address == key["address"]


@pytest.mark.parametrize("index", range(2))
def test_same_address_from_the_same_mnemonic(vectors: dict[str, Any], index: int) -> None:
    key = vectors["mnemonic_keys"][index]
    assert IotaSigner.from_mnemonic(key["mnemonic"], key["path"]).address == key["address"]
    # the Python SDK's account index is the last path element, as in the vector's path
    by_index = iota_sdk.Ed25519PrivateKey.from_mnemonic(key["mnemonic"], key["account_index"])
    assert by_index.public_key().derive_address().to_hex() == key["address"]


def _params(inputs: dict[str, Any]) -> GasParams:
    assert inputs["expiration"] == {"None": True}
    gas = [ObjectRef(g["objectId"], int(g["version"]), g["digest"]) for g in inputs["gas_payment"]]
    return GasParams(inputs["sender"], gas, int(inputs["gas_price"]), int(inputs["gas_budget"]))


@pytest.mark.parametrize("index", range(N_TRANSACTION_VECTORS))
def test_byte_identical_transaction_and_signature(vectors: dict[str, Any], index: int) -> None:
    vector = vectors["transactions"][index]
    inputs = vector["inputs"]
    params = _params(inputs)
    if vector["kind"] == "transfer":
        tx = build_transfer(params, inputs["recipient"], int(inputs["amount"]))
    elif vector["kind"] == "anchor":
        tx = build_anchor(params, MoveTarget.parse(inputs["target"]), bytes.fromhex(inputs["payload_hex"]))
    else:
        assert vector["kind"] == "payment"
        tx = build_payment(params, inputs["recipient"], int(inputs["amount"]), MoveTarget.parse(inputs["target"]),
                           bytes.fromhex(inputs["payload_hex"]))
    seeds = {k["address"]: k["seed_hex"] for k in vectors["keys"]}
    signer = IotaSigner.from_seed(bytes.fromhex(seeds[inputs["sender"]]))
    assert tx.tx_bytes_b64 == vector["tx_bytes_b64"]
    assert tx.digest == vector["digest"]
    assert signer.sign(tx) == vector["signature_b64"]


def test_anchor_vectors_carry_our_payload_format(vectors: dict[str, Any]) -> None:
    for vector in vectors["transactions"]:
        if "payload_hex" in vector["inputs"]:
            payload = bytes.fromhex(vector["inputs"]["payload_hex"])
            decoded = decode_payload(payload)
            assert decoded is not None
            entry, _ = decoded
            assert entry["transaction_id"] == "tx-vector-1"
            # the TypeScript side wrote the same bytes encode_payload writes for that entry
            assert encode_payload(EntryKind(entry["kind"]), entry["transaction_id"], entry["data"])[0] == payload


# --------------------------------------------------------------------------------------------------
# JSON-RPC requests against the shapes of the official client (generated from the node's OpenRPC spec)
# --------------------------------------------------------------------------------------------------


def _ts_interface(source: str, name: str) -> list[tuple[str, bool]]:
    """Fields of ``export interface <name> { ... }`` in order: (name, optional)."""
    match = re.search(r"export interface " + re.escape(name) + r"\b[^{]*\{(.*?)\n\}", source, re.S)
    assert match, f"{name} not found in the TypeScript SDK"
    body = re.sub(r"/\*\*.*?\*/", "", match.group(1), flags=re.S)
    return [(m.group(1), m.group(2) == "?") for m in re.finditer(r"^\s+(\w+)(\??):", body, re.M)]


def _ts_union_keys(source: str, name: str) -> set[str]:
    """The variant keys of ``export type <name> = | { Key: ... } | ...``."""
    match = re.search(r"export type " + re.escape(name) + r"\s*=(.*?);\n(?:export|/\*\*)", source, re.S)
    assert match, f"{name} not found in the TypeScript SDK"
    body = re.sub(r"/\*\*.*?\*/", "", match.group(1), flags=re.S)
    return set(re.findall(r"^\s+(\w+):", body, re.M)) | set(re.findall(r"\|\s*\{\s*(\w+):", body))


def _ts_call_params(client: str, method: str) -> list[str]:
    """The expressions the TS client puts in ``params: [...]`` for ``method``."""
    match = re.search(r"method: '" + re.escape(method) + r"',\s*params: \[(.*?)\],\s*signal", client, re.S)
    assert match, f"{method} not sent by the TypeScript client"
    return [p.strip() for p in re.split(r",\s*(?![^{(]*[})])", match.group(1).strip()) if p.strip()]


@pytest.fixture(scope="session")
def ts_client(vectors: dict[str, Any]) -> dict[str, str]:
    base = SDK_DIR / "src" / "client"
    if not base.is_dir():
        pytest.skip("the installed @iota/iota-sdk has no src/client (sources are needed for the shape check)")
    return {name: (base / path).read_text() for name, path in
            {"client": "client.ts", "params": "types/params.ts", "generated": "types/generated.ts"}.items()}


def test_params_files_are_generated_from_the_openrpc_spec(ts_client: dict[str, str]) -> None:
    assert "generated from:\n * /crates/iota-open-rpc/spec/openrpc.json" in ts_client["params"]


@pytest.mark.parametrize(("request_", "interface", "ts_params"), [
    (get_transaction_block("9ZbPzSJ1nA1T1s5jY9sJ2y6jmWwJ1mBZWtfcwuHdq7fH"), "GetTransactionBlockParams",
     ["input.digest", "input.options"]),
    (get_balance("0x" + "11" * 32), "GetBalanceParams", ["input.owner", "input.coinType"]),
    (get_coins("0x" + "11" * 32, cursor="abc", limit=5), "GetCoinsParams",
     ["input.owner", "input.coinType", "input.cursor", "input.limit"]),
    (get_reference_gas_price(), "GetReferenceGasPriceParams", []),
])
def test_simple_requests_match_the_official_client(ts_client: dict[str, str], request_: dict[str, Any],
                                                   interface: str, ts_params: list[str]) -> None:
    assert request_["jsonrpc"] == "2.0"
    assert isinstance(request_["id"], int)
    assert _ts_call_params(ts_client["client"], request_["method"]) == ts_params
    fields = [f for f in _ts_interface(ts_client["params"], interface) if f[0] != "signal"]
    assert len(request_["params"]) == len(fields)
    for value, (name, optional) in zip(request_["params"], fields, strict=True):
        assert optional or value is not None, f"{request_['method']}: required {name} missing"
    if request_["method"] == "iota_getTransactionBlock":
        _check_options(ts_client, request_["params"][1])


def _check_options(ts_client: dict[str, str], options: dict[str, Any]) -> None:
    allowed = {n for n, _ in _ts_interface(ts_client["generated"], "IotaTransactionBlockResponseOptions")}
    assert set(options) <= allowed
    assert all(isinstance(v, bool) for v in options.values())


def test_execute_request_matches_the_official_client(ts_client: dict[str, str]) -> None:
    request_ = execute_transaction_block("AAAA", ["AAAB"])
    ts = _ts_call_params(ts_client["client"], "iota_executeTransactionBlock")
    assert len(ts) == 3
    assert ts[2] == "options"
    fields = [n for n, _ in _ts_interface(ts_client["params"], "ExecuteTransactionBlockParams") if n != "signal"]
    assert fields[:3] == ["transactionBlock", "signature", "options"]
    tx_bytes, signatures, options = request_["params"]
    assert isinstance(tx_bytes, str)
    assert isinstance(signatures, list)
    _check_options(ts_client, options)


def test_query_transaction_blocks_matches_the_official_client(ts_client: dict[str, str]) -> None:
    request_ = query_transaction_blocks({"FromAddress": "0x" + "11" * 32}, cursor="x", limit=10)
    ts = _ts_call_params(ts_client["client"], "iotax_queryTransactionBlocks")
    assert len(ts) == 4
    assert "filter: input.filter" in ts[0]
    assert "options: input.options" in ts[0]
    query, cursor, limit, descending = request_["params"]
    assert set(query) == {n for n, _ in _ts_interface(ts_client["generated"], "IotaTransactionBlockResponseQuery")}
    assert set(query["filter"]) <= _ts_union_keys(ts_client["generated"], "TransactionFilterV2")
    _check_options(ts_client, query["options"])
    assert (cursor, limit, descending) == ("x", 10, False)


def test_query_events_matches_the_official_client(ts_client: dict[str, str]) -> None:
    request_ = query_events({"MoveEventModule": {"package": "0x2", "module": "m"}},
                            cursor={"txDigest": "d", "eventSeq": "0"}, limit=3)
    ts = _ts_call_params(ts_client["client"], "iotax_queryEvents")
    assert ts[:3] == ["input.query", "input.cursor", "input.limit"]
    assert len(ts) == 4
    query, cursor, limit, descending = request_["params"]
    assert set(query) <= _ts_union_keys(ts_client["generated"], "IotaEventFilter")
    assert set(cursor) == {n for n, _ in _ts_interface(ts_client["generated"], "EventId")}
    assert (limit, descending) == (3, False)


# --------------------------------------------------------------------------------------------------
# the adapter against the in-memory fake node
# --------------------------------------------------------------------------------------------------

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
OPERATOR = IotaSigner.from_seed(bytes(range(32)))
SELLER = IotaSigner.from_seed(bytes(range(1, 33)))


def _record(tid: str = "tx-1", price: str = "0.5") -> TransactionRecord:
    return TransactionRecord(transaction_id=tid, document_hash="ab" * 32, seller="seller", buyer="buyer",
                             quantity_kwh=Decimal("10"), price=Decimal(price), currency="IOTA",
                             interval_start=T0, interval_duration=timedelta(hours=1))


@pytest.fixture
def node() -> FakeIotaTransport:
    fake = FakeIotaTransport()
    fake.fund(OPERATOR.address, 100 * 10**9)
    return fake


@pytest.fixture
def ledger(node: FakeIotaTransport) -> IotaLedger:
    return IotaLedger(node, OPERATOR, addresses={"buyer": OPERATOR.address, "seller": SELLER.address},
                      checkpoint_wait_s=0.0)


def test_fake_and_json_rpc_transports_satisfy_the_protocol(node: FakeIotaTransport) -> None:
    assert isinstance(node, IotaTransport)
    assert isinstance(JsonRpcTransport("http://127.0.0.1:9"), IotaTransport)


def test_capabilities_are_honest(ledger: IotaLedger) -> None:
    caps = ledger.capabilities()
    assert caps.backend == "iota-rebased"
    assert caps.native_payments
    assert caps.multi_writer
    assert "checkpoint" in caps.finality
    assert caps.measured_throughput is None
    assert 0 < caps.expected_latency_s <= 5


async def test_anchor_then_verify(ledger: IotaLedger, node: FakeIotaTransport) -> None:
    record = _record()
    receipt = await ledger.anchor(record)
    assert receipt.backend == "iota-rebased"
    assert receipt.sequence == 1
    assert receipt.reference in node.transactions
    assert receipt.timestamp is not None
    assert receipt.timestamp.tzinfo is not None
    assert receipt.entry_hash == encode_payload(EntryKind.ANCHOR, "tx-1", record.as_dict())[1]
    assert await ledger.verify(record, receipt)
    # the call on chain is the default target with our payload as its only argument
    commands = node.transactions[receipt.reference]["transaction"]["data"]["transaction"]["transactions"]
    assert commands[0]["MoveCall"]["module"] == DEFAULT_ANCHOR_TARGET.module


async def test_verify_rejects_altered_records_and_unknown_receipts(ledger: IotaLedger) -> None:
    receipt = await ledger.anchor(_record())
    assert not await ledger.verify(_record(price="0.6"), receipt)
    assert not await ledger.verify(_record(), type(receipt)(**{**_asdict(receipt), "entry_hash": "00" * 32}))
    assert not await ledger.verify(_record(), type(receipt)(**{**_asdict(receipt), "sequence": 99}))
    assert not await ledger.verify(_record(), type(receipt)(**{**_asdict(receipt), "reference": "1" * 44}))


def _asdict(receipt: Any) -> dict[str, Any]:
    return {name: getattr(receipt, name) for name in receipt.__slots__}


async def test_verify_rejects_an_anchor_from_an_untrusted_sender(node: FakeIotaTransport) -> None:
    node.fund(SELLER.address, 10**9)
    other = IotaLedger(node, SELLER, checkpoint_wait_s=0.0)
    receipt = await other.anchor(_record())
    mine = IotaLedger(node, OPERATOR, checkpoint_wait_s=0.0)
    assert not await mine.verify(_record(), receipt)
    assert await IotaLedger(node, OPERATOR, trusted_senders=[SELLER.address], checkpoint_wait_s=0.0).verify(
        _record(), receipt)


async def test_settlement_workflow_moves_coins(ledger: IotaLedger, node: FakeIotaTransport) -> None:
    record = _record()
    await ledger.anchor(record)
    await ledger.record_delivery("tx-1", "seller", Decimal("10"), T0 + timedelta(hours=1))
    await ledger.request_payment("tx-1", amount=record.amount, currency="IOTA", payer="buyer", payee="seller",
                                 deadline=T0 + timedelta(days=1))
    assert await ledger.confirm_payment("tx-1", now=T0 + timedelta(hours=2)) is PaymentStatus.PENDING
    before = await ledger.balance()
    status = await ledger.confirm_payment("tx-1", now=T0 + timedelta(hours=3), paid=Decimal("2"))
    assert status is PaymentStatus.UNDERPAID  # 2 of 5 paid (the one rule: interface.payment_status)
    assert await ledger.balance(SELLER.address) == 2 * 10**9
    assert before - await ledger.balance() == 2 * 10**9 + node.gas_fee
    assert await ledger.confirm_payment("tx-1", now=T0 + timedelta(hours=4), paid=Decimal("3")) is PaymentStatus.PAID
    assert await ledger.balance(SELLER.address) == 5 * 10**9
    trail = await ledger.audit_trail("tx-1")
    assert [e.kind for e in trail] == [EntryKind.ANCHOR, EntryKind.DELIVERY, EntryKind.PAYMENT_REQUEST,
                                       EntryKind.PAYMENT, EntryKind.PAYMENT]
    assert [e.sequence for e in trail] == sorted(e.sequence or 0 for e in trail)
    assert trail[3].data["nanos"] == 2 * 10**9
    assert trail[3].data["payee_address"] == SELLER.address
    assert all(e.reference in node.transactions for e in trail)
    await ledger.open_dispute("tx-1", reason="meter", opened_by="buyer", details={"delta_kwh": "0.4"})
    assert (await ledger.audit_trail("tx-1"))[-1].kind is EntryKind.DISPUTE


async def test_payment_status_after_the_deadline(ledger: IotaLedger) -> None:
    for tid in ("a", "b"):
        await ledger.anchor(_record(tid))
        await ledger.request_payment(tid, amount=Decimal("5"), currency="IOTA", payer="buyer", payee="seller",
                                     deadline=T0)
    later = T0 + timedelta(seconds=1)
    assert await ledger.confirm_payment("a", now=later) is PaymentStatus.EXPIRED
    assert await ledger.confirm_payment("b", now=later, paid=Decimal("1")) is PaymentStatus.UNDERPAID


async def test_other_currencies_are_recorded_not_moved(ledger: IotaLedger) -> None:
    await ledger.anchor(_record())
    await ledger.request_payment("tx-1", amount=Decimal("5"), currency="EUR", payer="buyer", payee="seller",
                                 deadline=T0 + timedelta(days=1))
    status = await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("5"), reference="SEPA-42")
    assert status is PaymentStatus.PAID
    assert await ledger.balance(SELLER.address) == 0
    assert (await ledger.audit_trail("tx-1"))[-1].data["reference"] == "SEPA-42"


async def test_payment_refusals(ledger: IotaLedger, node: FakeIotaTransport) -> None:
    await ledger.anchor(_record())
    with pytest.raises(LedgerError, match="no payment request"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("1"))
    await ledger.request_payment("tx-1", amount=Decimal("5"), currency="IOTA", payer="seller", payee="buyer",
                                 deadline=T0 + timedelta(days=1))
    with pytest.raises(LedgerError, match="not this ledger's key"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("1"))
    ledger.addresses["seller"] = OPERATOR.address
    del ledger.addresses["buyer"]
    with pytest.raises(LedgerError, match="no IOTA address for payee"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("1"))
    ledger.addresses["buyer"] = SELLER.address
    with pytest.raises(LedgerError, match="whole number of nanos"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("0.0000000001"))
    with pytest.raises(LedgerError, match=r"nanos; .* needed"):
        await ledger.confirm_payment("tx-1", now=T0, paid=Decimal("1000"))


async def test_unknown_transactions(ledger: IotaLedger) -> None:
    with pytest.raises(UnknownTransactionError):  # one behaviour for every backend (see interface.py)
        await ledger.audit_trail("nope")
    with pytest.raises(UnknownTransactionError):
        await ledger.record_delivery("nope", "seller", Decimal(1), T0)
    with pytest.raises(UnknownTransactionError):
        await ledger.open_dispute("nope", reason="x", opened_by="buyer")


async def test_node_errors_surface_as_ledger_errors(ledger: IotaLedger, node: FakeIotaTransport) -> None:
    node.fail_next = LedgerUnavailableError("connection refused")
    with pytest.raises(LedgerUnavailableError):
        await ledger.anchor(_record())
    empty = IotaLedger(FakeIotaTransport(), SELLER, checkpoint_wait_s=0.0)
    with pytest.raises(LedgerError, match="holds 0 nanos"):
        await empty.anchor(_record())


async def test_the_fake_node_refuses_bad_signatures_and_stale_gas(node: FakeIotaTransport) -> None:
    coins = (await node.get_coins(OPERATOR.address))["data"]
    ref = ObjectRef(coins[0]["coinObjectId"], int(coins[0]["version"]), coins[0]["digest"])
    tx = build_anchor(GasParams(OPERATOR.address, [ref], 1000, 10**7), DEFAULT_ANCHOR_TARGET, ANCHOR_MAGIC + b"{}")
    with pytest.raises(IotaRpcError, match="signature is not the sender's"):
        await node.execute(tx.tx_bytes_b64, [SELLER.sign(tx)])
    with pytest.raises(IotaRpcError, match="invalid transaction"):
        await node.execute(tx.tx_bytes_b64, [SELLER.sign(build_anchor(GasParams(OPERATOR.address, [ref], 1, 10**7),
                                                                      DEFAULT_ANCHOR_TARGET, b"other"))])
    await node.execute(tx.tx_bytes_b64, [OPERATOR.sign(tx)])
    with pytest.raises(IotaRpcError, match="not a current coin"):
        await node.execute(tx.tx_bytes_b64, [OPERATOR.sign(tx)])


def test_payloads_round_trip_and_reject_foreign_bytes() -> None:
    payload, entry_hash = encode_payload(EntryKind.DELIVERY, "t", {"q": "1"})
    assert decode_payload(payload) == ({"v": 1, "kind": "delivery", "transaction_id": "t", "data": {"q": "1"}},
                                       entry_hash)
    assert decode_payload(b"hello") is None
    assert decode_payload(ANCHOR_MAGIC + b"not json") is None
    assert decode_payload(ANCHOR_MAGIC + b'{"v": 2}') is None
    with pytest.raises(LedgerError, match="pure argument limit"):
        build_anchor(GasParams(OPERATOR.address, [ObjectRef("0x1", 1, "1" * 32)], 1, 1), DEFAULT_ANCHOR_TARGET,
                     b"x" * 20000)
    with pytest.raises(ValueError, match="Move target"):
        MoveTarget.parse("0x1::hash")


# --------------------------------------------------------------------------------------------------
# the aiohttp JSON-RPC transport against a local HTTP server
# --------------------------------------------------------------------------------------------------


async def test_json_rpc_transport_posts_and_maps_errors() -> None:
    from aiohttp import web

    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        if body["method"] == "iotax_getReferenceGasPrice":
            return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": "1000"})
        if body["method"] == "iotax_getBalance":
            return web.Response(status=503, text="overloaded")
        return web.json_response({"jsonrpc": "2.0", "id": body["id"],
                                  "error": {"code": -32602, "message": "Could not find the referenced transaction"}})

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    transport = JsonRpcTransport(f"http://127.0.0.1:{port}/")
    try:
        assert await transport.reference_gas_price() == 1000
        with pytest.raises(IotaRpcError, match="-32602") as info:
            await transport.get_transaction("abc")
        assert info.value.method == "iota_getTransactionBlock"
        with pytest.raises(LedgerUnavailableError, match="HTTP 503"):
            await transport.get_balance("0x" + "11" * 32)
    finally:
        await transport.close()
        await runner.cleanup()
    assert [b["method"] for b in seen] == ["iotax_getReferenceGasPrice", "iota_getTransactionBlock",
                                           "iotax_getBalance"]
    assert seen[1]["params"][0] == "abc"
    assert seen[1]["params"][1]["showInput"] is True


async def test_json_rpc_transport_unreachable_node() -> None:
    transport = JsonRpcTransport("http://127.0.0.1:9/", timeout_s=2)
    try:
        with pytest.raises(LedgerUnavailableError, match="cannot reach IOTA node"):
            await transport.reference_gas_price()
    finally:
        await transport.close()


# --------------------------------------------------------------------------------------------------
# live network (only when a node and a funded key are named)
# --------------------------------------------------------------------------------------------------

LIVE_NODE = os.environ.get("TRANSACTIVE_IOTA_NODE")
LIVE_KEY = os.environ.get("TRANSACTIVE_IOTA_KEY")


@pytest.mark.skipif(not (LIVE_NODE and LIVE_KEY),
                    reason="live IOTA test: set TRANSACTIVE_IOTA_NODE (JSON-RPC URL, e.g. "
                           "https://api.testnet.iota.cafe) and TRANSACTIVE_IOTA_KEY (iotaprivkey1... of a funded "
                           "account)")
async def test_live_anchor_verify_and_audit_trail() -> None:
    assert LIVE_NODE
    assert LIVE_KEY
    signer = IotaSigner.from_bech32(LIVE_KEY)
    ledger = IotaLedger(JsonRpcTransport(LIVE_NODE), signer)
    try:
        tid = f"live-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}"
        record = _record(tid)
        receipt = await ledger.anchor(record)
        assert await ledger.verify(record, receipt)
        assert not await ledger.verify(_record(tid, price="0.7"), receipt)
        trail = await ledger.audit_trail(tid)
        assert [e.kind for e in trail] == [EntryKind.ANCHOR]
    finally:
        await ledger.close()
