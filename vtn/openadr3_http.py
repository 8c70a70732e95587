"""The OpenADR 3.1 edge of the VTN's HTTP server: the specification's REST API under ``/openadr3/3.1.0`` and the
operator's client administration.

=================================================  ==============================================================
``POST /openadr3/3.1.0/auth/token``                OAuth2 client credentials (form body, or HTTP Basic) ->
                                                   ``{"access_token", "token_type", "expires_in", "scope"}``
``GET /openadr3/3.1.0/auth/server``                ``{"tokenURL"}``
``GET /openadr3/3.1.0/openapi.json``               the repaired OpenADR 3.1.0 document, its server this VTN
``GET|POST /openadr3/3.1.0/{collection}``          search (``skip``, ``limit``, the specification's filters) /
                                                   create (201); collection: programs, events, reports,
                                                   subscriptions, vens, resources
``GET|PUT|DELETE /openadr3/3.1.0/{collection}/{id}``  read / replace / delete (200, the object)
``GET /openadr3/3.1.0/notifiers``                  the notifier bindings (webhooks; MQTT when the VTN has a broker)
``GET /openadr3/3.1.0/notifiers/mqtt/topics/...``  MQTT topic names (:mod:`.openadr3_notify`)
``POST /operator/openadr3/clients``                ``{"role": "bl"|"ven", "name"}`` -> 201 ``{"client_id",
                                                   "client_secret", "role", "scopes", "name"}``
``GET /operator/openadr3/clients``                 ``{"clients": [...]}`` (no secrets)
``DELETE /operator/openadr3/clients/{client_id}``  revoke: its secret and tokens are refused from now on
``GET /operator/openadr3/deliveries``              webhook deliveries waiting or given up (dead letters)
=================================================  ==============================================================

Every API call but the two ``auth`` ones needs ``Authorization: Bearer <access token>``; the operator's calls
need the operator token (``DATA_DIR/operator.token``). Refusals are the specification's ``problem`` object
(``type``, ``title``, ``status``, ``detail``, and beside them ``responseCode``, the EI code, and ``field``, the
field or parameter at fault): 400 invalid body or query (EI 454), 401 no or bad token (EI 463, with
``WWW-Authenticate``), 403 a scope the token lacks, 404 unknown or invisible id, 405, 409, 413, 415, 503 storage
(``Retry-After``, nothing written). The token endpoint answers RFC 6749 errors (``{"error",
"error_description"}``, the specification's ``authError``): 400 ``invalid_request`` /
``unsupported_grant_type`` / ``invalid_scope``, 401 ``invalid_client``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

import orjson
from aiohttp import web

from transactive.schemas.openadr3 import spec
from transactive.services.openadr3 import Clients, Oa3Error, Oa3Service, Principal, Role, TokenError, Tokens
from transactive.services.store import StoreUnavailableError

__all__ = ["BASE", "OPERATOR_PREFIX", "LeaderDuty", "Notifiers", "Oa3Edge", "Oa3Options"]

class LeaderDuty(Protocol):
    """Background work that runs only in the leader of several VTN processes (:mod:`.shared_objects`)."""

    leader: bool


log = logging.getLogger("transactive.vtn.openadr3")

BASE = "/openadr3/3.1.0"
OPERATOR_PREFIX = "/operator/openadr3"
_JSON = "application/json"


class Notifiers(Protocol):
    """What the notifier (:mod:`.openadr3_notify`) tells the edge: the bindings, MQTT topics, deliveries."""

    def bindings(self) -> dict[str, Any]: ...
    def topics(self, principal: Principal, path: str) -> dict[str, Any]: ...
    def deliveries(self) -> dict[str, Any]: ...


@dataclass(slots=True)
class Oa3Options:
    """The OpenADR 3 role as the HTTP server needs it."""

    service: Oa3Service
    clients: Clients
    tokens: Tokens
    operator_token: str | None
    notifiers: Notifiers | None = None
    #: the market bridge (a writable VTN's: :class:`~.openadr3_app.MarketBridge`; here only whether it leads)
    bridge: LeaderDuty | None = None


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=_JSON, headers=headers)


def _problem(error: Oa3Error, instance: str | None, headers: dict[str, str] | None = None) -> web.Response:
    return _json(error.problem(instance), error.status, headers)


def _not_allowed(method: str, path: str, allow: str) -> web.Response:
    error = Oa3Error(405, "Method Not Allowed", f"{method} is not allowed on {path}: {allow}", code=405)
    return _problem(error, None, {"Allow": allow})


_BEARER = {"WWW-Authenticate": 'Bearer realm="openadr3"'}


class Oa3Edge:
    """The handlers and their dispatch (plugged into :mod:`.http`'s dispatcher)."""

    def __init__(self, options: Oa3Options, *, read_body: Callable[[web.BaseRequest], Awaitable[bytes]]) -> None:
        self.options = options
        self.service = options.service
        self.read_body = read_body
        self._documents: dict[str, dict[str, Any]] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith((BASE + "/", OPERATOR_PREFIX + "/")) or path in (BASE, OPERATOR_PREFIX)

    async def dispatch(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        instance = str(request.url.with_query(None))  # the problem's instance: an absolute URI, percent-encoded
        try:
            if path.startswith(OPERATOR_PREFIX):
                return await self._operator(request, path)
            return await self._api(request, path)
        except Oa3Error as error:
            return _problem(error, instance, _BEARER if error.status == 401 else None)
        except StoreUnavailableError as exc:
            fault = Oa3Error(503, "Service Unavailable", f"the VTN's store cannot write now ({exc}); nothing was "
                                                         "written, try again")
            return _problem(fault, instance, {"Retry-After": "1"})
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _problem(Oa3Error(exc.status, exc.reason, exc.text or exc.reason), instance)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unexpected error answering %s %s", request.method, path)
            return _problem(Oa3Error(500, "Internal Server Error", "internal error (logged by the VTN)"), instance)

    @staticmethod
    def refusal(status: int, detail: str, headers: dict[str, str], path: str) -> web.Response:
        """A refusal of the server's body reader (413, 408, 417) as a problem object."""
        return _problem(Oa3Error(status, {413: "Payload Too Large", 408: "Request Timeout"}.get(status, "Refused"),
                                 detail, code=status), None, headers)

    # ---- the API ----

    async def _api(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        method = request.method
        parts = [unquote(p) for p in path[len(BASE):].strip("/").split("/")] if path != BASE else []
        if parts == ["openapi.json"]:
            if method not in ("GET", "HEAD"):
                return _not_allowed(method, path, "GET")
            return _json(self._document(f"{request.scheme}://{request.host}{BASE}"))
        if parts[:1] == ["auth"]:
            if parts == ["auth", "token"]:
                if method != "POST":
                    return _not_allowed(method, path, "POST")
                return await self._token(request)
            if parts == ["auth", "server"]:
                if method not in ("GET", "HEAD"):
                    return _not_allowed(method, path, "GET")
                return _json({"tokenURL": f"{request.scheme}://{request.host}{BASE}/auth/token"})
        principal = self._principal(request)
        if parts[:1] == ["notifiers"]:
            if method not in ("GET", "HEAD"):
                return _not_allowed(method, path, "GET")
            return self._notifiers(principal, parts)
        if len(parts) == 1 and parts[0]:
            if method in ("GET", "HEAD"):
                query = {k: list(v) for k, v in parse_qs(request.query_string, keep_blank_values=True).items()}
                return web.Response(body=self.service.search_json(principal, parts[0], query), content_type=_JSON)
            if method == "POST":
                body = await self._body(request)
                return _json(self.service.create(principal, parts[0], body), 201)
            return _not_allowed(method, path, "GET, POST")
        if len(parts) == 2:
            if method in ("GET", "HEAD"):
                return web.Response(body=self.service.read_json(principal, parts[0], parts[1]), content_type=_JSON)
            if method == "PUT":
                body = await self._body(request)
                return _json(self.service.update(principal, parts[0], parts[1], body))
            if method == "DELETE":
                return _json(self.service.delete(principal, parts[0], parts[1]))
            return _not_allowed(method, path, "GET, PUT, DELETE")
        raise Oa3Error(404, "Not Found", f"no resource {path!r} in the OpenADR 3.1.0 API")

    def _document(self, base_url: str) -> dict[str, Any]:
        """The repaired OpenADR 3.1.0 document with this VTN as its server (made once per base URL)."""
        found = self._documents.get(base_url)
        if found is None:
            found = {**spec(), "servers": [{"url": base_url, "description": "this VTN"}]}
            if len(self._documents) < 16:  # a few host names at most; a stranger's Host header is not kept
                self._documents[base_url] = found
        return found

    def _principal(self, request: web.BaseRequest) -> Principal:
        header = request.headers.get("Authorization")
        if header is None:
            raise Oa3Error(401, "Unauthorized", "no Authorization header: 'Bearer <access token>' from "
                                                f"{BASE}/auth/token", field="Authorization")
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Oa3Error(401, "Unauthorized", "the Authorization header must be 'Bearer <access token>'",
                           field="Authorization")
        try:
            return self.options.tokens.check(token.strip())
        except TokenError as error:
            raise Oa3Error(401, "Unauthorized", error.description, field="Authorization") from None

    async def _body(self, request: web.BaseRequest) -> Any:
        content_type = request.headers.get("Content-Type", _JSON).split(";")[0].strip().lower()
        if content_type != _JSON and not content_type.endswith("+json"):
            raise Oa3Error(415, "Unsupported Media Type", f"send {_JSON}, not {content_type!r}",
                           field="Content-Type", code=415)
        data = await self.read_body(request)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise Oa3Error(400, "Bad Request", f"the body is not JSON: {exc}", field="$", code=400) from None

    def _notifiers(self, principal: Principal, parts: list[str]) -> web.Response:
        notifiers = self.options.notifiers
        if parts == ["notifiers"]:
            return _json(notifiers.bindings() if notifiers is not None else {"WEBHOOK": True})
        if notifiers is None or parts[1:3] != ["mqtt", "topics"]:
            raise Oa3Error(404, "Not Found", "this VTN has no MQTT notifier (vtn serve --mqtt)")
        return _json(notifiers.topics(principal, "/".join(parts[3:])))

    async def _token(self, request: web.BaseRequest) -> web.Response:
        """RFC 6749 §4.4: client credentials in the form body or as HTTP Basic (§2.3.1)."""
        data = await self.read_body(request)
        try:
            form = {k: v for k, v in parse_qs(data.decode(), keep_blank_values=True, strict_parsing=False).items()}
        except UnicodeDecodeError:
            return self._auth_error("invalid_request", "the body is not a UTF-8 form", 400)
        if any(len(v) > 1 for v in form.values()):
            return self._auth_error("invalid_request", "a parameter is repeated", 400)
        fields = {k: v[0] for k, v in form.items()}
        client_id, secret = fields.get("client_id"), fields.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("basic "):
            try:
                user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return self._auth_error("invalid_request", "the Basic credentials are not base64 of id:secret", 400)
            client_id, secret = unquote(user), unquote(password)
        grant = fields.get("grant_type")
        if grant is None:
            return self._auth_error("invalid_request", "grant_type is missing: grant_type=client_credentials", 400)
        if grant != "client_credentials":
            return self._auth_error("unsupported_grant_type", f"grant_type {grant!r}: only client_credentials", 400)
        if not client_id or not secret:
            return self._auth_error("invalid_client", "client_id and client_secret (form or HTTP Basic) are needed",
                                    401)
        try:
            return _json(self.options.tokens.issue(client_id, secret, fields.get("scope")), 200,
                         {"Cache-Control": "no-store"})
        except TokenError as error:
            return self._auth_error(error.error, error.description, error.status)

    @staticmethod
    def _auth_error(error: str, description: str, status: int) -> web.Response:
        headers = {"WWW-Authenticate": 'Basic realm="openadr3"'} if status == 401 else None
        return _json({"error": error, "error_description": description}, status, headers)

    # ---- the operator ----

    async def _operator(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        expected = self.options.operator_token
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.strip().partition(" ")
        if expected is None or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), expected):
            raise Oa3Error(401, "Unauthorized", "the operator's token (DATA_DIR/operator.token) is needed: "
                                                "'Authorization: Bearer <token>'", field="Authorization")
        parts = path[len(OPERATOR_PREFIX):].strip("/").split("/")
        method = request.method
        clients = self.options.clients
        if parts == ["clients"]:
            if method == "GET":
                return _json({"clients": [c.public() for c in clients.all()]})
            if method != "POST":
                return _not_allowed(method, path, "GET, POST")
            body = await self._body(request)
            if not isinstance(body, dict):
                raise Oa3Error(400, "Bad Request", 'the body must be {"role": "bl"|"ven", "name": NAME}', field="$")
            try:
                role = Role(str(body.get("role", "")).lower())
            except ValueError:
                raise Oa3Error(400, "Bad Request", f"role must be bl or ven, not {body.get('role')!r}",
                               field="role") from None
            name = body.get("name")
            if not isinstance(name, str) or not name.strip() or len(name) > 128:
                raise Oa3Error(400, "Bad Request", "name: 1 to 128 characters", field="name")
            if self.service.read_only is not None:
                raise Oa3Error(503, "Service Unavailable", f"the VTN refuses writes: {self.service.read_only}")
            issued = clients.create(role, name)
            log.info("OpenADR 3 client %s (%s, %s) created", issued.record.client_id, role.value, name)
            return _json(issued.to_json(), 201)
        if len(parts) == 2 and parts[0] == "clients":
            if method != "DELETE":
                return _not_allowed(method, path, "DELETE")
            if clients.get(parts[1]) is None:
                raise Oa3Error(404, "Not Found", f"no client {parts[1]!r}", field="client_id")
            if self.service.read_only is not None:
                raise Oa3Error(503, "Service Unavailable", f"the VTN refuses writes: {self.service.read_only}")
            record = clients.revoke(parts[1])
            log.info("OpenADR 3 client %s revoked", record.client_id)
            return _json(record.public())
        if parts == ["deliveries"]:
            if method != "GET":
                return _not_allowed(method, path, "GET")
            notifiers = self.options.notifiers
            return _json(notifiers.deliveries() if notifiers is not None else {"pending": [], "dead": []})
        raise Oa3Error(404, "Not Found", f"no operator resource {path!r}")
