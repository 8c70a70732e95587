"""``transactive ven run --discover``: a VEN that is given no URL finds the announcing VTN over real multicast
DNS (on the host's loopback, as test_mdns.py explains) and trades on it; and its refusals."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.discovery.support import CLI, ROOT, run, wait_for
from transactive.cli import main

pytest.importorskip("zeroconf", reason="the discovery extra (pip install 'transactive[discovery]')")

MARKET = "urn:transactive:test:ven-discover"


@pytest.mark.slow
def test_a_ven_given_no_url_finds_the_market_and_trades_on_it(tmp_path: Path) -> None:
    name = f"ven discover test {os.getpid()}"
    out, err = tmp_path / "vtn.out", tmp_path / "vtn.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        vtn = subprocess.Popen(
            [*CLI, "vtn", "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(tmp_path / "d"),
             "--market-context", MARKET, "--interval-seconds", "1", "--reserve", "0.30,0.05", "--announce",
             "--announce-name", name],
            stdout=stdout, stderr=stderr, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        url = wait_for(out, "listening on ", vtn).split("listening on ", 1)[1].split()[0]
        wait_for(err, f"announced {name!r}", vtn)
        done = run([], *CLI, "ven", "run", "--discover", "--discover-interface", "127.0.0.1", "--market", name,
                   "--party", "home-1", "--personality", "load", "--intervals", "2",
                   "--state-dir", str(tmp_path / "ven"))
        assert done.returncode == 0, done.stderr
        assert f"discovered {name!r}: {url} ({MARKET})" in done.stdout
        assert done.stdout.count("home-1 ") >= 2  # one line per interval traded
    finally:
        vtn.send_signal(signal.SIGTERM)
        try:
            vtn.wait(20)
        except subprocess.TimeoutExpired:
            vtn.kill()
            vtn.wait(10)


@pytest.mark.parametrize(("flags", "message", "code"), [
    (["--vtn", "http://127.0.0.1:9", "--discover"], "--vtn and --discover: give one", 2),
    ([], "--vtn URL is required (or --discover to find the VTN)", 2),
    (["--vtn", "http://127.0.0.1:9", "--discover-interface", "127.0.0.1"], "--discover-interface is for --discover",
     2),
    (["--discover", "--discover-timeout", "0"], "--discover-timeout must be positive", 2),
    (["--discover", "--discover-timeout", "0.3", "--discover-interface", "127.0.0.1", "--market",
      "urn:nobody:here"], "--discover: no market answered over DNS-SD", 1),
])
def test_ven_discovery_refusals_are_one_line(flags: list[str], message: str, code: int,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ven", "run", "--party", "p", "--personality", "pv", *flags]) == code
    err = capsys.readouterr().err
    assert err.startswith("transactive ven run: ")
    assert message in err
    assert err.count("\n") == 1
