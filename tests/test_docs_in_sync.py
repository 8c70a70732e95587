"""docs/messages.md is generated from the example tables; it must match what the code produces now."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_message_reference_matches_the_code() -> None:
    spec = importlib.util.spec_from_file_location("gen_message_docs", ROOT / "tools" / "gen_message_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.render()
    current = (ROOT / "docs" / "messages.md").read_text()
    assert current == expected, "docs/messages.md is stale: run python tools/gen_message_docs.py"


def test_conformance_catalogue_in_the_docs_matches_the_suites() -> None:
    spec = importlib.util.spec_from_file_location("gen_conformance_docs", ROOT / "tools" / "gen_conformance_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    assert current == module.render(current), "docs/conformance.md is stale: run python tools/gen_conformance_docs.py"


def test_personality_catalogue_in_the_docs_matches_the_registry() -> None:
    spec = importlib.util.spec_from_file_location("gen_personality_docs", ROOT / "tools" / "gen_personality_docs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    current = (ROOT / "docs" / "personalities.md").read_text(encoding="utf-8")
    expected = module.render(current)
    assert current == expected, "docs/personalities.md is stale: run python tools/gen_personality_docs.py"
