"""The ``transactive convert`` contract: XML <-> JSON, same message, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import all_examples
from transactive.cli import main
from transactive.codec import decode, decode_json, decode_xml, encode_json, encode_xml


@pytest.mark.parametrize("message", all_examples(), ids=lambda m: type(m).__name__)
def test_convert_round_trips_every_example(message: object, tmp_path: Path) -> None:
    xml = tmp_path / "m.xml"
    xml.write_bytes(encode_xml(message))  # type: ignore[arg-type]
    as_json = tmp_path / "m.json"
    assert main(["convert", str(xml), "--to", "json", "-o", str(as_json)]) == 0
    assert decode_json(as_json.read_bytes()) == message
    back = tmp_path / "back.xml"
    assert main(["convert", str(as_json), "--to", "xml", "-o", str(back)]) == 0
    assert decode_xml(back.read_bytes()) == message


def test_convert_writes_to_stdout_without_output(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    message = all_examples()[0]
    src = tmp_path / "m.json"
    src.write_bytes(encode_json(message))
    assert main(["convert", str(src), "--to", "xml"]) == 0
    assert decode(capsysbinary.readouterr().out) == message


def test_convert_refuses_invalid_message_with_field_and_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    message = next(m for m in all_examples() if type(m).__module__.startswith("transactive.ei.oadr"))
    text = encode_xml(message).decode()
    start = text.index("<pyld:requestID>")
    end = text.index("</pyld:requestID>", start) + len("</pyld:requestID>")
    bad = tmp_path / "bad.xml"
    bad.write_text(text[:start] + text[end:])
    assert main(["convert", str(bad), "--to", "json"]) == 1
    err = capsys.readouterr().err
    assert "[454]" in err
    assert "pyld:requestID: required field is missing" in err


def test_convert_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tmp_path / "nope.xml"), "--to", "json"]) == 2
    assert "no such file" in capsys.readouterr().err


def test_convert_requires_target_format() -> None:
    with pytest.raises(SystemExit) as info:
        main(["convert", "x.xml"])
    assert info.value.code == 2
