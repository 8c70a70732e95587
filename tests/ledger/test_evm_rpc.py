"""The JSON-RPC client of the EVM ledger, without a node: an in-memory fake transport, a tiny HTTP server,
and the error mapping (every aiohttp error, every malformed answer) -- all become LedgerError."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
import rlp
from aiohttp import web
from eth_utils import keccak
from hexbytes import HexBytes

from transactive.ledger import EntryKind, LedgerError, LedgerUnavailableError
from transactive.ledger.evm import (
    MAGIC,
    JsonRpcClient,
    RpcError,
    RpcUnavailableError,
    decode_entry,
    encode_entry,
    map_transport_error,
)
from transactive.ledger.evm_keys import EvmKey
from transactive.ledger.evm_nonces import FeeOracle, Fees, NonceSender, Unsigned

Handler = Callable[[Any], Any]


class FakeTransport:
    """Answers each request body with ``handler(decoded request)``: a JSON-able value, ``(status, bytes)``, or an
    exception to raise; records what was sent."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[Any] = []
        self.closed = False

    async def post(self, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body)
        self.sent.append(request)
        answer = self.handler(request)
        if isinstance(answer, BaseException):
            raise answer
        if asyncio.iscoroutine(answer):
            answer = await answer
        if isinstance(answer, tuple):
            return answer
        return 200, json.dumps(answer).encode()

    async def close(self) -> None:
        self.closed = True


def ok(result: Any) -> Handler:
    return lambda req: {"jsonrpc": "2.0", "id": req["id"], "result": result}


def err(code: int, message: str = "boom", data: Any = None) -> Handler:
    return lambda req: {"jsonrpc": "2.0", "id": req["id"], "error": {"code": code, "message": message, "data": data}}


async def test_call_sends_jsonrpc_with_increasing_ids() -> None:
    transport = FakeTransport(ok("0x7a69"))
    client = JsonRpcClient(transport)
    assert await client.call("eth_chainId") == "0x7a69"
    assert await client.call("eth_getBalance", ["0xabc", "latest"]) == "0x7a69"
    assert transport.sent == [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getBalance", "params": ["0xabc", "latest"]},
    ]
    await client.close()
    assert transport.closed


async def test_null_result_is_a_result() -> None:
    assert await JsonRpcClient(FakeTransport(ok(None))).call("eth_getTransactionReceipt", ["0x1"]) is None


async def test_rpc_error_becomes_rpc_error_with_code_message_data() -> None:
    client = JsonRpcClient(FakeTransport(err(-32000, "insufficient funds", {"need": 5})))
    with pytest.raises(RpcError) as info:
        await client.call("eth_sendTransaction", [{}])
    assert (info.value.code, info.value.message, info.value.data) == (-32000, "insufficient funds", {"need": 5})
    assert info.value.method == "eth_sendTransaction"
    assert "-32000" in str(info.value)
    assert "insufficient funds" in str(info.value)
    assert isinstance(info.value, LedgerError)
    assert not isinstance(info.value, LedgerUnavailableError)


async def test_limit_exceeded_is_unavailable() -> None:
    with pytest.raises(RpcUnavailableError) as info:
        await JsonRpcClient(FakeTransport(err(-32005, "rate limited"))).call("eth_blockNumber")
    assert isinstance(info.value, LedgerUnavailableError)
    assert isinstance(info.value, RpcError)


