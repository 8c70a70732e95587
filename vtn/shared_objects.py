"""Placeholder: replaced by the OpenADR roles' cross-process refresh (issue 14)."""

from __future__ import annotations

from typing import Any

__all__ = ["object_changed", "set_leader"]


def object_changed(oadr: Any, openadr3: Any, kind: str, key: str) -> None:
    """Bring this process's copy of the OpenADR object ``(kind, key)`` in line with the store."""


def set_leader(oadr: Any, openadr3: Any, leader: bool) -> None:
    """Whether this process runs the OpenADR roles' background work."""
