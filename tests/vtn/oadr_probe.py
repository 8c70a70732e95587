"""A raw OpenADR 2.0b client for tests against a running ``vtn serve``: posts documents built with the
models in :mod:`transactive.ei.oadr` (or any bytes) and checks every XML answer against the 2.0b schema
before decoding it. No VTN answer may be a 500."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, TypeVar

from lxml import etree

from transactive import schemas
from transactive.codec import decode_xml, encode_xml
from transactive.ei.oadr import (
    EiResponse,
    OadrCreatedPartyRegistration,
    OadrCreatePartyRegistration,
    OadrPoll,
    OadrResponse,
)
from transactive.ei.oadr.examples import examples
from transactive.model import Model

__all__ = ["Answer", "Probe", "code_of", "example", "http", "is_nothing", "schema_valid"]

M = TypeVar("M", bound=Model)
BASE = "/OpenADR2/Simple/2.0b"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, body: bytes | None = None, *, method: str = "POST", headers: dict[str, str] | None = None,
         timeout: float = 30, context: ssl.SSLContext | None = None) -> Answer:
    """One request (over HTTPS with ``context``); the answer whatever its status (a 500 fails the test)."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            answer = Answer(response.status, response.headers.get_content_type(), response.read())
    except urllib.error.HTTPError as exc:
        answer = Answer(exc.code, exc.headers.get_content_type(), exc.read())
    assert answer.status < 500 or answer.status == 503, f"{method} {url}: HTTP {answer.status}: {answer.body[:500]!r}"
    return answer


def schema_valid(body: bytes) -> etree._Element:
    """The document after checking it against the OpenADR 2.0b schema."""
    root = etree.fromstring(body)
    report = schemas.validate(root)
    assert report.valid, f"the VTN sent a document the 2.0b schema refuses: {report.errors} in {body[:800]!r}"
    assert report.schema == "oadr20b", report.schema
    return root


def example(cls: type[M], n: int = 0, **update: Any) -> M:
    """The ``n``-th example of ``cls`` from :func:`~transactive.ei.oadr.examples.examples`, with ``update``."""
    found = [m for m in examples() if type(m) is cls]
    message = found[n]
    assert isinstance(message, cls)
    return message.model_copy(update=update) if update else message


@dataclass
class Probe:
    """A hand-driven VEN: posts 2.0b documents to ``vtn_url`` and decodes the schema-checked answers."""

    vtn_url: str
    ven_id: str | None = None
    registration_id: str | None = None
    sent: list[tuple[str, int, bytes]] = field(default_factory=list)

    def post(self, service: str, data: bytes) -> Answer:
        answer = http(f"{self.vtn_url}{BASE}/{service}", data, headers={"Content-Type": "application/xml"})
        self.sent.append((service, answer.status, answer.body))
        return answer

    def send(self, service: str, message: Model, *, status: int = 200) -> Model:
        """Post ``message``; the VTN's reply after checking its HTTP status, content type and schema."""
        answer = self.post(service, encode_xml(message))
        assert answer.status == status, (answer.status, answer.body[:800])
        assert answer.content_type == "application/xml", answer.content_type
        schema_valid(answer.body)
        reply: Model = decode_xml(answer.body)
        return reply

    def register(self, name: str) -> OadrCreatedPartyRegistration:
        reply = self.send("EiRegisterParty", OadrCreatePartyRegistration(
            request_id=f"reg-{name}", ven_name=name, http_pull_model=True))
        assert isinstance(reply, OadrCreatedPartyRegistration), reply
        assert reply.response.response_code == 200, reply.response
        self.ven_id, self.registration_id = reply.ven_id, reply.registration_id
        return reply

    def poll(self) -> Model:
        assert self.ven_id is not None
        return self.send("OadrPoll", OadrPoll(ven_id=self.ven_id))

    def poll_until(self, cls: type[M], *, attempts: int = 20) -> M:
        """Poll until the VTN hands over a ``cls`` (acknowledging nothing else it sends)."""
        for _ in range(attempts):
            reply = self.poll()
            if isinstance(reply, cls):
                return reply
        raise AssertionError(f"no {cls.__name__} in {attempts} polls")


def code_of(reply: Model) -> int:
    """The ``ei:responseCode`` of a reply."""
    response = getattr(reply, "response", None)
    assert isinstance(response, EiResponse), reply
    return int(response.response_code)


def is_nothing(reply: Model) -> bool:
    return isinstance(reply, OadrResponse) and reply.response.response_code == 200
