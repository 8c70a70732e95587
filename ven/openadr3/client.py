"""``Oa3Client``: an async OpenADR 3.1 client (aiohttp) that speaks in :mod:`.models`, for VENs and tests.

::

    async with Oa3Client("https://vtn.example.com/openadr3/3.1.0", "ven-7", secret,
                         tls=ClientTls(ca="ca.crt")) as client:
        ven = await client.find_ven("ven-7") or await client.create_ven(VenVenRequest(ven_name="ven-7"))
        for event in await client.events(program_id=program.id, active=True):
            ...
        await client.create_report(ReportRequest(event_id=event.id, client_name="ven-7", resources=[...]))

Authentication is OAuth 2 client credentials: the first call posts ``grant_type=client_credentials`` with the
client id and secret (form-encoded) to ``{base}/auth/token`` (or ``token_url``), and every call carries the
bearer token it gets. The token is fetched again shortly before it expires (``expires_in``; at the latest
``refresh_margin`` seconds before, or half way for short-lived tokens), and once more when a call is answered
401 (the VTN may have restarted with a new key); a second 401 is the caller's.

Lists are read page by page (``skip``/``limit``, ``page_size`` a page, at most the specification's 50), until a
page comes back shorter than asked for.

Errors: every failure is an :class:`Oa3Error` carrying the HTTP ``status`` (None when no answer came) and the
problem's ``title``/``detail``. :class:`Oa3AuthError` is the token endpoint refusing the credentials;
:class:`Oa3ConnectionError` is no answer (unreachable, TLS handshake failed — its detail says why — or timed
out). A reply that does not parse as the object the specification promises is an :class:`Oa3Error` with the
reply's status and the title ``invalid reply``. aiohttp, socket and pydantic errors never reach the caller.
"""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
import time
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel, ValidationError

from transactive.errors import TransactiveError
from transactive.transport.http import https_failure
from transactive.transport.tls import ClientTls
from transactive.ven.openadr3.models import (
    BlResourceRequest,
    BlVenRequest,
    Event,
    EventRequest,
    ObjectType,
    Problem,
    Program,
    ProgramRequest,
    Report,
    ReportRequest,
    Resource,
    Subscription,
    SubscriptionRequest,
    TokenResponse,
    Ven,
    VenResourceRequest,
    VenVenRequest,
)

__all__ = ["API_PATH", "MAX_PAGE", "Oa3AuthError", "Oa3Client", "Oa3ConnectionError", "Oa3Error", "api_base"]

#: the most objects the specification lets one page hold (``limit`` maximum 50)
MAX_PAGE = 50
#: where ``transactive vtn serve`` has its OpenADR 3.1 API
API_PATH = "/openadr3/3.1.0"

M = TypeVar("M", bound=BaseModel)
Params = list[tuple[str, str]]


class Oa3Error(TransactiveError):
    """A call failed: ``status`` is the HTTP status (None: no answer), ``title``/``detail`` the problem's words
    (or the HTTP reason and the start of the body when the VTN sent no problem object)."""

    def __init__(self, status: int | None, title: str, detail: str | None = None, *,
                 problem: Problem | None = None) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.problem = problem
        words = f"{title}: {detail}" if detail and detail != title else title
        super().__init__(f"HTTP {status} {words}" if status is not None else words)


class Oa3AuthError(Oa3Error):
    """The token endpoint refused the client's credentials (or gave no usable token)."""


class Oa3ConnectionError(Oa3Error):
    """No answer: the VTN cannot be reached, the TLS handshake failed, or it did not answer in time."""


def api_base(url: str) -> str:
    """The API's base URL: ``url`` itself when it has a path (any VTN's base URL), else ``url`` +
    :data:`API_PATH` (a transactive VTN's root, e.g. ``http://127.0.0.1:8080``)."""
    return url.rstrip("/") if urlsplit(url).path.strip("/") else url.rstrip("/") + API_PATH


