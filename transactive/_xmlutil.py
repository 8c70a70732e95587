"""Tiny typed helpers around lxml used by the codec and the schema validator."""

from __future__ import annotations

from typing import cast

from lxml import etree

__all__ = ["line_of"]


def line_of(element: etree._Element) -> int | None:
    """The source line of a parsed element (lxml's stubs do not type ``sourceline``)."""
    return cast("int | None", element.sourceline)
