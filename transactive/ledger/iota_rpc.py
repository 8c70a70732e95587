"""Transport to an IOTA Rebased node: a small :class:`IotaTransport` protocol, its JSON-RPC implementation
(over the shared :class:`~transactive.ledger.jsonrpc.JsonRpcClient`), and the JSON-RPC request builders.

The adapter (:mod:`transactive.ledger.iota`) only talks to :class:`IotaTransport`, so a GraphQL transport
(IOTA's newer read API) can replace JSON-RPC without touching it. The request builders are plain
functions returning JSON-RPC 2.0 request objects; their method names and positional parameters follow the
node's OpenRPC spec (``crates/iota-open-rpc/spec/openrpc.json`` in the IOTA repository) as the official
TypeScript SDK's JSON-RPC client sends them; ``tests/ledger/test_iota.py`` checks them against that client.
The request id is the client's to allocate: :class:`JsonRpcTransport` sends a built request's method and
parameters through :class:`~transactive.ledger.jsonrpc.JsonRpcClient`, which numbers its requests.

Errors: the transport raises :class:`~transactive.ledger.interface.LedgerUnavailableError` when the node
cannot be reached or is overloaded (HTTP 5xx/429, timeouts), :class:`IotaRpcError` (also unavailable: the
node refused the request) for JSON-RPC error responses, and :class:`~transactive.ledger.interface.
LedgerError` for answers that are not JSON-RPC -- never aiohttp's own exceptions.

The in-memory fake node for unit tests is :class:`~transactive.ledger.iota_fake.FakeIotaTransport`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import aiohttp

from transactive.ledger.interface import LedgerUnavailableError
from transactive.ledger.jsonrpc import HttpPoster, JsonRpcClient, RpcError, request_object

__all__ = [
    "IOTA_COIN_TYPE",
    "IotaRpcError",
    "IotaTransport",
    "JsonRpcTransport",
    "execute_transaction_block",
    "get_balance",
    "get_coins",
    "get_reference_gas_price",
    "get_transaction_block",
    "query_events",
    "query_transaction_blocks",
    "rpc_request",
]

IOTA_COIN_TYPE = "0x2::iota::IOTA"

#: what the adapter asks for when it reads a transaction back
FULL_OPTIONS: dict[str, bool] = {"showInput": True, "showEffects": True, "showEvents": True}


class IotaRpcError(RpcError, LedgerUnavailableError):
    """The node answered a JSON-RPC request with an error object (counted as unavailable: the node refused)."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(code, message, data, method=method)


# --------------------------------------------------------------------------------------------------
# request builders (JSON-RPC 2.0 objects; positional params in the OpenRPC order)
# --------------------------------------------------------------------------------------------------


def rpc_request(method: str, params: Sequence[Any], *, request_id: int = 0) -> dict[str, Any]:
    """A JSON-RPC 2.0 request object (the id is a placeholder unless given: the client allocates ids)."""
    return request_object(method, params, request_id)


