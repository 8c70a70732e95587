"""The rules the CTS suite (``probe --standard cts --role vtn``) checks, beside the shared ones of :mod:`.rules`.

CTS is cited by its facets (the services a market offers a party), Energy Interoperation by the element or
service that carries the requirement, HTTP by RFC 9110's sections: no section number of CTS 1.0 or EI 1.0 is
cited that could not be checked here. Where a rule is the kit's reading of a requirement the specification
leaves open (what a refusal's description says, what a repeated requestID gives), the text says so.
"""

from __future__ import annotations

from transactive.interop.conformance.model import Rule

__all__ = [
    "CTS",
    "EI",
    "EXCHANGE_PATTERN",
    "HTTP",
    "JSON_TEXT",
    "MEDIA_TYPE",
    "NOT_A_SERVER_ERROR",
    "OWN_DATA_ONLY",
    "REFUSAL_NAMES_FIELD",
    "REFUSED_WITH_4XX",
    "REGISTRATION",
    "REQUEST_ID_ONCE",
    "RULE_DELIVERY",
    "RULE_MARKET_CONTEXT",
    "RULE_POSITION",
    "RULE_QUOTE",
    "RULE_TENDER",
    "RULE_TENDER_CANCEL",
    "RULE_TRANSACTION",
]

#: how the specifications are named in citations
CTS = "OASIS Common Transactive Services 1.0"
EI = "OASIS Energy Interoperation 1.0"
HTTP = "RFC 9110 (HTTP semantics)"

JSON_TEXT = Rule("RFC 8259", "§2", "a JSON payload is one well-formed JSON text (and, for CTS, maps onto a CTS "
                                  "message of the JSON binding)")

EXCHANGE_PATTERN = Rule(EI, "message exchange patterns",
                        "each request is answered by its own reply payload: eiCreateTender by eiCreatedTender, "
                        "eiRequestTransaction by eiReplyTransaction, and so on")

REGISTRATION = Rule(CTS, "Registration facet",
                    "a party that registers is answered with eiCreatedPartyRegistration carrying the registration "
                    "id and the registrar's party id; eiCancelPartyRegistration ends it (eiCanceledPartyRegistration)")

REQUEST_ID_ONCE = Rule(EI, "pyld:requestID",
                       "a requestID names one request: sent again (a retry after a lost reply) it is the same "
                       "request, so the kit expects the same registration back, never a second one")

RULE_MARKET_CONTEXT = Rule(CTS, "Market Characteristics facet (EiMarketContext)",
                           "a party asks a market about its market context and is answered with a success "
                           "eiResponse for the context it runs")

RULE_TENDER = Rule(CTS, "Tender facet",
                   "a tender within the market's terms is accepted: eiCreatedTender, success, naming the tender")

RULE_TENDER_CANCEL = Rule(CTS, "Tender facet",
                          "a party withdraws its open tender with eiCancelTender and is answered eiCanceledTender")

REFUSED_WITH_4XX = Rule(EI, "eiResponse responseCode",
                        "a request the market does not accept (a quantity below zero, an unknown transaction, "
                        "another party's data) is answered with a 4xx responseCode, never a success")

REFUSAL_NAMES_FIELD = Rule(EI, "eiResponse responseDescription",
                           "a refusal says what was wrong; the kit expects its description to name the offending "
                           "element (a party cannot correct a request otherwise)")

RULE_TRANSACTION = Rule(CTS, "Transaction facet",
                        "a party asks for its transactions and is answered eiReplyTransaction (none is a valid "
                        "answer)")

RULE_DELIVERY = Rule(CTS, "Delivery facet",
                     "a delivery is reported against a transaction of the party's; one naming a transaction the "
                     "market does not know is refused")

RULE_POSITION = Rule(CTS, "Position facet",
                     "a party asks for its position over an interval and is answered with it (transactive carries "
                     "the request as the extension tx:eiRequestPosition)")

RULE_QUOTE = Rule(CTS, "Quote facet", "a party asks a market for its quotes and is answered eiReplyQuote")

OWN_DATA_ONLY = Rule(CTS, "Registration facet",
                     "a registered party acts for itself only: a request for another party's transactions is "
                     "refused (a 4xx responseCode or HTTP 401/403), never answered with that party's data")

NOT_A_SERVER_ERROR = Rule(HTTP, "§15.5, §15.6",
                          "a request the server cannot read is the client's error, answered with a 4xx status (400) "
                          "— a 5xx says the server failed — and the server keeps answering afterwards")

MEDIA_TYPE = Rule(HTTP, "§15.5.16", "a request body in a media type the server does not take is answered 415 "
                                    "(Unsupported Media Type)")
