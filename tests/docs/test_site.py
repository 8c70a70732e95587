"""The documentation site builds with warnings as errors, and every internal link and anchor in it resolves.

The site is built once per session the way `make docs-build` builds it (`mkdocs build --strict`, a real process)
into a temporary directory; then every ``href``/``src`` of every page that stays inside the site is followed
offline: the file must exist and the fragment, if any, must be an ``id`` on the target page.
"""

from __future__ import annotations

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in ("id", "name") and (name == "id" or tag == "a"):
                self.ids.add(value)
            elif name in ("href", "src") and tag in ("a", "img", "link", "script"):
                self.links.append(value)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(ROOT / "mkdocs.yml"),
         "--site-dir", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return out


def _pages(site: Path) -> dict[Path, _Page]:
    pages = {}
    for path in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(path.read_text(encoding="utf-8"))
        pages[path] = parser
    return pages


def broken_links(site: Path) -> tuple[int, list[str]]:
    """How many internal links the pages of ``site`` hold, and those that lead nowhere."""
    pages = _pages(site)
    broken = []
    checked = 0
    for path, page in pages.items():
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue  # leaves the site: not checked (no network in the tests)
            if not parts.path:
                target = path
            elif parts.path.startswith("/"):  # 404.html links from the site's root
                target = site / unquote(parts.path).lstrip("/")
            else:
                target = (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            checked += 1
            if not target.exists():
                broken.append(f"{path.relative_to(site)}: {link}: no such file")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in pages[target].ids:
                broken.append(f"{path.relative_to(site)}: {link}: no anchor #{parts.fragment}")
    return checked, broken


def test_every_internal_link_and_anchor_resolves(site: Path) -> None:
    checked, broken = broken_links(site)
    assert checked > 1000
    assert not broken, "\n".join(broken[:50])


def test_the_link_check_finds_a_missing_page_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "a.html").write_text('<h1 id="top">A</h1><a href="b.html#there">b</a><a href="#top">up</a>'
                                     '<a href="c.html">c</a><a href="https://example.invalid/x">out</a>')
    (tmp_path / "b.html").write_text('<h2 id="here">B</h2><a href="a.html#top">a</a>')
    checked, broken = broken_links(tmp_path)
    assert checked == 4
    assert broken == ["a.html: b.html#there: no anchor #there", "a.html: c.html: no such file"]


def test_every_public_module_has_a_rendered_reference_page(site: Path) -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from gen_api_docs import public_modules
    finally:
        sys.path.remove(str(ROOT / "tools"))
    names = public_modules()
    assert "transactive.ven.client" in names
    assert "transactive.vtn.app" in names
    for name in names:
        html = (site / "reference" / f"{name}.html").read_text(encoding="utf-8")
        assert f'id="{name}"' in html or f"id=\"{name.replace('.', '')}\"" in html, name


def test_the_api_reference_shows_docstrings(site: Path) -> None:
    html = (site / "reference" / "transactive.ven.client.html").read_text(encoding="utf-8")
    assert 'id="transactive.ven.client.VenClient.register"' in html
