"""The base every wire-level model shares: immutable pydantic models that know their XML shape.

A model field says where it lives in XML with ``Annotated[T, Xml("pfx:a/pfx:b")]``:

* ``"pfx:name"``          a child element holding the value (a scalar's text or a nested model's content);
* ``"pfx:a/pfx:b"``       the same, inside wrapper elements; fields that share a wrapper share one element;
* ``"pfx:a/*"`` or ``"*"`` a *choice* (an XSD substitution group or choice): the element's own name comes from
  the value's class (its ``__tag__``), so the value must be a model, or a union of models;
* ``"@name"``             an attribute; ``"."`` the element's own text (simple content with attributes).

A ``tuple[T, ...]`` field repeats its element. ``T | None = None`` makes it optional.
Prefixes are resolved against the model's :class:`Family`. The codecs in :mod:`transactive.codec` read
this metadata; nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from transactive.errors import FieldError, InvalidModelError

__all__ = ["Family", "Model", "Xml"]


@dataclass(frozen=True, slots=True)
class Xml:
    """Where a field lives in the XML (and, mirrored, in the JSON) form of its model."""

    path: str


class Family:
    """A set of namespace prefixes that belong together (one standard's schema set).

    The prefixes are the ones written in :class:`Xml` paths, used in emitted XML, and used as the
    keys of the JSON binding, so within a family each prefix names exactly one namespace.
    """

    __slots__ = ("name", "prefixes", "schema")

    def __init__(self, name: str, prefixes: dict[str, str], *, schema: str) -> None:
        uris = list(prefixes.values())
        if len(set(uris)) != len(uris):
            raise ValueError(f"family {name}: a namespace is bound to two prefixes")
        self.name = name
        self.prefixes = dict(prefixes)
        #: the schema set, by the key :mod:`transactive.schemas` knows it under
        self.schema = schema

    def clark(self, qname: str) -> str:
        """``'ei:eiTender'`` → ``'{http://...}eiTender'``; an unprefixed name stays unqualified."""
        if ":" not in qname:
            return qname
        prefix, local = qname.split(":", 1)
        try:
            return f"{{{self.prefixes[prefix]}}}{local}"
        except KeyError:
            raise ValueError(f"family {self.name}: unknown prefix {prefix!r} in {qname!r}") from None

    def __repr__(self) -> str:
        return f"Family({self.name!r})"


if TYPE_CHECKING:
    _PydanticMeta = type
else:
    _PydanticMeta = type(BaseModel)  # pydantic's model metaclass (not public API by name)


class _ModelMeta(_PydanticMeta):
    """Construction errors join the project's error tree: ``Model(...)`` with a bad field raises
    :class:`~transactive.errors.InvalidModelError` (a ``LocalProtocolError`` and a ``ValueError``).

    Only direct construction goes through here; decoding validates with ``model_validate`` and reports
    :class:`~transactive.errors.InvalidMessageError` with wire paths instead.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise _invalid_model(cls, exc) from None  # type: ignore[arg-type]


class Model(BaseModel, metaclass=_ModelMeta):  # type: ignore[metaclass]
    """Immutable, keyword-only, validated on construction; equal when all fields are equal."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_default=False,
        revalidate_instances="never",
    )

    #: the namespace family the field paths and ``__tag__`` are written in
    __family__: ClassVar[Family]
    #: the element name when this model stands as an element of its own (a message root, a choice member)
    __tag__: ClassVar[str | None] = None
    #: wrapper elements around a message root (e.g. OpenADR's oadrPayload/oadrSignedObject)
    __envelope__: ClassVar[tuple[str, ...]] = ()

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen (immutable): use .replace({name}=...) instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen (immutable)")

    def replace(self, **changes: Any) -> Any:
        """A validated copy with some fields changed (models are immutable)."""
        data = {name: getattr(self, name) for name in type(self).model_fields}
        data.update(changes)
        return type(self)(**data)


def _python_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        elif part[:1].isupper():  # pydantic names the union member it tried: not part of the path
            continue
        else:
            out += ("." if out else "") + part
    return out or "."


def _invalid_model(cls: type[Model], exc: ValidationError) -> InvalidModelError:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        message = err["msg"]
        if err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        errors.append(FieldError(_python_path(tuple(err["loc"])), message))
    first = errors[0] if errors else None
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidModelError(f"invalid {cls.__name__}: {first}{more}", errors=errors)
