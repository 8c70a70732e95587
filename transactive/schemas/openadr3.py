"""The OpenADR 3.1.0 OpenAPI document shipped in ``transactive/xsd/openadr3/`` (``schemas/openadr3/``), its errata,
and validation of request and reply bodies against it.

The document is the OpenADR Alliance's ``3.1.0/openadr3.yaml`` (OpenAPI 3.0.0, Apache-2.0), copied byte for byte
(see ``schemas/SOURCES.md``). As released it has defects: one makes strict OpenAPI validators reject the whole
document, and others make some bodies impossible to validate (a ``ven`` or ``resource`` answer can never be valid;
the discriminators point at schemas that do not exist). :data:`ERRATA` repairs them, one JSON pointer each, the
way ``schemas/cts/xsd-errata`` repairs the CTS rev 0.4 schemas. :func:`spec` gives the repaired document by
default, the document as released with ``repaired=False``, and with only some errata given their ids.

Bodies are checked with ``openapi-schema-validator`` (the OpenAPI 3.0 dialect: ``nullable``, ``discriminator``,
formats such as ``date-time``). Every problem is a :class:`~transactive.errors.FieldError` whose path is the
JSON path of the field (``$.intervals[0].payloads[0].type``).

Leniency, off unless asked for: ``lenient_nulls=True`` (or :func:`drop_forbidden_nulls`) treats a key whose value
is ``null`` as absent wherever the schema does not allow ``null`` there. Real clients (openadr3-client) send
explicit ``null`` for every optional field they leave unset, and the document allows ``null`` for only some of
them (``nullable: true``); without this leniency such a client could not create a program or an event. A ``null``
the schema allows is kept, and a required field sent as ``null`` is still refused (as missing).
"""

from __future__ import annotations

import copy
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

import yaml
from jsonschema.exceptions import ValidationError, best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from transactive.errors import FieldError, SchemaError

__all__ = [
    "DOCUMENT",
    "ERRATA",
    "Erratum",
    "Repairs",
    "apply_errata",
    "drop_forbidden_nulls",
    "load_upstream",
    "operation_schema_pointer",
    "path_template",
    "spec",
    "validate_body",
    "validate_operation",
]

#: the shipped document, below ``transactive/xsd``
DOCUMENT = "openadr3/openadr3.yaml"
_BASE = "urn:transactive:openadr3:3.1.0"


@dataclass(frozen=True, slots=True)
class Erratum:
    """One repair of the released document: the value at ``pointer`` is ``upstream`` as released, ``repaired`` here."""

    id: str
    pointer: str  # RFC 6901 JSON pointer into the document
    upstream: Any
    repaired: Any
    why: str


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable_list(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "description": description, "items": items, "nullable": True, "default": None}


#: the ven (resource) answer: the BL request's fields without its objectType, which the VTN answers as VEN (RESOURCE)
_VEN_FIELDS = {
    "type": "object",
    "required": ["clientID", "venName"],
    "properties": {
        "objectType": {"type": "string", "enum": ["VEN"]},
        "clientID": _ref("clientID"),
        "targets": _nullable_list(_ref("target"), "A list of targets."),
        "venName": _ref("venName"),
        "attributes": _nullable_list(_ref("valuesMap"), "A list of valuesMap objects describing attributes."),
    },
}
_RESOURCE_FIELDS = {
    "type": "object",
    "required": ["clientID", "resourceName", "venID"],
    "properties": {
        "objectType": {"type": "string", "enum": ["RESOURCE"]},
        "clientID": _ref("clientID"),
        "targets": _nullable_list(_ref("target"), "A list of targets."),
        "resourceName": _ref("resourceName"),
        "venID": _ref("objectID"),
        "attributes": _nullable_list(_ref("valuesMap"), "A list of valuesMap objects describing attributes."),
    },
}

