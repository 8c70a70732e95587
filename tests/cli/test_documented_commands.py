"""Every command the project documents runs: each target ``make help`` lists exists and its recipe runs (the
quick ones here; ``make demo`` in tests/test_examples.py with a short day, ``make test`` is this suite), and
every offline example of ``transactive --help`` runs as printed, on the files ``make demo-messages`` writes."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from transactive.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
MAKEFILE = (ROOT / "Makefile").read_text()


def _help_targets() -> list[str]:
    recipe = MAKEFILE.split("\nhelp:\n", 1)[1].split("\n\n", 1)[0]
    return re.findall(r'@echo "make ([a-z-]+)', recipe)


def _recipe(target: str) -> list[str]:
    match = re.search(rf"^{re.escape(target)}:[^\n]*\n((?:\t[^\n]*\n?)*)", MAKEFILE, re.MULTILINE)
    assert match, f"make help lists {target!r}, the Makefile has no such target"
    return [line.strip() for line in match.group(1).splitlines()]


def _python(line: str) -> list[str]:
    """A recipe line run by the interpreter of this test ($(BIN)/python, $(BIN)/transactive)."""
    words = shlex.split(line)
    if words[0] == "$(BIN)/python":
        return [sys.executable, *words[1:]]
    assert words[0] == "$(BIN)/transactive", line
    return [sys.executable, "-m", "transactive", *words[1:]]


def test_make_help_lists_the_documented_targets_and_each_exists() -> None:
    targets = _help_targets()
    assert {"demo", "demo-messages", "paper", "test", "bench", "install"} <= set(targets)
    for target in targets:
        _recipe(target)


def run(argv: list[str], cwd: Path = ROOT, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{shlex.join(argv)}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


def test_make_demo_messages_runs_its_recipe(tmp_path: Path) -> None:
    (line,) = _recipe("demo-messages")
    out = run([*_python(line), "--out", str(tmp_path)]).stdout
    assert "both valid and round-tripping: True" in out
    assert {p.name for p in tmp_path.iterdir()} >= {"tender.xml", "tender.json", "event.xml", "event.json"}


@pytest.mark.slow
def test_make_paper_runs_its_recipe(tmp_path: Path) -> None:
    (line,) = _recipe("paper")
    argv = _python(line.replace("out/paper-iota", str(tmp_path / "plots")))
    out = run([*argv, "--seeds", "1"]).stdout
    assert "All" in out
    assert any((tmp_path / "plots").iterdir())


def _epilog_examples() -> list[str]:
    """The commands of ``transactive --help``'s examples (a continued line is the description, not a command)."""
    lines = build_parser().epilog.split("examples:\n", 1)[1].split("\n\n", 1)[0].splitlines()  # type: ignore[union-attr]
    return [re.split(r"\s{2,}", line.strip())[0] for line in lines if line.startswith("  transactive ")]


#: examples that need a live VTN or a network, and where they run instead
NEEDS_A_NETWORK = {
    "vtn serve": "tests/vtn (vtn serve processes)",
    "ven run": "tests/ven/test_cli.py and tests/test_examples.py",
    "discover": "tests/discovery (real multicast)",
    "conformance probe": "tests/conformance against vtn serve",
    "community report": "tests/community/test_cli.py (needs a community's data directory)",
}


def test_the_top_level_help_lists_the_examples_this_test_knows() -> None:
    examples = _epilog_examples()
    assert len(examples) >= 12
    offline = [e for e in examples if not any(e.startswith(f"transactive {k}") for k in NEEDS_A_NETWORK)]
    assert len(offline) >= 8


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding what the examples name: out/ from ``make demo-messages``, orders.csv, a ledger."""
    d = tmp_path_factory.mktemp("examples")
    run([sys.executable, str(ROOT / "examples" / "foundation_demo.py"), "--out", str(d / "out")])
    (d / "orders.csv").write_text("side,price,quantity\nbuy,0.30,2\nbuy,0.25,1\nsell,0.10,1.5\nsell,0.20,2\n")
    run([sys.executable, "-m", "transactive", "ledger", "bench", "--entries", "20", "--path",
         str(d / "settlement.ledger")], cwd=d)
    (d / "transactive" / "simulate").mkdir(parents=True)
    (d / "transactive" / "simulate" / "paper_iota_week.csv").symlink_to(
        ROOT / "transactive" / "simulate" / "paper_iota_week.csv")
    return d


@pytest.mark.parametrize("example", [e for e in _epilog_examples()
                                     if not any(e.startswith(f"transactive {k}") for k in NEEDS_A_NETWORK)])
def test_each_offline_example_of_the_top_level_help_runs_as_printed(example: str, workdir: Path) -> None:
    argv = shlex.split(example)
    expanded: list[str] = []
    for word in argv[1:]:
        matches = sorted(str(p.relative_to(workdir)) for p in workdir.glob(word)) if "*" in word else []
        expanded += matches or [word]
    result = run([sys.executable, "-m", "transactive", *expanded], cwd=workdir)
    assert result.stdout.strip()
