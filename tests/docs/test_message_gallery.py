"""The message gallery's Python blocks run as written, imports included, and build exactly the examples shown.

Each page of docs/messages/ (one per standard) is read as committed; every ```python block is run in a fresh
namespace (the block itself asserts the XML and JSON round trips), and the messages they build, page by page,
must be the examples of the round-trip tables, in order.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import all_examples

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "messages"
PAGES = sorted(p for p in GALLERY.glob("*.md") if p.name != "index.md")
BLOCK = re.compile(r"```python\n(.*?)```", flags=re.DOTALL)


def _run(page: Path) -> list[Any]:
    built = []
    for n, source in enumerate(BLOCK.findall(page.read_text(encoding="utf-8")), start=1):
        namespace: dict[str, Any] = {"__name__": f"gallery_{page.stem}_{n}"}
        exec(compile(source, f"{page.name}#block{n}", "exec"), namespace)
        built.append(namespace["message"])
    return built


def test_the_gallery_has_one_page_per_standard() -> None:
    assert {p.name for p in PAGES} == {"openadr20b.md", "cts.md", "wscalendar.md", "extensions.md"}


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_every_python_block_of_a_page_runs_and_builds_its_example(page: Path) -> None:
    built = _run(page)
    assert built
    prefix = {"openadr20b": "oadr", "cts": "pyld", "wscalendar": "xcal", "extensions": "tx"}[page.stem]
    expected = [m for m in all_examples() if (type(m).__tag__ or "").split(":")[0] == prefix]
    assert built == expected


def test_every_example_is_in_the_gallery() -> None:
    built = [m for page in PAGES for m in _run(page)]
    assert len(built) == len(all_examples())
