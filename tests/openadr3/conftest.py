"""Fixtures for the OpenADR 3.1 tests: a real VTN (:class:`~transactive.vtn.VtnApp`) on a loopback port, clients
made through the operator's API, and a caller that checks every request and reply against the repaired
specification (:func:`transactive.schemas.openadr3.validate_operation`)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.vtn.conftest import vtn_processes  # noqa: F401  (a fixture: every VTN process a test starts, killed at the end)
from transactive.schemas.openadr3 import path_template, spec, validate_body, validate_operation
from transactive.vtn.app import VtnApp, VtnOptions
from transactive.vtn.openadr3_app import Oa3Config

BASE = "/openadr3/3.1.0"


def template(path: str) -> str:
    """The specification's path template of an API path (``/programs/abc`` -> ``/programs/{programID}``)."""
    found = path_template(path)
    assert found is not None, f"{path} is no path of the OpenADR 3.1.0 document"
    return found


def _listed(method: str, tpl: str, status: int) -> bool:
    return str(status) in spec()["paths"][tpl][method.lower()]["responses"]


@dataclass
class Client:
    client_id: str
    secret: str
    token: str
    role: str


@dataclass
class Oa3Vtn:
    """A running VTN and what the tests need to talk OpenADR 3 to it."""

    app: VtnApp
    url: str
    operator_token: str
    session: aiohttp.ClientSession
    #: every (method, template, status) the tests saw, each checked against the specification
    seen: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return self.url + BASE

    async def make_client(self, role: str, name: str) -> Client:
        async with self.session.post(f"{self.url}/operator/openadr3/clients", json={"role": role, "name": name},
                                     headers={"Authorization": f"Bearer {self.operator_token}"}) as response:
            assert response.status == 201, await response.text()
            made = await response.json()
        token = await self.token(made["client_id"], made["client_secret"])
        return Client(made["client_id"], made["client_secret"], token, role)

    async def token(self, client_id: str, secret: str) -> str:
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
        async with self.session.post(f"{self.base}/auth/token", data=form) as response:
            body = await response.json()
            assert response.status == 200, body
        assert validate_operation("POST", "/auth/token", 200, body) == []
        return str(body["access_token"])

    async def post_event(self, client: Client, program_id: str, targets: list[str] | None = None,
                         start: str = "2026-12-05T12:00:00Z") -> dict[str, Any]:
        """A PRICE event of one quarter hour in the program, made as ``client`` (201 expected)."""
        status, event = await self.call("POST", "/events", client, {
            "programID": program_id, "eventName": "price", "targets": targets,
            "intervalPeriod": {"start": start, "duration": "PT15M"},
            "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.2]}]}]})
        assert status == 201, event
        return dict(event)

    async def call(self, method: str, path: str, client: Client | None, body: Any = None, *,
                   check: bool = True, params: Any = None) -> tuple[int, Any]:
        """``method path`` (below the base URL) as ``client``; the request body and the reply are validated
        against the specification (``check``) and the status and the decoded reply returned."""
        tpl = template(path)
        if check and body is not None:
            assert validate_operation(method, tpl, "request", body, lenient_nulls=True) == [], (method, tpl, body)
        headers = {} if client is None else {"Authorization": f"Bearer {client.token}"}
        async with self.session.request(method, self.base + path, json=body, headers=headers,
                                        params=params) as response:
            status = response.status
            reply = await response.json(content_type=None)
        if check:
            problems = (validate_operation(method, tpl, status, reply) if _listed(method, tpl, status)
                        else validate_body("problem", reply))  # a status the document does not list (401 on a PUT)
            assert problems == [], (method, tpl, status, reply, problems)
        self.seen.append((method, tpl, status))
        return status, reply


@pytest.fixture
async def oa3(tmp_path: Path) -> AsyncIterator[Oa3Vtn]:
    # the tests' webhook receivers listen on loopback, which a VTN refuses by default
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False, openadr3=Oa3Config(webhooks_private=True)))
    await app.start()
    try:
        token = (tmp_path / "vtn" / "operator.token").read_text().strip()
        async with aiohttp.ClientSession() as session:
            yield Oa3Vtn(app, app.url, token, session)
    finally:
        await app.stop()


ID = re.compile(r"^[a-zA-Z0-9_-]+$")
