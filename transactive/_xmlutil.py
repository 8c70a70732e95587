"""Tiny typed helpers around lxml used by the codec and the schema validator."""

from __future__ import annotations

from typing import cast

from lxml import etree

__all__ = ["element_path", "line_of", "pretty_name"]


def line_of(element: etree._Element) -> int | None:
    """The source line of a parsed element (lxml's stubs do not type ``sourceline``)."""
    return cast("int | None", element.sourceline)


def pretty_name(element: etree._Element) -> str:
    """``ei:interval`` — the element's name with the prefix the document used."""
    tag = element.tag if isinstance(element.tag, str) else "?"
    local = tag.rsplit("}", 1)[-1]
    return f"{element.prefix}:{local}" if element.prefix else local


def element_path(element: etree._Element) -> str:
    """``/oadr:oadrPayload/.../ei:interval[3]/xcal:duration``: where an element is (for error reports)."""
    parts = []
    el: etree._Element | None = element
    while el is not None:
        parent = el.getparent()
        name = pretty_name(el)
        if parent is not None:
            same = [c for c in parent if c.tag == el.tag]
            if len(same) > 1:
                name += f"[{same.index(el) + 1}]"
        parts.append(name)
        el = parent
    return "/" + "/".join(reversed(parts))
