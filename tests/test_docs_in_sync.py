"""The generated documentation pages (or their generated sections) must match what the code produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def _generator(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_message_gallery_matches_the_code() -> None:
    generator = _generator("gen_message_docs")
    assert generator.current() == generator.render(), "docs/messages/ is stale: run python tools/gen_message_docs.py"


def test_api_reference_has_a_page_for_every_public_module() -> None:
    generator = _generator("gen_api_docs")
    expected = generator.render()
    current = {p.name: p.read_text(encoding="utf-8") for p in (ROOT / "docs" / "reference").glob("*.md")}
    assert current == expected, "docs/reference/ is stale: run python tools/gen_api_docs.py"


def test_conformance_catalogue_in_the_docs_matches_the_suites() -> None:
    current = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    expected = _generator("gen_conformance_docs").render(current)
    assert current == expected, "docs/conformance.md is stale: run python tools/gen_conformance_docs.py"


def test_personality_catalogue_in_the_docs_matches_the_registry() -> None:
    current = (ROOT / "docs" / "personalities.md").read_text(encoding="utf-8")
    expected = _generator("gen_personality_docs").render(current)
    assert current == expected, "docs/personalities.md is stale: run python tools/gen_personality_docs.py"


def test_paper_reproduction_results_in_the_docs_match_a_run() -> None:
    """docs/paper-iota.md: the results, the paper's findings checked, and the sensitivity table (about 11 s)."""
    current = (ROOT / "docs" / "paper-iota.md").read_text(encoding="utf-8")
    expected = _generator("gen_paper_docs").render(current)
    assert current == expected, "docs/paper-iota.md is stale: run python tools/gen_paper_docs.py"
    for name in ("fig09_net_production", "fig11_producers_benefit", "fig12_consumers_benefit",
                 "fig13_total_benefit", "fig14_main_grid", "prices_all"):
        assert f"(img/paper-iota/{name}.png)" in current
        assert (ROOT / "docs" / "img" / "paper-iota" / f"{name}.png").stat().st_size > 10_000
