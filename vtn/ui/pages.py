"""The dashboard's pages: HTML rendered on the server from the dicts of :mod:`.data` (what the JSON API
answers), one stylesheet and one small script (``static/``, served by the VTN; nothing from the network).

Every number a test compares carries a ``data-field`` attribute naming the API key it shows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote

__all__ = ["Viewer", "availability_svg", "chart_svg", "communities_page", "community_page", "denied_page",
           "login_page", "market_page", "openadr3_page", "openadr_page", "parties_page", "party_page",
           "transaction_page"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is looking: the operator (``party`` None) or one party (whatever its id, even ``"operator"``)."""

    party: str | None

    @property
    def operator(self) -> bool:
        return self.party is None

    @property
    def name(self) -> str:
        return "operator" if self.party is None else self.party


def _href(*parts: str) -> str:
    """A dashboard link, each part of the path percent-encoded (then HTML-escaped)."""
    return _e("/ui/" + "/".join(quote(p, safe="") for p in parts))


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _field(name: str, value: object, tag: str = "span") -> str:
    return f'<{tag} data-field="{_e(name)}">{_e("—" if value is None else value)}</{tag}>'


def _layout(title: str, body: str, *, viewer: Viewer | None, live: bool = False) -> str:
    nav = ""
    if viewer is not None and viewer.party is None:
        nav = ('<a href="/ui/">Market</a> <a href="/ui/parties">Parties</a> <a href="/ui/openadr">OpenADR 2.0b</a> '
               '<a href="/ui/openadr3">OpenADR 3.1</a> <a href="/ui/communities">Communities</a>')
    elif viewer is not None and viewer.party is not None:
        nav = f'<a href="/ui/">Market</a> <a href="{_href("party", viewer.party)}">My party</a>'
    who = "" if viewer is None else (
        f'<span class="who">signed in as <b data-field="viewer">{_e(viewer.name)}</b>'
        f'{"" if viewer.operator else " (party)"} · '
        '<a href="/ui/logout">sign out</a></span>')
    refresh = ' data-live="5"' if live else ""
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_e(title)} · transactive</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,"><link rel="stylesheet" href="/ui/static/dashboard.css">'
            '<script src="/ui/static/dashboard.js" defer></script></head>'
            f'<body{refresh}><header><b>transactive</b> <nav>{nav}</nav>{who}</header>'
            f'<main id="main"><h1>{_e(title)}</h1>{body}</main>'
            '<footer>read-only · refreshed <span id="refreshed"></span></footer></body></html>')


def _table(headers: list[str], rows: Iterable[str], cls: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(rows) or f'<tr><td colspan="{len(headers)}" class="none">none</td></tr>'
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def login_page(message: str | None = None) -> str:
    note = f'<p class="error" role="alert">{_e(message)}</p>' if message else ""
    body = (f"{note}<p>The operator token (<code>DATA_DIR/operator.token</code>) shows the whole market; a party's "
            "token (issued at registration) shows that party's pages.</p>"
            '<form method="post" action="/ui/login"><label>Token <input type="password" name="token" '
            'autocomplete="off" required></label> <button type="submit">Sign in</button></form>')
    return _layout("Sign in", body, viewer=None)


def denied_page(message: str, viewer: Viewer | None, status: int = 403) -> str:
    title = {403: "Not allowed", 404: "Not found", 405: "Read-only"}.get(status, "Refused")
    return _layout(title, f'<p class="error" role="alert" data-field="error">{_e(message)}</p>', viewer=viewer)


def chart_svg(cleared: list[dict[str, Any]], currency: str) -> str:
    """Clearing price (line) and traded volume (bars) per cleared interval, as an inline SVG."""
    if not cleared:
        return '<p class="none">no interval cleared yet</p>'
    width, height, pad = 900, 260, 40
    n = len(cleared)
    prices = [float(c["price"]) for c in cleared if c["price"] is not None]
    volumes = [float(c["quantity_kwh"] or 0) for c in cleared]
    pmax = max(prices, default=1.0) or 1.0
    pmin = min(min(prices, default=0.0), 0.0)
    vmax = max(volumes) or 1.0
    step = (width - 2 * pad) / n
    bars, points = [], []
    for i, c in enumerate(cleared):
        x = pad + i * step
        h = (height - 2 * pad) * volumes[i] / vmax
        bars.append(f'<rect class="vol" x="{x:.1f}" y="{height - pad - h:.1f}" width="{max(step - 1, 1):.1f}" '
                    f'height="{h:.1f}"><title>{_e(c["interval_start"])}: {_e(c["quantity_kwh"])} kWh</title></rect>')
        if c["price"] is not None:
            y = height - pad - (height - 2 * pad) * (float(c["price"]) - pmin) / ((pmax - pmin) or 1.0)
            points.append(f"{x + step / 2:.1f},{y:.1f}")
    line = f'<polyline class="price" points="{" ".join(points)}"/>' if points else ""
    labels = (f'<text x="4" y="{pad - 8}">{pmax:.4g} {_e(currency)}/kWh</text>'
              f'<text x="{width - pad}" y="{pad - 8}" text-anchor="end">{vmax:.4g} kWh</text>'
              f'<text x="{pad}" y="{height - 8}">{_e(cleared[0]["interval_start"])}</text>'
              f'<text x="{width - pad}" y="{height - 8}" text-anchor="end">{_e(cleared[-1]["interval_start"])}</text>')
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="clearing prices and volumes">'
            f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
            f'{"".join(bars)}{line}{labels}</svg>'
            '<p class="legend"><span class="key price"></span> clearing price '
            '<span class="key vol"></span> volume cleared</p>')


