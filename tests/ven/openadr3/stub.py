"""A small in-process OpenADR 3 VTN for the client and runtime tests (aiohttp, loopback, optional TLS).

It keeps objects in memory, hands out tokens for known clients, pages lists by skip/limit, filters by the query
parameters the client sends, and answers errors as problem objects. Tests read ``requests`` (method, path,
query) and ``token_forms``, and can queue failures (``fail``) or make tokens stale (``forget_tokens``). It is no
model of a real VTN's privacy or validation: those are tested against ``transactive vtn serve``."""

from __future__ import annotations

import itertools
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

BASE = "/openadr3/3.1.0"
KINDS = {"programs": "PROGRAM", "events": "EVENT", "vens": "VEN", "resources": "RESOURCE", "reports": "REPORT",
         "subscriptions": "SUBSCRIPTION"}
#: query parameter -> the object field it filters on
FILTERS = {"programID": "programID", "eventID": "eventID", "venName": "venName", "venID": "venID",
           "resourceName": "resourceName", "clientName": "clientName"}


def problem(status: int, title: str, detail: str) -> web.Response:
    return web.json_response({"type": "about:blank", "title": title, "status": status, "detail": detail},
                             status=status, content_type="application/problem+json")


class StubVtn:
    def __init__(self, *, clients: dict[str, str] | None = None, expires_in: int | None = 3600) -> None:
        self.clients = clients if clients is not None else {"ven-client": "s3cret"}
        self.expires_in = expires_in
        self.objects: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self.tokens: dict[str, str] = {}
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.token_forms: list[dict[str, str]] = []
        #: (status, body text) answered to the next requests (not to auth/token), first first
        self.fail: list[tuple[int, str]] = []
        #: (status, body text) answered to the next token requests
        self.token_fail: list[tuple[int, str]] = []
        self._ids = itertools.count(1)
        self.url = ""

    def forget_tokens(self) -> None:
        """Every token handed out so far is refused from now on (a VTN restarted with a new key)."""
        self.tokens.clear()

    def add(self, kind: str, body: dict[str, Any], *, client_id: str = "bl-client") -> dict[str, Any]:
        """Store an object as the VTN would (id, timestamps, objectType)."""
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        number = next(self._ids)
        stored = {k: v for k, v in body.items() if v is not None}
        stored.update(id=f"{kind[:-1]}-{number}", createdDateTime=now, modificationDateTime=now,
                      objectType=KINDS[kind])
        if kind in ("vens", "resources", "reports", "subscriptions"):
            stored["clientID"] = client_id
        self.objects[kind][stored["id"]] = stored
        return stored

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"{BASE}/auth/token", self.token)
        app.router.add_route("*", BASE + "/{kind}", self.collection)
        app.router.add_route("*", BASE + "/{kind}/{id}", self.item)
        return app

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_forms.append(form)
        if self.token_fail:
            status, text = self.token_fail.pop(0)
            return web.Response(status=status, text=text, content_type="application/json")
        if form.get("grant_type") != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        if self.clients.get(form.get("client_id", "")) != form.get("client_secret"):
            return web.json_response({"error": "invalid_client", "error_description": "unknown client or secret"},
                                     status=401)
        token = f"token-{next(self._ids)}"
        self.tokens[token] = form["client_id"]
        answer: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            answer["expires_in"] = self.expires_in
        return web.json_response(answer)

    def _client(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        return self.tokens.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.requests.append((request.method, request.path, list(request.query.items())))
        if self._client(request) is None:
            return problem(401, "Unauthorized", "no valid bearer token")
        if request.match_info["kind"] not in KINDS:
            return problem(404, "Not Found", f"no {request.path}")
        if self.fail:
            status, text = self.fail.pop(0)
            return web.Response(status=status, text=text, content_type="application/json")
        return None

    async def collection(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        kind = request.match_info["kind"]
        if request.method == "POST":
            body = await request.json()
            return web.json_response(self.add(kind, body, client_id=self._client(request) or ""), status=201)
        found = list(self.objects[kind].values())
        for param, field in FILTERS.items():
            if param in request.query:
                found = [o for o in found if o.get(field) == request.query[param]]
        skip, limit = int(request.query.get("skip", 0)), int(request.query.get("limit", 50))
        return web.json_response(found[skip: skip + limit])

    async def item(self, request: web.Request) -> web.StreamResponse:
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        kind, key = request.match_info["kind"], request.match_info["id"]
        stored = self.objects[kind].get(key)
        if stored is None:
            return problem(404, "Not Found", f"no {kind[:-1]} {key}")
        if request.method == "DELETE":
            return web.json_response(self.objects[kind].pop(key))
        if request.method == "PUT":
            body = await request.json()
            stored = {**{k: v for k, v in body.items() if v is not None},
                      **{k: stored[k] for k in ("id", "createdDateTime", "objectType", "clientID") if k in stored}}
            stored["modificationDateTime"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            self.objects[kind][key] = stored
        return web.json_response(stored)


@asynccontextmanager
async def serve(stub: StubVtn, *, tls: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """Run ``stub`` on a free loopback port; the base URL (``http(s)://127.0.0.1:PORT/openadr3/3.1.0``)."""
    runner = web.AppRunner(stub.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stub.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{BASE}"
    try:
        yield stub.url
    finally:
        await runner.cleanup()
