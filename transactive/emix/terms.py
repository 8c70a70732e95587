"""Standard terms (``emix-terms.xsd``) and the WS-Calendar-MIN availability they refer to.

A market context publishes :class:`StandardTerms`; a response names the :data:`BaseTerm` it found
violated (``ei:responseTermViolated``). The ``xcal`` availability model here is the minimal one of
``ws-calendar-min-v1.0.xsd`` with ``xcal:dateTime`` as the only date form.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field

from transactive.emix.base import (
    CtsModel,
    Currency,
    MarketContext,
    NonStandardTermsHandling,
    PositiveDuration,
    Quantity,
    Side,
)
from transactive.emix.items import ItemBase
from transactive.emix.prices import Price
from transactive.emix.products import ProductDescription
from transactive.model import DateTime, Duration, NonEmptyStr, Xml

__all__ = [
    "Availability",
    "AvailabilityInterval",
    "AvailabilitySchedule",
    "BaseTerm",
    "BusyType",
    "MarketGranularity",
    "MaximumConsecutiveDurations",
    "MaximumInvocationsPerDuration",
    "MaximumNotificationDuration",
    "MaximumResponseDuration",
    "MaximumRunDuration",
    "MinimumDurationBetweenInvocations",
    "MinimumEconomicRequirement",
    "MinimumNotificationDuration",
    "MinimumRecoveryDuration",
    "MinimumRemunerationRate",
    "MinimumResponseDuration",
    "MinimumRunDuration",
    "MinimumStartsPerDuration",
    "NotificationSchedule",
    "RecurRulePart",
    "Recurrence",
    "RecurrenceRule",
    "RequiredStartupRemuneration",
    "ResponseTime",
    "StandardTerms",
    "StandardTermsSet",
    "TimeRange",
    "UnavailabilitySchedule",
    "VAvailability",
    "XcalDateTime",
]


# ------------------------------------------------------------------------------ WS-Calendar-MIN availability
class BusyType(StrEnum):
    BUSY = "busy"
    BUSY_UNAVAILABLE = "busyUnavailable"
    BUSY_TENTATIVE = "busyTentative"


class RecurRulePart(StrEnum):
    FREQ = "FREQ"
    UNTIL = "UNTIL"
    COUNT = "COUNT"
    INTERVAL = "INTERVAL"
    BYSECOND = "BYSECOND"
    BYMINUTE = "BYMINUTE"
    BYHOUR = "BYHOUR"
    BYDAY = "BYDAY"
    BYMONTHDAY = "BYMONTHDAY"
    BYYEARDAY = "BYYEARDAY"
    BYWEEKNO = "BYWEEKNO"
    BYMONTH = "BYMONTH"
    BYSETPOS = "BYSETPOS"
    WKST = "WKST"


class TimeRange(CtsModel):
    """``xcal:timeRange``: the span an availability is declared for."""

    date_time: Annotated[DateTime | None, Xml("xcal:dateTime")] = None
    duration: Annotated[PositiveDuration | None, Xml("xcal:duration")] = None
    time_zone: Annotated[str | None, Xml("xcal:timeZone")] = None


class AvailabilityInterval(CtsModel):
    """``xcal:availabilityInterval``: one available span (a start and a length)."""

    date_time: Annotated[DateTime, Xml("xcal:dateTime")]
    duration: Annotated[PositiveDuration, Xml("xcal:duration")]
    time_zone: Annotated[str | None, Xml("xcal:timeZone")] = None


class RecurrenceRule(CtsModel):
    """``xcal:recurrenceRule``: one RFC 5545 RRULE part and its values (``FREQ`` = ``DAILY``)."""

    part: Annotated[RecurRulePart, Xml("xcal:recurRulePart")]
    values: Annotated[tuple[str, ...], Xml("xcal:recurRuleValues"), Field(min_length=1)]


class XcalDateTime(CtsModel):
    """An ``xcal:DateTimeDateType`` element holding an ``xcal:dateTime`` (``xcal:rDate``, ``xcal:exDate``)."""

    date_time: Annotated[DateTime, Xml("xcal:dateTime")]


class Recurrence(CtsModel):
    """``xcal:recurrence``: how an availability interval repeats."""

    dtstart: Annotated[DateTime, Xml("xcal:dtStart/xcal:dateTime")]
    rules: Annotated[tuple[RecurrenceRule, ...], Xml("xcal:recurrenceRule")] = ()
    dtend: Annotated[DateTime | None, Xml("xcal:dtEnd/xcal:dateTime")] = None
    rdates: Annotated[tuple[XcalDateTime, ...], Xml("xcal:rDate")] = ()
    exdates: Annotated[tuple[XcalDateTime, ...], Xml("xcal:exDate")] = ()


class Availability(CtsModel):
    """``xcal:availability``."""

    interval: Annotated[AvailabilityInterval, Xml("xcal:availabilityInterval")]
    recurrence: Annotated[Recurrence, Xml("xcal:recurrence")]


class VAvailability(CtsModel):
    """``xcal:vAvailability``: when a resource is (un)available."""

    busy_type: Annotated[BusyType, Xml("xcal:busyType")]
    time_range: Annotated[TimeRange, Xml("xcal:timeRange")]
    granularity: Annotated[PositiveDuration | None, Xml("xcal:granularity")] = None
    availability: Annotated[tuple[Availability, ...], Xml("xcal:availability"), Field(min_length=1)]
    comment: Annotated[str | None, Xml("xcal:comment")] = None


# ------------------------------------------------------------------------------------------ the terms
class _DurationTerm(CtsModel):
    duration: Annotated[Duration, Xml("xcal:duration")]


class MinimumResponseDuration(_DurationTerm):
    __tag__ = "emix:minimumResponseDuration"


class MaximumResponseDuration(_DurationTerm):
    __tag__ = "emix:maximumResponseDuration"


class MinimumRecoveryDuration(_DurationTerm):
    __tag__ = "emix:minimumRecoveryDuration"


class MinimumDurationBetweenInvocations(_DurationTerm):
    __tag__ = "emix:minimumDurationBetweenInvocations"


class MinimumNotificationDuration(_DurationTerm):
    __tag__ = "emix:minimumNotificationDuration"


class MaximumNotificationDuration(_DurationTerm):
    __tag__ = "emix:maximumNotificationDuration"


class ResponseTime(_DurationTerm):
    __tag__ = "emix:responseTime"


class MaximumRunDuration(_DurationTerm):
    __tag__ = "emix:maximumRunDuration"


class MinimumRunDuration(_DurationTerm):
    __tag__ = "emix:minimumRunDuration"


class MaximumInvocationsPerDuration(CtsModel):
    __tag__ = "emix:maximumInvocationsPerDuration"
    starts: Annotated[int, Xml("emix:starts"), Field(ge=0, le=2_147_483_647)]
    duration: Annotated[Duration, Xml("xcal:duration")]


class MinimumStartsPerDuration(CtsModel):
    __tag__ = "emix:minimumStartsPerDuration"
    starts: Annotated[int, Xml("emix:starts"), Field(ge=0, le=2_147_483_647)]
    duration: Annotated[Duration, Xml("xcal:duration")]


class MaximumConsecutiveDurations(CtsModel):
    __tag__ = "emix:maximumConsecutiveDurations"
    durations: Annotated[int, Xml("emix:durations"), Field(ge=0, le=2_147_483_647)]
    duration: Annotated[Duration, Xml("xcal:duration")]


class AvailabilitySchedule(CtsModel):
    __tag__ = "emix:availabilitySchedule"
    availability: Annotated[tuple[VAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


class NotificationSchedule(CtsModel):
    __tag__ = "emix:notificationSchedule"
    availability: Annotated[tuple[VAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


class UnavailabilitySchedule(CtsModel):
    __tag__ = "emix:unavailabilitySchedule"
    availability: Annotated[tuple[VAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


class MinimumEconomicRequirement(CtsModel):
    __tag__ = "emix:minimumEconomicRequirement"
    price: Annotated[Price, Xml("emix:price")]


class RequiredStartupRemuneration(CtsModel):
    __tag__ = "emix:requiredStartupRemuneration"
    price: Annotated[Price, Xml("emix:price")]


class MinimumRemunerationRate(CtsModel):
    __tag__ = "emix:minimumRemunerationRate"
    price: Annotated[Price, Xml("emix:price")]
    duration: Annotated[Duration, Xml("xcal:duration")]


class MarketGranularity(CtsModel):
    """``emix:marketGranularity``: the smallest quantity a market trades (e.g. 1 kWh)."""

    __tag__ = "emix:marketGranularity"
    quantity: Annotated[Quantity, Xml("emix:quantity")]
    item: Annotated[ItemBase, Xml("*")]


#: the members of the ``emix:baseTerm`` substitution group
BaseTerm = (
    MinimumResponseDuration
    | MaximumResponseDuration
    | MinimumRecoveryDuration
    | MinimumDurationBetweenInvocations
    | MinimumNotificationDuration
    | MaximumNotificationDuration
    | ResponseTime
    | MaximumInvocationsPerDuration
    | MaximumConsecutiveDurations
    | MaximumRunDuration
    | MinimumRunDuration
    | AvailabilitySchedule
    | NotificationSchedule
    | UnavailabilitySchedule
    | MinimumEconomicRequirement
    | RequiredStartupRemuneration
    | MinimumStartsPerDuration
    | MinimumRemunerationRate
    | MarketGranularity
)


class StandardTermsSet(CtsModel):
    """``emix:standardTermsSet``: terms that apply together (optionally only on one side, only when available).

    The schema requires ``emix:terms``; since an empty wrapper is not written, at least one term is needed.
    """

    terms: Annotated[tuple[BaseTerm, ...], Xml("emix:terms/*"), Field(min_length=1)]
    availability: Annotated[VAvailability | None, Xml("xcal:vAvailability")] = None
    non_standard_terms_handling: Annotated[NonStandardTermsHandling, Xml("emix:nonStandardTermsHandling")]
    side: Annotated[Side | None, Xml("emix:side")] = None


class StandardTerms(CtsModel):
    """``emix:standardTerms``: the terms a market context publishes for everything traded in it."""

    market_context: Annotated[MarketContext, Xml("emix:marketContext")]
    market_context_name: Annotated[NonEmptyStr | None, Xml("emix:marketContextName")] = None
    terms_sets: Annotated[tuple[StandardTermsSet, ...], Xml("emix:standardTermsSet")] = ()
    product_description: Annotated[ProductDescription | None, Xml("*")] = None
    granularity: Annotated[PositiveDuration | None, Xml("xcal:granularity")] = None
    time_zone: Annotated[str | None, Xml("xcal:timeZone")] = None
    currency: Annotated[Currency | None, Xml("emix:currency")] = None
    non_standard_terms_handling: Annotated[
        NonStandardTermsHandling | None, Xml("emix:nonStandardTermsHandling")
    ] = None
