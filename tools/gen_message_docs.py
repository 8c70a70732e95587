"""Generate the message gallery, docs/messages/: every example message as Python, XML and JSON, side by side.

One page per standard (OpenADR 2.0b, CTS, WS-Calendar, this project's extensions) and an index. The pages are
made from the same ``examples()`` tables the round-trip tests run, so they cannot drift:
tests/test_docs_in_sync.py regenerates them and fails when a committed page differs. Every Python block carries
its imports and runs as written (tests/docs/test_message_gallery.py runs each one and compares the message it
builds with the example it shows).

    python tools/gen_message_docs.py            # rewrite docs/messages/
    python tools/gen_message_docs.py --check    # exit 1 if it is out of date
"""

from __future__ import annotations

import importlib
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import all_examples  # noqa: E402
from tools.doc_sections import main_pages, pages_in  # noqa: E402
from transactive.codec import encode_json, encode_xml  # noqa: E402
from transactive.model import Model, format_duration  # noqa: E402

TARGET = ROOT / "docs" / "messages"


class Standard(NamedTuple):
    page: str
    title: str
    prefix: str  # the XML prefix of its root elements
    about: str


STANDARDS = (
    Standard("openadr20b.md", "OpenADR 2.0b", "oadr",
             "The 23 messages of the OpenADR 2.0b profile (`transactive.ei.oadr`): registration, events, opts, "
             "reports and polls. On the wire they travel inside `oadrPayload/oadrSignedObject`; the JSON form "
             "carries the message alone."),
    Standard("cts.md", "CTS (Energy Interoperation)", "pyld",
             "The Common Transactive Services, CTS rev 0.4 (`transactive.ei.cts`): party registration, market "
             "context, quotes, tenders, transactions and delivery. Their products are EMIX (`transactive.emix`): "
             "each tender, quote and transaction below holds an `emix:product` with its WS-Calendar intervals."),
    Standard("wscalendar.md", "WS-Calendar", "xcal",
             "WS-Calendar documents (`transactive.calendar`): the xCal (RFC 6321) form and WS-Calendar-MIN."),
    Standard("extensions.md", "Extensions", "tx",
             "This project's extension payloads (`transactive.ei.ext`, namespace `urn:transactive:ext:2026`), "
             "for what the standards leave out."),
)


