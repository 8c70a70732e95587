"""Schemathesis against ``transactive vtn serve``'s OpenADR 3.1 API, driven by the shipped document.

The VTN runs in its own process on a loopback port. The operator makes one BL client and one VEN client; before
the run each writes a few objects (programs, events, vens, resources, reports, subscriptions) so that the
operations with an object ID in their path (and the programID, eventID or venID in a body) reach real objects about
half of the time, and 404 (or 400) the rest. Then every operation of the repaired document
(:func:`transactive.schemas.openadr3.spec`) is tried against ``{VTN}/openadr3/3.1.0`` with each client's token, in
the examples, coverage and fuzzing phases, positive and negative data, and every reply must pass:

* ``not_a_server_error``: no 5xx, whatever the request;
* ``status_code_conformance``: the status is one the operation lists;
* ``content_type_conformance``: the reply's media type is the one the document gives for that status;
* ``response_schema_conformance``: the reply matches the document's schema for that status, formats included.

Deliberate deviations, excluded here and nowhere else:

* problem objects carry two members the document does not name, ``field`` and ``responseCode`` (the field at fault
  and its EI response code); the ``problem`` schema allows extra members, so no check needs relaxing for them;
* a 401 on an operation that does not list 401 (``PUT /programs/{programID}``) is still a 401 with a problem body:
  for those replies the status check is skipped and the body is checked against ``problem`` instead;
* the document's own defects (``ERRATA`` in :mod:`transactive.schemas.openadr3`) are repaired before use.

Bounds, so the run takes about a minute and is the same on every machine: :data:`MAX_EXAMPLES` per operation and
phase, a fixed seed, no example database, no Hypothesis deadline. Stateful testing (chains of calls through
links) is off: the document has no links, and the seeded objects give the ID operations something to find.

The document is loaded when the module is imported, before the VTN exists, so the VTN's base URL is given to each
call (``case.call(base_url=...)``) rather than written into ``servers``. (Schemathesis' way to load a schema from a
fixture, ``schemathesis.pytest.from_fixture``, fails under pytest 9.2: it sets ``Function._nodeid``, which pytest
no longer has.) The roles are a module-scoped fixture, so all operations run with the BL token, then all with the
VEN token; a failure names the operation and the role: ``test_...[PUT /vens/{venID}][ven]``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.schemas.openadr3 import spec, validate_body

pytestmark = pytest.mark.slow

BASE = "/openadr3/3.1.0"
ROLES = ("bl", "ven")
#: examples per operation and phase: enough to reach every status an operation can answer, small enough for CI
MAX_EXAMPLES = 25
#: a fixed seed: the same requests, in the same order, on every run
SEED = 20261205
#: how often an object ID in a path is one of the seeded objects (otherwise it is generated, and mostly a 404)
SEEDED_SHARE = 0.5
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

#: path parameter -> collection, for the seeded objects
_COLLECTIONS = {"programID": "programs", "eventID": "events", "venID": "vens", "resourceID": "resources",
                "reportID": "reports", "subscriptionID": "subscriptions"}


@dataclass
class Seeded:
    """The objects one client may use: ``kept`` ids for reads and updates, ``spare`` ids for deletes (a delete
    of a kept object would leave the operations after it with nothing to find)."""

    token: str
    kept: dict[str, list[str]] = field(default_factory=dict)
    spare: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Deployment:
    vtn: VtnProcess
    roles: dict[str, Seeded]

    @property
    def base(self) -> str:
        return self.vtn.url + BASE


def _request(method: str, url: str, token: str, body: Any = None, *, form: dict[str, str] | None = None,
             ) -> Any:
    """One JSON call (or a form post), which must succeed; its decoded reply."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if form is not None:
        data = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _client(vtn: VtnProcess, operator: str, role: str) -> tuple[str, str]:
    """A client of ``role`` made by the operator: its client id and an access token."""
    made = _request("POST", f"{vtn.url}/operator/openadr3/clients", operator,
                    {"role": role, "name": f"schemathesis-{role}"})
    form = {"grant_type": "client_credentials", "client_id": made["client_id"],
            "client_secret": made["client_secret"]}
    token = _request("POST", f"{vtn.url}{BASE}/auth/token", "", form=form)
    return str(made["client_id"]), str(token["access_token"])


