"""The JSON plan interpreter: the reference the generated JSON decoders are held to.

It walks a class's plan for every object (a dictionary lookup and a branch per key), which is plain to read
and slow; :func:`transactive.codec.gen_json.json_decoder_of` writes the same decisions out as straight-line
code. ``tests/codec/test_json_decoder_generated.py`` checks that both return equal field dicts, or raise the
same error, for the same document. The simple-value check (``scalar_value``) and the errors are the
library's own: both sides share them.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from transactive.codec.errors import field_errors
from transactive.codec.json_values import MAX_JSON_DEPTH, path_error, scalar_value
from transactive.codec.plan import Leaf, Node, Plan, plan_for
from transactive.errors import InvalidMessageError, MalformedDocumentError

__all__ = ["decode", "decode_into"]


def decode(plan: Plan, body: Any, path: str, depth: int) -> dict[str, Any]:
    if depth > MAX_JSON_DEPTH:
        raise MalformedDocumentError(f"JSON nests deeper than {MAX_JSON_DEPTH} levels")
    if not isinstance(body, dict):
        if plan.text is not None and not plan.attrs and not plan.root.children:
            body = {"$": body}
        else:
            raise path_error(path, f"expected an object, got {type(body).__name__}")
    fields: dict[str, Any] = {}
    decode_into(plan, plan.root, body, fields, path, depth)
    return fields


def decode_into(
    plan: Plan | None, node: Node, body: dict[str, Any], fields: dict[str, Any], path: str, depth: int
) -> None:
    # paths are built only when they are needed (an error, a nested object): most keys need none
    for key, value in body.items():
        if plan is not None and key[:1] == "@":
            attr = key[1:]
            leaf = next((a for a in plan.attrs if a.qname == attr), None)
            if leaf is not None:
                fields[leaf.name] = scalar_value(leaf, value, path, key)
            elif not (attr.startswith("xmlns") or attr.startswith("xsi:")):
                raise path_error(f"{path}/{key}", "attribute is not allowed here")
            continue
        if plan is not None and key == "$":
            if plan.text is None:
                raise path_error(f"{path}/{key}", "this element has no text content")
            fields[plan.text.name] = scalar_value(plan.text, value, path, key)
            continue
        item = node.by_json.get(key)
        if item is None:
            raise path_error(f"{path}/{key}", "field is not allowed here")
        if item.is_node:
            assert isinstance(item, Node)
            if not isinstance(value, dict):
                raise path_error(f"{path}/{key}", f"expected an object, got {type(value).__name__}")
            decode_into(None, item, value, fields, f"{path}/{key}", depth + 1)
            continue
        assert isinstance(item, Leaf)
        if item.kind == "scalar" and not item.repeated:
            if isinstance(value, list):
                raise path_error(f"{path}/{key}", "may appear only once here (got an array)")
            if item.name in fields:
                raise path_error(f"{path}/{key}", "may appear only once here")
            fields[item.name] = scalar_value(item, value, path, key)
            continue
        values = value if isinstance(value, list) else [value]
        if not item.repeated and isinstance(value, list):
            raise path_error(f"{path}/{key}", "may appear only once here (got an array)")
        decoded = []
        for n, v in enumerate(values):
            if item.kind == "scalar":  # repeated (a single scalar was handled above)
                decoded.append(scalar_value(item, v, path, f"{key}[{n + 1}]"))
                continue
            p = f"{path}/{key}[{n + 1}]" if item.repeated else f"{path}/{key}"
            if item.kind == "model":
                assert item.model is not None
                decoded.append(decode(plan_for(item.model), v, p, depth + 1))
            else:
                member = item.json_choices[key]
                sub = decode(plan_for(member), v, p, depth + 1)
                try:
                    decoded.append(member.__pydantic_validator__.validate_python(sub))
                except ValidationError as exc:
                    errors = field_errors(member, exc, p)
                    raise InvalidMessageError(f"invalid {key}: {errors[0] if errors else exc}",
                                              errors=errors) from None
        if item.repeated:
            fields.setdefault(item.name, []).extend(decoded)
        elif item.name in fields:
            raise path_error(f"{path}/{key}", "may appear only once here")
        else:
            fields[item.name] = decoded[0]