def market_page(view: dict[str, Any], viewer: Viewer) -> str:
    s, cur = view["summary"], view["currency"]
    facts = (f'<dl class="facts"><dt>market</dt><dd>{_field("market", view["market"])}</dd>'
             f'<dt>market time</dt><dd>{_field("market_time", view["market_time"])}</dd>'
             f'<dt>next open interval</dt><dd>{_field("next_open_interval", view["next_open_interval"])}</dd>'
             f'<dt>intervals shown</dt><dd>{_field("summary.intervals_shown", s["intervals_shown"])}</dd>'
             f'<dt>with a trade</dt><dd>{_field("summary.intervals_with_trade", s["intervals_with_trade"])}</dd>'
             f'<dt>traded</dt><dd>{_field("summary.traded_kwh", s["traded_kwh"])} kWh</dd>'
             f'<dt>mean price</dt><dd>{_field("summary.mean_price", s["mean_price"])} '
             f'{_e(view["currency"])}/kWh</dd></dl>')
    books = []
    for i, interval in enumerate(view["order_book"]):
        def levels(kind: str, rows: list[dict[str, Any]], i: int = i) -> str:
            return "".join(f'<tr><td>{_field(f"order_book.{i}.{kind}.{j}.price", r["price"])}</td>'
                           f'<td>{_field(f"order_book.{i}.{kind}.{j}.quantity_kwh", r["quantity_kwh"])}</td>'
                           f'<td>{r["tenders"]}</td></tr>' for j, r in enumerate(rows))
        books.append(
            f'<section class="book"><h3>{_e(interval["interval_start"])} '
            f'<small>gate {_e(interval["gate_time"])}</small></h3><div class="sides">'
            f'<div><h4>bids · {_field(f"order_book.{i}.bid_kwh", interval["bid_kwh"])} kWh</h4>'
            f'{_table(["price", "kWh", "tenders"], [levels("bids", interval["bids"])])}</div>'
            f'<div><h4>offers · {_field(f"order_book.{i}.offer_kwh", interval["offer_kwh"])} kWh</h4>'
            f'{_table(["price", "kWh", "tenders"], [levels("offers", interval["offers"])])}</div></div></section>')
    rows = [f'<tr><td>{_e(c["interval_start"])}</td><td>{_field(f"cleared.{i}.price", c["price"])}</td>'
            f'<td>{_field(f"cleared.{i}.quantity_kwh", c["quantity_kwh"])}</td>'
            f'<td>{_e(c["grid_import_kwh"])}</td><td>{_e(c["grid_export_kwh"])}</td></tr>'
            for i, c in reversed(list(enumerate(view["cleared"])))]
    body = (f'<div id="live">{facts}<h2>Clearing prices and volumes</h2>{chart_svg(view["cleared"], view["currency"])}'
            f'<h2>Order book of the open intervals</h2>'
            f'{"".join(books) or "<p class=none>no open tender</p>"}'
            f'<h2>Cleared intervals</h2>'
            f'{_table(["interval", f"price ({cur}/kWh)", "kWh", "grid import", "grid export"], rows)}'
            '</div>')
    return _layout("Market overview", body, viewer=viewer, live=True)


