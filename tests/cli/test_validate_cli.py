"""The ``transactive validate`` contract: exit codes, text report, JSON report keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import all_examples
from transactive.cli import main
from transactive.codec import encode_json, encode_xml


@pytest.fixture
def docs(tmp_path: Path) -> dict[str, Path]:
    examples = all_examples()
    assert examples, "the message packages provide examples"
    oadr = next(m for m in examples if type(m).__module__.startswith("transactive.ei.oadr"))
    good_xml = tmp_path / "good.xml"
    good_xml.write_bytes(encode_xml(oadr))
    good_json = tmp_path / "good.json"
    good_json.write_bytes(encode_json(oadr))
    # drop the required requestID element: schema-invalid, still well-formed
    bad = tmp_path / "bad.xml"
    text = encode_xml(oadr).decode()
    start = text.index("<pyld:requestID>")
    end = text.index("</pyld:requestID>", start) + len("</pyld:requestID>")
    bad.write_text(text[:start] + text[end:])
    broken = tmp_path / "broken.xml"
    broken.write_text(text[: len(text) // 2])
    foreign = tmp_path / "foreign.xml"
    foreign.write_text('<root xmlns="urn:example:not-a-standard"/>')
    return {"good_xml": good_xml, "good_json": good_json, "bad": bad, "broken": broken, "foreign": foreign}


def test_all_valid_documents_exit_0(docs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(docs["good_xml"]), str(docs["good_json"])]) == 0
    out = capsys.readouterr().out
    assert f"{docs['good_xml']}: valid (OpenADR 2.0b)" in out
    assert f"{docs['good_json']}: valid (OpenADR 2.0b)" in out


def test_any_invalid_document_exits_1_and_names_line_and_element(
    docs: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(docs["good_xml"]), str(docs["bad"])]) == 1
    out = capsys.readouterr().out
    assert f"{docs['bad']}: invalid (OpenADR 2.0b)" in out
    error_line = next(line for line in out.splitlines() if line.startswith("  line "))
    assert "oadr:oadrPayload/oadr:oadrSignedObject/" in error_line
    assert "requestID" in error_line


def test_unreadable_file_exits_2_even_when_others_are_invalid(
    docs: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(docs["bad"]), str(tmp_path / "missing.xml")]) == 2
    assert "missing.xml: no such file" in capsys.readouterr().err
    assert main(["validate", str(tmp_path)]) == 2


def test_json_report_has_the_contract_keys(docs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--json", str(docs["good_xml"]), str(docs["bad"]), str(docs["broken"])])
    assert code == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["path"] for r in report] == [str(docs["good_xml"]), str(docs["bad"]), str(docs["broken"])]
    for entry in report:
        assert set(entry) == {"path", "valid", "schema", "errors"}
        for err in entry["errors"]:
            assert set(err) == {"line", "path", "message"}
    good, bad, broken = report
    assert good == {"path": str(docs["good_xml"]), "valid": True, "schema": "oadr20b", "errors": []}
    assert bad["valid"] is False
    assert bad["schema"] == "oadr20b"
    assert isinstance(bad["errors"][0]["line"], int)
    assert broken["valid"] is False
    assert "not well-formed" in broken["errors"][0]["message"]


def test_unknown_namespace_is_invalid_not_a_crash(docs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", str(docs["foreign"])]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["valid"] is False
    assert entry["schema"] is None
    assert "urn:example:not-a-standard" in entry["errors"][0]["message"]


def test_forced_schema_set_is_used(docs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", "--schema", "cts", str(docs["good_xml"])]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["schema"] == "cts"


def test_explain_adds_the_detailed_engine_report(docs: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--json", "--explain", str(docs["bad"])]) == 1
    (entry,) = json.loads(capsys.readouterr().out)
    assert len(entry["errors"]) >= 2
    assert any("Reason" in e["message"] or "reason" in e["message"] for e in entry["errors"][1:])


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["validate", "--schema", "nope", "x.xml"])
    assert info.value.code == 2
    assert main([]) == 2
