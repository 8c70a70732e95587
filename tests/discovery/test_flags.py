"""The flags of discovery: ``vtn serve --announce`` refused with one line (exit 2) where the URL would not be
reachable or the flags do not go together, the URL it announces, the flags a worker of ``--workers N`` is
given (the supervisor announces, not each worker), and ``transactive discover``'s usage errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from transactive.cli import main
from transactive.protocol.market import MarketConfig
from transactive.vtn.announce import SERVED_PROTOCOLS, announce_problem, announced_url, default_name, describe
from transactive.vtn.workers import worker_argv


@pytest.mark.parametrize(("args", "message"), [
    (["--announce", "--host", "0.0.0.0"], "--announce with --host 0.0.0.0 (every interface) needs --announce-host"),
    (["--announce", "--host", "::"], "--announce with --host :: (every interface) needs --announce-host"),
    (["--announce-name", "x"], "--announce-name go with --announce"),
    (["--announce-name", "x", "--announce-host", "h"], "--announce-name and --announce-host go with --announce"),
    (["--announce", "--announce-name", "x" * 64], "--announce-name 'xxx"),
    (["--announce", "--announce-name", "a\tb"], "1 to 63 bytes of UTF-8, no control characters"),
    (["--announce", "--announce-host", "http://vtn"], "--announce-host 'http://vtn': give a host name or an address"),
    (["--announce", "--host", "0.0.0.0", "--announce-host", "0.0.0.0"], "--announce-host '0.0.0.0': give a host"),
])
def test_announce_flags_that_do_not_go_together_are_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["vtn", "serve", "--port", "0", "--data-dir", str(tmp_path / "vtn"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("transactive vtn serve: ")
    assert message in err
    assert err.count("\n") == 1
    assert not (tmp_path / "vtn").exists()  # refused before anything was made


def test_a_wildcard_bind_is_announced_at_the_given_host() -> None:
    assert announce_problem("0.0.0.0", "192.0.2.5", None) is None
    assert announce_problem("127.0.0.1", None, "campus VTN") is None
    assert announced_url("http", "0.0.0.0", "192.0.2.5", 8080) == "http://192.0.2.5:8080"
    assert announced_url("https", "vtn.example", None, 8443) == "https://vtn.example:8443"
    assert announced_url("http", "::1", None, 8080) == "http://[::1]:8080"


def test_what_is_announced_is_the_markets_configuration() -> None:
    config = MarketConfig(market_context="urn:m", currency="EUR", signing_key="ed25519:" + "A" * 43)
    market = describe("n", "http://127.0.0.1:1", config)
    assert (market.market_context, market.protocols, market.interval_seconds, market.currency, market.vtn_key) == (
        "urn:m", SERVED_PROTOCOLS, 900, "EUR", config.signing_key)
    assert default_name(8080).endswith(" transactive VTN 8080")
    assert len(default_name(8080).encode()) <= 63


def test_workers_are_not_given_the_announce_flags() -> None:
    argv = ["vtn", "serve", "--workers", "2", "--announce", "--announce-name", "x", "--announce-host=h",
            "--data-dir", "d"]
    assert worker_argv(argv, 8080) == ["vtn", "serve", "--data-dir", "d", "--port", "8080", "--reuse-port"]


@pytest.mark.parametrize(("args", "message"), [
    (["--timeout", "0"], "argument --timeout: give more than 0 and at most 60 seconds, not '0'"),
    (["--timeout", "soon"], "argument --timeout: not a number of seconds: 'soon'"),
    (["--interface", "eth0"], "argument --interface: not an IPv4 address of this machine: 'eth0'"),
    (["--tables"], "unrecognized arguments: --tables"),
])
def test_discover_usage_errors_are_one_line_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                                    message: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["discover", *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err == f"transactive discover: {message} (see transactive discover --help)\n"


def test_an_announcement_that_cannot_be_made_stops_the_vtn_with_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zeroconf", None)  # the discovery extra not installed: import fails
    assert main(["vtn", "serve", "--port", "0", "--data-dir", str(tmp_path / "vtn"), "--announce",
                 "--event-loop", "asyncio"]) == 2
    captured = capsys.readouterr()
    assert "transactive VTN listening on http://127.0.0.1:" in captured.out  # it started, then could not announce
    assert captured.err.splitlines()[-1] == ("transactive vtn serve: --announce: announcing needs python-zeroconf: "
                                             "pip install 'transactive[discovery]'")


def test_discover_without_zeroconf_says_what_to_install_exit_1(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "zeroconf", None)
    assert main(["discover", "--timeout", "0.1"]) == 1
    assert capsys.readouterr().err == ("transactive discover: DNS-SD needs python-zeroconf: pip install "
                                       "'transactive[discovery]'\n")


def test_the_default_name_fits_one_dns_label_whatever_the_host_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.gethostname", lambda: "é" * 80 + ".campus.example")
    name = default_name(65535)
    assert name.endswith(" transactive VTN 65535")
    assert len(name.encode()) <= 63
    assert name.startswith("é")
