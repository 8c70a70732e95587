"""The dashboard's API (``/ui/api``) and pages without a browser, on an in-process VTN that trades the worked
example of :func:`tests.scenarios.three_ven_trade` (pv-1 sells 3 kWh at 0.10, pv-2 2 kWh at 0.14, home-1 buys
4 kWh at 0.20; uniform price 0.17; the home pays 0.68): the numbers are the example's, a transaction whose
stored record no longer matches its ledger anchor is shown as not verified, and the sign-in, cookie and
refusal rules hold. (The browser test against ``vtn serve`` is test_dashboard.py.)"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.community.helpers import sample_community
from tests.scenarios import TradeOutcome, three_ven_trade
from tests.vtn.conftest import MARKET, NOW, T, start_site
from transactive.cli import main
from transactive.ledger import EmbeddedLedger
from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
from transactive.services.store import Registration, Store, StoreUnavailableError
from transactive.transport.http import HttpTransport
from transactive.vtn import NoticeBoard, create_server
from transactive.vtn.http import create_app
from transactive.vtn.ui import COOKIE, Dashboard, data
from transactive.vtn.ui.communities import check_community_dirs

OPERATOR = "operator-token-for-the-test"


@dataclass
class Traded:
    url: str
    outcome: TradeOutcome
    service: VtnService
    store_path: Path

    def token(self, party: str) -> str:
        token = self.outcome.vens[party].token
        assert token is not None
        return token


@pytest.fixture
async def traded(tmp_path: Path, config: MarketConfig) -> AsyncIterator[Traded]:
    clock = ManualClock(NOW)
    store = SqliteStore(tmp_path / "vtn.db")
    ledger = EmbeddedLedger(tmp_path / "ledger.db", now=clock)
    settlement = Settlement(store, ledger, config=config, clock=clock)
    service = VtnService(VtnCore(config, store, clock), settlement=settlement)
    board = NoticeBoard()
    unlisten = service.listen(board.post)
    runner, url = await start_site(create_server(service, board=board,
                                                 dashboard=Dashboard(service, operator_token=OPERATOR)))
    transport = HttpTransport(url, poll_seconds=2)
    try:
        outcome = await three_ven_trade(transport, service, settlement, config, clock, market=MARKET, interval=T,
                                        notice_timeout=5)
        yield Traded(url, outcome, service, tmp_path / "vtn.db")
    finally:
        await transport.close()
        await runner.cleanup()
        unlisten()
        await ledger.close()
        store.close()


async def _get(url: str, token: str | None = None, **kw: Any) -> tuple[int, Any, aiohttp.ClientResponse]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers, allow_redirects=False, **kw) as reply:
        body = await (reply.json() if reply.content_type == "application/json" else reply.text())
        return reply.status, body, reply


async def test_the_numbers_are_the_worked_examples(traded: Traded) -> None:
    status, home, _ = await _get(traded.url + "/ui/api/party/home-1", OPERATOR)
    assert status == 200
    assert home["position"] == {"bought_kwh": "4", "sold_kwh": "0", "net_kwh": "4"}
    assert Decimal(home["bill"]["net"]) == Decimal("0.68")
    assert home["settlement_states"] == {"paid": 1}
    _, pv1, _ = await _get(traded.url + "/ui/api/party/pv-1", traded.token("pv-1"))
    assert pv1["position"]["sold_kwh"] == "3"
    assert Decimal(pv1["bill"]["net"]) == Decimal("-0.51")
    assert [t["price"] for t in pv1["transactions"]] == ["0.17"]
    _, market, _ = await _get(traded.url + "/ui/api/market", traded.token("pv-2"))
    assert [(c["price"], c["quantity_kwh"]) for c in market["cleared"]] == [("0.17", "4")]
    assert market["order_book"] == []  # (everything matched)
    status, page, _ = await _get(traded.url + "/ui/party/home-1", traded.token("home-1"))
    assert status == 200
    assert '<span data-field="bill.net">0.68</span>' in page


async def test_a_transaction_whose_record_was_altered_is_not_verified(traded: Traded) -> None:
    _, home, _ = await _get(traded.url + "/ui/api/party/home-1", OPERATOR)
    txid = home["transactions"][0]["transaction_id"]
    _, before, _ = await _get(f"{traded.url}/ui/api/transaction/{txid}", OPERATOR)
    assert before["ledger"]["status"] == "verified"
    assert [e["kind"] for e in before["ledger"]["entries"]][:1] == ["anchor"]
    with sqlite3.connect(traded.store_path) as db:  # someone edits the VTN's database behind its back
        db.execute("UPDATE transactions SET quantity = '40' WHERE transaction_id = ?", (txid,))
    _, after, _ = await _get(f"{traded.url}/ui/api/transaction/{txid}", OPERATOR)
    assert after["transaction"]["quantity_kwh"] == "40"
    assert after["ledger"]["status"] == "not verified"
    assert not after["ledger"]["anchor_verified"]
    assert "anchor" in after["ledger"]["reason"]
    _, page, _ = await _get(f"{traded.url}/ui/transaction/{txid}", traded.token("home-1"))
    assert '<b data-field="ledger.status">not verified</b>' in page


async def test_without_a_ledger_the_audit_trail_says_so(traded: Traded) -> None:
    service = VtnService(traded.service.core)  # as a read-only VTN has it: no settlement, no ledger
    row = traded.service.core.store.transactions(party_id="pv-1")[0]
    view = await data.transaction_view(service, row)
    assert view["ledger"]["status"] == "no ledger"
    assert view["state"] == "paid"  # (the VTN's log still says where settlement got)


def test_a_long_party_page_totals_everything_and_lists_the_latest(tmp_path: Path, config: MarketConfig,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from transactive.emix import Side
    from transactive.services.positions import position
    from transactive.services.store import TransactionRow

    monkeypatch.setattr(data, "TRANSACTIONS_SHOWN", 2)
    store = SqliteStore(tmp_path / "vtn.db")
    q = timedelta(minutes=15)
    start = NOW - q * 5
    with store.transaction():
        store.add_transactions([TransactionRow(f"tx-{i}", "big", "market", f"t-{i}", 0, (Side.BUY, Side.SELL)[i % 2],
                                               start + q * i, q, Decimal(i + 1), Decimal("0.2"), "USD", "0" * 64,
                                               NOW) for i in range(5)])
    try:
        view = data.party_view(VtnService(VtnCore(config, store, ManualClock(NOW))), "big")
        whole = position(store, "big", start, NOW)
    finally:
        store.close()
    assert (view["transactions_total"], view["intervals_total"]) == (5, 5)
    assert [t["transaction_id"] for t in view["transactions"]] == ["tx-3", "tx-4"]
    assert [x["bought_kwh"] for x in view["intervals"]] == ["0", "5"]  # the lines of the latest two intervals
    assert view["position"] == {"bought_kwh": str(whole.bought_kwh), "sold_kwh": str(whole.sold_kwh),
                                "net_kwh": str(whole.net_kwh)}  # the totals: all five, as the position facet
    assert Decimal(view["bill"]["net"]) == whole.amount


@pytest.fixture
def read_in(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The threads the dashboard reads its party list in (filled as it does)."""
    threads: list[int] = []
    real = data.parties_view

    def parties_view(*args: Any, **kwargs: Any) -> dict[str, Any]:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "parties_view", parties_view)
    return threads


