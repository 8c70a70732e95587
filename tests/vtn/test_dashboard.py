"""The dashboard at /ui in a real browser: Playwright for Python driving the Debian Chromium (``make chromium``
installs it; nothing is downloaded) against ``transactive vtn serve`` with a small demo market of
``transactive ven run`` processes (a PV system, a household, a battery) that trade a few intervals and settle on
the embedded ledger, and one party of the test's own (``VenClient``) whose tenders stay open in the order book.

Checked: every page loads with no script or policy error; every number a page shows (``data-field``) is the
number ``/ui/api`` answers; the API agrees with what the VTN says elsewhere (``vtn report``, ``ledger audit``,
the OpenADR operator API); the operator sees everything, a party its own pages only (another party's page,
transaction or API is 403, no token 401); the live refresh runs. Screenshots go to build/test-artifacts/."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.browser import chromium

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "test-artifacts"
#: one market interval per wall second (as `make demo`: a busy machine still meets every gate)
INTERVAL_SECONDS = 1.0
INTERVALS = 8
#: fixed-price PV and household (their bids cross every interval: trades for sure), an AA battery
VENS = (("pv-1", "pv", "6.0", "fixed", "1"), ("home-1", "load", "3.5", "fixed", "4"),
        ("bat-1", "battery", "5.0", "aa", "8"))
BIDDER = "bidder"
#: a flexibility community aggregator of two small devices that sells at 0.06 or more: its calls, tokens and
#: ranking are on the dashboard (vtn serve --community-dir)
COMMUNITY = "campus-dr"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "transactive.cli", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            body = reply.read()
            status = reply.status
    except urllib.error.HTTPError as error:
        body, status = error.read(), error.code
        error.close()
    try:
        return status, json.loads(body)
    except ValueError:
        return status, body.decode()


@dataclass
class Market:
    url: str
    data: Path
    operator: str
    #: party -> its bearer token (the VENs' come from registering again with their keys)
    tokens: dict[str, str]
    #: the market context
    name: str
    #: the community aggregator's data directory
    community: Path


async def _register(url: str, party: str, key: Path | None, market: str) -> str:
    """Register ``party`` (with the key in ``key``: the same party as the VEN that made it) and return its token;
    the test's own party also tenders."""
    from transactive.protocol.identity import load_or_create_identity
    from transactive.transport.http import HttpTransport
    from ven.client import VenClient

    async with HttpTransport(url, timeout=10) as transport:
        identity = load_or_create_identity(key) if key is not None else None
        client = VenClient(transport, party, identity=identity)
        config = await client.market_context(market)
        await client.register()
        assert client.token is not None
        if party == BIDDER:  # tenders far enough ahead to stay open: the order book has a bid and an offer
            now = datetime.fromisoformat(_get(url + "/health")[1]["market_time"])
            later = config.next_open_interval(now) + config.interval * 40
            await client.tender(later, "buy", 1.5, "0.11")
            await client.tender(later, "sell", 2.0, "0.19")
            await client.tender(later + config.interval, "buy", 0.5, "0.12")
        return client.token


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    tmp = tmp_path_factory.mktemp("dashboard")
    data = tmp / "vtn"
    community = tmp / "community"  # (made by the aggregator, after the VTN started)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    try:
        log = open(tmp / "vtn.log", "wb")  # noqa: SIM115
        logs.append(log)
        procs.append(subprocess.Popen(_cli("vtn", "serve", "--host", "127.0.0.1", "--port", str(port),
                                           "--data-dir", str(data), "--interval-seconds", str(INTERVAL_SECONDS),
                                           "--community-dir", str(community), "--log-level", "WARNING"),
                                      stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 30
        while True:
            assert procs[0].poll() is None, (tmp / "vtn.log").read_text()
            assert time.monotonic() < deadline, "the VTN did not start"
            try:
                status, health = _get(url + "/health")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        interval = timedelta(seconds=float(health["interval"]))
        start = datetime.fromisoformat(health["next_open_interval"]) + interval * 12  # (the VENs start meanwhile)
        vens = []
        for name, personality, capacity, strategy, seed in VENS:
            log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115
            logs.append(log)
            vens.append(subprocess.Popen(_cli(
                "ven", "run", "--vtn", url, "--party", name, "--personality", personality, "--capacity-kw", capacity,
                "--strategy", strategy, "--seed", seed, "--intervals", str(INTERVALS), "--start", start.isoformat(),
                "--sim-start", datetime(2026, 6, 21, 10, tzinfo=UTC).isoformat(), "--grid-prices", "0.30,0.05",
                "--state-dir", str(tmp / "state" / name)), stdout=log, stderr=subprocess.STDOUT, env=env))
        config = tmp / "campus.toml"
        config.write_text('[community]\nprice = 0.06\ncritical_hours = [10, 11]\n\n'  # (one small member: the PV
                          '[[member]]\nname = "outlet-1"\ntemplate = "t1"\npower_kw = 0.8\n'  # still trades)
                          '[[member]]\nname = "heater-1"\ntemplate = "t4"\npower_kw = 0.4\n')
        log = open(tmp / "community.log", "wb")  # noqa: SIM115
        logs.append(log)
        vens.append(subprocess.Popen(_cli(
            "community", "run", "--vtn", url, "--name", COMMUNITY, "--goal", "flexibility", "--config", str(config),
            "--data-dir", str(community), "--intervals", str(INTERVALS), "--start", start.isoformat(),
            "--sim-start", datetime(2026, 6, 21, 10, tzinfo=UTC).isoformat(), "--grid-prices", "0.30,0.05",
            "--quiet"), stdout=log, stderr=subprocess.STDOUT, env=env))
        procs.extend(vens)
        log = open(tmp / "adr-bat.log", "wb")  # noqa: SIM115  (an OpenADR 2.0b VEN: it answers events with opts)
        logs.append(log)
        procs.append(subprocess.Popen(_cli(
            "ven", "run", "--protocol", "openadr", "--vtn", url, "--party", "adr-bat", "--personality", "battery",
            "--capacity-kw", "5", "--poll-seconds", "0.25", "--state-dir", str(tmp / "state" / "adr-bat")),
            stdout=log, stderr=subprocess.STDOUT, env=env))
        deadline = time.monotonic() + 120
        for name, ven in zip([v[0] for v in VENS] + ["community"], vens, strict=True):
            ven.wait(max(1.0, deadline - time.monotonic()))
            assert ven.returncode == 0, (tmp / f"{name}.log").read_text()
        tokens = {}
        for name, *_ in VENS:
            tokens[name] = asyncio.run(_register(url, name, tmp / "state" / name / "party.key", health["market"]))
        tokens[COMMUNITY] = asyncio.run(_register(url, COMMUNITY, community / "party.key", health["market"]))
        tokens[BIDDER] = asyncio.run(_register(url, BIDDER, None, health["market"]))
        time.sleep(3 * INTERVAL_SECONDS)  # the last deliveries settle
        yield Market(url, data, (data / "operator.token").read_text().strip(), tokens, health["market"], community)
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for log in logs:
            log.close()


async def _cts_position(url: str, party: str, token: str, start: datetime, end: datetime) -> Any:
    """The party's position as the CTS position facet answers it (``tx:eiRequestPosition``)."""
    from transactive.transport.http import HttpTransport
    from ven.client import VenClient

    async with HttpTransport(url, timeout=10) as transport:
        return await VenClient(transport, party, token=token).position(start, end)


async def _tender_later(url: str, market: str, token: str, price: str) -> None:
    """The test's party tenders once more, far ahead (it stays open in the order book)."""
    from transactive.transport.http import HttpTransport
    from ven.client import VenClient

    async with HttpTransport(url, timeout=10) as transport:
        client = VenClient(transport, BIDDER, token=token)
        config = await client.market_context(market)
        now = datetime.fromisoformat(_get(url + "/health")[1]["market_time"])
        await client.tender(config.next_open_interval(now) + config.interval * 60, "sell", 0.7, price)


# ---- the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium(), headless=True,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    problems: list[str] = []
    refusals = tuple(f"Failed to load resource: the server responded with a status of {s}" for s in (401, 403))

    def console(message: Any) -> None:  # (a refused page is an error to the console: those are expected)
        if message.type == "error" and not message.text.startswith(refusals):
            problems.append(message.text)
    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    yield page
    context.close()


def _sign_in(page: Any, market: Market, token: str) -> None:
    page.goto(market.url + "/ui/")
    assert page.title().startswith("Sign in")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000


def _shown(page: Any) -> dict[str, str]:
    """Every ``data-field`` on the page and its text, read at once."""
    fields: dict[str, str] = page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-field]')]"
        ".map(e => [e.dataset.field, e.textContent]))")
    return fields


