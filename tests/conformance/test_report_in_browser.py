"""The example HTML report in docs/, opened in a real browser (headless Chromium, installed by ``make test``
through interop/chromium/install.sh): it renders on its own (no script, nothing fetched), failures come first,
the verdict banner shows, and the screenshot is kept in build/test-artifacts/ for a person to look at."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
from lxml import html as lxml_html
from PIL import Image

from tests.browser import chromium

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "conformance-example.html"
ARTIFACTS = ROOT / "build" / "test-artifacts"
FAIL_RED = (0xB3, 0x26, 0x1E)


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", *args, EXAMPLE.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_the_example_report_renders_failures_first_in_a_browser(tmp_path: Path) -> None:
    dom = _browser(tmp_path, "--dump-dom")
    assert dom.returncode == 0, dom.stderr
    page = lxml_html.fromstring(dom.stdout)
    sections = page.xpath("//section[contains(@class, 'case')]")
    rows = page.xpath("//table/tbody/tr")
    assert sections
    assert len(rows) == len(sections)
    ranks = [{"fail": 0, "skip": 1, "pass": 2}[s.get("class").split()[1]] for s in sections]
    assert ranks == sorted(ranks)
    assert 0 in ranks, "the example is a run with findings: it must show failures"
    for section in sections:
        if "fail" in section.get("class"):
            assert section.xpath(".//div[@class='broken']"), section.get("id")
            assert all(d.get("open") is not None for d in section.xpath(".//details")), section.get("id")


def test_a_screenshot_of_the_example_report_shows_the_verdict(tmp_path: Path) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "conformance-example.png"
    shot.unlink(missing_ok=True)
    done = _browser(tmp_path, "--window-size=1280,1800", f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr
    with Image.open(shot) as image:
        rgb = image.convert("RGB")
        assert rgb.size == (1280, 1800)
        pixels = np.asarray(rgb, dtype=np.int16)
    top = pixels[:260]
    reds = int((np.abs(top - np.array(FAIL_RED, dtype=np.int16)).max(axis=2) <= 8).sum())
    assert reds > 5_000, "the red verdict banner is not at the top of the page"
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50, "the page looks blank"