def execute_transaction_block(tx_bytes_b64: str, signatures: Sequence[str],
                              options: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """``iota_executeTransactionBlock(tx_bytes, signatures, options)``: BCS ``TransactionData`` in base64 and
    the serialized signatures (``flag || sig || pubkey``, base64). The optional fourth parameter
    (``request_type``) is left out, as the TypeScript SDK does: the node then waits for local execution
    when effects are requested."""
    return rpc_request("iota_executeTransactionBlock",
                       [tx_bytes_b64, list(signatures), dict(options or FULL_OPTIONS)])


def get_transaction_block(digest: str, options: Mapping[str, bool] | None = None) -> dict[str, Any]:
    """``iota_getTransactionBlock(digest, options)``."""
    return rpc_request("iota_getTransactionBlock", [digest, dict(options or FULL_OPTIONS)])


def query_transaction_blocks(filter_: Mapping[str, Any] | None, *, options: Mapping[str, bool] | None = None,
                             cursor: str | None = None, limit: int | None = None,
                             descending: bool = False) -> dict[str, Any]:
    """``iotax_queryTransactionBlocks(query, cursor, limit, descending_order)`` with
    ``query = {filter, options}`` (``TransactionFilterV2``, e.g. ``{"FromAddress": "0x..."}``)."""
    query = {"filter": dict(filter_) if filter_ is not None else None, "options": dict(options or FULL_OPTIONS)}
    return rpc_request("iotax_queryTransactionBlocks", [query, cursor, limit, descending])


def query_events(filter_: Mapping[str, Any], *, cursor: Mapping[str, str] | None = None, limit: int | None = None,
                 descending: bool = False) -> dict[str, Any]:
    """``iotax_queryEvents(query, cursor, limit, descending_order)`` (``IotaEventFilter``, e.g.
    ``{"MoveEventType": "0x..::anchor::Anchored"}``; cursor is an ``EventId`` ``{txDigest, eventSeq}``)."""
    return rpc_request("iotax_queryEvents", [dict(filter_), dict(cursor) if cursor else None, limit, descending])


def get_balance(owner: str, coin_type: str | None = IOTA_COIN_TYPE) -> dict[str, Any]:
    """``iotax_getBalance(owner, coin_type)``."""
    return rpc_request("iotax_getBalance", [owner, coin_type])


def get_coins(owner: str, coin_type: str | None = IOTA_COIN_TYPE, *, cursor: str | None = None,
              limit: int | None = None) -> dict[str, Any]:
    """``iotax_getCoins(owner, coin_type, cursor, limit)``."""
    return rpc_request("iotax_getCoins", [owner, coin_type, cursor, limit])


def get_reference_gas_price() -> dict[str, Any]:
    """``iotax_getReferenceGasPrice()``."""
    return rpc_request("iotax_getReferenceGasPrice", [])


# --------------------------------------------------------------------------------------------------
# the transport interface
# --------------------------------------------------------------------------------------------------


@runtime_checkable
class IotaTransport(Protocol):
    """What the IOTA adapter needs from a node. Results are the node's JSON objects (JSON-RPC shapes:
    ``IotaTransactionBlockResponse``, ``TransactionBlocksPage``, ``EventPage``, ``CoinPage``, ``Balance``)."""

    async def execute(self, tx_bytes_b64: str, signatures: Sequence[str]) -> dict[str, Any]: ...

    async def get_transaction(self, digest: str) -> dict[str, Any]: ...

    async def query_transactions(self, filter_: Mapping[str, Any], *, cursor: str | None = None,
                                 limit: int | None = None) -> dict[str, Any]: ...

    async def query_events(self, filter_: Mapping[str, Any], *, cursor: Mapping[str, str] | None = None,
                           limit: int | None = None) -> dict[str, Any]: ...

    async def get_coins(self, owner: str, *, cursor: str | None = None) -> dict[str, Any]: ...

    async def get_balance(self, owner: str) -> dict[str, Any]: ...

    async def reference_gas_price(self) -> int: ...

    async def close(self) -> None: ...


class JsonRpcTransport:
    """:class:`IotaTransport` over the node's JSON-RPC (HTTP POST), through the shared JSON-RPC client."""

    def __init__(self, url: str, *, timeout_s: float = 30.0, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self.rpc = JsonRpcClient(HttpPoster(url, timeout=timeout_s, session=session), timeout=timeout_s,
                                 peer=f"IOTA node {url}")

    async def send(self, request: Mapping[str, Any]) -> Any:
        """Send one built request; its ``result``, or :class:`IotaRpcError` / :class:`LedgerUnavailableError`
        / :class:`~transactive.ledger.interface.LedgerError`."""
        method = str(request.get("method"))
        try:
            return await self.rpc.call(method, request.get("params") or ())
        except IotaRpcError:
            raise
        except RpcError as exc:
            raise IotaRpcError(method, exc.code, exc.message, exc.data) from exc

    async def execute(self, tx_bytes_b64: str, signatures: Sequence[str]) -> dict[str, Any]:
        return dict(await self.send(execute_transaction_block(tx_bytes_b64, signatures)))

    async def get_transaction(self, digest: str) -> dict[str, Any]:
        return dict(await self.send(get_transaction_block(digest)))

    async def query_transactions(self, filter_: Mapping[str, Any], *, cursor: str | None = None,
                                 limit: int | None = None) -> dict[str, Any]:
        return dict(await self.send(query_transaction_blocks(filter_, cursor=cursor, limit=limit)))

    async def query_events(self, filter_: Mapping[str, Any], *, cursor: Mapping[str, str] | None = None,
                           limit: int | None = None) -> dict[str, Any]:
        return dict(await self.send(query_events(filter_, cursor=cursor, limit=limit)))

    async def get_coins(self, owner: str, *, cursor: str | None = None) -> dict[str, Any]:
        return dict(await self.send(get_coins(owner, cursor=cursor)))

    async def get_balance(self, owner: str) -> dict[str, Any]:
        return dict(await self.send(get_balance(owner)))

    async def reference_gas_price(self) -> int:
        return int(await self.send(get_reference_gas_price()))

    async def close(self) -> None:
        await self.rpc.close()