async def _parties_while_writing(url: str, store: Store, party: str) -> tuple[list[str], list[str]]:
    """The dashboard's party list while the VTN's store holds ``party``'s registration uncommitted, and after."""
    with store.transaction():
        store.add_registration(Registration(f"r-{party}", party, f"{party}-token", NOW))
        status, during, _ = await _get(url + "/ui/api/parties", OPERATOR)
        assert status == 200
    _, after, _ = await _get(url + "/ui/api/parties", OPERATOR)
    return during["parties"], after["parties"]


async def test_the_dashboard_reads_committed_data_on_a_connection_of_its_own_off_the_event_loop(
        traded: Traded, read_in: list[int]) -> None:
    during, after = await _parties_while_writing(traded.url, traded.service.core.store, "ghost")
    assert "ghost" not in during
    assert after == sorted([*during, "ghost"])
    assert read_in
    assert threading.get_ident() not in read_in  # a worker thread, not the event loop's


async def test_on_postgresql_the_dashboard_reads_committed_data_off_the_event_loop(
        pg_url: str, config: MarketConfig, read_in: list[int]) -> None:
    from transactive.services.pg_store import PgStore

    store = PgStore(pg_url)
    service = VtnService(VtnCore(config, store, ManualClock(NOW)))
    dashboard = Dashboard(service, operator_token=OPERATOR)
    runner, url = await start_site(create_server(service, board=NoticeBoard(), dashboard=dashboard))
    try:
        assert await _parties_while_writing(url, store, "pv-1") == ([], ["pv-1"])
        assert read_in
        assert threading.get_ident() not in read_in
    finally:
        await runner.cleanup()
        dashboard.close()
        store.close()


async def test_a_store_failing_under_the_dashboard_is_503_not_500(traded: Traded,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: Any, **kwargs: Any) -> dict[str, Any]:
        raise StoreUnavailableError("disk I/O error")

    monkeypatch.setattr(data, "parties_view", failing)
    status, body, reply = await _get(traded.url + "/ui/api/parties", OPERATOR)
    assert status == 503
    assert reply.headers["Retry-After"]
    assert "the store failed: disk I/O error" in str(body)
    assert (await _get(traded.url + "/ui/api/market", OPERATOR))[0] == 200  # the rest goes on


