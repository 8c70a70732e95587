"""Each CTS case can fail: a stand-in VTN — a proxy in front of a real in-process transactive VTN that breaks
one rule in its answers — makes exactly that case fail, with the rule it breaks, and no other.

The proxy forwards every request to the VTN and hands the request and the VTN's answer to the breakage,
which may rewrite the answer (or answer by itself); everything else passes through untouched, so the other
cases pass as they do against transactive.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from lxml import etree

from tests.vtn.conftest import start_site
from transactive.interop.conformance.cts_probe_rules import (
    EXCHANGE_PATTERN,
    JSON_TEXT,
    MEDIA_TYPE,
    NOT_A_SERVER_ERROR,
    OWN_DATA_ONLY,
    REFUSAL_NAMES_FIELD,
    REFUSED_WITH_4XX,
    REGISTRATION,
    REQUEST_ID_ONCE,
    RULE_DELIVERY,
)
from transactive.interop.conformance.cts_vtn import probe
from transactive.interop.conformance.model import Options, Result, Rule
from transactive.interop.conformance.rules import CTS_SCHEMA, EI_RESPONSE, WELL_FORMED
from transactive.ledger import EmbeddedLedger
from transactive.services import ManualClock, MarketConfig, Settlement, SqliteStore, VtnCore, VtnService
from transactive.services.lifecycle import TenderStatus
from transactive.vtn import create_server

EI = "http://docs.oasis-open.org/ns/energyinterop/201110/cts.04"


@dataclass
class Up:
    """An answer: the VTN's, or the breakage's."""

    status: int
    content_type: str
    body: bytes


@dataclass
class Seen:
    """A request the proxy received: its body, media type and root element's local name ('' if unreadable)."""

    body: bytes
    content_type: str
    root: str
    #: what the breakage remembers between requests
    memory: dict[str, object] = field(default_factory=dict)


#: ``(request, the VTN's answer) -> the answer sent`` (``before`` may answer without asking the VTN)
After = Callable[[Seen, Up], Up]
Before = Callable[[Seen], Up | None]


def _root_name(body: bytes) -> str:
    try:
        return etree.QName(etree.fromstring(body)).localname
    except etree.XMLSyntaxError:
        return ""


def _tree(up: Up) -> etree._Element:
    return etree.fromstring(up.body)