def _lookup(view: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        view = view[int(part)] if isinstance(view, list) else view[part]
    return view


def _page_matches_api(page: Any, url: str, api: str, token: str, *, moving: tuple[str, ...] = ()) -> dict[str, Any]:
    """Load ``url`` and compare every number it shows with ``api``; the API is read before and after the page
    and the comparison made when the two agree (a gate may close meanwhile)."""
    for _ in range(5):
        _, before = _get(api, token)
        page.goto(url)
        shown = _shown(page)
        _, after = _get(api, token)
        if {k: v for k, v in before.items() if k not in moving} == {k: v for k, v in after.items() if k not in moving}:
            break
    else:
        pytest.fail(f"{api} kept changing")
    assert shown, f"{url} shows no field"
    for field, text in shown.items():
        if field == "viewer" or field.split(".")[0] in moving:
            continue
        value = _lookup(after, field)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        assert text == ("—" if value is None else str(value)), (field, text, value)
    return dict(after)


# ---- the tests ------------------------------------------------------------------------------------------


def test_without_a_token_the_dashboard_asks_for_one(market: Market, page: Any) -> None:
    page.goto(market.url + "/ui/party/pv-1")
    assert page.title().startswith("Sign in")
    assert "sign in" in page.text_content("[role=alert]").lower()
    assert _get(market.url + "/ui/api/market")[0] == 401
    assert _get(market.url + "/ui/api/market", "not-a-token")[0] == 401
    page.fill("input[name=token]", "not-a-token")
    page.click("button[type=submit]")
    assert "neither the operator's nor a registered party's" in page.text_content("[role=alert]")
    assert not page.problems


def test_the_operator_sees_the_market_and_its_numbers_are_the_apis(market: Market, page: Any) -> None:
    _sign_in(page, market, market.operator)
    assert page.url == market.url + "/ui/"
    view = _page_matches_api(page, market.url + "/ui/", market.url + "/ui/api/market", market.operator,
                             moving=("market_time", "next_open_interval"))
    assert page.text_content("[data-field=viewer]") == "operator"
    traded = [c for c in view["cleared"] if c["price"] is not None]
    assert traded, "the demo market cleared nothing"
    assert page.locator("svg.chart polyline.price").count() == 1
    assert page.locator("svg.chart rect.vol").count() == len(view["cleared"])
    book = {b["interval_start"]: b for b in view["order_book"]}
    assert len(book) >= 2, view["order_book"]
    first = book[min(book)]
    assert first["bids"] == [{"price": "0.11", "quantity_kwh": "1.5", "tenders": 1}]
    assert first["offers"] == [{"price": "0.19", "quantity_kwh": "2", "tenders": 1}]
    _shot(page, "market")
    assert not page.problems


def test_the_live_refresh_runs_without_errors(market: Market, page: Any) -> None:
    _sign_in(page, market, market.operator)
    first = page.text_content("#refreshed")
    assert first
    deadline = time.monotonic() + 15
    while page.text_content("#refreshed") == first:  # (the page's policy forbids eval: polled from here)
        assert time.monotonic() < deadline, "the page did not refresh"
        page.wait_for_timeout(250)
    assert page.locator("#live svg.chart").count() == 1
    # a new tender shows up in the order book without reloading the page
    assert "0.2345" not in page.text_content("#live")
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _tender_later(market.url, market.name, market.tokens[BIDDER], "0.2345")).result()
    deadline = time.monotonic() + 15
    while "0.2345" not in page.text_content("#live"):
        assert time.monotonic() < deadline, "the order book did not refresh"
        page.wait_for_timeout(250)
    assert page.url == market.url + "/ui/"
    assert "stale" not in (page.get_attribute("body", "class") or "")
    assert not page.problems


