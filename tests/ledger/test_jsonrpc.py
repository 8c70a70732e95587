"""One JSON-RPC client for every ledger adapter that talks to a node (the client's own rules are checked in
test_evm_rpc.py, which predates the shared module): both adapters use it, its errors name the node, and no
ledger module defines a class called ``Transport`` (that name is transactive.transport.base's)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import transactive.ledger
from tests.ledger.anvil_process import free_port
from transactive.ledger import LedgerError, LedgerUnavailableError, jsonrpc
from transactive.ledger import evm as evm_module
from transactive.ledger.evm import EvmLedger
from transactive.ledger.iota_rpc import IotaRpcError, JsonRpcTransport


def ledger_modules() -> list[str]:
    names = [transactive.ledger.__name__]
    for info in pkgutil.walk_packages(transactive.ledger.__path__, prefix="transactive.ledger."):
        names.append(info.name)
    return names


def test_both_node_adapters_use_the_one_client() -> None:
    assert EvmLedger("http://127.0.0.1:1").rpc.__class__ is jsonrpc.JsonRpcClient
    assert JsonRpcTransport("http://127.0.0.1:1").rpc.__class__ is jsonrpc.JsonRpcClient
    for name in ("JsonRpcClient", "RpcError", "RpcUnavailableError", "map_transport_error", "RpcPoster"):
        assert getattr(evm_module, name) is getattr(jsonrpc, name)


def test_an_iota_node_error_is_an_rpc_error_and_unavailable() -> None:
    error = IotaRpcError("iota_getTransactionBlock", -32602, "not found", {"digest": "x"})
    assert isinstance(error, jsonrpc.RpcError)
    assert isinstance(error, LedgerUnavailableError)
    assert (error.method, error.code, error.message, error.data) == ("iota_getTransactionBlock", -32602,
                                                                     "not found", {"digest": "x"})
    assert "-32602" in str(error)


@pytest.mark.parametrize("module", ledger_modules())
def test_no_ledger_class_is_called_transport(module: str) -> None:
    try:
        loaded = importlib.import_module(module)
    except ModuleNotFoundError as exc:  # the IOTA adapter needs the iota extra
        if exc.name != "iota_sdk":
            raise
        pytest.skip("the iota extra (iota-sdk) is not installed")
    classes = [name for name, obj in vars(loaded).items() if inspect.isclass(obj) and obj.__name__ == "Transport"]
    assert classes == []


async def test_an_unreachable_node_is_named_in_the_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = jsonrpc.JsonRpcClient(url, timeout=2.0, peer="the EVM node at " + url)
    try:
        with pytest.raises(LedgerUnavailableError, match=f"eth_blockNumber: cannot reach the EVM node at {url}"):
            await client.call("eth_blockNumber")
    finally:
        await client.close()


def test_mapped_messages_say_what_happened() -> None:
    assert str(jsonrpc.map_transport_error(ConnectionRefusedError(111, "refused"), what="m", peer="P")) \
        == "m: cannot reach P: ConnectionRefusedError: [Errno 111] refused"
    timeout = jsonrpc.map_transport_error(TimeoutError("slow"), what="m", peer="P")
    assert isinstance(timeout, LedgerUnavailableError)
    assert str(timeout) == "m: no answer from P: TimeoutError: slow"
    other = jsonrpc.map_transport_error(ValueError("bad"), what="m", peer="P")
    assert type(other) is LedgerError
    assert str(other) == "m: ValueError: bad"