def parties_page(view: dict[str, Any], viewer: Viewer) -> str:
    items = "".join(f'<li><a href="{_href("party", p)}">{_e(p)}</a></li>' for p in view["parties"])
    return _layout("Parties", f'<ul class="parties">{items or "<li class=none>none registered</li>"}</ul>',
                   viewer=viewer)


def party_page(view: dict[str, Any], viewer: Viewer) -> str:
    pos, bill, cur = view["position"], view["bill"], view["currency"]
    facts = (f'<dl class="facts"><dt>party</dt><dd>{_field("party", view["party"])}</dd>'
             f'<dt>registered</dt><dd>{_field("registered", "yes" if view["registered"] else "no")}</dd>'
             f'<dt>bought</dt><dd>{_field("position.bought_kwh", pos["bought_kwh"])} kWh</dd>'
             f'<dt>sold</dt><dd>{_field("position.sold_kwh", pos["sold_kwh"])} kWh</dd>'
             f'<dt>net position</dt><dd>{_field("position.net_kwh", pos["net_kwh"])} kWh</dd>'
             f'<dt>energy bought</dt><dd>{_field("bill.energy_bought", bill["energy_bought"])} {_e(cur)}</dd>'
             f'<dt>energy sold</dt><dd>{_field("bill.energy_sold", bill["energy_sold"])} {_e(cur)}</dd>'
             f'<dt>bill (positive pays)</dt><dd><b>{_field("bill.net", bill["net"])}</b> {_e(cur)}</dd></dl>')
    states = "".join(f'<li>{_e(k)}: {_field(f"settlement_states.{k}", v)}</li>'
                     for k, v in view["settlement_states"].items())
    rows = [f'<tr><td><a href="{_href("transaction", t["transaction_id"])}">{_e(t["transaction_id"])}</a></td>'
            f'<td>{_e(t["interval_start"])}</td><td>{_e(t["side"])}</td>'
            f'<td>{_field(f"transactions.{i}.quantity_kwh", t["quantity_kwh"])}</td>'
            f'<td>{_field(f"transactions.{i}.price", t["price"])}</td>'
            f'<td>{_field(f"transactions.{i}.amount", t["amount"])}</td>'
            f'<td class="state {_e(t["state"])}">{_field(f"transactions.{i}.state", t["state"])}</td></tr>'
            for i, t in reversed(list(enumerate(view["transactions"])))]
    heads = ["transaction", "interval", "side", "kWh", f"price ({cur}/kWh)", f"amount ({cur})", "state"]
    tenders = [f'<tr><td>{_e(t["tender_id"])}</td><td>{_e(t["interval_start"])}</td><td>{_e(t["side"])}</td>'
               f'<td>{_e(t["price"])}</td><td>{_e(t["quantity_kwh"])}</td></tr>' for t in view["open_tenders"]]
    lines = [f'<tr><td>{_e(x["interval_start"])}</td>'
             + "".join(f'<td>{_field(f"intervals.{i}.{k}", x[k])}</td>'
                       for k in ("bought_kwh", "sold_kwh", "net_kwh", "amount", "delivered_kwh")) + "</tr>"
             for i, x in reversed(list(enumerate(view["intervals"])))]
    if view.get("community"):
        facts += (f'<p>This party is a community aggregator: <a id="community" '
                  f'href="{_href("community", view["party"])}">its goal, tokens and ranking</a>.</p>')
    body = (f'<div id="live">{facts}<h2>Settlement states</h2><ul class="states">{states or "<li>none</li>"}</ul>'
            f'<h2>Open tenders</h2>{_table(["tender", "interval", "side", "price", "kWh"], tenders)}'
            f'<h2>Position per interval <small>(the latest {len(view["intervals"])} of '
            f'{_field("intervals_total", view["intervals_total"])})</small></h2>'
            f'{_table(["interval", "bought kWh", "sold kWh", "net kWh", f"amount ({cur})", "metered kWh"], lines)}'
            f'<h2>Transactions <small>(the latest {len(view["transactions"])} of '
            f'{_field("transactions_total", view["transactions_total"])})</small></h2>'
            f'{_table(heads, rows)}'
            '</div>')
    return _layout(f"Party {view['party']}", body, viewer=viewer, live=True)


