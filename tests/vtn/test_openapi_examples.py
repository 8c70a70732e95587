"""Rule: ``/openapi.json`` gives a schema and an example for every request and reply of the VTN's HTTP API, each
example is valid against its own schema, and the CTS schemas say what the codec writes and reads."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate

from transactive.codec import decode_json, decode_xml, encode_json
from transactive.ei.cts.examples import examples as cts_examples
from transactive.services.examples import examples as ext_examples
from transactive.services.requests import REQUESTS
from transactive.vtn import openapi_document
from transactive.vtn.openapi_schemas import Schemas

DOC = openapi_document(openadr=True, openadr3=True)
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _bodies(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(operation and status, media type, media object) of every request body and reply of ``doc``."""
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            if "requestBody" in operation:
                for media_type, media in operation["requestBody"]["content"].items():
                    yield f"{where} request", media_type, media
            for status, reply in operation["responses"].items():
                for media_type, media in reply.get("content", {}).items():
                    yield f"{where} {status}", media_type, media


BODIES = list(_bodies(DOC))
IDS = [f"{where} {media_type}" for where, media_type, _ in BODIES]


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**schema, "components": DOC["components"]}, format_checker=FORMATS)


def test_the_document_is_valid_openapi_31_with_every_part() -> None:
    validate(DOC)
    assert DOC["openapi"] == "3.1.0"
    validate(openapi_document())


def test_there_are_bodies_of_every_kind() -> None:
    kinds = {media_type for _, media_type, _ in BODIES}
    assert kinds == {"application/json", "application/xml"}
    assert len(BODIES) > 60


@pytest.mark.parametrize(("where", "media_type", "media"), BODIES, ids=IDS)
def test_every_request_and_reply_has_a_schema_and_an_example(where: str, media_type: str,
                                                              media: dict[str, Any]) -> None:
    assert media.get("schema"), where
    assert media.get("examples"), where
    for example in media["examples"].values():
        assert "value" in example


@pytest.mark.parametrize(("where", "media_type", "media"), BODIES, ids=IDS)
def test_every_example_is_valid_against_its_own_schema(where: str, media_type: str, media: dict[str, Any]) -> None:
    validator = _validator(media["schema"])
    for name, example in media["examples"].items():
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(example["value"])]
        assert errors == [], f"{where} example {name}"


@pytest.mark.parametrize(("where", "media_type", "media"),
                         [b for b in BODIES if b[1] == "application/xml"],
                         ids=[i for i, b in zip(IDS, BODIES, strict=True) if b[1] == "application/xml"])
def test_every_xml_example_is_a_document_the_vtn_decodes(where: str, media_type: str, media: dict[str, Any]) -> None:
    for name, example in media["examples"].items():
        tag = str(decode_xml(example["value"].encode()).__tag__)
        assert name in {tag.replace(":", "_"), tag.split(":")[1]}, (where, name)


@pytest.mark.parametrize(("where", "media_type", "media"),
                         [b for b in BODIES if b[0].startswith(("POST /cts", "GET /cts"))
                          and b[1] == "application/json"],
                         ids=[i for i, b in zip(IDS, BODIES, strict=True)
                              if b[0].startswith(("POST /cts", "GET /cts")) and b[1] == "application/json"])
def test_every_cts_json_example_is_a_document_the_vtn_decodes(where: str, media_type: str,
                                                              media: dict[str, Any]) -> None:
    for example in media["examples"].values():
        text = json.dumps(example["value"]).encode()
        assert json.loads(encode_json(decode_json(text))) == example["value"], where


def test_every_request_the_vtn_dispatches_and_its_reply_have_a_schema_and_an_example() -> None:
    cts = DOC["paths"]["/cts"]["post"]
    request = cts["requestBody"]["content"]["application/json"]
    reply = cts["responses"]["200"]["content"]["application/json"]
    requests = {kind.payload.__tag__ for kind in REQUESTS}
    replies = {kind.handler.__annotations__["return"] for kind in REQUESTS}
    assert {s["title"] for s in request["schema"]["oneOf"]} == requests
    assert {next(iter(e["value"])) for e in request["examples"].values()} == requests
    assert len(reply["schema"]["oneOf"]) == len(replies) + 1  # and tx:eiResponsePayload
    assert {s["title"] for s in reply["schema"]["oneOf"]} == {next(iter(e["value"]))
                                                              for e in reply["examples"].values()}


@pytest.mark.parametrize("message", [*cts_examples(), *ext_examples()],
                         ids=lambda m: str(m.__tag__))
def test_the_generated_schema_takes_what_the_encoder_writes(message: Any) -> None:
    """Every example of the tables, also those the API does not carry (quotes a VEN creates, ...)."""
    schemas = Schemas()
    root = {**schemas.document(type(message)), "components": {"schemas": schemas.components}}
    body = json.loads(encode_json(message))
    errors = [e.message for e in jsonschema.Draft202012Validator(root, format_checker=FORMATS).iter_errors(body)]
    assert errors == []


def _tender() -> dict[str, Any]:
    media = DOC["paths"]["/cts"]["post"]["requestBody"]["content"]["application/json"]
    return copy.deepcopy(media["examples"]["pyld_eiCreateTender"]["value"])


def _refused(body: dict[str, Any]) -> bool:
    schema = DOC["paths"]["/cts"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return not _validator(schema).is_valid(body)


def test_the_schema_refuses_an_unknown_member() -> None:
    body = _tender()
    body["pyld:eiCreateTender"]["pyld:surprise"] = 1
    assert _refused(body)


def test_the_schema_refuses_a_missing_required_member() -> None:
    body = _tender()
    del body["pyld:eiCreateTender"]["pyld:requestID"]
    assert _refused(body)


def test_the_schema_refuses_a_value_of_the_wrong_type() -> None:
    body = _tender()
    body["pyld:eiCreateTender"]["pyld:requestID"] = {"no": "object"}
    assert _refused(body)


def test_the_schema_refuses_two_messages_in_one_document() -> None:
    body = _tender()
    body["pyld:eiCancelTender"] = body["pyld:eiCreateTender"]
    assert _refused(body)
