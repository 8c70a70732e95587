"""Market contexts: ``ei:eiMarketContext`` (with EMIX standard terms) and its payloads.

Note that ``eiReplyEiMarketContext`` in CTS rev 0.4 carries only an ``ei:eiResponse``: the schema gives
no place for the market contexts asked for. :class:`EiMarketContext` is modelled (it is a global element
and can stand as a document of its own: ``encode_xml(EiMarketContext(...))`` is schema-valid) but no
payload holds it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from transactive.ei.cts.responses import CtsPayload, EiResponse
from transactive.emix.base import CtsModel, MarketContext, NonStandardTermsHandling, PositiveDuration, UnsignedInt
from transactive.emix.terms import StandardTerms, StandardTermsSet
from transactive.model import DateTime, NonEmptyStr, Xml
from transactive.model.registry import message

__all__ = [
    "EiMarketContext",
    "EiMarketExpectations",
    "EiMarketRuleSet",
    "EiReplyEiMarketContext",
    "EiRequestEiMarketContext",
    "RuleSetPurpose",
    "SimpleLevelContext",
]


class RuleSetPurpose(StrEnum):
    MINIMUM = "minimum"
    MAXIMUM = "maximum"
    FORCE = "force"
    MUST_UNDERSTAND = "mustUnderstand"
    IGNORE = "ignore"


class SimpleLevelContext(CtsModel):
    """``ei:simpleLevelContext``: the normal level and the upper limit of simple (level) signals."""

    level_normal_value: Annotated[UnsignedInt | None, Xml("ei:levelNormalValue")] = None
    level_upper_limit: Annotated[UnsignedInt | None, Xml("ei:levelUpperLimit")] = None


class EiMarketRuleSet(CtsModel):
    """``ei:eiMarketRuleSet``."""

    terms_set: Annotated[StandardTermsSet | None, Xml("emix:standardTermsSet")] = None
    purpose: Annotated[RuleSetPurpose | None, Xml("ei:ruleSetPurpose")] = None


class EiMarketExpectations(CtsModel):
    """``ei:eiMarketExpectations``: what a market expects of the tenders it receives."""

    __tag__ = "ei:eiMarketExpectations"
    rule_sets: Annotated[tuple[EiMarketRuleSet, ...], Xml("ei:eiMarketRuleSet")] = ()
    granularity: Annotated[PositiveDuration | None, Xml("xcal:granularity")] = None
    non_standard_terms_handling: Annotated[
        NonStandardTermsHandling | None, Xml("emix:nonStandardTermsHandling")
    ] = None


class EiMarketContext(CtsModel):
    """``ei:eiMarketContext``: a market, its name and its standard terms."""

    __tag__ = "ei:eiMarketContext"
    schema_version: Annotated[str | None, Xml("@ei:schemaVersion")] = None
    market_context: Annotated[MarketContext, Xml("emix:marketContext")]
    market_name: Annotated[str | None, Xml("ei:marketName")] = None
    standard_terms: Annotated[StandardTerms | None, Xml("emix:standardTerms")] = None
    simple_level_context: Annotated[SimpleLevelContext | None, Xml("ei:simpleLevelContext")] = None
    created_date_time: Annotated[DateTime | None, Xml("ei:createdDateTime")] = None


@message
class EiRequestEiMarketContext(CtsPayload):
    """Ask about one or more market contexts."""

    __tag__ = "pyld:eiRequestEiMarketContext"
    request_id: Annotated[NonEmptyStr, Xml("pyld:requestID")]
    market_contexts: Annotated[tuple[MarketContext, ...], Xml("emix:marketContext"), Field(min_length=1)]
    party_id: Annotated[NonEmptyStr | None, Xml("ei:partyID")] = None


@message
class EiReplyEiMarketContext(CtsPayload):
    """The answer (in CTS rev 0.4: a response only)."""

    __tag__ = "pyld:eiReplyEiMarketContext"
    response: Annotated[EiResponse, Xml("ei:eiResponse")]
