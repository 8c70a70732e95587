"""Standard terms (``emix-terms.xsd``) and the WS-Calendar-MIN availability they refer to.

A market context publishes :class:`StandardTerms`; a response names the :data:`BaseTerm` it found
violated (``ei:responseTermViolated``). The ``xcal:vAvailability`` the terms refer to is
:class:`transactive.calendar.min.MinVAvailability` (WS-Calendar-MIN).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from transactive.calendar.min import MinVAvailability
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
from transactive.model import Duration, NonEmptyStr, Xml

__all__ = [
    "AvailabilitySchedule",
    "BaseTerm",
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
    "RequiredStartupRemuneration",
    "ResponseTime",
    "StandardTerms",
    "StandardTermsSet",
    "UnavailabilitySchedule",
]


# WS-Calendar-MIN availability (xcal:vAvailability) is transactive.calendar.min.MinVAvailability:
# one model for the element, with conversions to and from the domain Availability.

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
    availability: Annotated[tuple[MinVAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


class NotificationSchedule(CtsModel):
    __tag__ = "emix:notificationSchedule"
    availability: Annotated[tuple[MinVAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


class UnavailabilitySchedule(CtsModel):
    __tag__ = "emix:unavailabilitySchedule"
    availability: Annotated[tuple[MinVAvailability, ...], Xml("xcal:vAvailability"), Field(min_length=1)]


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
    availability: Annotated[MinVAvailability | None, Xml("xcal:vAvailability")] = None
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