ERRATA: tuple[Erratum, ...] = (
    Erratum(
        "OA3-E1",
        "/components/schemas/BlVenRequest/properties/targets/default",
        "null          -",
        None,
        "A stray '-' after 'default: null' makes the default the string 'null          -', which is not an array: "
        "OpenAPI validators reject the whole document. Every other optional list defaults to null.",
    ),
    Erratum(
        "OA3-E2",
        "/components/schemas/programRequest/properties/payloadDescriptors/items/discriminator",
        {"propertyName": "objectType"},
        {
            "propertyName": "objectType",
            "mapping": {
                "EVENT_PAYLOAD_DESCRIPTOR": "#/components/schemas/eventPayloadDescriptor",
                "REPORT_PAYLOAD_DESCRIPTOR": "#/components/schemas/reportPayloadDescriptor",
            },
        },
        "Without a mapping, a discriminator value names the schema to use; no schema is named "
        "EVENT_PAYLOAD_DESCRIPTOR or REPORT_PAYLOAD_DESCRIPTOR, so no program with payloadDescriptors can be "
        "valid. The mapping names the two schemas the anyOf lists.",
    ),
    Erratum(
        "OA3-E3",
        "/components/schemas/notification/properties/object/discriminator",
        {"propertyName": "objectType"},
        {
            "propertyName": "objectType",
            "mapping": {
                "PROGRAM": "#/components/schemas/program",
                "EVENT": "#/components/schemas/event",
                "REPORT": "#/components/schemas/report",
                "SUBSCRIPTION": "#/components/schemas/subscription",
                "VEN": "#/components/schemas/ven",
                "RESOURCE": "#/components/schemas/resource",
            },
        },
        "The same defect in the notification: the objectType values (PROGRAM, EVENT, ...) are not schema names "
        "(the schemas are program, event, ...), so no notification can be valid. The mapping pairs them.",
    ),
    Erratum(
        "OA3-E4",
        "/components/schemas/ven/allOf/1",
        _ref("BlVenRequest"),
        _VEN_FIELDS,
        "ven is objectMetadata (objectType one of PROGRAM ... VEN, RESOURCE) and BlVenRequest (objectType "
        "BL_VEN_REQUEST): no value satisfies both, so no ven answer can be valid. Definition.md gives a ven the "
        "objectType VEN: the repair keeps BlVenRequest's fields and requires VEN.",
    ),
    Erratum(
        "OA3-E5",
        "/components/schemas/resource/allOf/1",
        _ref("BlResourceRequest"),
        _RESOURCE_FIELDS,
        "The same contradiction for resource (objectMetadata against BL_RESOURCE_REQUEST); a resource answer has "
        "the objectType RESOURCE.",
    ),
)


class _Loader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML without its stubs
    """YAML as JSON sees it: timestamps stay strings (``example: 2023-06-15T09:30:00Z`` is text in JSON)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


@cache
def load_upstream() -> dict[str, Any]:
    """The document as released (shared and cached: copy it before changing anything)."""
    path = resources.files("transactive").joinpath("xsd", DOCUMENT)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:  # pragma: no cover - a broken installation
        raise SchemaError(f"the OpenADR 3 document is missing: {exc}") from exc
    return cast(dict[str, Any], yaml.load(text, Loader=_Loader))


def _split(pointer: str) -> list[str]:
    if not pointer.startswith("/"):
        raise ValueError(f"not a JSON pointer: {pointer!r}")
    return [part.replace("~1", "/").replace("~0", "~") for part in pointer[1:].split("/")]


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def apply_errata(document: dict[str, Any], errata: tuple[Erratum, ...] = ERRATA) -> dict[str, Any]:
    """A copy of ``document`` with ``errata`` applied; each must find its ``upstream`` value where it points."""
    repaired = copy.deepcopy(document)
    for erratum in errata:
        *parents, last = _split(erratum.pointer)
        node: Any = repaired
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        current = node[int(last)] if isinstance(node, list) else node.get(last)
        if current != erratum.upstream:
            raise SchemaError(f"erratum {erratum.id}: {erratum.pointer} is {current!r}, not {erratum.upstream!r}")
        node[int(last) if isinstance(node, list) else last] = copy.deepcopy(erratum.repaired)
    return repaired


#: which errata to apply: ``True`` all of :data:`ERRATA`, ``False`` none (the document as released), or the ids of
#: some of them (to see what one erratum changes)
Repairs = bool | Iterable[str]


def _key(repaired: Repairs) -> tuple[str, ...]:
    known = [erratum.id for erratum in ERRATA]
    if repaired is True or repaired is False:
        return tuple(known) if repaired else ()
    chosen = set(repaired)
    if chosen - set(known):
        raise KeyError(f"no such erratum: {sorted(chosen - set(known))}")
    return tuple(i for i in known if i in chosen)


@cache
def _document(key: tuple[str, ...]) -> dict[str, Any]:
    if not key:
        return load_upstream()
    return apply_errata(load_upstream(), tuple(erratum for erratum in ERRATA if erratum.id in key))


def spec(repaired: Repairs = True) -> dict[str, Any]:
    """The OpenAPI document (a fresh deep copy: change it freely), with :data:`ERRATA` applied unless
    ``repaired=False`` (or only the errata whose ids ``repaired`` lists)."""
    return copy.deepcopy(_document(_key(repaired)))


_lock = threading.Lock()


@cache
def _registry(key: tuple[str, ...]) -> Registry[Any]:
    resource = Resource.from_contents(_document(key), default_specification=DRAFT4)
    return cast(Registry[Any], Registry().with_resource(_BASE, resource))


def _validator(pointer: str, key: tuple[str, ...]) -> OAS30Validator:
    with _lock:
        return _cached_validator(pointer, key)


@cache
def _cached_validator(pointer: str, key: tuple[str, ...]) -> OAS30Validator:
    return OAS30Validator(
        {"$ref": f"{_BASE}#{pointer}"}, registry=_registry(key), format_checker=oas30_format_checker
    )


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The errors to report: for a failed anyOf / oneOf, the branch error that explains it best."""
    if error.context:
        yield from _leaves(best_match(error.context))
    else:
        yield error


