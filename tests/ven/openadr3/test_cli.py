"""``transactive ven run --protocol openadr3``: the command-line contract (flags, one-line errors, exit codes) and a
whole run in its own process against the stub VTN, on the wall clock."""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.ven.openadr3.stub import StubVtn, serve
from transactive.cli import main
from transactive.ven.openadr3.client import api_base


@pytest.fixture
async def stub() -> AsyncIterator[StubVtn]:
    vtn = StubVtn()
    async with serve(vtn):
        yield vtn


def _root(stub: StubVtn) -> str:
    return stub.url.removesuffix("/openadr3/3.1.0")


async def _ven(*args: str, interrupt: bool = False) -> tuple[int, str, str]:
    """Run the VEN to its end (with ``interrupt``: until it says it runs, then SIGINT); (code, stdout, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "transactive.cli", "ven", "run", "--protocol", "openadr3", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    first = b""
    if interrupt:
        assert process.stdout is not None
        while b"OpenADR 3.1 ven" not in first:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line, "the VEN ended before it ran"
            first += line
        process.send_signal(signal.SIGINT)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, (first + out).decode(), err.decode()


def test_the_help_shows_the_openadr3_contract(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["ven", "run", "--help"])
    out = capsys.readouterr().out
    for text in ("{cts,openadr,openadr3}", "--client-id ID", "--client-secret SECRET", "--duration S",
                 "--protocol openadr3 --vtn"):
        assert text in out


@pytest.mark.parametrize(("args", "words"), [
    (["--client-secret", "s"], "--client-id ID is required"),
    (["--client-id", "c"], "--client-secret SECRET (or @FILE) is required"),
    (["--client-id", "c", "--client-secret", "@/nonexistent/secret"], "--client-secret @/nonexistent/secret"),
    (["--client-id", "c", "--client-secret", "s", "--state-dir", "/tmp"], "--state-dir does not apply"),
    (["--client-id", "c", "--client-secret", "s", "--strategy", "zic"], "--strategy does not apply"),
    (["--client-id", "c", "--client-secret", "s", "--sign-cert", "x.pem"], "--sign-cert does not apply"),
    (["--client-id", "c", "--client-secret", "s", "--duration", "0"], "--duration must be positive"),
    (["--client-id", "c", "--client-secret", "s", "--poll", "0"], "--poll-seconds must be positive"),  # --poll: short
    (["--client-id", "c", "--client-secret", "s", "--grid-prices", "0.1,0.3"], "--grid-prices: expected BUY,SELL"),
    (["--client-id", "c", "--client-secret", "s", "--tls-ca", "ca.pem"], "--tls-* are for an https:// VTN"),
])
def test_usage_errors_exit_2_naming_the_flag(capsys: pytest.CaptureFixture[str], args: list[str],
                                             words: str) -> None:
    code = main(["ven", "run", "--protocol", "openadr3", "--vtn", "http://127.0.0.1:9", "--personality", "pv", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert words in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("protocol", ["cts", "openadr"])
@pytest.mark.parametrize("flag", ["--client-id", "--client-secret", "--duration"])
def test_openadr3_flags_are_refused_by_the_other_modes(capsys: pytest.CaptureFixture[str], protocol: str,
                                                       flag: str) -> None:
    code = main(["ven", "run", "--protocol", protocol, "--vtn", "http://127.0.0.1:9", "--party", "p",
                 "--personality", "pv", flag, "1"])
    assert code == 2
    assert f"{flag} is for --protocol openadr3" in capsys.readouterr().err


def test_the_other_modes_still_need_a_party(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "run", "--vtn", "http://127.0.0.1:9", "--personality", "pv"]) == 2
    assert "--party NAME is required" in capsys.readouterr().err


def test_a_vtn_root_gets_the_api_path_and_a_base_url_is_kept() -> None:
    assert api_base("http://127.0.0.1:8080") == "http://127.0.0.1:8080/openadr3/3.1.0"
    assert api_base("http://127.0.0.1:8080/") == "http://127.0.0.1:8080/openadr3/3.1.0"
    assert api_base("https://vtn.example.com/api/oadr3/") == "https://vtn.example.com/api/oadr3"


async def test_bad_credentials_exit_2_in_one_line_naming_the_flags(stub: StubVtn) -> None:
    code, _out, err = await _ven("--vtn", _root(stub), "--client-id", "ven-client", "--client-secret", "wrong",
                                 "--personality", "pv")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "--client-id 'ven-client'" in err
    assert "--client-secret" in err
    assert "invalid_client" in err


async def test_an_unreachable_vtn_exits_2_naming_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    code, _out, err = await _ven("--vtn", url, "--client-id", "c", "--client-secret", "s", "--personality", "pv")
    assert code == 2
    assert f"cannot reach the VTN at {url}" in err


async def test_a_refusal_exits_1(stub: StubVtn) -> None:
    stub.fail = [(403, '{"title": "Forbidden", "status": 403, "detail": "not a ven client"}')]
    code, _out, err = await _ven("--vtn", _root(stub), "--client-id", "ven-client", "--client-secret", "s3cret",
                                 "--personality", "pv")
    assert code == 1
    assert "the VTN refused: HTTP 403 Forbidden: not a ven client" in err


async def test_a_run_registers_decides_reports_and_stops_after_its_duration(stub: StubVtn, tmp_path: Path) -> None:
    program = stub.add("programs", {"programName": "market-1"})
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=4)  # after the VEN has started
    stub.add("events", {"programID": program["id"],
                        "intervalPeriod": {"start": start.isoformat().replace("+00:00", "Z"), "duration": "PT1S"},
                        "intervals": [{"id": n, "payloads": [{"type": "PRICE", "values": [0.2]}]} for n in range(2)]})
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    record = tmp_path / "record.jsonl"
    code, out, err = await _ven("--vtn", _root(stub), "--client-id", "ven-client", "--client-secret", f"@{secret}",
                                "--party", "load-7", "--personality", "load", "--poll-seconds", "0.3",
                                "--duration", "9", "--record", str(record))
    assert (code, err) == (0, "")
    assert "load-7: load 3 kW, OpenADR 3.1 ven" in out
    (ven,) = stub.objects["vens"].values()
    assert ven["venName"] == "load-7"
    (report,) = stub.objects["reports"].values()
    assert [i["id"] for i in report["resources"][0]["intervals"]] == [0, 1]
    assert report["resources"][0]["resourceName"] == "load-7-load"
    kinds = [json.loads(line)["kind"] for line in record.read_text().splitlines()]
    assert kinds.count("decision") == 2
    assert kinds.count("report") == 2


async def test_sigint_stops_the_ven_with_exit_0(stub: StubVtn) -> None:
    code, out, _err = await _ven("--vtn", stub.url, "--client-id", "ven-client", "--client-secret", "s3cret",
                                 "--personality", "battery", interrupt=True)
    assert code == 0
    assert "ven-client: battery" in out  # venName defaults to the client id
    assert [v["venName"] for v in stub.objects["vens"].values()] == ["ven-client"]