def _out(up: Up, root: etree._Element, status: int | None = None) -> Up:
    return Up(status or up.status, up.content_type, etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _ei(root: etree._Element, name: str) -> etree._Element | None:
    return root.find(f".//{{{EI}}}{name}")


def _code(up: Up) -> str | None:
    if not up.body.strip().startswith(b"<"):
        return None
    found = _ei(_tree(up), "responseCode")
    return found.text if found is not None else None


def _is(up: Up, name: str) -> bool:
    return up.body.strip().startswith(b"<") and etree.QName(_tree(up)).localname == name


def _set(up: Up, element: str, text: str | None, *, status: int | None = None, remove: bool = False) -> Up:
    root = _tree(up)
    found = _ei(root, element)
    assert found is not None, f"{element} not in {up.body[:200]!r}"
    if remove:
        found.getparent().remove(found)  # type: ignore[union-attr]
    else:
        found.text = text
    return _out(up, root, status)


def _first(seen: Seen, key: str) -> bool:
    """True the first time ``key`` is asked about."""
    first = key not in seen.memory
    seen.memory[key] = True
    return first


# ---- the breakages ----------------------------------------------------------------------------------


def market_refid(seen: Seen, up: Up) -> Up:
    if _is(up, "eiReplyEiMarketContext") and _code(up) == "200" and _first(seen, "market"):
        return _set(up, "refID", "someone-elses-request")
    return up


def registration_without_id(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCreatedPartyRegistration") and _code(up) == "200" and _first(seen, "registration"):
        return _set(up, "registrationID", None, remove=True)
    return up


def registration_twice(seen: Seen, up: Up) -> Up:
    if seen.root == "eiCreatePartyRegistration" and _code(up) == "200":
        request_id = etree.fromstring(seen.body).findtext(".//{*}requestID")
        if not _first(seen, f"registration {request_id}"):
            return _set(up, "registrationID", "a-second-registration")
    return up


def tender_refid(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCreatedTender") and _code(up) == "200":
        return _set(up, "refID", "someone-elses-request")
    return up


def cancel_answered_as_created(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCanceledTender"):
        root = _tree(up)
        root.tag = root.tag.replace("eiCanceledTender", "eiCreatedTender")
        return _out(up, root)
    return up


def refusal_with_success(seen: Seen, up: Up) -> Up:
    if seen.root == "eiCreateTender" and (_code(up) or "").startswith("4"):
        return _set(up, "responseCode", "200", status=200)
    return up


def refusal_names_nothing(seen: Seen, up: Up) -> Up:
    if seen.root == "eiCreateTender" and (_code(up) or "").startswith("4"):
        return _set(up, "responseDescription", "refused")
    return up


def transactions_refid(seen: Seen, up: Up) -> Up:
    if _is(up, "eiReplyTransaction") and _code(up) == "200":
        return _set(up, "refID", "someone-elses-request")
    return up


def transactions_not_json(seen: Seen, up: Up) -> Up:
    if up.body.lstrip().startswith(b'{"pyld:eiReplyTransaction"') and b'"200"' in up.body:
        return Up(up.status, up.content_type, up.body[:-3])
    return up


def delivery_accepted(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCreatedDelivery"):
        return _set(up, "responseCode", "200")
    return up


def position_cut(seen: Seen, up: Up) -> Up:
    if _is(up, "eiReplyPosition"):
        return Up(up.status, up.content_type, up.body[: len(up.body) // 2])
    return up


def quote_schema_invalid(seen: Seen, up: Up) -> Up:
    if _is(up, "eiReplyQuote"):
        root = _tree(up)
        etree.SubElement(root, f"{{{EI}}}undeclaredElement").text = "x"
        return _out(up, root)
    return up


def others_transactions_given(seen: Seen, up: Up) -> Up:
    if b"someone-else" in seen.body and _is(up, "eiReplyTransaction") and _code(up) == "463":
        return _set(up, "responseCode", "200")
    return up


def cancellation_refid(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCanceledPartyRegistration"):
        return _set(up, "refID", "someone-elses-request")
    return up


def cancelled_token_still_works(seen: Seen, up: Up) -> Up:
    if seen.root == "eiCancelPartyRegistration":
        seen.memory["cancelled"] = True
    if seen.memory.get("cancelled") and _is(up, "eiReplyTransaction") and _code(up) == "463":
        return _set(up, "responseCode", "200")
    return up


def server_error_on_garbage(seen: Seen) -> Up | None:
    if seen.content_type.startswith("application/xml") and not seen.root:
        return Up(500, "text/plain", b"Internal Server Error")
    return None


def schema_invalid_taken(seen: Seen) -> Up | None:
    if b"conformanceUnknownElement" in seen.body:
        root = etree.fromstring(seen.body)
        for extra in [e for e in root if etree.QName(e).localname == "conformanceUnknownElement"]:
            root.remove(extra)
        seen.body = etree.tostring(root)
    return None


def schema_refusal_names_nothing(seen: Seen, up: Up) -> Up:
    if b"conformanceUnknownElement" in seen.body:
        return _set(up, "responseDescription", "invalid request")
    return up


def delivery_refusal_names_nothing(seen: Seen, up: Up) -> Up:
    if _is(up, "eiCreatedDelivery"):
        return _set(up, "responseDescription", "refused")
    return up


def text_plain_taken(seen: Seen) -> Up | None:
    if seen.content_type.startswith("text/plain"):
        seen.content_type = "application/xml"
    return None


@dataclass(frozen=True)
class Breakage:
    name: str
    case: str
    rule: Rule
    after: After | None = None
    before: Before | None = None
    wire: str = "xml"


BREAKAGES = [
    Breakage("market context reply echoes another requestID", "CTS_M_0010", EI_RESPONSE, market_refid),
    Breakage("registration reply without a registration id", "CTS_N_0010", REGISTRATION, registration_without_id),
    Breakage("the same registration request registers twice", "CTS_N_0020", REQUEST_ID_ONCE, registration_twice),
    Breakage("created tender echoes another requestID", "CTS_T_0010", EI_RESPONSE, tender_refid),
    Breakage("a cancellation answered with eiCreatedTender", "CTS_T_0020", EXCHANGE_PATTERN,
             cancel_answered_as_created),
    Breakage("a bad tender answered with a success code", "CTS_T_0030", REFUSED_WITH_4XX, refusal_with_success),
    Breakage("a bad tender refused without naming the field", "CTS_T_0030", REFUSAL_NAMES_FIELD,
             refusal_names_nothing),
    Breakage("transactions reply echoes another requestID", "CTS_X_0010", EI_RESPONSE, transactions_refid),
    Breakage("transactions reply that is not JSON", "CTS_X_0010", JSON_TEXT, transactions_not_json, wire="json"),
    Breakage("a delivery for an unknown transaction accepted", "CTS_D_0010", RULE_DELIVERY, delivery_accepted),
    Breakage("a delivery refusal that does not say what is unknown", "CTS_D_0010", REFUSAL_NAMES_FIELD,
             delivery_refusal_names_nothing),
    Breakage("a position reply that is not well-formed", "CTS_S_0010", WELL_FORMED, position_cut),
    Breakage("a quote reply that breaks the schema", "CTS_Q_0010", CTS_SCHEMA, quote_schema_invalid),
    Breakage("500 for a body that is not well-formed", "CTS_G_0010", NOT_A_SERVER_ERROR,
             before=server_error_on_garbage),
    Breakage("a schema-invalid request answered", "CTS_G_0020", REFUSED_WITH_4XX, before=schema_invalid_taken),
    Breakage("a schema-invalid request refused without naming the element", "CTS_G_0020", REFUSAL_NAMES_FIELD,
             schema_refusal_names_nothing),
    Breakage("another party's transactions given", "CTS_G_0030", OWN_DATA_ONLY, others_transactions_given),
    Breakage("a text/plain body taken", "CTS_G_0040", MEDIA_TYPE, before=text_plain_taken),
    Breakage("registration cancellation echoes another requestID", "CTS_N_0090", EI_RESPONSE, cancellation_refid),
    Breakage("a cancelled registration's token still answered", "CTS_N_0090", REGISTRATION,
             cancelled_token_still_works),
]


# ---- the VTN and the proxy ----------------------------------------------------------------------------


@dataclass
class Vtn:
    url: str
    store: SqliteStore


@pytest.fixture
async def vtn(tmp_path: Path) -> AsyncIterator[Vtn]:
    """A real transactive VTN in process (its market clock at the wall's now)."""
    clock = ManualClock(datetime.now(UTC))
    config = MarketConfig(market_context="urn:example:market:conformance", market_party_id="market-c")
    store = SqliteStore(tmp_path / "vtn.db")
    ledger = EmbeddedLedger(tmp_path / "ledger.db", now=clock)
    service = VtnService(VtnCore(config, store, clock), settlement=Settlement(store, ledger, config=config,
                                                                              clock=clock))
    runner, url = await start_site(create_server(service))
    try:
        yield Vtn(url, store)
    finally:
        await runner.cleanup()
        await ledger.close()
        store.close()


ProxyFactory = Callable[[Breakage], Awaitable[str]]


@pytest.fixture
async def broken(vtn: Vtn) -> AsyncIterator[ProxyFactory]:
    runners: list[web.BaseRunner] = []
    session = aiohttp.ClientSession()

    async def make(breakage: Breakage) -> str:
        memory: dict[str, object] = {}

        async def forward(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            seen = Seen(body, request.headers.get("Content-Type", ""), _root_name(body), memory)
            answer = breakage.before(seen) if breakage.before is not None else None
            if answer is None:
                headers = {k: v for k, v in request.headers.items()
                           if k in ("Accept", "Authorization", "Signature")}
                headers["Content-Type"] = seen.content_type
                async with session.post(vtn.url + request.path, data=seen.body, headers=headers) as response:
                    answer = Up(response.status, response.headers.get("Content-Type", ""), await response.read())
                if breakage.after is not None:
                    answer = breakage.after(seen, answer)
            return web.Response(status=answer.status, body=answer.body, headers={"Content-Type": answer.content_type})

        app = web.Application()
        app.router.add_route("*", "/{path:.*}", forward)
        runner, url = await start_site(app)
        runners.append(runner)
        return url

    try:
        yield make
    finally:
        for runner in runners:
            await runner.cleanup()
        await session.close()


async def test_the_stand_in_without_a_breakage_passes_every_case(broken: ProxyFactory) -> None:
    url = await broken(Breakage("none", "", EI_RESPONSE))
    report = await probe(url, Options())
    assert {o.case.id for o in report.outcomes if o.result is not Result.PASS} == set()


@pytest.mark.parametrize("breakage", BREAKAGES, ids=[b.name.replace(" ", "-") for b in BREAKAGES])
async def test_a_broken_rule_fails_exactly_its_case(broken: ProxyFactory, breakage: Breakage) -> None:
    report = await probe(await broken(breakage), Options(), wire=breakage.wire)
    failed = {o.case.id: o for o in report.outcomes if o.result is Result.FAIL}
    assert set(failed) == {breakage.case}, {k: o.detail for k, o in failed.items()}
    assert failed[breakage.case].broken == breakage.rule, failed[breakage.case].detail
    assert report.exit_code == 1


@pytest.mark.parametrize("cases", ["CTS_T_0010", "CTS_T_0030", "CTS_N_0010,CTS_T_0010"])
async def test_the_kit_withdraws_its_tenders_and_registration_whatever_cases_ran(vtn: Vtn, cases: str) -> None:
    report = await probe(vtn.url, Options(party="conformance-safety", cases=cases))
    assert report.failed == 0
    assert vtn.store.tenders(party_id="conformance-safety", status=TenderStatus.OPEN) == []
    assert vtn.store.active_registration("conformance-safety") is None


def negative_tender_taken(seen: Seen) -> Up | None:
    """The tender of -1 kWh reaches the VTN as one of 0.001 kWh: the VTN really holds a tender then."""
    if seen.root == "eiCreateTender" and b">-1<" in seen.body:
        seen.body = seen.body.replace(b">-1<", b">0.001<")
    return None


async def test_even_a_tender_the_vtn_wrongly_takes_is_withdrawn(vtn: Vtn, broken: ProxyFactory) -> None:
    url = await broken(Breakage("bad tender taken", "CTS_T_0030", REFUSED_WITH_4XX, before=negative_tender_taken))
    report = await probe(url, Options(party="conformance-safety", cases="CTS_T_0030"))
    assert {o.case.id for o in report.outcomes if o.result is Result.FAIL} == {"CTS_T_0030"}
    taken = vtn.store.tenders(party_id="conformance-safety")
    assert [row.status for row in taken] == [TenderStatus.CANCELLED]
    assert vtn.store.active_registration("conformance-safety") is None
