"""One JSON-RPC 2.0 client for the ledger adapters that talk to a node (EVM, IOTA).

:class:`JsonRpcClient` allocates request ids, sends single calls and batches (matched back by id, in
order), bounds every exchange with a timeout, and maps every failure where it enters:

* :class:`~transactive.ledger.interface.LedgerUnavailableError` (try again later): the node cannot be reached
  (connection refused or reset, DNS, any ``OSError``), no answer within the timeout, a truncated body,
  HTTP 5xx or 429, and JSON-RPC errors that mean "overloaded" (:data:`UNAVAILABLE_RPC_CODES`, raised as
  :class:`RpcUnavailableError`);
* :class:`~transactive.ledger.interface.LedgerError`: everything else -- a bad URL, redirects, other HTTP
  statuses, bodies that are not JSON-RPC 2.0, a response id that is not the request's, and JSON-RPC error
  objects (:class:`RpcError`, with ``code``, ``message``, ``data`` and ``method``).

The bytes travel through an :class:`RpcPoster` (one POST: body in, HTTP status and body out), so tests can
answer without a socket; :class:`HttpPoster` is the real one, over aiohttp.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any, Protocol

import aiohttp

from transactive.ledger.interface import LedgerError, LedgerUnavailableError

__all__ = [
    "UNAVAILABLE_RPC_CODES",
    "HttpPoster",
    "JsonRpcClient",
    "RpcError",
    "RpcPoster",
    "RpcUnavailableError",
    "map_transport_error",
    "request_object",
]

#: JSON-RPC error codes that mean "try again later" (EIP-1474: -32005 limit exceeded)
UNAVAILABLE_RPC_CODES = frozenset({-32005})


class RpcError(LedgerError):
    """The node answered a call with a JSON-RPC error."""

    def __init__(self, code: int, message: str, data: Any = None, *, method: str | None = None) -> None:
        super().__init__(f"{method or 'JSON-RPC'}: error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data
        self.method = method


class RpcUnavailableError(RpcError, LedgerUnavailableError):
    """A JSON-RPC error that means the node is overloaded or rate-limiting (try again later)."""


def _rpc_error(code: int, message: str, data: Any, method: str | None) -> RpcError:
    cls = RpcUnavailableError if code in UNAVAILABLE_RPC_CODES else RpcError
    return cls(code, message, data, method=method)


def request_object(method: str, params: Sequence[Any], request_id: int) -> dict[str, Any]:
    """A JSON-RPC 2.0 request object."""
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": list(params)}


# ---- the bytes on the wire ------------------------------------------------------------------------


class RpcPoster(Protocol):
    """Carries one JSON-RPC request body to the node; returns the HTTP status and the response body."""

    async def post(self, body: bytes) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class HttpPoster:
    """HTTP POST with one shared :class:`aiohttp.ClientSession` (created on first use, in the running loop;
    an injected ``session`` is used as it is and not closed)."""

    def __init__(self, url: str, *, timeout: float = 10.0, session: aiohttp.ClientSession | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        async with self._session.post(self.url, data=body, headers={"Content-Type": "application/json"}) as resp:
            return resp.status, await resp.read()

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None


# ---- errors -----------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:  # an exception whose __str__ fails (half-built) must still map
        text = ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _unavailable_status(status: int) -> bool:
    return status >= 500 or status == 429


def map_transport_error(exc: BaseException, *, what: str = "JSON-RPC", peer: str = "the node") -> LedgerError:
    """The :class:`LedgerError` for an exception raised while talking to ``peer`` (see the module docstring).

    Unavailable: connection errors of every kind, timeouts, truncated bodies, HTTP 5xx and 429, any
    ``OSError``. Plain :class:`LedgerError`: everything else (bad URL, redirects, other statuses).
    """
    if isinstance(exc, LedgerError):
        return exc
    detail = _describe(exc)
    if isinstance(exc, aiohttp.ClientResponseError):
        status = getattr(exc, "status", 0)
        if isinstance(status, int) and _unavailable_status(status):
            return LedgerUnavailableError(f"{what}: {peer} answered {detail}")
        return LedgerError(f"{what}: {detail}")
    if isinstance(exc, TimeoutError):  # before OSError, of which it is a subclass
        return LedgerUnavailableError(f"{what}: no answer from {peer}: {detail}")
    if isinstance(exc, OSError):  # aiohttp's connector and OS errors (refused, reset, unreachable, DNS)
        return LedgerUnavailableError(f"{what}: cannot reach {peer}: {detail}")
    if isinstance(exc, aiohttp.ClientConnectionError):
        return LedgerUnavailableError(f"{what}: the connection to {peer} failed: {detail}")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return LedgerUnavailableError(f"{what}: a broken response from {peer}: {detail}")
    return LedgerError(f"{what}: {detail}")


_MAPPED = (aiohttp.ClientError, TimeoutError, OSError)


# ---- the client -------------------------------------------------------------------------------------


class JsonRpcClient:
    """A small JSON-RPC 2.0 client: single calls, batches, an id counter, a timeout per request, and error
    mapping (see the module docstring).

    ``poster`` is a URL (HTTP through :class:`HttpPoster`) or an :class:`RpcPoster`; ``peer`` names the node
    in error messages (default: "the node at URL"); ``max_batch`` bounds the calls per batch request.
    """

    def __init__(self, poster: RpcPoster | str, *, timeout: float = 10.0, max_batch: int = 100,
                 peer: str | None = None) -> None:
        if isinstance(poster, str):
            self.poster: RpcPoster = HttpPoster(poster, timeout=timeout)
            self.peer = peer or f"the node at {poster}"
        else:
            self.poster = poster
            self.peer = peer or "the node"
        self.timeout = timeout
        self.max_batch = max_batch
        self._next_id = 0

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    async def close(self) -> None:
        try:
            await self.poster.close()
        except _MAPPED as exc:
            raise map_transport_error(exc, peer=self.peer) from exc

    async def _exchange(self, payload: Any, what: str) -> Any:
        body = json.dumps(payload, separators=(",", ":")).encode()
        try:
            async with asyncio.timeout(self.timeout):
                status, raw = await self.poster.post(body)
        except TimeoutError as exc:
            raise LedgerUnavailableError(f"{what}: no answer within {self.timeout} s from {self.peer}") from exc
        except _MAPPED as exc:
            raise map_transport_error(exc, what=what, peer=self.peer) from exc
        try:
            decoded = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            if _unavailable_status(status):
                raise LedgerUnavailableError(f"{what}: HTTP {status} from {self.peer}") from exc
            if status != 200:
                raise LedgerError(f"{what}: HTTP {status} from {self.peer}") from exc
            raise LedgerError(f"{what}: the response is not JSON ({exc})") from exc
        if status != 200:
            # a JSON-RPC error in an HTTP error response still says what went wrong
            error = decoded.get("error") if isinstance(decoded, dict) else None
            if isinstance(error, dict) and isinstance(error.get("code"), int):
                raise _rpc_error(error["code"], str(error.get("message", "")), error.get("data"), what)
            if _unavailable_status(status):
                raise LedgerUnavailableError(f"{what}: HTTP {status} from {self.peer}")
            raise LedgerError(f"{what}: HTTP {status} from {self.peer}")
        return decoded

    @staticmethod
    def _outcome(response: Any, method: str) -> Any:
        """The result of one response object, or the :class:`RpcError` it carries (returned, not raised).
        ``"error": null`` beside a result counts as no error."""
        if not isinstance(response, dict) or response.get("jsonrpc") != "2.0":
            raise LedgerError(f"{method}: not a JSON-RPC 2.0 response: {str(response)[:200]}")
        error = response.get("error")
        if error is not None:
            if not isinstance(error, dict) or not isinstance(error.get("code"), int) \
                    or isinstance(error.get("code"), bool) or not isinstance(error.get("message"), str):
                raise LedgerError(f"{method}: malformed JSON-RPC error: {str(error)[:200]}")
            return _rpc_error(error["code"], error["message"], error.get("data"), method)
        if "result" not in response:
            raise LedgerError(f"{method}: JSON-RPC response without result or error")
        return response["result"]

    async def call(self, method: str, params: Sequence[Any] = ()) -> Any:
        """Call ``method``; its result, or :class:`RpcError` raised."""
        request_id = self._id()
        response = await self._exchange(request_object(method, params, request_id), method)
        if isinstance(response, dict) and response.get("id") != request_id and response.get("error") is None:
            raise LedgerError(f"{method}: response id {response.get('id')!r} is not the request's {request_id}")
        outcome = self._outcome(response, method)
        if isinstance(outcome, RpcError):
            raise outcome
        return outcome

    async def batch_settled(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Call several methods in JSON-RPC batch requests (``max_batch`` calls per HTTP request, in order);
        each call's result, or the :class:`RpcError` it failed with (returned, not raised)."""
        out: list[Any] = []
        for start in range(0, len(calls), self.max_batch):
            chunk = calls[start:start + self.max_batch]
            ids = [self._id() for _ in chunk]
            payload = [request_object(m, p, i) for i, (m, p) in zip(ids, chunk, strict=True)]
            what = f"batch of {len(chunk)} ({chunk[0][0]}, ...)"
            decoded = await self._exchange(payload, what)
            if isinstance(decoded, dict):  # the whole batch refused, e.g. batches not supported
                outcome = self._outcome(decoded, what)
                if isinstance(outcome, RpcError):
                    raise outcome
                raise LedgerError(f"{what}: a single response to a batch request")
            if not isinstance(decoded, list):
                raise LedgerError(f"{what}: not a JSON-RPC batch response")
            by_id: dict[Any, Any] = {}
            for item in decoded:
                if not isinstance(item, dict):
                    raise LedgerError(f"{what}: not a JSON-RPC response: {str(item)[:200]}")
                by_id[item.get("id")] = item
            for request_id, (method, _params) in zip(ids, chunk, strict=True):
                if request_id not in by_id:
                    raise LedgerError(f"{what}: no response for {method} (id {request_id})")
                out.append(self._outcome(by_id[request_id], method))
        return out

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Like :meth:`batch_settled`, but raises the first call's :class:`RpcError` (after all were sent)."""
        results = await self.batch_settled(calls)
        for result in results:
            if isinstance(result, RpcError):
                raise result
        return results