async def test_sign_in_sets_a_cookie_the_pages_accept_and_sign_out_clears_it(traded: Traded) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # (an IP address)
        async with http.post(traded.url + "/ui/login", data={"token": traded.token("pv-2")},
                             allow_redirects=False) as reply:
            assert reply.status == 303
            assert reply.headers["Location"] == "/ui/party/pv-2"
            cookie = reply.cookies[COOKIE]
            assert cookie["httponly"]
            assert cookie["samesite"] == "Strict"
            assert cookie["path"] == "/ui"
        async with http.get(traded.url + "/ui/api/party/pv-2") as reply:
            assert reply.status == 200
        async with http.get(traded.url + "/ui/api/party/pv-1") as reply:
            assert reply.status == 403
        async with http.get(traded.url + "/ui/logout", allow_redirects=False) as reply:
            assert reply.status == 303
        async with http.get(traded.url + "/ui/api/party/pv-2") as reply:
            assert reply.status == 401
    status, page, _ = await _get(traded.url + "/ui/login?token=wrong")
    assert status == 401
    assert "neither the operator" in page


@pytest.mark.parametrize(("path", "token", "status"), [
    ("/ui/api/market", None, 401),
    ("/ui/api/parties", "home-1", 403),
    ("/ui/api/openadr", "home-1", 403),
    ("/ui/api/nothing", OPERATOR, 404),
    ("/ui/static/nothing.js", None, 404),
    ("/ui/static/dashboard.js", None, 200),
    ("/ui/api/parties", OPERATOR, 200),
    ("/ui/api/openadr", OPERATOR, 200),
])
async def test_who_may_see_what(traded: Traded, path: str, token: str | None, status: int) -> None:
    if token in ("home-1",):
        token = traded.token(token)
    got, body, reply = await _get(traded.url + path, token)
    assert got == status, body
    if status == 401:
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    if path.startswith("/ui/api/") and status != 404:
        assert reply.headers["Cache-Control"] == "no-store"


async def test_an_authorization_header_of_another_scheme_is_401(traded: Traded) -> None:
    async with aiohttp.ClientSession() as http, http.get(traded.url + "/ui/api/market",
                                                         headers={"Authorization": f"Basic {OPERATOR}"}) as reply:
        assert reply.status == 401
        assert (await reply.json())["field"] == "Authorization"


async def test_the_dashboard_is_read_only(traded: Traded) -> None:
    async with aiohttp.ClientSession() as http, http.post(traded.url + "/ui/api/market", json={},
                                                          headers={"Authorization": f"Bearer {OPERATOR}"}) as reply:
        assert reply.status == 405
        assert reply.headers["Allow"] == "GET, HEAD"


async def test_the_dashboard_in_the_aiohttp_application(traded: Traded) -> None:
    app = create_app(traded.service, dashboard=Dashboard(traded.service, operator_token=OPERATOR))
    runner, url = await start_site(app)
    try:
        status, market, _ = await _get(url + "/ui/api/market", OPERATOR)
        assert status == 200
        assert [c["price"] for c in market["cleared"]] == ["0.17"]
    finally:
        await runner.cleanup()


# ---- communities (vtn serve --community-dir) -------------------------------------------------------------


@dataclass
class WithCommunities:
    url: str
    dirs: dict[str, Path]


@pytest.fixture
async def with_communities(traded: Traded, tmp_path: Path) -> AsyncIterator[WithCommunities]:
    """The traded market's dashboard showing three community directories: "home-1" (the home's party is a
    community aggregator), "other", and one whose aggregator has not started yet."""
    parent = tmp_path / "communities"
    parent.mkdir()
    made = [await asyncio.to_thread(sample_community, parent, name) for name in ("home-1", "other")]  # (own loop)
    dirs = {"home-1": made[0].data_dir, "other": made[1].data_dir, "later": parent / "later"}
    check_community_dirs(tuple(dirs.values()))
    dashboard = Dashboard(traded.service, operator_token=OPERATOR, community_dirs=tuple(dirs.values()))
    runner, url = await start_site(create_server(traded.service, board=NoticeBoard(), dashboard=dashboard))
    try:
        yield WithCommunities(url, dirs)
    finally:
        await runner.cleanup()