def test_the_operators_party_pages_match_the_api_and_the_vtn_report(market: Market, page: Any) -> None:
    _sign_in(page, market, market.operator)
    page.goto(market.url + "/ui/parties")
    listed = page.locator("ul.parties a").all_text_contents()
    assert set(listed) == {name for name, *_ in VENS} | {BIDDER, COMMUNITY}
    sold = Decimal(0)
    for name in listed:
        view = _page_matches_api(page, f"{market.url}/ui/party/{name}", f"{market.url}/ui/api/party/{name}",
                                 market.operator)
        sold += Decimal(view["position"]["sold_kwh"])
        bought, gone = Decimal(view["position"]["bought_kwh"]), Decimal(view["position"]["sold_kwh"])
        assert Decimal(view["position"]["net_kwh"]) == bought - gone
        assert sum(view["settlement_states"].values()) == len(view["transactions"])
        if name == "pv-1":
            _shot(page, "party-pv-1-as-operator")
    report = json.loads(subprocess.run(_cli("vtn", "report", "--data-dir", str(market.data), "--json"),
                                       capture_output=True, text=True, check=True, timeout=60,
                                       env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
    assert float(sold) == pytest.approx(report["traded_kwh"])
    assert report["ledger_valid"]
    assert not page.problems


def test_a_transactions_audit_trail_is_verified_and_matches_the_ledger(market: Market, page: Any) -> None:
    _sign_in(page, market, market.operator)
    _, party = _get(market.url + "/ui/api/party/pv-1", market.operator)
    assert party["transactions"], "pv-1 traded nothing"
    txid = party["transactions"][0]["transaction_id"]
    page.goto(f"{market.url}/ui/party/pv-1")
    page.click(f"a[href='/ui/transaction/{txid}']")
    page.wait_for_load_state()
    view = _page_matches_api(page, page.url, f"{market.url}/ui/api/transaction/{txid}", market.operator)
    assert view["ledger"]["status"] == "verified", view["ledger"]
    assert page.text_content("[data-field='ledger.status']") == "verified"
    assert view["ledger"]["anchor_verified"]
    audit = json.loads(subprocess.run(
        _cli("ledger", "audit", str(market.data / "ledger.db"), txid, "--json"), capture_output=True, text=True,
        check=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout)
    assert audit["status"] == view["ledger"]["replayed_state"] == view["state"]
    assert [e["entry_hash"] for e in audit["entries"]] == [e["reference"] for e in view["ledger"]["entries"]]
    _shot(page, "transaction")
    assert not page.problems


def test_the_openadr_page_shows_the_operator_apis_events(market: Market, page: Any) -> None:
    market_time = datetime.fromisoformat(_get(market.url + "/health")[1]["market_time"])
    start = (market_time + timedelta(days=30)).isoformat().replace("+00:00", "Z")  # (market time runs fast)
    body = json.dumps({"signal_name": "SIMPLE", "start": start, "intervals": [{"duration": "PT15M", "value": 1}],
                       "response_required": "always"}).encode()
    request = urllib.request.Request(market.url + "/operator/openadr/events", data=body, method="POST", headers={
        "Authorization": f"Bearer {market.operator}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        event_id = json.loads(reply.read())["event_id"]
    deadline = time.monotonic() + 20
    while True:  # until the OpenADR VEN has answered it
        _, events = _get(market.url + "/operator/openadr/events", market.operator)
        ours = next(e for e in events if e["event_id"] == event_id)
        if any(ours["opts"].values()):
            break
        assert time.monotonic() < deadline, ours
        time.sleep(0.3)
    _sign_in(page, market, market.operator)
    page.goto(market.url + "/ui/openadr")
    shown = _shown(page)
    rows = {v: k.split(".")[0] for k, v in shown.items() if k.endswith(".event_id")}
    assert event_id in rows
    answer = next(iter(ours["opts"].items()))
    assert f"{answer[0]}: {answer[1]}" in page.text_content("#live")
    _shot(page, "openadr")
    assert not page.problems


def test_the_community_pages_are_the_community_report(market: Market, page: Any) -> None:
    report = json.loads(subprocess.run(_cli("community", "report", "--data-dir", str(market.community), "--json"),
                                       capture_output=True, text=True, check=True, cwd=ROOT, timeout=60).stdout)
    _sign_in(page, market, market.operator)
    listed = _page_matches_api(page, market.url + "/ui/communities", market.url + "/ui/api/communities",
                               market.operator)
    assert [(c["community"], c["status"], c["calls"]) for c in listed["communities"]] == [
        (COMMUNITY, "ok", report["calls"])]
    page.click(f"a[href='/ui/community/{COMMUNITY}']")
    view = _page_matches_api(page, market.url + f"/ui/community/{COMMUNITY}",
                             market.url + f"/ui/api/community/{COMMUNITY}", market.operator)
    assert {k: v for k, v in view.items() if k not in ("data_dir", "status", "reason")} == report
    assert report["ledger_tokens_match"] is True
    assert report["calls"] >= 1, "the community was never called"
    assert page.locator("svg.chart rect.vol").count() == 24
    assert page.text_content("[data-field='ranking.0']") == report["ranking"][0]
    _shot(page, "community")
    # the community's own token: its party page links to its community page; another community is refused
    token = market.tokens[COMMUNITY]
    page.goto(market.url + "/ui/logout")
    _sign_in(page, market, token)
    assert page.url == market.url + f"/ui/party/{COMMUNITY}"
    page.click("#community")
    assert page.title().startswith(f"Community {COMMUNITY}")
    assert _get(market.url + "/ui/api/communities", token)[0] == 403
    assert _get(market.url + "/ui/api/community/elsewhere", token)[0] == 403
    assert _get(market.url + f"/ui/api/community/{COMMUNITY}", market.tokens["pv-1"])[0] == 403
    assert not page.problems


def test_the_openadr3_page_shows_the_objects_the_openadr3_api_answers(market: Market, page: Any) -> None:
    """The market bridge publishes a program and a price event per cleared interval; a business client of the
    OpenADR 3.1 API sees the same objects the operator's page lists."""
    def call(method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str]) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=method,
                                         headers={**headers, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())

    client = call("POST", market.url + "/operator/openadr3/clients", {"role": "bl", "name": "dashboard-test"},
                  {"Authorization": f"Bearer {market.operator}"})
    form = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client["client_id"],
                                   "client_secret": client["client_secret"]}).encode()
    with urllib.request.urlopen(urllib.request.Request(market.url + "/openadr3/3.1.0/auth/token", data=form),
                                timeout=10) as reply:
        bl = {"Authorization": "Bearer " + json.loads(reply.read())["access_token"]}
    programs = call("GET", market.url + "/openadr3/3.1.0/programs", None, bl)
    assert programs, "the market bridge made no program"
    _sign_in(page, market, market.operator)
    view = _page_matches_api(page, market.url + "/ui/openadr3", market.url + "/ui/api/openadr3", market.operator)
    shown = view["collections"]
    assert [p["id"] for p in shown["programs"]["latest"]] == [p["id"] for p in programs]
    by_id = {e["id"]: e for e in call("GET", market.url + "/openadr3/3.1.0/events?limit=50", None, bl)}
    latest = shown["events"]["latest"]
    assert latest, "no price event"
    assert all(by_id[e["id"]] == e for e in latest if e["id"] in by_id)  # the API's objects, unchanged
    if shown["events"]["total"] <= 50:
        assert [e["id"] for e in latest] == list(by_id)
    assert "PRICE=" in page.text_content("#live")
    _shot(page, "openadr3")
    assert not page.problems


def test_a_party_sees_its_own_pages_and_not_anothers(market: Market, page: Any) -> None:
    token = market.tokens["pv-1"]
    _sign_in(page, market, token)
    assert page.url == market.url + "/ui/party/pv-1"
    view = _page_matches_api(page, market.url + "/ui/party/pv-1", market.url + "/ui/api/party/pv-1", token)
    assert view["transactions"]
    # the same position as the CTS API answers the party itself
    first = datetime.fromisoformat(view["transactions"][0]["interval_start"])
    with ThreadPoolExecutor(1) as thread:  # (Playwright's loop runs in this thread)
        cts = thread.submit(asyncio.run, _cts_position(market.url, "pv-1", token, first - timedelta(days=1),
                                                       first + timedelta(days=2))).result()
    assert Decimal(view["position"]["bought_kwh"]) == cts.bought_kwh
    assert Decimal(view["position"]["sold_kwh"]) == cts.sold_kwh
    assert Decimal(view["position"]["net_kwh"]) == cts.net_kwh
    assert Decimal(view["bill"]["net"]) == cts.amount
    assert len(view["intervals"]) == len(cts.intervals)
    _shot(page, "party-pv-1")
    # its own transaction, with the audit trail
    txid = view["transactions"][0]["transaction_id"]
    page.goto(f"{market.url}/ui/transaction/{txid}")
    assert page.text_content("[data-field='ledger.status']") == "verified"
    # the market overview (price levels; no party named)
    page.goto(market.url + "/ui/")
    assert page.title().startswith("Market overview")
    assert "bidder" not in page.content()
    # another party's page, its transactions, the operator's pages: refused, nothing of theirs shown
    _, other = _get(market.url + "/ui/api/party/home-1", market.operator)
    assert other["transactions"]
    for path in ("/ui/party/home-1", f"/ui/transaction/{other['transactions'][0]['transaction_id']}",
                 "/ui/parties", "/ui/openadr", "/ui/openadr3", "/ui/communities", f"/ui/community/{COMMUNITY}"):
        reply = page.goto(market.url + path)
        assert reply is not None, path
        assert reply.status == 403, path
        assert page.title().startswith("Not allowed")
        assert not [k for k in _shown(page) if k not in ("viewer", "error")]
        assert _get(market.url + path.replace("/ui/", "/ui/api/"), token)[0] == 403
    _shot(page, "party-refused")
    # a party whose id is "operator" is a party all the same
    with ThreadPoolExecutor(1) as thread:
        impostor = thread.submit(asyncio.run, _register(market.url, "operator", None, market.name)).result()
    assert _get(market.url + "/ui/api/parties", impostor)[0] == 403
    assert _get(market.url + "/ui/api/party/pv-1", impostor)[0] == 403
    assert _get(market.url + "/ui/api/party/operator", impostor)[0] == 200
    # a transaction that does not exist looks the same as another party's
    assert _get(market.url + "/ui/api/transaction/no-such", token)[0] == 403
    assert _get(market.url + "/ui/api/transaction/no-such", market.operator)[0] == 404
    assert not page.problems


def test_the_dashboard_is_read_only_and_serves_its_own_assets(market: Market) -> None:
    request = urllib.request.Request(market.url + "/ui/api/market", method="POST", data=b"{}",
                                     headers={"Authorization": f"Bearer {market.operator}"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 405
    refused.value.close()
    for name in ("dashboard.css", "dashboard.js"):
        with urllib.request.urlopen(f"{market.url}/ui/static/{name}", timeout=10) as reply:
            assert reply.status == 200
            text = reply.read()
        assert b"http://" not in text, name  # (nothing fetched from anywhere)
        assert b"https://" not in text, name