def _problem(status: int, reason: str, text: str) -> Oa3Error:
    """The error of a non-2xx reply: its problem object, an OAuth error, or the raw reason and text."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "error" in data and "title" not in data:  # RFC 6749 error from auth/token
        return Oa3Error(status, str(data["error"]), data.get("error_description"))
    if isinstance(data, dict):
        try:
            problem = Problem.from_wire(data)
        except ValidationError:
            problem = None
        if problem is not None and (problem.title or problem.detail):
            return Oa3Error(status, problem.title or reason, problem.detail, problem=problem)
    return Oa3Error(status, reason or "error", text.strip()[:200] or None)


def _parse(model: type[M], status: int, data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "$"
        raise Oa3Error(status, "invalid reply", f"not a {model.__name__}: {where}: {first['msg']}") from None


class Oa3Client:
    """A client of the OpenADR 3 API at ``base_url`` (e.g. ``http://127.0.0.1:8080/openadr3/3.1.0``), as the
    client ``client_id`` (see the module's description). ``tls`` is a :class:`ClientTls` (CA file, optional
    client certificate and key) or a ready :class:`ssl.SSLContext`; ``clock`` the monotonic seconds token
    expiry is measured with (inject one in tests)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, *,
                 tls: ClientTls | ssl_module.SSLContext | None = None, token_url: str | None = None,
                 timeout: float = 30.0, page_size: int = MAX_PAGE, refresh_margin: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE}")
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self.token_url = token_url or f"{self.base_url}/auth/token"
        self._ssl: ssl_module.SSLContext | bool = tls.context() if isinstance(tls, ClientTls) else tls or True
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.page_size = page_size
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._token: str | None = None
        self._refresh_at: float | None = None
        self._token_lock = asyncio.Lock()
        #: how many tokens were fetched (tests and logs read it)
        self.tokens_fetched = 0

    async def __aenter__(self) -> Oa3Client:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- HTTP ----------------------------------------------------------------------------------------------

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def _send(self, method: str, url: str, *, params: Params | None = None, json_body: Any = None,
                    form: dict[str, str] | None = None, token: str | None = None) -> tuple[int, str, str]:
        """(status, reason, body text) of one request; :class:`Oa3ConnectionError` when no answer comes."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with self._http().request(method, url, params=params, json=json_body, data=form,
                                            headers=headers, ssl=self._ssl) as response:
                return response.status, response.reason or "", await response.text()
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            if isinstance(error, TimeoutError | aiohttp.ServerTimeoutError):
                raise Oa3ConnectionError(None, f"no reply from {url} in time") from None
            why = https_failure(error, https=url.lower().startswith("https://"))
            raise Oa3ConnectionError(None, f"cannot reach {url}", why or f"{error.__class__.__name__}: {error}") \
                from None

    async def token(self) -> str:
        """The bearer token, fetched when there is none or it is about to expire."""
        async with self._token_lock:
            if self._token is None or (self._refresh_at is not None and self._clock() >= self._refresh_at):
                await self._fetch_token()
            assert self._token is not None
            return self._token

    async def _fetch_token(self) -> None:
        form = {"grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self._secret}
        status, reason, text = await self._send("POST", self.token_url, form=form)
        if status in (400, 401, 403):
            error = _problem(status, reason, text)
            raise Oa3AuthError(status, error.title, error.detail, problem=error.problem)
        if not 200 <= status < 300:
            raise _problem(status, reason, text)
        try:
            answer = TokenResponse.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            raise Oa3AuthError(status, "invalid reply", "the token endpoint's answer is not a bearer token") \
                from None
        self.tokens_fetched += 1
        self._token = answer.access_token
        if answer.expires_in is None:
            self._refresh_at = None
        else:
            margin = min(self.refresh_margin, answer.expires_in / 2)
            self._refresh_at = self._clock() + answer.expires_in - margin

    async def _call(self, method: str, path: str, *, params: Params | None = None,
                    body: Any = None) -> tuple[int, Any]:
        """One authenticated call to ``{base}{path}``: the status and the decoded JSON reply (None for an empty
        one); :class:`Oa3Error` for a non-2xx answer. The typed methods parse the reply."""
        url = f"{self.base_url}{path}"
        for attempt in (1, 2):
            token = await self.token()
            status, reason, text = await self._send(method, url, params=params, json_body=body, token=token)
            if status == 401 and attempt == 1:
                async with self._token_lock:
                    if self._token == token:  # nobody fetched a new one meanwhile
                        self._token = None
                continue
            if not 200 <= status < 300:
                raise _problem(status, reason, text)
            if not text.strip():
                return status, None
            try:
                return status, json.loads(text)
            except ValueError:
                raise Oa3Error(status, "invalid reply", "the body is not JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _one(self, model: type[M], method: str, path: str, body: BaseModel | None = None) -> M:
        wire = None if body is None else body.model_dump(mode="json", by_alias=True, exclude_none=True)
        status, data = await self._call(method, path, body=wire)
        return _parse(model, status, data)

    async def _pages(self, model: type[M], path: str, params: Params) -> list[M]:
        found: list[M] = []
        skip = 0
        while True:
            _status, page = await self._call("GET", path, params=[*params, ("skip", str(skip)),
                                                                   ("limit", str(self.page_size))])
            if not isinstance(page, list):
                raise Oa3Error(200, "invalid reply", f"GET {path}: expected a list")
            found.extend(_parse(model, 200, item) for item in page)
            if len(page) < self.page_size:
                return found
            skip += len(page)

    @staticmethod
    def _params(**given: str | bool | Sequence[str] | None) -> Params:
        params: Params = []
        for name, value in given.items():
            if value is None:
                continue
            if isinstance(value, bool):
                params.append((name, "true" if value else "false"))
            elif isinstance(value, str):
                params.append((name, value))
            else:
                params.extend((name, item) for item in value)
        return params

    # -- programs and events -------------------------------------------------------------------------------

    async def programs(self, *, targets: Sequence[str] | None = None) -> list[Program]:
        """Every program this client may see (all pages)."""
        return await self._pages(Program, "/programs", self._params(targets=targets))

    async def program(self, program_id: str) -> Program:
        return await self._one(Program, "GET", f"/programs/{program_id}")

    async def create_program(self, program: ProgramRequest) -> Program:
        return await self._one(Program, "POST", "/programs", program)

    async def delete_program(self, program_id: str) -> Program:
        return await self._one(Program, "DELETE", f"/programs/{program_id}")

    async def events(self, program_id: str | None = None, active: bool | None = None, *,
                     targets: Sequence[str] | None = None) -> list[Event]:
        """Every event this client may see, of one program if given, only those not yet over with ``active``."""
        return await self._pages(Event, "/events",
                                 self._params(programID=program_id, targets=targets, active=active))

    async def event(self, event_id: str) -> Event:
        return await self._one(Event, "GET", f"/events/{event_id}")

    async def create_event(self, event: EventRequest) -> Event:
        return await self._one(Event, "POST", "/events", event)

    async def delete_event(self, event_id: str) -> Event:
        return await self._one(Event, "DELETE", f"/events/{event_id}")

    # -- vens and resources ----------------------------------------------------------------------------------

    async def vens(self, ven_name: str | None = None, *, targets: Sequence[str] | None = None) -> list[Ven]:
        return await self._pages(Ven, "/vens", self._params(venName=ven_name, targets=targets))

    async def find_ven(self, ven_name: str) -> Ven | None:
        """The ven named ``ven_name`` that this client may see (a VEN sees its own), if there is one."""
        return next((v for v in await self.vens(ven_name) if v.ven_name == ven_name), None)

    async def create_ven(self, ven: VenVenRequest | BlVenRequest) -> Ven:
        return await self._one(Ven, "POST", "/vens", ven)

    async def delete_ven(self, ven_id: str) -> Ven:
        return await self._one(Ven, "DELETE", f"/vens/{ven_id}")

    async def resources(self, ven_id: str | None = None, resource_name: str | None = None) -> list[Resource]:
        return await self._pages(Resource, "/resources", self._params(venID=ven_id, resourceName=resource_name))

    async def create_resource(self, resource: VenResourceRequest | BlResourceRequest) -> Resource:
        return await self._one(Resource, "POST", "/resources", resource)

    async def delete_resource(self, resource_id: str) -> Resource:
        return await self._one(Resource, "DELETE", f"/resources/{resource_id}")

    # -- reports and subscriptions ---------------------------------------------------------------------------

    async def reports(self, *, program_id: str | None = None, event_id: str | None = None,
                      client_name: str | None = None) -> list[Report]:
        return await self._pages(Report, "/reports",
                                 self._params(programID=program_id, eventID=event_id, clientName=client_name))

    async def create_report(self, report: ReportRequest) -> Report:
        return await self._one(Report, "POST", "/reports", report)

    async def update_report(self, report_id: str, report: ReportRequest) -> Report:
        return await self._one(Report, "PUT", f"/reports/{report_id}", report)

    async def delete_report(self, report_id: str) -> Report:
        return await self._one(Report, "DELETE", f"/reports/{report_id}")

    async def subscriptions(self, *, program_id: str | None = None, client_name: str | None = None,
                            objects: Sequence[ObjectType] | None = None) -> list[Subscription]:
        return await self._pages(Subscription, "/subscriptions",
                                 self._params(programID=program_id, clientName=client_name, objects=objects))

    async def create_subscription(self, subscription: SubscriptionRequest) -> Subscription:
        return await self._one(Subscription, "POST", "/subscriptions", subscription)

    async def delete_subscription(self, subscription_id: str) -> Subscription:
        return await self._one(Subscription, "DELETE", f"/subscriptions/{subscription_id}")