def _seed(base: str, bl: Seeded, ven: Seeded, ven_client: str) -> None:
    """Each role's own kept and spare objects, so that one role's updates and deletes do not take away what the
    other role's run reads. The spare event, resource and report hang off the kept program, ven and event: deletes
    cascade (a program takes its events, a ven its resources), and the spare ones must outlive the spare parents'
    deletion until their own delete is tried."""

    def post(who: Seeded, collection: str, body: dict[str, Any]) -> str:
        return str(_request("POST", f"{base}/{collection}", who.token, body)["id"])

    def event(program: str, name: str) -> str:
        return post(bl, "events", {"programID": program, "eventName": name,
                                   "intervalPeriod": {"start": "2026-12-05T12:00:00Z", "duration": "PT15M"},
                                   "intervals": [{"id": 0, "payloads": [{"type": "PRICE", "values": [0.2]}]}]})

    def report(event_id: str, name: str) -> str:
        return post(ven, "reports", {"eventID": event_id, "clientName": name, "resources": [
            {"resourceName": "meter", "intervals": [{"id": 0, "payloads": [{"type": "USAGE", "values": [1.5]}]}]}]})

    for role, who in (("bl", bl), ("ven", ven)):
        made: dict[str, dict[str, str]] = {"kept": {}, "spare": {}}
        for use in ("kept", "spare"):
            name = f"schemathesis-{role}-{use}"
            made[use]["programs"] = post(bl, "programs", {"programName": name})
            made[use]["vens"] = post(bl, "vens", {"objectType": "BL_VEN_REQUEST", "clientID": ven_client,
                                                  "venName": name})
            made[use]["subscriptions"] = post(who, "subscriptions", {
                "clientName": name, "programID": made[use]["programs"],
                "objectOperations": [{"objects": ["EVENT"], "operations": ["CREATE"],
                                      "callbackUrl": LOCAL_CALLBACK}]})
        kept = made["kept"]
        for use in ("kept", "spare"):
            name = f"schemathesis-{role}-{use}"
            made[use]["events"] = event(kept["programs"], name)
            made[use]["resources"] = post(ven, "resources", {"objectType": "VEN_RESOURCE_REQUEST",
                                                             "venID": kept["vens"], "resourceName": name})
            made[use]["reports"] = report(kept["events"], name)
        for use, ids in (("kept", who.kept), ("spare", who.spare)):
            for collection, object_id in made[use].items():
                ids[collection] = [object_id]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data: Path = tmp_path_factory.mktemp("oa3-schemathesis") / "vtn"
    vtn = start_vtn(data)
    try:
        operator = (data / "operator.token").read_text().strip()
        _, bl_token = _client(vtn, operator, "bl")
        ven_client, ven_token = _client(vtn, operator, "ven")
        roles = {"bl": Seeded(bl_token), "ven": Seeded(ven_token)}
        _seed(vtn.url + BASE, roles["bl"], roles["ven"], ven_client)
        yield Deployment(vtn, roles)
    finally:
        vtn.terminate()


#: the repaired document and the run's bounds
schema = schemathesis.openapi.from_dict(spec(), config=schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
}))


class _Current:
    """Which role's objects the path-parameter hook offers; set by the ``role`` fixture before each test."""

    seeded: Seeded | None = None


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    """An object ID in the path is the generated one or, with :data:`SEEDED_SHARE`, one of the current role's
    seeded objects (a spare one for a DELETE)."""
    seeded = _Current.seeded
    operation = context.operation
    if seeded is None or operation is None or not path_parameters:
        return st.just(path_parameters)
    pool = seeded.spare if operation.method.upper() == "DELETE" else seeded.kept
    choices: dict[str, st.SearchStrategy[Any]] = {}
    for name, value in path_parameters.items():
        ids = pool.get(_COLLECTIONS.get(name, ""), [])
        choices[name] = _either(value, ids) if ids else st.just(value)
    return st.fixed_dictionaries(choices)