@pytest.mark.parametrize(("answer", "expected", "match"), [
    ((200, b"<html>not json</html>"), LedgerError, "not JSON"),
    ((200, b"\xff\xfe"), LedgerError, "not JSON"),
    ((502, b"Bad Gateway"), LedgerUnavailableError, "HTTP 502"),
    ((503, b""), LedgerUnavailableError, "HTTP 503"),
    ((429, b"slow down"), LedgerUnavailableError, "HTTP 429"),
    ((404, b"Not Found"), LedgerError, "HTTP 404"),
    ((401, b'{"message": "unauthorized"}'), LedgerError, "HTTP 401"),
    ((500, b'{"oops": 1}'), LedgerUnavailableError, "HTTP 500"),
    ((400, b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}'), RpcError, "-32700"),
    ((503, b'{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"busy"}}'), RpcUnavailableError, "busy"),
    ((200, b'{"jsonrpc":"1.0","id":1,"result":1}'), LedgerError, "not a JSON-RPC 2.0"),
    ((200, b'[1, 2]'), LedgerError, "not a JSON-RPC 2.0"),
    ((200, b'{"jsonrpc":"2.0","id":1}'), LedgerError, "without result or error"),
    ((200, b'{"jsonrpc":"2.0","id":7,"result":1}'), LedgerError, "response id 7"),
    ((200, b'{"jsonrpc":"2.0","id":1,"error":"bad"}'), LedgerError, "malformed JSON-RPC error"),
    ((200, b'{"jsonrpc":"2.0","id":1,"error":{"code":"x","message":"m"}}'), LedgerError, "malformed"),
    ((200, b'{"jsonrpc":"2.0","id":1,"error":{"code":true,"message":"m"}}'), LedgerError, "malformed"),
    ((200, b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}'), LedgerError, "malformed"),
])
async def test_every_bad_answer_maps(answer: tuple[int, bytes], expected: type[Exception], match: str) -> None:
    client = JsonRpcClient(FakeTransport(lambda req: answer))
    with pytest.raises(expected, match=match):
        await client.call("eth_blockNumber")


async def test_slow_transport_times_out_as_unavailable() -> None:
    async def never(_req: Any) -> Any:
        await asyncio.sleep(10)

    client = JsonRpcClient(FakeTransport(lambda req: never(req)), timeout=0.05)
    with pytest.raises(LedgerUnavailableError, match="no answer within"):
        await client.call("eth_blockNumber")


# ---- aiohttp errors: the mapping is complete ------------------------------------------------------------


def all_subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    for sub in cls.__subclasses__():
        out.add(sub)
        out |= all_subclasses(sub)
    return out


#: aiohttp errors that are "try again later"; all other ClientErrors are plain LedgerErrors
UNAVAILABLE_BASES = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)


def half_built(cls: type[BaseException]) -> BaseException:
    """An instance without running __init__ (many aiohttp errors need live connection objects to build)."""
    return cls.__new__(cls)


@pytest.mark.parametrize("cls", sorted(all_subclasses(aiohttp.ClientError) | {aiohttp.ClientError},
                                       key=lambda c: c.__qualname__), ids=lambda c: c.__qualname__)
async def test_every_aiohttp_error_maps(cls: type[aiohttp.ClientError]) -> None:
    exc = half_built(cls)
    mapped = map_transport_error(exc)
    assert isinstance(mapped, LedgerError)
    unavailable = issubclass(cls, UNAVAILABLE_BASES)
    assert isinstance(mapped, LedgerUnavailableError) == unavailable, cls
    # and raised by a transport, through the client
    client = JsonRpcClient(FakeTransport(lambda req: half_built(cls)))
    with pytest.raises(LedgerUnavailableError if unavailable else LedgerError):
        await client.call("eth_blockNumber")


@pytest.mark.parametrize(("status", "unavailable"), [(500, True), (503, True), (429, True), (404, False),
                                                     (400, False)])
def test_response_errors_map_by_status(status: int, unavailable: bool) -> None:
    exc = half_built(aiohttp.ClientResponseError)
    exc.status = status  # type: ignore[attr-defined]
    assert isinstance(map_transport_error(exc), LedgerUnavailableError) == unavailable


@pytest.mark.parametrize(("exc", "unavailable"), [
    (TimeoutError(), True), (ConnectionRefusedError(111, "refused"), True), (OSError("no route"), True),
    (LedgerError("already mapped"), False),
])
def test_other_transport_errors_map(exc: BaseException, unavailable: bool) -> None:
    mapped = map_transport_error(exc)
    assert isinstance(mapped, LedgerError)
    assert isinstance(mapped, LedgerUnavailableError) == unavailable
    if isinstance(exc, LedgerError):
        assert mapped is exc


async def test_close_errors_map() -> None:
    class Broken(FakeTransport):
        async def close(self) -> None:
            raise aiohttp.ServerDisconnectedError()

    with pytest.raises(LedgerUnavailableError):
        await JsonRpcClient(Broken(ok(1))).close()


# ---- batches --------------------------------------------------------------------------------------------


def batch_handler(results: dict[str, Any], *, reverse: bool = True) -> Handler:
    """Answer a batch (in reverse order, as servers may), each call with results[method] (an error if a dict
    with "code")."""
    def handle(req: Any) -> Any:
        out = []
        for call in req:
            value = results[call["method"]]
            if isinstance(value, dict) and "code" in value:
                out.append({"jsonrpc": "2.0", "id": call["id"], "error": value})
            else:
                out.append({"jsonrpc": "2.0", "id": call["id"], "result": value})
        return out[::-1] if reverse else out
    return handle


async def test_batch_matches_responses_by_id_and_chunks() -> None:
    transport = FakeTransport(batch_handler({"a": 1, "b": "two", "c": None}))
    client = JsonRpcClient(transport, max_batch=2)
    assert await client.batch([("a", []), ("b", [1]), ("c", []), ("a", [])]) == [1, "two", None, 1]
    assert [len(r) for r in transport.sent] == [2, 2]
    assert [c["id"] for r in transport.sent for c in r] == [1, 2, 3, 4]
    assert await client.batch([]) == []


async def test_batch_settled_returns_errors_in_place_and_batch_raises_them() -> None:
    client = JsonRpcClient(FakeTransport(batch_handler({"a": 1, "bad": {"code": -32000, "message": "nonce"}})))
    settled = await client.batch_settled([("a", []), ("bad", []), ("a", [])])
    assert settled[0] == 1
    assert settled[2] == 1
    assert isinstance(settled[1], RpcError)
    assert settled[1].code == -32000
    with pytest.raises(RpcError, match="nonce"):
        await client.batch([("a", []), ("bad", [])])


@pytest.mark.parametrize(("answer", "expected", "match"), [
    ({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "batch not supported"}}, RpcError,
     "batch not supported"),
    ({"jsonrpc": "2.0", "id": 1, "result": 5}, LedgerError, "single response"),
    ("nonsense", LedgerError, "not a JSON-RPC batch"),
    ([1], LedgerError, "not a JSON-RPC response"),
    ([], LedgerError, "no response for a"),
])
async def test_bad_batch_answers_map(answer: Any, expected: type[Exception], match: str) -> None:
    client = JsonRpcClient(FakeTransport(lambda req: answer))
    with pytest.raises(expected, match=match):
        await client.batch([("a", [])])