class _Imports:
    """What a rendered example needs imported: module -> names."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}

    def add(self, module: str, name: str) -> None:
        self.names.setdefault(module, set()).add(name)

    def lines(self) -> list[str]:
        std = [m for m in self.names if not m.startswith("transactive")]
        ours = [m for m in self.names if m.startswith("transactive")]
        out = [f"from {m} import {', '.join(sorted(self.names[m]))}" for m in sorted(std)]
        if out:
            out.append("")
        out += [f"from {m} import {', '.join(sorted(self.names[m]))}" for m in sorted(ours)]
        return out


def public_home(cls: type) -> str:
    """The shortest module path a class can be imported from (``transactive.ei.oadr``, not its private file)."""
    parts = cls.__module__.split(".")
    for n in range(1, len(parts) + 1):
        module = importlib.import_module(".".join(parts[:n]))
        if getattr(module, cls.__name__, None) is cls:
            return module.__name__
    return cls.__module__


def python_form(value: Any, imports: _Imports, indent: int = 0) -> str:
    """A constructor-like rendering of a model, listing only fields that differ from their defaults."""
    pad = "    " * (indent + 1)
    if isinstance(value, Model):
        cls = type(value)
        imports.add(public_home(cls), cls.__name__)
        parts = []
        for name, info in cls.model_fields.items():
            v = getattr(value, name)
            if not info.is_required() and v == info.default:
                continue
            parts.append(f"{pad}{name}={python_form(v, imports, indent + 1)},")
        if not parts:
            return f"{cls.__name__}()"
        return f"{cls.__name__}(\n" + "\n".join(parts) + "\n" + "    " * indent + ")"
    if isinstance(value, tuple):
        if not value:
            return "()"
        items = [f"{pad}{python_form(v, imports, indent + 1)}," for v in value]
        return "(\n" + "\n".join(items) + "\n" + "    " * indent + ")"
    if isinstance(value, Enum):
        imports.add(public_home(type(value)), type(value).__name__)
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, datetime):
        imports.add("datetime", "datetime")
        return f"datetime.fromisoformat({value.isoformat()!r})"
    if isinstance(value, timedelta):
        imports.add("transactive.model", "parse_duration")
        return f"parse_duration({format_duration(value)!r})"
    if isinstance(value, Decimal):
        imports.add("decimal", "Decimal")
        return f"Decimal({str(value)!r})"
    return repr(value)


def python_block(message: Model) -> str:
    """The example as a runnable script: its imports, the message, and the round trip through both formats."""
    imports = _Imports()
    body = python_form(message, imports)
    for name in ("decode_json", "decode_xml", "encode_json", "encode_xml"):
        imports.add("transactive", name)
    return "\n".join([
        *imports.lines(),
        "",
        f"message = {body}",
        "",
        "assert decode_xml(encode_xml(message)) == message",
        "assert decode_json(encode_json(message)) == message",
    ])


def standard_of(message: Model) -> Standard:
    prefix = (type(message).__tag__ or "").split(":")[0]
    for standard in STANDARDS:
        if standard.prefix == prefix:
            return standard
    raise ValueError(f"{type(message).__name__}: no gallery page for the prefix {prefix!r}")


def _page(standard: Standard, messages: list[Model]) -> str:
    out = [
        f"# Messages: {standard.title}",
        "",
        standard.about,
        "",
        "Generated by `tools/gen_message_docs.py` from the `examples()` tables that the round-trip tests run;",
        "do not edit by hand. Each Python block runs as written (a test runs every one); every XML shown",
        "validates against its shipped schema, and decoding either form gives back exactly the Python object",
        "shown (`decode(encode(m)) == m`). The other standards: [the gallery's index](index.md).",
        "",
    ]
    seen: set[str] = set()
    for message in messages:
        cls = type(message)
        anchor = cls.__tag__ or cls.__name__
        heading = anchor if anchor not in seen else f"{anchor} (another example)"
        seen.add(anchor)
        xml = etree.tostring(etree.fromstring(encode_xml(message)), pretty_print=True).decode()
        doc = f" — {cls.__doc__.strip().splitlines()[0]}" if cls.__doc__ else ""
        out += [
            f"## {heading}",
            "",
            f"`{public_home(cls)}.{cls.__name__}`{doc}",
            "",
            "```python",
            python_block(message),
            "```",
            "",
            "```xml",
            xml.rstrip(),
            "```",
            "",
            "```json",
            encode_json(message, pretty=True).decode(),
            "```",
            "",
        ]
    return "\n".join(out)


def _index(groups: dict[Standard, list[Model]]) -> str:
    out = [
        "# Messages",
        "",
        "Every message type the library builds, as Python, XML and JSON side by side, one page per standard.",
        "Each example is a complete script (imports included) that builds the message and round-trips it through",
        "both wire formats; copy one to start from a valid document.",
        "",
        "| standard | messages | examples |",
        "|---|---|---|",
    ]
    for standard, messages in groups.items():
        kinds = len({type(m) for m in messages})
        out.append(f"| [{standard.title}]({standard.page}) | {kinds} | {len(messages)} |")
    out += [
        "",
        "EMIX products and WS-Calendar intervals have no message of their own in Energy Interoperation: they",
        "appear inside the [CTS](cts.md) tenders, quotes and transactions.",
        "",
    ]
    return "\n".join(out)


def render() -> dict[str, str]:
    """The gallery's pages by file name."""
    groups: dict[Standard, list[Model]] = {standard: [] for standard in STANDARDS}
    for message in all_examples():
        groups[standard_of(message)].append(message)
    pages = {standard.page: _page(standard, messages) for standard, messages in groups.items()}
    pages["index.md"] = _index(groups)
    return pages


def current() -> dict[str, str]:
    """The committed pages by file name."""
    return pages_in(TARGET)


if __name__ == "__main__":
    raise SystemExit(main_pages(TARGET, render, __doc__, "gen_message_docs.py"))
