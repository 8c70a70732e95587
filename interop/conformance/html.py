"""The HTML report: one self-contained page (no script, no fetched style or font) a person can read and mail.

The page opens with the summary (the endpoint, what it was tested as, counts, and a line per case), then each
case: failed first, then skipped, then passed; each with the rules it checks, the rule broken, the detail and
the evidence — every document of the exchange, pretty-printed, open for a failure and folded otherwise.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html import escape

from lxml import etree

from transactive import __version__
from transactive.interop.conformance.model import Exchange, Outcome, Report, Result

__all__ = ["pretty_document", "render_html"]

_ORDER = {Result.FAIL: 0, Result.SKIP: 1, Result.PASS: 2}

_STYLE = """
:root { --fail: #b3261e; --pass: #1e6b35; --skip: #7a5d00; --ink: #1b1b1f; --muted: #5d5f66; --line: #d9dae0; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0;
       background: #f6f7f9; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 1.5em; margin: 0 0 4px; } h2 { font-size: 1.15em; margin: 32px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.meta code { color: var(--ink); }
.counts { display: flex; gap: 12px; margin: 16px 0; }
.count { flex: 1; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.count b { display: block; font-size: 1.8em; line-height: 1.1; }
.count.fail b { color: var(--fail); } .count.pass b { color: var(--pass); } .count.skip b { color: var(--skip); }
.verdict { font-weight: 600; padding: 10px 16px; border-radius: 8px; color: #fff; }
.verdict.fail { background: var(--fail); } .verdict.pass { background: var(--pass); }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eceef2; font-weight: 600; }
td.id { white-space: nowrap; font-family: ui-monospace, Menlo, Consolas, monospace; width: 9em; }
td.result { width: 5em; } td .why { display: block; color: var(--muted); font-size: .9em; }
.badge { display: inline-block; min-width: 3.2em; text-align: center; border-radius: 4px; padding: 0 6px;
         font-size: .85em; font-weight: 600; color: #fff; text-transform: uppercase; }
.badge.fail { background: var(--fail); } .badge.pass { background: var(--pass); }
.badge.skip { background: var(--skip); }
section.case { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--line);
               border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
section.case.fail { border-left-color: var(--fail); } section.case.pass { border-left-color: var(--pass); }
section.case.skip { border-left-color: var(--skip); }
section.case h3 { margin: 0 0 6px; font-size: 1.05em; }
.rules { margin: 4px 0; padding-left: 20px; color: var(--muted); }
.broken { background: #fdecea; border-radius: 4px; padding: 6px 10px; margin: 6px 0; }
.detail { margin: 6px 0; white-space: pre-wrap; }
details { margin: 6px 0; } summary { cursor: pointer; color: var(--muted); }
.exchange { margin: 8px 0; } .exchange .head { font-family: ui-monospace, Menlo, Consolas, monospace;
            font-size: .85em; color: var(--muted); }
pre { background: #f3f4f7; border: 1px solid var(--line); border-radius: 4px; padding: 8px 10px; margin: 4px 0;
      overflow-x: auto; font: 12.5px/1.45 ui-monospace, Menlo, Consolas, monospace; white-space: pre; }
a { color: inherit; }
"""


def pretty_document(document: bytes) -> str:
    """The document indented for reading (XML or JSON); as it came when it is neither."""
    text = document.strip()
    if not text:
        return "(empty body)"
    if text[:1] in (b"{", b"["):
        try:
            return json.dumps(json.loads(text), indent=2)
        except ValueError:
            pass
    else:
        try:
            parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
            root = etree.fromstring(text, parser)
            return etree.tostring(root, pretty_print=True, encoding="unicode")
        except etree.XMLSyntaxError:
            pass
    return text.decode("utf-8", errors="replace")


def _exchange(exchange: Exchange) -> str:
    d = exchange.as_dict()
    arrow = "kit → endpoint" if exchange.direction == "sent" else "endpoint → kit"
    status = f" · HTTP {exchange.status}" if exchange.status is not None else ""
    body = pretty_document(d["document"].encode("utf-8"))
    return (f'<div class="exchange"><div class="head">{escape(arrow)} · {escape(exchange.label)}{status}</div>'
            f"<pre>{escape(body)}</pre></div>")


def _case(outcome: Outcome) -> str:
    r = outcome.result.value
    parts = [f'<section class="case {r}" id="{escape(outcome.case.id)}">',
             f'<h3><span class="badge {r}">{r}</span> {escape(outcome.case.id)} — {escape(outcome.case.title)}</h3>',
             '<ul class="rules">' + "".join(f"<li>{escape(rule.cite())}</li>" for rule in outcome.case.rules)
             + "</ul>"]
    if outcome.broken is not None:
        parts.append(f'<div class="broken"><b>Rule broken:</b> {escape(outcome.broken.cite())}</div>')
    if outcome.detail:
        parts.append(f'<div class="detail">{escape(outcome.detail)}</div>')
    if outcome.evidence:
        opened = " open" if outcome.result is Result.FAIL else ""
        n = len(outcome.evidence)
        parts.append(f"<details{opened}><summary>Evidence: {n} document{'s' if n != 1 else ''} exchanged "
                     f"({outcome.seconds:.2f} s)</summary>" + "".join(_exchange(e) for e in outcome.evidence)
                     + "</details>")
    parts.append("</section>")
    return "".join(parts)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _why(outcome: Outcome, limit: int = 160) -> str:
    if outcome.result is Result.PASS or not outcome.detail:
        return ""
    text = outcome.detail if len(outcome.detail) <= limit else outcome.detail[: limit - 1] + "…"
    return f'<span class="why">{escape(text)}</span>'


def render_html(report: Report) -> str:
    """The whole report as one HTML page."""
    ordered = sorted(report.outcomes, key=lambda o: _ORDER[o.result])
    verdict = ("fail", f"{report.failed} case{'s' if report.failed != 1 else ''} failed") if report.failed else (
        "pass", "no case failed")
    title = f"{report.standard} {report.role.upper()} conformance — {report.target}"
    finished = _when(report.finished) if report.finished else "not finished"
    rows = "".join(
        f'<tr><td class="id"><a href="#{escape(o.case.id)}">{escape(o.case.id)}</a></td>'
        f'<td class="result"><span class="badge {o.result.value}">{o.result.value}</span></td>'
        f"<td>{escape(o.case.title)}{_why(o)}</td></tr>"
        for o in ordered)
    counts = "".join(f'<div class="count {k}"><b>{n}</b>{label}</div>' for k, n, label in (
        ("fail", report.failed, "failed"), ("pass", report.passed, "passed"), ("skip", report.skipped, "skipped")))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body><main>"
        f"<h1>Conformance report: {escape(str(report.standard))} {escape(report.role.upper())}</h1>"
        f'<p class="meta">Endpoint <code>{escape(report.target)}</code> · tested as a {escape(report.role.upper())}'
        f" by the transactive {escape(__version__)} conformance kit · {escape(_when(report.started))} → "
        f"{escape(finished)}</p>"
        f'<div class="verdict {verdict[0]}">{escape(verdict[1])}</div>'
        f'<div class="counts">{counts}</div>'
        f"<h2>Summary</h2><table><thead><tr><th>Case</th><th>Result</th><th>Title</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        "<h2>Cases</h2>" + "".join(_case(o) for o in ordered) + "</main></body></html>\n")