# ---- over real HTTP ------------------------------------------------------------------------------------


@pytest.fixture
async def http_server() -> AsyncIterator[str]:
    async def rpc(request: web.Request) -> web.Response:
        body = await request.json()
        if body["method"] == "slow":
            await asyncio.sleep(1)
        if body["method"] == "gateway":
            return web.Response(status=502, text="Bad Gateway")
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": body["params"]})

    app = web.Application()
    app.router.add_post("/", rpc)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_over_http(http_server: str) -> None:
    client = JsonRpcClient(http_server, timeout=0.3)
    try:
        assert await client.call("echo", [1, "x"]) == [1, "x"]
        with pytest.raises(LedgerUnavailableError, match="HTTP 502"):
            await client.call("gateway")
        with pytest.raises(LedgerUnavailableError):
            await client.call("slow")
    finally:
        await client.close()


async def test_bad_url_is_a_ledger_error() -> None:
    client = JsonRpcClient("not a url at all", timeout=1.0)
    try:
        with pytest.raises(LedgerError) as info:
            await client.call("eth_blockNumber")
        assert not isinstance(info.value, LedgerUnavailableError)
    finally:
        await client.close()


# ---- entry encoding ------------------------------------------------------------------------------------


def test_entry_round_trip_and_garbage() -> None:
    body = encode_entry(EntryKind.DELIVERY, "tx-1", {"party": "p", "quantity_kwh": "2.5"})
    assert body == b'{"d":{"party":"p","quantity_kwh":"2.5"},"k":"delivery","t":"tx-1"}'
    assert decode_entry("0x" + (MAGIC + body).hex()) == (EntryKind.DELIVERY, "tx-1",
                                                         {"party": "p", "quantity_kwh": "2.5"}, body)
    for garbage in (None, "", "0x", "0xzz", "0x" + b"nope".hex(), "0x" + (MAGIC + b"{").hex(),
                    "0x" + (MAGIC + b'{"k":"nope","t":"x","d":{}}').hex(),
                    "0x" + (MAGIC + b'{"k":"anchor","t":1,"d":{}}').hex(),
                    "0x" + (MAGIC + b'{"k":"anchor","t":"x","d":[]}').hex(),
                    "0x" + (MAGIC + b'[]').hex()):
        assert decode_entry(garbage) is None, garbage
    with pytest.raises(LedgerError, match="not JSON"):
        encode_entry(EntryKind.DISPUTE, "tx", {"details": object()})
    with pytest.raises(LedgerError, match="not JSON"):
        encode_entry(EntryKind.DISPUTE, "tx", {"x": float("nan")})


