"""The VTN's read-only dashboard at ``/ui``: server-rendered HTML (:mod:`.pages`) of the dicts the JSON API
``/ui/api`` answers with (:mod:`.data`), one stylesheet and one small script from ``static/`` (live refresh);
nothing is fetched from the network and nothing is built.

=================================  ==========================================================================
``GET /ui/``                       the market overview: the open intervals' order book (price levels), the
                                   clearing prices and volumes (a chart, refreshed live), the cleared intervals
``GET /ui/parties``                the registered parties (operator)
``GET /ui/party/{party}``          a party's position, bill, settlement states, open tenders and transactions
``GET /ui/transaction/{id}``       a transaction's audit trail on the ledger and its verification status
``GET /ui/openadr``                the OpenADR 2.0b events and the VENs' opts (operator)
``GET /ui/openadr3``               the OpenADR 3.1 programs, events, VENs, resources, reports and
                                   subscriptions (operator)
``GET /ui/communities``            the community aggregators of ``vtn serve --community-dir`` (operator)
``GET /ui/community/{name}``       a community's goal, expected availability, calls, tokens and ranking
                                   (:mod:`.communities`)
``GET /ui/api/market``             JSON of the market overview; ``/ui/api/parties``, ``/ui/api/party/{party}``,
                                   ``/ui/api/transaction/{id}``, ``/ui/api/openadr``, ``/ui/api/openadr3``,
                                   ``/ui/api/communities`` and ``/ui/api/community/{name}`` likewise
``GET|POST /ui/login``             sign in with a token (``?token=`` or the form): sets a cookie, back to /ui/
``GET /ui/logout``                 forget the cookie
=================================  ==========================================================================

**Who sees what.** A request carries a token as ``Authorization: Bearer TOKEN`` or in the ``transactive_ui``
cookie that ``/ui/login`` sets (HttpOnly, SameSite=Strict, path /ui). The operator token
(``DATA_DIR/operator.token``) sees everything. A party's token (the one its registration issued) sees the market
overview (price levels, no party named), its own party page and its own transactions, and the community page
of the community it is (a community aggregator trades as the party of its name); another party's page,
transaction or community, the party and community lists and the OpenADR pages are 403. No token, or one the
VTN does not know: 401 (the sign-in page for HTML, ``{"error", "field"}`` for the API). Every page is
read-only (GET and HEAD).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, quote, unquote

from aiohttp import web

from transactive.protocol.errors import NotAuthorizedError
from transactive.services.oadr import events as oadr_events
from transactive.services.oadr.context import OadrContext
from transactive.services.service import StorageUnavailableError, VtnService
from transactive.services.store import Store, StoreError
from transactive.vtn.oadr_http import OadrOptions, event_json
from transactive.vtn.openadr3_http import Oa3Options
from transactive.vtn.ui import communities, data, pages
from transactive.vtn.ui.pages import Viewer

__all__ = ["COOKIE", "PREFIX", "Dashboard", "Viewer"]

log = logging.getLogger("transactive.vtn.ui")

T = TypeVar("T")

PREFIX = "/ui"
COOKIE = "transactive_ui"
#: the OpenADR events the dashboard lists (the newest; the market publishes one per cleared interval)
EVENTS_SHOWN = 100
#: the operator (a party whose id is "operator" is still a party)
OPERATOR = Viewer(None)
_STATIC = {"dashboard.css": "text/css", "dashboard.js": "text/javascript"}
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                       "script-src 'self'; frame-ancestors 'none'"}


class _Denied(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.field = status, field


class Dashboard:
    """The ``/ui`` routes of one VTN (see the module docstring)."""

    def __init__(self, service: VtnService, *, operator_token: str | None, oadr: OadrOptions | None = None,
                 openadr3: Oa3Options | None = None, community_dirs: tuple[Path, ...] = ()) -> None:
        self.service = service
        self.operator_token = operator_token
        self.oadr = oadr
        self.openadr3 = openadr3
        self.community_dirs = community_dirs
        #: the store the views read in a worker thread (:meth:`~transactive.services.store.Store.reader`)
        self._reader: Store | None = None
        self._reader_tried = False
        self._reading = asyncio.Lock()
        self._static: dict[str, bytes] = {}

    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    # -- who is asking --

    def _token(self, request: web.BaseRequest) -> str | None:
        header = request.headers.get("Authorization")
        if header is not None:
            scheme, _, token = header.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _Denied(401, "the Authorization header must be 'Bearer <token>'", "Authorization")
            return token.strip()
        return request.cookies.get(COOKIE) or None

    def viewer_of(self, token: str | None) -> Viewer:
        """``OPERATOR`` or the party the token belongs to; :class:`_Denied` (401) for no or an unknown token."""
        if token is None:
            raise _Denied(401, "sign in with the operator token or your party's token", "Authorization")
        if self.operator_token is not None and hmac.compare_digest(token.encode(), self.operator_token.encode()):
            return OPERATOR
        try:
            return Viewer(self.service.party_of(token, "Authorization"))
        except NotAuthorizedError:
            raise _Denied(401, "this token is neither the operator's nor a registered party's",
                          "Authorization") from None

    @staticmethod
    def _allow(viewer: Viewer, party: str | None) -> None:
        """Only the operator, or the party itself when ``party`` is given."""
        if viewer.operator or (party is not None and viewer.party == party):
            return
        what = "the operator's" if party is None else f"party {party!r}'s"
        raise _Denied(403, f"this page is {what}: you are signed in as party {viewer.party!r}", "Authorization")

    # -- the dispatcher --

    async def dispatch(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        if path == request.path:  # (split before decoding: a party id may hold a '/', sent as %2F)
            path = request.raw_path.partition("?")[0]
        parts = [unquote(p) for p in path[len(PREFIX):].split("/") if p]
        api = bool(parts) and parts[0] == "api"
        if api:
            parts = parts[1:]
        method = request.method
        if parts and parts[0] == "static" and not api:
            return self._static_file(parts)
        if parts == ["login"] and not api and method in ("GET", "HEAD", "POST"):
            return await self._login(request)
        if parts == ["logout"] and not api:
            response = _see_other("/ui/login")
            response.del_cookie(COOKIE, path=PREFIX)
            return response
        if method not in ("GET", "HEAD"):
            return self._denied(request, api, None, _Denied(405, f"{method} is not allowed: the dashboard is "
                                                                 "read-only (GET, HEAD)"), {"Allow": "GET, HEAD"})
        viewer: Viewer | None = None
        try:
            viewer = self.viewer_of(self._token(request))
            view, html = await self._page(parts, viewer)
        except _Denied as denied:
            return self._denied(request, api, viewer, denied)
        if api:
            return web.json_response(view, headers=_HEADERS, dumps=lambda v: json.dumps(v, indent=1))
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=_HEADERS)

    # -- reading the store --

    async def _read(self, view: Callable[[Store], T]) -> T:
        """``view(store)``: in a worker thread on the store's reader, one view at a time (the VTN's event loop
        goes on meanwhile), or here on the VTN's own store when it has no reader (a database in memory). A
        failing store is EI 503, as for any request."""
        if not self._reader_tried:
            self._reader_tried = True
            try:
                self._reader = self.service.core.store.reader()
            except StoreError as error:
                log.warning("the dashboard reads on the event loop: no second connection to the store (%s)", error)
        try:
            if self._reader is None:
                return view(self.service.core.store)
            async with self._reading:
                return await asyncio.to_thread(view, self._reader)
        except StoreError as error:
            raise StorageUnavailableError(f"the store failed: {error}", part="store") from None

    def close(self) -> None:
        """Close the reader's connection (the VTN closes its store after this)."""
        if self._reader is not None and self._reader is not self.service.core.store:
            self._reader.close()
        self._reader, self._reader_tried = None, False

    async def _page(self, parts: list[str], viewer: Viewer) -> tuple[Any, str]:
        service = self.service
        if parts in ([], ["market"]):
            market = await self._read(lambda store: data.market_view(service, store=store))
            return market, pages.market_page(market, viewer)
        if parts == ["parties"]:
            self._allow(viewer, None)
            parties = await self._read(lambda store: data.parties_view(service, store=store))
            return parties, pages.parties_page(parties, viewer)
        if len(parts) == 2 and parts[0] == "party":
            self._allow(viewer, parts[1])
            party = await self._read(lambda store: data.party_view(service, parts[1], store=store))
            party["community"] = parts[1] in await self._community_names()
            return party, pages.party_page(party, viewer)
        if len(parts) == 2 and parts[0] == "transaction":
            row = await self._read(lambda store: store.transaction_by_id(parts[1]))
            if row is None:  # (the same answer whether or not it exists, for a party: no probing of ids)
                if not viewer.operator:
                    raise _Denied(403, f"no transaction {parts[1]!r} of yours", "transaction")
                raise _Denied(404, f"no transaction {parts[1]!r}", "transaction")
            if not viewer.operator and viewer.party != row.party_id:
                raise _Denied(403, f"no transaction {parts[1]!r} of yours", "transaction")
            facts = await self._read(lambda store: data.transaction_facts(service, row, store=store))
            tx = await data.audited(service, row, facts)
            return tx, pages.transaction_page(tx, viewer)
        if parts == ["openadr"]:
            self._allow(viewer, None)
            events = self._events()
            return events, pages.openadr_page(events, viewer)
        if parts == ["openadr3"]:
            self._allow(viewer, None)
            objects = data.openadr3_view(None if self.openadr3 is None else self.openadr3.service)
            return objects, pages.openadr3_page(objects, viewer)
        if parts == ["communities"]:
            self._allow(viewer, None)
            listed = await asyncio.to_thread(communities.communities_view, self.community_dirs)
            return listed, pages.communities_page(listed, viewer)
        if len(parts) == 2 and parts[0] == "community":
            name = parts[1]
            path = (await self._community_names()).get(name)
            if not viewer.operator and viewer.party != name:  # (the same answer whether or not it exists)
                raise _Denied(403, f"no community {name!r} of yours: you are signed in as party "
                                   f"{viewer.party!r}", "community")
            if path is None:
                raise _Denied(404, f"no community {name!r} (see /ui/communities)", "community")
            view = await asyncio.to_thread(communities.community_view, path)
            return view, pages.community_page(view, viewer)
        raise _Denied(404, f"no dashboard page /ui/{'/'.join(parts)}")

    async def _community_names(self) -> dict[str, Path]:
        if not self.community_dirs:
            return {}
        names: dict[str, Path] = await asyncio.to_thread(communities.community_names, self.community_dirs)
        return names

    def _events(self) -> list[dict[str, Any]]:
        """The latest :data:`EVENTS_SHOWN` OpenADR 2.0b events with the VENs' opts, as
        ``GET /operator/openadr/events`` answers them."""
        if self.oadr is None:
            return []
        service = self.oadr.service
        now = service.core.ctx.now()

        def view(ctx: OadrContext) -> list[dict[str, Any]]:
            names = {v.ven_id: v.ven_name for v in ctx.vens().values() if v.active}
            return [event_json(e, now, names, opts) for e, opts in oadr_events.list_events(ctx)[:EVENTS_SHOWN]]
        events: list[dict[str, Any]] = service.read(view)
        return events

    # -- sign in, static files, refusals --

    async def _login(self, request: web.BaseRequest) -> web.StreamResponse:
        token = request.query.get("token")
        if request.method == "POST":
            body = await request.read()
            if len(body) > 4096:
                return self._html(pages.login_page("the form is too large"), 413)
            token = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0].strip() or None
        if token is None:
            return self._html(pages.login_page())
        try:
            viewer = self.viewer_of(token)
        except _Denied as denied:
            return self._html(pages.login_page(str(denied)), denied.status)
        target = "/ui/" if viewer.party is None else "/ui/party/" + quote(viewer.party, safe="")
        response = _see_other(target)
        response.set_cookie(COOKIE, token, path=PREFIX, httponly=True, samesite="Strict",
                            secure=request.secure)
        return response

    def _static_file(self, parts: list[str]) -> web.Response:
        if len(parts) != 2 or parts[1] not in _STATIC:
            return web.Response(status=404, text="no such file")
        name = parts[1]
        if name not in self._static:
            self._static[name] = resources.files(__package__).joinpath("static", name).read_bytes()
        return web.Response(body=self._static[name], content_type=_STATIC[name],
                            headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"})

    @staticmethod
    def _html(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS)

    def _denied(self, request: web.BaseRequest, api: bool, viewer: Viewer | None, denied: _Denied,
                headers: dict[str, str] | None = None) -> web.Response:
        extra = dict(headers or {})
        if denied.status == 401:
            extra["WWW-Authenticate"] = 'Bearer realm="transactive"'
        if api:
            return web.json_response({"error": str(denied), "field": denied.field}, status=denied.status,
                                     headers={**_HEADERS, **extra})
        if denied.status == 401:
            text = pages.login_page(str(denied))
        else:
            text = pages.denied_page(str(denied), viewer, denied.status)
        response = self._html(text, denied.status)
        response.headers.update(extra)
        return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, **_HEADERS})
