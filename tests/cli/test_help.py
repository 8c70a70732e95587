"""Every command explains itself with an example; the installed script runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from transactive.cli import main


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["convert", "--help"], ["certs", "--help"],
                                  ["certs", "create", "--help"], ["vtn", "serve", "--help"], ["ven", "run", "--help"]])
def test_help_shows_an_example_and_exit_codes(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out
    assert "exit codes" in out


def test_module_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "transactive.cli", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    assert result.stdout.startswith("transactive ")