def transaction_page(view: dict[str, Any], viewer: Viewer) -> str:
    t, led = view["transaction"], view["ledger"]
    facts = "".join(f'<dt>{_e(k.replace("_", " "))}</dt><dd>{_field(f"transaction.{k}", v)}</dd>'
                    for k, v in t.items())
    status = led["status"]
    banner = (f'<p class="status {_e(status.replace(" ", "-"))}" role="status">ledger: '
              f'{_field("ledger.status", status, "b")}'
              + (f' — {_field("ledger.reason", led["reason"])}' if led["reason"] else "")
              + f' · backend {_e(led["backend"])} · state {_field("state", view["state"])}'
              f' · replayed from the ledger {_field("ledger.replayed_state", led["replayed_state"])}</p>')
    steps = [f'<tr><td>{s["seq"]}</td><td>{_e(s["at"])}</td><td>{_e(s["event"])}</td><td>{_e(s["state"])}</td></tr>'
             for s in view["settlement_steps"]]
    entries = [f'<tr><td>{_field(f"ledger.entries.{i}.sequence", e["sequence"])}</td><td>{_e(e["timestamp"])}</td>'
               f'<td>{_field(f"ledger.entries.{i}.kind", e["kind"])}</td>'
               f'<td><code title="{_e(e["reference"])}">{_e((e["reference"] or "")[:16])}…</code></td>'
               f'<td><code>{_e(_summary(e["data"]))}</code></td></tr>' for i, e in enumerate(led["entries"])]
    body = (f'{banner}<dl class="facts">{facts}</dl><h2>Audit trail on the ledger</h2>'
            f'{_table(["seq", "time", "kind", "entry hash", "data"], entries)}'
            f'<h2>Settlement steps (the VTN\'s log)</h2>{_table(["seq", "at", "event", "state"], steps)}')
    return _layout(f"Transaction {t['transaction_id']}", body, viewer=viewer)


def _summary(data: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()) if k != "document_hash")


def openadr_page(events: list[dict[str, Any]], viewer: Viewer) -> str:
    rows = []
    for i, ev in enumerate(events):
        signals = "; ".join(f'{s["name"]}: ' + ", ".join(f'{iv["duration"]}={iv["value"]}' for iv in s["intervals"])
                            for s in ev["signals"])
        opts = ev.get("opts") or {}
        answered = ", ".join(f"{k}: {v or 'no answer'}" for k, v in sorted(opts.items()))
        rows.append(f'<tr><td>{_field(f"{i}.event_id", ev["event_id"])}</td>'
                    f'<td>{_field(f"{i}.status", ev["status"])}</td><td>{_e(ev["start"])}</td>'
                    f'<td>{_e(ev["modification_number"])}</td><td>{_e(", ".join(ev["targets"]))}</td>'
                    f'<td><code>{_e(signals)}</code></td><td>{_e(answered)}</td></tr>')
    body = _table(["event", "status", "start", "modification", "targets", "signals", "opts"], rows)
    return _layout("OpenADR 2.0b events and opts", f'<div id="live">{body}</div>', viewer=viewer, live=True)


# ---- OpenADR 3.1 -------------------------------------------------------------------------------------------


def _payloads(obj: dict[str, Any]) -> str:
    """An event's or report's intervals in one line: ``start +duration TYPE=values; ...``."""
    out = []
    for interval in obj.get("intervals") or ():
        period = interval.get("intervalPeriod") or obj.get("intervalPeriod") or {}
        values = " ".join(f'{p.get("type")}={",".join(str(v) for v in p.get("values") or ())}'
                          for p in interval.get("payloads") or ())
        when = f'{period.get("start", "")} +{period.get("duration", "")}' if period else ""
        out.append(f"{when} {values}".strip())
    return "; ".join(out)


