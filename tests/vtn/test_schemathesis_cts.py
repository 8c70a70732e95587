"""Schemathesis against ``transactive vtn serve``, driven by the VTN's own ``/openapi.json``.

The VTN runs in its own process on a loopback port, with its OpenADR 2.0b and OpenADR 3 operator APIs as
``vtn serve`` starts them. One party registers (signed, as a device would) and gets its token; the operator's token
is read from the data directory. Then every operation of the document the VTN serves is tried in the examples,
coverage and fuzzing phases, positive and negative data, each one with the credentials its security says (the
party's token for the CTS services and notices, the operator's for the operator APIs), and every reply must pass
``not_a_server_error``: no 5xx, whatever the request. The replies the document describes are checked further:
``status_code_conformance``, ``content_type_conformance`` and ``response_schema_conformance`` (formats included).

One deliberate deviation: the long poll ``GET /cts/notices`` waits at most :data:`POLL_CAP` seconds (the document
allows 60: a run that waited for each generated timeout would take hours).

Bounds: :data:`MAX_EXAMPLES` per operation and phase (:data:`MAX_CTS_EXAMPLES`, valid bodies only, for the two
CTS service operations, whose generated bodies cost much more), a fixed seed, no example database, no Hypothesis
deadline. The document is loaded when the module is imported (it is the one :func:`openapi_document` builds for these
options; a test checks that the VTN serves exactly it), so the base URL is given to each call."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.services.conftest import identity_of
from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.codec import decode_json, encode_json
from transactive.ei.cts.registration import EiCreatePartyRegistration
from transactive.vtn import openapi_document
from transactive.vtn.openapi import HEALTH_EXAMPLE

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 20
#: the CTS services' bodies are deep (a oneOf of every payload): fewer of them, and only valid ones (Hypothesis
#: takes seconds for each negative one; the decoders' own fuzz tests, tests/codec, send them every malformed kind)
MAX_CTS_EXAMPLES = 5
CTS_SERVICES = r"^/cts(/\{facet\})?$"
SEED = 20261205
#: the longest a generated long poll waits, seconds
POLL_CAP = 0.2
PARTY = "pv-1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
DOCUMENT = openapi_document(openadr=True, openadr3=True)


@dataclass
class Deployment:
    vtn: VtnProcess
    party_token: str
    operator_token: str


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _register(vtn: VtnProcess, market_party: str) -> str:
    """``PARTY``'s token: a signed eiCreatePartyRegistration, as a device sends it."""
    body = encode_json(EiCreatePartyRegistration(request_id=f"reg-{PARTY}", registree_party_id=PARTY))
    signature = identity_of(PARTY).request_signature(body, audience=market_party, created=int(time.time()))
    request = urllib.request.Request(vtn.url + "/cts/registration", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "Signature": signature})
    with urllib.request.urlopen(request, timeout=10) as response:
        reply = decode_json(response.read())
    token = reply.registration_id  # type: ignore[attr-defined]
    assert isinstance(token, str)
    return token


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    data: Path = tmp_path_factory.mktemp("cts-schemathesis") / "vtn"
    vtn = start_vtn(data)
    try:
        health = _get(vtn.url + "/health")
        yield Deployment(vtn, _register(vtn, health["market_party_id"]),
                         (data / "operator.token").read_text().strip())
    finally:
        vtn.terminate()


schema = schemathesis.openapi.from_dict(DOCUMENT, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
    "operations": [{"include-path-regex": CTS_SERVICES, "generation": {"mode": "positive",
                                                                        "max-examples": MAX_CTS_EXAMPLES}}],
}))


def test_the_vtn_serves_the_document_this_run_uses(deployment: Deployment) -> None:
    assert _get(deployment.vtn.url + "/openapi.json") == json.loads(json.dumps(DOCUMENT))


def test_the_health_example_has_the_members_the_vtn_answers(deployment: Deployment) -> None:
    assert set(_get(deployment.vtn.url + "/health")) == set(HEALTH_EXAMPLE)


def _headers(case: schemathesis.Case[Any], deployment: Deployment) -> dict[str, str]:
    """The credentials the operation's security names first (none for an open one)."""
    security = case.operation.definition.raw.get("security", [{}])
    first = next(iter(security[0]), None) if security else None
    if first == "operator":
        return {"Authorization": f"Bearer {deployment.operator_token}"}
    if first == "bearer":
        return {"Authorization": f"Bearer {deployment.party_token}"}
    return {}


def _waits_long(timeout: Any) -> bool:
    """Whether a long poll with this ``timeout`` may wait longer than :data:`POLL_CAP` (absent: 30 s); a value
    that is no number is kept, for the VTN to refuse."""
    if timeout is None:
        return True
    try:
        return not float(timeout) <= POLL_CAP
    except (TypeError, ValueError):
        return False


@schema.parametrize()
@settings(deadline=None)
def test_every_operation_answers_without_a_server_error(case: schemathesis.Case[Any],
                                                        deployment: Deployment) -> None:
    if case.operation.path == "/cts/notices":
        query = case.query if isinstance(case.query, dict) else {}
        if _waits_long(query.get("timeout")):
            case.query = {**query, "timeout": POLL_CAP}
    response = case.call(base_url=deployment.vtn.url, headers=_headers(case, deployment), timeout=30)
    case.validate_response(response, checks=CHECKS)
