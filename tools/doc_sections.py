"""Generated sections of hand-written pages: the text between a begin and an end marker is made from the code.

A generator gives :func:`main` the page, its markers and a function that makes the section; ``--check``
exits 1 when the committed page differs (tests/test_docs_in_sync.py runs the same comparison).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

__all__ = ["main", "main_pages", "pages_in", "replace_section"]


def replace_section(current: str, begin: str, end: str, section: str, target: Path) -> str:
    """``current`` with the text from ``begin`` to ``end`` (both kept) replaced by ``section``."""
    head, found, rest = current.partition(begin)
    if not found:
        raise SystemExit(f"{target}: no marker {begin!r}")
    _old, found, tail = rest.partition(end)
    if not found:
        raise SystemExit(f"{target}: the generated section has no end marker {end!r}")
    return head + section + tail


def main(target: Path, render: Callable[[str], str], description: str | None, script: str) -> int:
    """Rewrite ``target`` with ``render`` (or, with ``--check``, exit 1 when it is out of date)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {target.name} is out of date")
    args = parser.parse_args()
    current = target.read_text(encoding="utf-8")
    expected = render(current)
    if args.check:
        if expected != current:
            print(f"{target} is stale: run python tools/{script}", file=sys.stderr)
            return 1
        return 0
    target.write_text(expected, encoding="utf-8")
    return 0


def pages_in(target: Path) -> dict[str, str]:
    """The committed Markdown pages of a generated directory, by file name."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(target.glob("*.md"))} if target.exists() else {}


def main_pages(target: Path, render: Callable[[], dict[str, str]], description: str | None, script: str) -> int:
    """Rewrite the generated directory ``target`` with ``render()`` (pages no longer made are removed), or,
    with ``--check``, exit 1 when it is out of date."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if {target.name}/ is out of date")
    args = parser.parse_args()
    pages = render()
    current = pages_in(target)
    if args.check:
        if current != pages:
            print(f"{target}/ is out of date: run python tools/{script}", file=sys.stderr)
            return 1
        return 0
    target.mkdir(parents=True, exist_ok=True)
    for stale in set(current) - set(pages):
        (target / stale).unlink()
    for name, text in pages.items():
        (target / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages in {target}")
    return 0