#: per collection: the columns its table shows (header, the object's key or a function of the object)
_OA3_COLUMNS: dict[str, list[tuple[str, Any]]] = {
    "programs": [("id", "id"), ("programName", "programName"), ("created", "createdDateTime")],
    "events": [("id", "id"), ("programID", "programID"), ("eventName", "eventName"), ("priority", "priority"),
               ("intervals", _payloads)],
    "vens": [("id", "id"), ("venName", "venName"), ("clientID", "clientID"), ("created", "createdDateTime")],
    "resources": [("id", "id"), ("resourceName", "resourceName"), ("venID", "venID")],
    "reports": [("id", "id"), ("reportName", "reportName"), ("eventID", "eventID"), ("clientName", "clientName"),
                ("resources", lambda o: "; ".join(f'{r.get("resourceName")}: {_payloads(r)}'
                                                   for r in o.get("resources") or ()))],
    "subscriptions": [("id", "id"), ("clientName", "clientName"), ("programID", "programID"),
                      ("objects", lambda o: "; ".join(",".join(op.get("objects") or ()) + " → "
                                                       + ",".join(op.get("operations") or ())
                                                       for op in o.get("objectOperations") or ()))],
}


def openadr3_page(view: dict[str, Any], viewer: Viewer) -> str:
    if not view["enabled"]:
        return _layout("OpenADR 3.1 objects", '<p class="none">this VTN serves no OpenADR 3.1</p>', viewer=viewer)
    sections = []
    for name, columns in _OA3_COLUMNS.items():
        part = view["collections"][name]
        rows = []
        for i, obj in enumerate(part["latest"]):
            cells = []
            for _head, key in columns:
                if callable(key):
                    cells.append(f"<td><code>{_e(key(obj))}</code></td>")
                elif key not in obj:  # (an optional property the object does not have)
                    cells.append('<td class="none">—</td>')
                else:
                    cells.append(f'<td>{_field(f"collections.{name}.latest.{i}.{key}", obj.get(key))}</td>')
            rows.append(f'<tr>{"".join(cells)}</tr>')
        shown = len(part["latest"])
        sections.append(f'<h2>{_e(name)} <small>({shown} of {_field(f"collections.{name}.total", part["total"])}'
                        f'{", the latest" if shown < part["total"] else ""})</small></h2>'
                        f'{_table([h for h, _ in columns], reversed(rows))}')
    return _layout("OpenADR 3.1 objects", f'<div id="live">{"".join(sections)}</div>', viewer=viewer, live=True)


# ---- communities -------------------------------------------------------------------------------------------


def communities_page(view: dict[str, Any], viewer: Viewer) -> str:
    rows = []
    for i, c in enumerate(view["communities"]):
        if c["status"] != "ok":
            rows.append(f'<tr><td class="none">{_e(c["data_dir"])}</td>'
                        f'<td colspan="7">{_field(f"communities.{i}.status", c["status"])}: {_e(c["reason"])}</td>'
                        '</tr>')
            continue
        rows.append(f'<tr><td><a href="{_href("community", c["community"])}">{_e(c["community"])}</a></td>'
                    f'<td>{_field(f"communities.{i}.goal", c["goal"])}</td>'
                    f'<td>{_field(f"communities.{i}.goal_kw", c["goal_kw"])}</td>'
                    f'<td>{_field(f"communities.{i}.members", c["members"])}</td>'
                    f'<td>{_field(f"communities.{i}.calls", c["calls"])}</td>'
                    f'<td>{_field(f"communities.{i}.delivered_kwh", c["delivered_kwh"])}</td>'
                    f'<td>{_field(f"communities.{i}.revenue", c["revenue"])} {_e(c["currency"])}</td>'
                    f'<td>{_field(f"communities.{i}.leader", c["leader"])}</td></tr>')
    heads = ["community", "goal", "goal kW", "members", "calls", "delivered kWh", "revenue", "most tokens"]
    note = "" if view["communities"] else ('<p class="none">no community: start the VTN with --community-dir DIR, '
                                           "the data directory of 'transactive community run'</p>")
    return _layout("Communities", f'<div id="live">{note}{_table(heads, rows)}</div>', viewer=viewer, live=True)