def _field_error(error: ValidationError) -> FieldError:
    path = error.json_path
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance and repr(name) in error.message]
        if missing:
            path = f"{path}.{missing[0]}"
    return FieldError(path, error.message)


#: every value an ``objectType`` takes in the document (the discriminator of objects, descriptors and requests)
_OBJECT_TYPES = frozenset({"PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE", "EVENT_PAYLOAD_DESCRIPTOR",
                           "REPORT_PAYLOAD_DESCRIPTOR", "BL_VEN_REQUEST", "VEN_VEN_REQUEST", "BL_RESOURCE_REQUEST",
                           "VEN_RESOURCE_REQUEST"})


def _discriminator_problems(body: Any, path: str = "$") -> Iterator[FieldError]:
    """``objectType`` values no schema of the document has. openapi-schema-validator looks a discriminator's value
    up as a schema name: a list or an object there makes it raise (``TypeError``), and a string such as
    ``program`` makes it validate against that schema; both are refused here first."""
    if isinstance(body, dict):
        for name, value in body.items():
            where = f"{path}.{name}"
            if name == "objectType" and value is not None and (not isinstance(value, str)
                                                                or value not in _OBJECT_TYPES):
                yield FieldError(where, f"{value!r} is not an objectType of the document")
            else:
                yield from _discriminator_problems(value, where)
    elif isinstance(body, list):
        for n, item in enumerate(body):
            yield from _discriminator_problems(item, f"{path}[{n}]")


def _check(pointer: str, body: Any, key: tuple[str, ...]) -> list[FieldError]:
    wrong = list(_discriminator_problems(body))
    if wrong:
        return wrong
    errors = [
        _field_error(leaf)
        for error in _validator(pointer, key).iter_errors(body)
        for leaf in _leaves(error)
    ]
    return sorted(set(errors), key=lambda e: (e.path, e.message))


def _all_errors(error: ValidationError) -> Iterator[ValidationError]:
    yield error
    for sub in error.context or ():
        yield from _all_errors(sub)


