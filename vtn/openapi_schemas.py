"""JSON Schemas (OpenAPI 3.1, JSON Schema 2020-12) of the CTS payloads in the JSON binding, generated from the
same plans the JSON codec walks (:func:`transactive.codec.plan.plan_for`), so a schema says what the encoder
writes and the decoder reads: an element is an object whose keys are the prefixed child names, ``@name`` for an
attribute and ``$`` for the element's own text; a repeated element is an array; a wrapper is a nested object; a
choice is one key among its members' element names.

:class:`Schemas` collects one component per model class (named after the class; a second class of the same name
gets its module in front), and the documents (``{"pfx:message": {...}}``) that refer to them."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import AwareDatetime

from transactive.codec import encode_json, encode_xml
from transactive.codec.plan import Leaf, Node, _analyse, plan_for
from transactive.model import Model

__all__ = ["Schemas", "json_example", "xml_example"]

_REF = "#/components/schemas/"
#: a decimal: a JSON number when a double holds it exactly, else its text (see transactive.codec.json)
_DECIMAL = {"type": ["number", "string"], "pattern": r"^[+-]?(\d+(\.\d*)?|\.\d+)$",
            "description": "A decimal: a number, or its text where a double would round it."}


def _scalar(tp: Any) -> dict[str, Any]:
    """The JSON Schema of one scalar value, as the JSON encoder writes it."""
    if tp is bool:
        return {"type": "boolean"}
    if tp is str:
        return {"type": "string"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is Decimal:
        return dict(_DECIMAL)
    if tp is datetime or tp is AwareDatetime:
        return {"type": "string", "format": "date-time"}
    if tp is timedelta:
        return {"type": "string", "pattern": r"^-?P", "description": "An ISO 8601 duration (PT15M)."}
    if tp is date:
        return {"type": "string", "format": "date"}
    if tp is time:
        return {"type": "string", "format": "time"}
    if isinstance(tp, type) and issubclass(tp, Enum):
        return {"enum": [member.value for member in tp]}
    raise TypeError(f"no JSON Schema for scalar type {tp!r}")


def _leaf_scalar_type(leaf: Leaf, cls: type[Model]) -> Any:
    if leaf.scalar is not None:
        return leaf.scalar
    return _analyse(cls.model_fields[leaf.name].annotation)[1][0]


class Schemas:
    """The components of the payloads referred to so far (:attr:`components`, name -> schema)."""

    def __init__(self) -> None:
        self.components: dict[str, dict[str, Any]] = {}
        self._names: dict[type[Model], str] = {}

    def ref(self, cls: type[Model]) -> dict[str, Any]:
        """A reference to the schema of ``cls``'s element content (built on first use)."""
        name = self._names.get(cls)
        if name is None:
            name = cls.__name__
            if name in self.components:
                name = f"{cls.__module__.removeprefix('transactive.')}.{cls.__name__}"
            self._names[cls] = name
            self.components[name] = {}  # a placeholder: recursive models refer to themselves
            self.components[name] = self._model(cls)
        return {"$ref": _REF + name}

    def document(self, cls: type[Model]) -> dict[str, Any]:
        """The schema of a whole JSON document of message ``cls``: ``{"<prefix>:<message>": {...}}``."""
        tag = str(cls.__tag__)
        return {"type": "object", "required": [tag], "properties": {tag: self.ref(cls)},
                "additionalProperties": False, "title": tag}

    def documents(self, classes: list[type[Model]]) -> dict[str, Any]:
        """One document of any of ``classes``."""
        if len(classes) == 1:
            return self.document(classes[0])
        return {"oneOf": [self.document(cls) for cls in classes]}

    def _model(self, cls: type[Model]) -> dict[str, Any]:
        plan = plan_for(cls)
        properties: dict[str, Any] = {}
        required: list[str] = []
        for leaf in plan.attrs:
            properties["@" + leaf.qname] = _scalar(_leaf_scalar_type(leaf, cls))
            if not leaf.optional:
                required.append("@" + leaf.qname)
        if plan.text is not None:
            properties["$"] = _scalar(_leaf_scalar_type(plan.text, cls))
            if not plan.text.optional:
                required.append("$")
        node = self._node(plan.root)
        properties.update(node["properties"])
        required += node.get("required", [])
        schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
        if required:
            schema["required"] = required
        if cls.__doc__:
            schema["description"] = " ".join(cls.__doc__.split()).split(". ")[0].rstrip(".") + "."
        return schema

    def _node(self, node: Node) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for item in node.children:
            if isinstance(item, Node):
                inner = self._node(item)
                properties[item.qname] = {"type": "object", "additionalProperties": False, **inner}
                if inner.get("required"):
                    required.append(item.qname)
                continue
            if item.kind == "scalar":
                one = _scalar(item.scalar)
                names = {item.qname: one}
            elif item.kind == "model":
                assert item.model is not None
                names = {item.qname: self.ref(item.model)}
            else:  # a choice: each member under its own element name
                names = {qname: self.ref(member) for qname, member in item.json_choices.items()}
            for qname, one in names.items():
                properties[qname] = {"type": "array", "items": one} if item.repeated else one
            if not item.optional and not item.repeated and item.kind != "choice":
                required.append(item.qname)
        out: dict[str, Any] = {"properties": properties}
        if required:
            out["required"] = required
        return out


def json_example(message: Model) -> dict[str, Any]:
    """An OpenAPI example object: ``message`` in the JSON binding."""
    import json

    return {"summary": str(message.__tag__), "value": json.loads(encode_json(message))}


def xml_example(message: Model) -> dict[str, Any]:
    """An OpenAPI example object: ``message`` as an XML document."""
    return {"summary": str(message.__tag__), "value": encode_xml(message).decode()}