def availability_svg(hours: list[float], goal_kw: float, critical: dict[str, int]) -> str:
    """The expected available kW per hour of the day (bars; critical hours marked) against the goal (a line)."""
    width, height, pad = 900, 220, 36
    top = max([*hours, goal_kw, 1e-9])
    step = (width - 2 * pad) / 24
    bars = []
    for h, kw in enumerate(hours):
        bar = (height - 2 * pad) * kw / top
        level = critical.get(str(h))
        cls = "vol" if level is None else "vol critical"
        note = "" if level is None else f" (critical, level {level})"
        bars.append(f'<rect class="{cls}" x="{pad + h * step:.1f}" y="{height - pad - bar:.1f}" '
                    f'width="{step - 2:.1f}" height="{bar:.1f}"><title>{h:02d}:00 {kw:g} kW{_e(note)}</title></rect>'
                    f'<text x="{pad + h * step + step / 2:.1f}" y="{height - pad + 14}" '
                    f'text-anchor="middle">{h}</text>')
    y = height - pad - (height - 2 * pad) * goal_kw / top
    return (f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
            'aria-label="expected available power by hour against the goal">'
            f'<line class="axis" x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"/>'
            f'{"".join(bars)}<line class="goal" x1="{pad}" y1="{y:.1f}" x2="{width - pad}" y2="{y:.1f}"/>'
            f'<text x="4" y="{pad - 10}">{top:.4g} kW</text>'
            f'<text x="{width - pad}" y="{y - 4:.1f}" text-anchor="end">goal {goal_kw:g} kW</text></svg>'
            '<p class="legend"><span class="key vol"></span> expected available kW (hour of the day) '
            '<span class="key critical"></span> critical hour <span class="key goal"></span> goal</p>')


def community_page(view: dict[str, Any], viewer: Viewer) -> str:
    if view["status"] != "ok":
        body = (f'<p class="status not-verified" role="status">{_field("status", view["status"], "b")}: '
                f'{_field("reason", view["reason"])}</p>')
        return _layout(f"Community in {view['data_dir']}", f'<div id="live">{body}</div>', viewer=viewer, live=True)
    cur = view["currency"]
    match = {True: "yes", False: "no", None: "unknown"}[view["ledger_tokens_match"]]
    why = f" — {_e(view['reason'])}" if view["reason"] else ""
    facts = (f'<dl class="facts"><dt>community</dt><dd>{_field("community", view["community"])}</dd>'
             f'<dt>goal</dt><dd>{_field("goal", view["goal"])} · {_field("goal_kw", view["goal_kw"])} kW '
             'every hour</dd>'
             f'<dt>members</dt><dd>{len(view["members"])}</dd>'
             f'<dt>calls</dt><dd>{_field("calls", view["calls"])}</dd>'
             f'<dt>requested</dt><dd>{_field("requested_kwh", view["requested_kwh"])} kWh</dd>'
             f'<dt>delivered</dt><dd>{_field("delivered_kwh", view["delivered_kwh"])} kWh (mean '
             f'{_field("delivered_kw", view["delivered_kw"])} kW while called)</dd>'
             f'<dt>revenue</dt><dd>{_field("revenue", view["revenue"])} {_e(cur)}</dd>'
             f'<dt>token transactions</dt><dd>{_field("token_events", view["token_events"])}</dd>'
             f'<dt>token ledger agrees</dt><dd>{_field("ledger_tokens_match", match)}'
             f'{why}</dd></dl>')
    members = {m["name"]: m for m in view["members"]}
    ranked = [f'<tr><td>{k}</td><td>{_field(f"ranking.{k - 1}", name)}</td>'
              f'<td>{_e(members.get(name, {}).get("template"))}</td>'
              f'<td>{_e(members.get(name, {}).get("power_kw"))}</td>'
              f'<td>{_field(f"tokens.{name}", view["tokens"].get(name))}</td>'
              f'<td>{_field(f"revenue_by_member.{name}", view["revenue_by_member"].get(name))}</td></tr>'
              for k, name in enumerate(view["ranking"], 1)]
    critical = ", ".join(f"{int(h):02d}:00 (level {lvl})" for h, lvl in view["critical_hours"].items()) or "none"
    body = (f'<div id="live">{facts}<h2>Expected availability against the goal</h2>'
            f'{availability_svg(view["available_kw_by_hour"], view["goal_kw"], view["critical_hours"])}'
            f'<p>critical hours: {_e(critical)}</p><h2>Ranking by tokens</h2>'
            f'{_table(["rank", "member", "template", "power kW", "tokens", f"revenue ({cur})"], ranked)}</div>')
    return _layout(f"Community {view['community']}", body, viewer=viewer, live=True)
