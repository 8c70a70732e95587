"""Rule: what the schemathesis run (``test_schemathesis_cts.py``) found the VTN answering with a server error is
now refused with a 4xx naming the field; one row per finding, against a real ``vtn serve``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.vtn.conftest import VtnProcess, start_vtn
from tests.vtn.oadr_probe import http

_EVENT = {"signal_name": "ELECTRICITY_PRICE", "start": "now+PT5M", "intervals": [{"duration": "PT15M", "value": 0.2}]}

#: (method, path, JSON body, the status, the field the refusal names)
FOUND: list[tuple[str, str, Any, int, str]] = [
    ("POST", "/operator/openadr/events", {**_EVENT, "signal_type": [None, None]}, 400, "signal_type"),
    ("POST", "/operator/openadr/events", {**_EVENT, "signal_name": {"a": 1}}, 400, "signal_name"),
]


@pytest.fixture(scope="module")
def vtn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VtnProcess]:
    process = start_vtn(tmp_path_factory.mktemp("openapi-found") / "vtn")
    try:
        yield process
    finally:
        process.terminate()


@pytest.mark.parametrize(("method", "path", "body", "status", "field"), FOUND,
                         ids=[f"{m} {p} {f}" for m, p, _, _, f in FOUND])
def test_a_request_that_once_got_a_server_error_is_refused_naming_the_field(
        vtn: VtnProcess, method: str, path: str, body: Any, status: int, field: str) -> None:
    operator = (Path(vtn.log).parent / "vtn" / "operator.token").read_text().strip()
    answer = http(vtn.url + path, json.dumps(body).encode(), method=method,
                  headers={"Authorization": f"Bearer {operator}", "Content-Type": "application/json"})
    assert answer.status == status
    assert json.loads(answer.body)["field"] == field
