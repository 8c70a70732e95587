"""The user's view: build the wheel, install it into a clean virtual environment, use every part.

The repository keeps vtn/, ven/, interop/ and schemas/ beside transactive/ (linked into it); this test
proves the wheel carries them as ``transactive.vtn`` etc. with the XSDs as package data, and that the
installed ``transactive`` script works without the source tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("transactive-*.whl")
    env_dir = work / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True)
    return env_dir


def _run(env_dir: Path, *argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(list(argv), capture_output=True, text=True, cwd=cwd, env=env, check=False)


def test_wheel_imports_every_part_under_one_name(installed: Path, tmp_path: Path) -> None:
    code = (
        "import transactive, transactive.vtn, transactive.ven, transactive.interop, transactive.schemas\n"
        "import transactive.calendar, transactive.emix, transactive.ei.oadr, transactive.ei.cts\n"
        "from transactive.schemas import SCHEMA_SETS, lxml_schema, schema_path\n"
        "for key in SCHEMA_SETS: lxml_schema(key)\n"
        "from transactive.schemas import openadr3\n"
        "assert openadr3.spec()['info']['title'] == 'OpenADR 3 API'\n"
        "assert openadr3.validate_body('objectID', 'ven-1') == []\n"
        "print(transactive.__file__)\n"
        "print(schema_path('oadr20b'))\n"
    )
    result = _run(installed, str(installed / "bin" / "python"), "-c", code, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    package_file, schema_file = result.stdout.split()
    site = str(installed)
    assert package_file.startswith(site), "imported from the clean environment, not the source tree"
    assert schema_file.startswith(site)
    assert schema_file.endswith("transactive/xsd/oadr20b/oadr_20b.xsd")


def test_wheel_does_not_install_generic_top_level_names(installed: Path, tmp_path: Path) -> None:
    for name in ("vtn", "ven", "interop", "schemas"):
        result = _run(installed, str(installed / "bin" / "python"), "-c", f"import {name}", cwd=tmp_path)
        assert result.returncode != 0, f"the wheel must not install a top-level '{name}'"


def test_installed_script_help_and_validate(installed: Path, tmp_path: Path) -> None:
    script = str(installed / "bin" / "transactive")
    result = _run(installed, script, "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "validate" in result.stdout
    assert "convert" in result.stdout
    doc = tmp_path / "event.xml"
    from tests.conftest import all_examples
    from transactive.codec import encode_xml

    doc.write_bytes(encode_xml(all_examples()[0]))
    result = _run(installed, script, "validate", "--json", str(doc), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert '"valid": true' in result.stdout
