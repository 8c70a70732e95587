"""``validate`` never calls valid what ``convert`` (the decoder, as the VTN reads it) refuses: a schema-valid
tender with a duration of 10^20 hours is invalid, with the decoder's reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from transactive import encode_xml
from transactive.cli import main
from transactive.ei.cts.examples import examples
from transactive.ei.cts.tender import EiCreateTender


def _tender_with_a_huge_duration(tmp_path: Path) -> Path:
    tender = next(m for m in examples() if isinstance(m, EiCreateTender))
    xml = encode_xml(tender).decode()
    start = xml.index("<xcal:duration>") + len("<xcal:duration>")
    end = xml.index("</xcal:duration>", start)
    path = tmp_path / "tender.xml"
    path.write_text(xml[:start] + "PT100000000000000000000H" + xml[end:])
    return path


def test_validate_reports_what_the_decoder_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _tender_with_a_huge_duration(tmp_path)
    assert main(["convert", str(path), "--to", "json"]) == 1
    assert "longer than 999,999,999 days" in capsys.readouterr().err
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{path}: invalid (Common Transactive Services")
    assert "xcal:duration: the decoder refuses it: " in out
    assert "longer than 999,999,999 days" in out


def test_what_convert_reads_validate_calls_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "tender.xml"
    path.write_bytes(encode_xml(next(m for m in examples() if isinstance(m, EiCreateTender))))
    assert main(["convert", str(path), "--to", "json"]) == 0
    assert main(["validate", str(path)]) == 0
    assert ": valid (Common Transactive Services" in capsys.readouterr().out