# ---- the ledger's sending, on a fake node ---------------------------------------------------------------


SENDER = EvmKey.from_hex("0x" + "42" * 32)


def fake_node(refuse: Callable[[int], bool], *, base_fee: int | None = 10**9, tip: int | None = 10**8,
              gas_price: int = 3 * 10**9, wrong_hash: bool = False) -> tuple[FakeTransport, list[dict[str, Any]]]:
    """A node that says chain id 7, nonce 5, the fees given (``base_fee=None``: before London; ``tip=None``: no
    eth_maxPriorityFeePerGas) and refuses the raw transactions whose nonce ``refuse`` picks; what it was sent
    (decoded) is recorded."""
    # eth_account only after transactive.ledger.evm_keys, which undoes py_ecc's recursion limit (see there)
    from eth_account import Account
    from eth_account.typed_transactions import TypedTransaction

    seen: list[dict[str, Any]] = []

    def result(call: Any, value: Any) -> Any:
        return {"jsonrpc": "2.0", "id": call["id"], "result": value}

    def answer(call: Any) -> Any:
        method = call["method"]
        if method == "eth_getTransactionCount":
            return result(call, "0x5")
        if method == "eth_chainId":
            return result(call, "0x7")
        if method == "eth_getBlockByNumber":
            return result(call, {"number": "0x9"} if base_fee is None else {"number": "0x9",
                                                                          "baseFeePerGas": hex(base_fee)})
        if method == "eth_maxPriorityFeePerGas":
            if tip is None:
                return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32601, "message": "no such method"}}
            return result(call, hex(tip))
        if method == "eth_gasPrice":
            return result(call, hex(gas_price))
        assert method == "eth_sendRawTransaction", method
        raw = bytes.fromhex(call["params"][0][2:])
        if raw[0] < 0x7F:  # a typed (EIP-2718) transaction
            tx = dict(TypedTransaction.from_bytes(HexBytes(raw)).as_dict())
        else:
            tx = {"legacy": True, "nonce": int.from_bytes(rlp.decode(raw)[0], "big")}
        tx["sender"] = Account.recover_transaction(raw).lower()
        tx["raw"] = raw
        seen.append(tx)
        nonce = tx.get("nonce", -1)
        if refuse(nonce):
            return {"jsonrpc": "2.0", "id": call["id"], "error": {"code": -32003, "message": "nonce too low"}}
        return result(call, "0x" + ("00" * 32 if wrong_hash else keccak(raw).hex()))

    def handle(req: Any) -> Any:
        return [answer(c) for c in req] if isinstance(req, list) else answer(req)

    return FakeTransport(handle), seen


def unsigned(n: int) -> list[Unsigned]:
    return [Unsigned("0x" + "22" * 20, 0, MAGIC + b"{}", 21_000 + 40 * 6) for _ in range(n)]


@pytest.mark.parametrize("send_batches", [False, True])
async def test_partial_send_names_what_went_out(send_batches: bool) -> None:
    from transactive.ledger.evm import EvmLedger

    transport, seen = fake_node(lambda nonce: nonce == 6)
    led = EvmLedger(JsonRpcClient(transport), signer=SENDER, send_batches=send_batches)
    assert led.send_batches is send_batches
    assert led.nonces.send_batches is send_batches
    with pytest.raises(RpcError, match=r"[12] of 3 transactions were sent") as info:
        await led.nonces.send(SENDER, unsigned(3))
    assert info.value.code == -32003
    assert [tx["nonce"] for tx in seen[:2]] == [5, 6]
    if not send_batches:
        assert [tx["nonce"] for tx in seen] == [5, 6]  # in-order sending stops at the refusal: no gap