async def test_a_communitys_page_is_its_community_report(with_communities: WithCommunities, traded: Traded,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = with_communities.dirs["other"]
    assert main(["community", "report", "--data-dir", str(data_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    status, view, _ = await _get(with_communities.url + "/ui/api/community/other", OPERATOR)
    assert status == 200
    assert view.pop("data_dir") == str(data_dir)
    assert (view.pop("status"), view.pop("reason")) == ("ok", None)
    assert view == report
    assert report["ledger_tokens_match"] is True
    assert report["token_events"] > 0
    status, page, _ = await _get(with_communities.url + "/ui/community/other", OPERATOR)
    assert status == 200
    leader = report["ranking"][0]
    assert f'<span data-field="ranking.0">{leader}</span>' in page
    assert f'<span data-field="tokens.{leader}">{report["tokens"][leader]}</span>' in page
    assert f'<span data-field="calls">{report["calls"]}</span>' in page
    assert page.count("<rect class=\"vol") == 24  # a bar per hour of the day
    assert 'class="vol critical"' in page  # hours 8 and 18


async def test_the_communities_list_shows_each_directory(with_communities: WithCommunities) -> None:
    status, listed, _ = await _get(with_communities.url + "/ui/api/communities", OPERATOR)
    assert status == 200
    rows = {r["data_dir"]: r for r in listed["communities"]}
    assert [r["community"] for r in listed["communities"]] == ["home-1", "other", None]
    later = rows[str(with_communities.dirs["later"])]
    assert later["status"] == "waiting"
    assert "no such directory" in later["reason"]
    other = rows[str(with_communities.dirs["other"])]
    assert (other["goal"], other["members"], other["calls"], other["leader"]) == ("spinning-reserve", 2, 2, "ev-a")
    _, page, _ = await _get(with_communities.url + "/ui/communities", OPERATOR)
    assert '<a href="/ui/community/other">other</a>' in page
    assert '<span data-field="communities.2.status">waiting</span>' in page


async def test_a_community_sees_its_own_page_only(with_communities: WithCommunities, traded: Traded) -> None:
    home = traded.token("home-1")
    url = with_communities.url
    assert (await _get(url + "/ui/api/community/home-1", home))[0] == 200
    other = await _get(url + "/ui/api/community/other", home)
    missing = await _get(url + "/ui/api/community/nobody", home)
    assert (other[0], missing[0]) == (403, 403)
    assert other[1]["field"] == missing[1]["field"] == "community"  # (the same answer: no probing of names)
    assert (await _get(url + "/ui/api/communities", home))[0] == 403
    assert (await _get(url + "/ui/api/community/nobody", OPERATOR))[0] == 404
    status, party, _ = await _get(url + "/ui/api/party/home-1", home)
    assert (status, party["community"]) == (200, True)
    _, page, _ = await _get(url + "/ui/party/home-1", home)
    assert 'href="/ui/community/home-1"' in page
    _, pv, _ = await _get(url + "/ui/api/party/pv-1", OPERATOR)
    assert pv["community"] is False


async def test_books_that_turn_unreadable_or_a_ledger_that_disagrees_are_shown_not_crashed_on(
        with_communities: WithCommunities) -> None:
    other = with_communities.dirs["other"]
    state = other / "community.json"
    books = json.loads(state.read_text())
    books["tokens"]["ev-a"] = str(Decimal(books["tokens"]["ev-a"]) + 1)  # the books say more than the ledger
    state.write_text(json.dumps(books))
    status, view, _ = await _get(with_communities.url + "/ui/api/community/other", OPERATOR)
    assert (status, view["ledger_tokens_match"]) == (200, False)
    assert "disagrees" in view["reason"]
    state.write_text("{")  # half written by hand
    status, listed, _ = await _get(with_communities.url + "/ui/api/communities", OPERATOR)
    assert status == 200
    row = next(r for r in listed["communities"] if r["data_dir"] == str(other))
    assert row["status"] == "unreadable"
    assert "community.json" in row["reason"]
    assert (await _get(with_communities.url + "/ui/api/community/other", OPERATOR))[0] == 404


def test_community_dirs_that_cannot_be_a_communitys_are_refused_naming_the_flag(tmp_path: Path) -> None:
    a, b = sample_community(tmp_path / "a", "cm").data_dir, sample_community(tmp_path / "b", "cm").data_dir
    afile = tmp_path / "file"
    afile.write_text("x")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("x")
    for dirs, message in [((afile,), "not a directory"), ((busy,), "not a community data directory"),
                          ((a, a), "given twice"), ((a, b), "community 'cm' is also in")]:
        with pytest.raises(ValueError, match=message) as caught:
            check_community_dirs(dirs)
        assert str(caught.value).startswith("--community-dir ")
    check_community_dirs((a, tmp_path / "not-yet", tmp_path / "empty"))


def test_vtn_serve_refuses_a_bad_community_dir_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["vtn", "serve", "--data-dir", str(tmp_path / "vtn"), "--community-dir", str(afile)]) == 2
    err = capsys.readouterr().err
    assert err == f"transactive vtn serve: --community-dir {afile}: not a directory\n"
    assert not (tmp_path / "vtn").exists()  # refused before anything was made
