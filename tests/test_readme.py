"""The README is what a user needs, and it matches the code: its Python examples run as written, every file it
links to exists, it has a quick start for each kind of user, and it names the two commands CI and outside checks
rely on (`make demo`, `make test`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, flags=re.DOTALL)


def test_readme_has_python_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{n}" for n in range(1, len(BLOCKS) + 1)])
def test_readme_python_block_runs(source: str) -> None:
    exec(compile(source, str(README), "exec"), {"__name__": "readme"})


def test_readme_names_the_two_commands() -> None:
    assert "make demo" in TEXT
    assert "make test" in TEXT
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for target in ("demo", "test", "docs", "paper"):
        assert re.search(rf"(?m)^{target}:", makefile), target


def test_readme_names_every_command_of_make_help() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    helped = re.findall(r'@echo "(make [\w-]+)', makefile)
    assert len(helped) >= 6
    missing = [command for command in helped if f"`{command}`" not in TEXT and f"{command} " not in TEXT]
    assert not missing


def test_readme_has_a_quick_start_for_each_kind_of_user() -> None:
    headings = re.findall(r"(?m)^### (.+)$", TEXT.split("## Quick start", 1)[1])
    for user in ("Library", "VTN operator", "Device vendor", "Tester", "Researcher"):
        assert any(h.startswith(user) for h in headings), user


def test_every_file_the_readme_links_to_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT)
    local = [link for link in links if "://" not in link]
    assert len(local) > 10
    missing = [link for link in local if not (ROOT / link).exists()]
    assert not missing


def test_packaging_internals_live_in_the_contributor_page() -> None:
    assert "symbolic" not in TEXT
    contributing = (ROOT / "docs" / "contributing.md").read_text(encoding="utf-8")
    assert "## Layout and packaging" in contributing
    assert "symbolic" in contributing
