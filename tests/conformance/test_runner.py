"""The runner and the report, over a small suite of scripted cases: every way a case can end becomes the right
result with its evidence, a kit defect is never blamed on the endpoint, and the report's JSON keeps the keys
the command line promises."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from transactive.errors import InvalidMessageError
from transactive.interop.conformance.checks import ensure, schema_valid, well_formed
from transactive.interop.conformance.html import pretty_document, render_html
from transactive.interop.conformance.model import (
    CaseFailed,
    CaseSkipped,
    EndpointUnreachable,
    Options,
    Report,
    Result,
    Rule,
    Standard,
)
from transactive.interop.conformance.rules import OADR_SCHEMA, WELL_FORMED
from transactive.interop.conformance.suite import Recorder, Suite, matches, run_suite
from transactive.transport.base import ConnectionFailedError

RULE = Rule("Test Spec", "§1", "the endpoint answers")
OTHER = Rule("Test Spec", "§2", "the answer is right")


class Ctx:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder


def _suite() -> Suite[Ctx]:
    suite: Suite[Ctx] = Suite(Standard.OPENADR20B, "vtn", "test suite")

    @suite.case("N1_0010", "passes", RULE)
    async def passes(ctx: Ctx) -> str:
        ctx.recorder.record("sent", "EiRegisterParty", b"<a/>")
        ctx.recorder.record("received", "EiRegisterParty", b"<b/>", 200)
        return "venID v-1"

    @suite.case("N1_0020", "fails", RULE, OTHER)
    async def fails(ctx: Ctx) -> None:
        ctx.recorder.record("received", "EiEvent", b"<bad/>", 200)
        raise CaseFailed(OTHER, "modificationNumber went from 3 to 2")

    @suite.case("E1_0010", "skips", RULE)
    async def skips(ctx: Ctx) -> None:
        raise CaseSkipped("the VTN offers no events to this VEN")

    @suite.case("E1_0020", "transport", OTHER)
    async def transport(ctx: Ctx) -> None:
        raise ConnectionFailedError("connection reset")

    @suite.case("E1_0030", "undecodable", OTHER)
    async def undecodable(ctx: Ctx) -> None:
        raise InvalidMessageError("ei:eventID: missing")

    @suite.case("G1_0010", "kit bug", RULE)
    async def kit_bug(ctx: Ctx) -> None:
        raise KeyError("oops")

    @suite.case("G1_0050", "signed", RULE, needs=("sign",))
    async def signed(ctx: Ctx) -> None:
        return None

    return suite


async def _run(pattern: str | None = None, **options: object) -> Report:
    recorder = Recorder()
    suite = _suite()
    return await run_suite(suite, Ctx(recorder), recorder, Options(cases=pattern, **options),  # type: ignore[arg-type]
                           target="http://vtn.test")


async def test_each_ending_of_a_case_is_its_result() -> None:
    report = await _run()
    got = {o.case.id: (o.result, o.detail) for o in report.outcomes}
    assert got["N1_0010"] == (Result.PASS, "venID v-1")
    assert got["N1_0020"] == (Result.FAIL, "modificationNumber went from 3 to 2")
    assert got["E1_0010"] == (Result.SKIP, "the VTN offers no events to this VEN")
    assert got["E1_0020"][0] is Result.FAIL
    assert "connection reset" in got["E1_0020"][1]
    assert got["E1_0030"][0] is Result.FAIL
    assert "ei:eventID" in got["E1_0030"][1]
    assert got["G1_0010"][0] is Result.FAIL
    assert got["G1_0010"][1].startswith("kit error")
    assert got["G1_0050"][0] is Result.SKIP
    assert "--sign-cert" in got["G1_0050"][1]
    assert (report.passed, report.failed, report.skipped) == (1, 4, 2)
    assert report.exit_code == 1


async def test_a_failure_names_the_rule_it_broke_and_carries_only_its_own_exchanges() -> None:
    report = await _run()
    by_id = {o.case.id: o for o in report.outcomes}
    assert by_id["N1_0020"].broken == OTHER
    assert [e.document for e in by_id["N1_0020"].evidence] == [b"<bad/>"]
    assert [e.direction for e in by_id["N1_0010"].evidence] == ["sent", "received"]
    assert by_id["E1_0020"].broken == OTHER  # a transport failure breaks the case's first rule


async def test_a_signing_case_runs_when_the_signing_flags_are_given(tmp_path: object) -> None:
    from pathlib import Path
    report = await _run("G1_0050", sign_cert=Path("c.pem"), sign_key=Path("k.pem"))
    assert [(o.case.id, o.result) for o in report.outcomes] == [("G1_0050", Result.PASS)]
    assert report.exit_code == 0


async def test_an_unreachable_endpoint_stops_the_run() -> None:
    suite: Suite[Ctx] = Suite(Standard.CTS, "vtn", "t")

    @suite.case("CTS_N_0010", "first", RULE)
    async def first(ctx: Ctx) -> None:
        raise EndpointUnreachable("connection refused")

    recorder = Recorder()
    with pytest.raises(EndpointUnreachable):
        await run_suite(suite, Ctx(recorder), recorder, Options(), target="http://x")


def test_the_cases_pattern_is_a_comma_separated_list_of_shell_patterns() -> None:
    assert matches("N1_0010", None)
    assert matches("N1_0010", "")
    assert matches("N1_0010", "N1_*")
    assert matches("E1_0020", "N1_*, E1_0020")
    assert not matches("E1_0030", "N1_*,E1_0020")
    assert not matches("n1_0010", "N1_*")


def test_a_suite_refuses_a_case_without_rules_a_duplicate_id_or_a_malformed_id() -> None:
    suite: Suite[Ctx] = Suite(Standard.OPENADR20B, "vtn", "t")
    with pytest.raises(ValueError, match="cites no rule"):
        suite.case("N1_0010", "x")
    suite.case("N1_0010", "x", RULE)(lambda ctx: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="registered twice"):
        suite.case("N1_0010", "y", RULE)
    with pytest.raises(ValueError, match="must look like"):
        suite.case("registration", "y", RULE)


async def test_the_json_report_has_the_promised_keys() -> None:
    report = await _run()
    data = json.loads(json.dumps(report.as_json()))
    assert {"target", "role", "standard", "cases", "passed", "failed", "skipped"} <= data.keys()
    assert (data["target"], data["role"], data["standard"]) == ("http://vtn.test", "vtn", "openadr20b")
    for case in data["cases"]:
        assert {"id", "title", "rules", "result", "detail"} <= case.keys()
        assert case["result"] in {"pass", "fail", "skip"}
        assert all(isinstance(r, str) and r.startswith("Test Spec §") for r in case["rules"])
    assert (data["passed"], data["failed"], data["skipped"]) == (1, 4, 2)


async def test_the_html_report_puts_failures_first_with_their_evidence_escaped() -> None:
    report = await _run()
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert "http://" not in page.replace("http://vtn.test", "")
    order = [page.index(f'id="{i}"') for i in ("N1_0020", "E1_0010", "N1_0010")]
    assert order == sorted(order)  # failed, then skipped, then passed
    assert "&lt;bad/&gt;" in page
    assert "<bad/>" not in page
    assert "4 cases failed" in page


def test_documents_are_pretty_printed_for_reading() -> None:
    assert pretty_document(b'<a><b x="1"/></a>') == '<a>\n  <b x="1"/>\n</a>\n'
    assert pretty_document(b'{"a": [1]}') == '{\n  "a": [\n    1\n  ]\n}'
    assert pretty_document(b"<a><b>") == "<a><b>"  # not well-formed: shown as it came
    assert pretty_document(b"  ") == "(empty body)"


def test_the_document_checks_fail_the_rule_they_check() -> None:
    with pytest.raises(CaseFailed) as caught:
        well_formed(b"<a><b></a>", "the reply")
    assert caught.value.rule == WELL_FORMED
    assert "the reply" in caught.value.detail
    with pytest.raises(CaseFailed) as caught:
        well_formed(b"", "the reply")
    assert "empty" in caught.value.detail
    root = well_formed(b'<oadrPayload xmlns="http://openadr.org/oadr-2.0b/2012/07"><bogus/></oadrPayload>', "x")
    with pytest.raises(CaseFailed) as caught:
        schema_valid(root, "oadr20b", OADR_SCHEMA, "the reply")
    assert caught.value.rule == OADR_SCHEMA
    assert "line 1" in caught.value.detail
    ensure(True, RULE, "never")
    with pytest.raises(CaseFailed):
        ensure(0, RULE, "zero")


def test_a_report_finished_time_is_in_its_json() -> None:
    report = Report("u", "vtn", Standard.CTS, started=datetime(2026, 1, 1, tzinfo=UTC))
    assert report.as_json()["finished"] is None
    assert report.exit_code == 0