def _drop_nulls(pointer: str, body: Any, key: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    body = copy.deepcopy(body)
    if any(True for _ in _discriminator_problems(body)):
        return body, ()  # refused as it is by the validation that follows
    dropped: list[str] = []
    for _round in range(64):  # each round drops at least one key, or stops
        found: dict[str, tuple[Any, ...]] = {}
        for error in _validator(pointer, key).iter_errors(body):
            for sub in _all_errors(error):
                path = tuple(sub.absolute_path)
                if sub.instance is None and path and isinstance(path[-1], str):
                    found[sub.json_path] = path
        removed = False
        for json_path, path in sorted(found.items()):
            node: Any = body
            for part in path[:-1]:
                node = node[part]
            if isinstance(node, dict) and path[-1] in node and node[path[-1]] is None:
                del node[path[-1]]
                dropped.append(json_path)
                removed = True
        if not removed:
            break
    return body, tuple(dropped)


def _schema_pointer(schema_name: str, key: tuple[str, ...]) -> str:
    if schema_name not in _document(key)["components"]["schemas"]:
        raise KeyError(f"no schema {schema_name!r} in the OpenADR 3 document")
    return f"/components/schemas/{_escape(schema_name)}"


def drop_forbidden_nulls(schema_name: str, body: Any, *, repaired: Repairs = True) -> tuple[Any, tuple[str, ...]]:
    """The leniency "null as absent": a copy of ``body`` without the keys whose value is ``null`` where
    ``components.schemas.<schema_name>`` does not allow ``null``, and the JSON paths of the keys dropped.
    Keys whose ``null`` the schema allows (``nullable: true``) are kept."""
    key = _key(repaired)
    return _drop_nulls(_schema_pointer(schema_name, key), body, key)


def validate_body(
    schema_name: str, body: Any, *, repaired: Repairs = True, lenient_nulls: bool = False
) -> list[FieldError]:
    """The problems of ``body`` against ``components.schemas.<schema_name>`` (``[]``: valid).

    ``lenient_nulls=True`` first treats forbidden ``null`` values as absent (see :func:`drop_forbidden_nulls`)."""
    key = _key(repaired)
    pointer = _schema_pointer(schema_name, key)
    if lenient_nulls:
        body, _dropped = _drop_nulls(pointer, body, key)
    return _check(pointer, body, key)


@cache
def _templates(key: tuple[str, ...]) -> tuple[tuple[re.Pattern[str], str], ...]:
    pairs = [(re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", path) + "$"), path) for path in _document(key)["paths"]]
    return tuple(sorted(pairs, key=lambda pair: pair[1].count("{")))  # a literal path before a template matching it


def path_template(path: str, *, repaired: Repairs = True) -> str | None:
    """The document's path template of a request path below the API's base URL (``/programs/abc`` ->
    ``/programs/{programID}``; a query is ignored); None for a path the document does not define."""
    path = path.split("?", 1)[0]
    return next((template for pattern, template in _templates(_key(repaired)) if pattern.match(path)), None)


def operation_schema_pointer(
    method: str, path_template: str, status: int | str, *, repaired: Repairs = True
) -> str:
    """The JSON pointer of the body schema of an operation: its request (``status="request"``) or the reply
    with that HTTP status (``"default"`` when the status is not listed). ``KeyError`` for an operation or a
    status the document does not define, or one without a body."""
    document = _document(_key(repaired))
    method = method.lower()
    operation = document["paths"][path_template][method]
    base = f"/paths/{_escape(path_template)}/{method}"
    if status == "request":
        holder, pointer = operation["requestBody"], f"{base}/requestBody"
    else:
        key = str(status) if str(status) in operation["responses"] else "default"
        holder, pointer = operation["responses"][key], f"{base}/responses/{key}"
    if "$ref" in holder:  # a response or request body of components
        pointer = holder["$ref"].removeprefix("#")
        node: Any = document
        for part in _split(pointer):
            node = node[part]
        holder = node
    content = holder["content"]
    media = "application/json" if "application/json" in content else next(iter(content))
    return f"{pointer}/content/{_escape(media)}/schema"


def validate_operation(
    method: str,
    path_template: str,
    status: int | str,
    body: Any,
    *,
    repaired: Repairs = True,
    lenient_nulls: bool = False,
) -> list[FieldError]:
    """The problems of ``body`` as the request (``status="request"``) or the reply with ``status`` of the
    operation ``method path_template`` (e.g. ``"POST", "/programs", 201``), as :func:`validate_body`."""
    key = _key(repaired)
    pointer = operation_schema_pointer(method, path_template, status, repaired=key)
    if lenient_nulls:
        body, _dropped = _drop_nulls(pointer, body, key)
    return _check(pointer, body, key)