#: a body member naming another object -> its collection
_REFERENCES = {"programID": "programs", "eventID": "events", "venID": "vens"}


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
    """A ``programID``, ``eventID`` or ``venID`` in a JSON body is the generated one or, with
    :data:`SEEDED_SHARE`, one of the current role's kept objects, so that creates and updates get past the
    reference check some of the time."""
    seeded = _Current.seeded
    if seeded is None or not isinstance(body, dict):
        return st.just(body)
    choices = {name: st.just(value) for name, value in body.items()}
    for name, collection in _REFERENCES.items():
        ids = seeded.kept.get(collection)
        if name in body and ids:
            choices[name] = _either(body[name], ids)
    return st.fixed_dictionaries(choices)


#: where generated subscriptions' webhooks go: the discard port on loopback, which refuses at once
LOCAL_CALLBACK = "http://127.0.0.1:9/schemathesis"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _local_callbacks(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with every ``callbackUrl`` that has a scheme (so the VTN may take it and start delivering to it)
    pointed at :data:`LOCAL_CALLBACK`: the VTN sends webhooks for the subscriptions the run creates, and a
    generated URL (or the document's example, ``https://myserver.com/...``) must not make it call out of the
    machine. A URL without a scheme is kept: the VTN must refuse it."""
    operations = body.get("objectOperations")
    if not isinstance(operations, list):
        return body
    local = [{**operation, "callbackUrl": LOCAL_CALLBACK}
             if isinstance(operation, dict) and isinstance(operation.get("callbackUrl"), str)
             and _SCHEME.match(operation["callbackUrl"]) else operation
             for operation in operations]
    return {**body, "objectOperations": local}


def _either(generated: Any, ids: list[str]) -> st.SearchStrategy[Any]:
    """``generated``, or one of ``ids`` with :data:`SEEDED_SHARE`."""
    return st.floats(0, 1).flatmap(lambda x: st.sampled_from(ids) if x < SEEDED_SHARE else st.just(generated))


@pytest.fixture(scope="module", params=ROLES)
def role(request: pytest.FixtureRequest, deployment: Deployment) -> Iterator[Seeded]:
    """One role's token and objects, for every operation of one run."""
    _Current.seeded = deployment.roles[request.param]
    try:
        yield _Current.seeded
    finally:
        _Current.seeded = None


@schema.parametrize()
@settings(deadline=None)
def test_every_operation_answers_as_the_document_says(case: schemathesis.Case[Any], deployment: Deployment,
                                                       role: Seeded) -> None:
    if isinstance(case.body, dict):  # every phase, not only the generated cases the hooks see
        case.body = _local_callbacks(case.body)
    response = case.call(base_url=deployment.base, headers={"Authorization": f"Bearer {role.token}"}, timeout=10)
    if case.operation.path.startswith("/subscriptions") and response.status_code in (200, 201):
        stored = response.json()
        urls = {o.get("callbackUrl") for s in (stored if isinstance(stored, list) else [stored])
                for o in s.get("objectOperations", [])}
        assert urls <= {LOCAL_CALLBACK}, urls  # the VTN delivers to nothing outside this machine
    excluded: list[Any] = []
    listed = case.operation.definition.raw.get("responses", {})
    if response.status_code == 401 and "401" not in listed:
        # deliberate: an operation that forgot to list 401 still answers 401 to a bad token, with a problem body
        excluded.append(status_code_conformance)
        assert validate_body("problem", response.json()) == [], response.text
    case.validate_response(response, checks=CHECKS, excluded_checks=excluded)