async def test_all_refused_resyncs_the_nonce_and_the_fees_once() -> None:
    from transactive.ledger.evm import EvmLedger

    transport, seen = fake_node(lambda nonce: True)
    led = EvmLedger(JsonRpcClient(transport), signer=SENDER)
    with pytest.raises(RpcError, match="nonce too low"):
        await led.nonces.send(SENDER, unsigned(1))
    assert [tx["nonce"] for tx in seen] == [5, 5]
    methods = [r["method"] for r in transport.sent if isinstance(r, dict)]
    assert methods.count("eth_getTransactionCount") == 2
    assert methods.count("eth_chainId") == 1  # the chain id does not change
    fee_reads = [r for r in transport.sent if isinstance(r, list) and r[0]["method"] == "eth_getBlockByNumber"]
    assert len(fee_reads) == 2


async def test_transactions_are_signed_here_with_eip1559_fees_the_chain_id_and_consecutive_nonces() -> None:
    transport, seen = fake_node(lambda nonce: False)
    sender = NonceSender(JsonRpcClient(transport))
    hashes = await sender.send(SENDER, unsigned(3))
    assert [tx["nonce"] for tx in seen] == [5, 6, 7]
    assert {tx["sender"] for tx in seen} == {SENDER.address}  # recovered from the signature
    assert {(tx["type"], tx["chainId"], tx["maxPriorityFeePerGas"], tx["maxFeePerGas"]) for tx in seen} == {
        (2, 7, 10**8, 2 * 10**9 + 10**8)}
    assert hashes == ["0x" + keccak(tx["raw"]).hex() for tx in seen]
    assert await sender.send(SENDER, unsigned(1))  # the next nonce from the cache, fees from the quote
    assert seen[-1]["nonce"] == 8
    methods = [r["method"] if isinstance(r, dict) else r[0]["method"] for r in transport.sent]
    assert methods.count("eth_getTransactionCount") == 1
    assert methods.count("eth_getBlockByNumber") == 1  # within fee_ttl


async def test_legacy_fees_before_london_and_the_tip_from_the_gas_price_without_eth_max_priority_fee() -> None:
    transport, seen = fake_node(lambda nonce: False, base_fee=None)
    await NonceSender(JsonRpcClient(transport)).send(SENDER, unsigned(1))
    assert seen[0]["legacy"] is True
    raw = seen[0]["raw"]
    fields = rlp.decode(raw)
    assert int.from_bytes(fields[1], "big") == 3 * 10**9  # gasPrice = eth_gasPrice
    assert int.from_bytes(fields[6], "big") in (7 * 2 + 35, 7 * 2 + 36)  # EIP-155 v carries chain id 7
    transport, seen = fake_node(lambda nonce: False, tip=None)
    await NonceSender(JsonRpcClient(transport)).send(SENDER, unsigned(1))
    assert seen[0]["maxPriorityFeePerGas"] == 3 * 10**9 - 10**9  # gas price - base fee
    assert seen[0]["maxFeePerGas"] == 2 * 10**9 + 2 * 10**9


async def test_a_hash_the_node_did_not_compute_from_the_signed_bytes_is_refused() -> None:
    transport, _seen = fake_node(lambda nonce: False, wrong_hash=True)
    with pytest.raises(LedgerError, match="signed here as 0x"):
        await NonceSender(JsonRpcClient(transport)).send(SENDER, unsigned(1))


async def test_fee_quotes_expire() -> None:
    transport, _seen = fake_node(lambda nonce: False)
    oracle = FeeOracle(JsonRpcClient(transport), ttl=0.0)
    first = await oracle.fees()
    await asyncio.sleep(0.01)
    assert await oracle.fees() == first
    assert sum(1 for r in transport.sent if isinstance(r, list)) == 2
    assert first.eip1559
    assert not Fees(gas_price=1).eip1559
