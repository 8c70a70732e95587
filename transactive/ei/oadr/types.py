"""Scalar types of the OpenADR 2.0b schema set, with the restrictions its XSDs put on them.

* OadrDateTime: xcal:DateTimeType only allows UTC (Z) or no offset, so aware date-times are
  normalised to UTC (the instant is kept);
* OadrDuration: xcal:DurationValueType only allows whole seconds;
* the *extensible* tokens (ei:signalName, ei:reportName, ei:reportType, ei:readingType,
  ei:optReason, oadr:oadrDataQuality, @ei:schemaVersion) are a union of an enumeration and
  ei:EiExtensionTokenType (x-...): they are plain str fields that accept a member of the
  enumeration (or its value) or an x- extension token, and refuse anything else.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from transactive.ei.oadr.enums import (
    DataQuality,
    OptReason,
    ReadingType,
    ReportName,
    ReportType,
    SchemaVersion,
    SignalName,
)
from transactive.emix.currency import ISO4217_CODES
from transactive.model import DateTime, Duration

__all__ = [
    "CURRENCY_CODES",
    "CurrencyCode",
    "DataQualityValue",
    "GmlId",
    "OadrDateTime",
    "OadrDuration",
    "OptReasonValue",
    "PosList",
    "ReadingTypeValue",
    "ReportNameValue",
    "ReportTypeValue",
    "ResponseCodeValue",
    "SchemaVersionValue",
    "SignalNameValue",
    "UnsignedInt",
]

_EXTENSION = re.compile(r"^x-\S.*$", re.DOTALL)
_NCNAME = re.compile(r"^[A-Za-z_][\w.\-]*$")


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} has no UTC instant within years 1-9999") from None


def _whole_seconds(value: timedelta) -> timedelta:
    if value.microseconds:
        raise ValueError("OpenADR durations are whole seconds (xcal:DurationValueType)")
    return value


def _token(value: Any) -> Any:
    """xs:token: an enumeration member stands for its value; surrounding whitespace is collapsed."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        return " ".join(value.split())
    return value


def _one_of(enum: type[Enum]) -> AfterValidator:
    values = frozenset(str(m.value) for m in enum)
    shown = ", ".join(sorted(values))

    def check(value: str) -> str:
        if value in values or _EXTENSION.match(value):
            return value
        raise ValueError(f"expected one of {shown}, or an extension token x-...")

    return AfterValidator(check)


#: a date-time as OpenADR writes it: aware, kept in UTC (...Z on the wire)
OadrDateTime = Annotated[DateTime, AfterValidator(_utc)]
#: an RFC 5545 duration in whole seconds
OadrDuration = Annotated[Duration, AfterValidator(_whole_seconds)]
#: xs:unsignedInt
UnsignedInt = Annotated[int, Field(ge=0, le=4_294_967_295)]
#: ei:responseCode: three digits, HTTP-like (200 OK, 4xx/5xx errors, 450-469 OpenADR codes)
ResponseCodeValue = Annotated[int, Field(ge=100, le=999)]

SignalNameValue = Annotated[str, BeforeValidator(_token), _one_of(SignalName)]
ReportNameValue = Annotated[str, BeforeValidator(_token), _one_of(ReportName)]
ReportTypeValue = Annotated[str, BeforeValidator(_token), _one_of(ReportType)]
ReadingTypeValue = Annotated[str, BeforeValidator(_token), _one_of(ReadingType)]
OptReasonValue = Annotated[str, BeforeValidator(_token), _one_of(OptReason)]
DataQualityValue = Annotated[str, BeforeValidator(_token), _one_of(DataQuality)]
SchemaVersionValue = Annotated[str, BeforeValidator(_token), _one_of(SchemaVersion)]

#: ISO 4217 alphabetic currency codes, as listed by oadr_ISO_ISO3AlphaCurrencyCode_20100407.xsd
#: the ISO 4217 codes of ``oadr_ISO_ISO3AlphaCurrencyCode_20100407.xsd`` (the same 181 as the CTS list)
CURRENCY_CODES = ISO4217_CODES


def _currency(value: str) -> str:
    if value not in CURRENCY_CODES:
        raise ValueError("expected an ISO 4217 alphabetic currency code (e.g. USD, EUR)")
    return value


def _ncname(value: str) -> str:
    if not _NCNAME.match(value):
        raise ValueError("expected an XML identifier (xs:ID: a letter or _, then letters, digits, . - _)")
    return value


def _pos_list(value: str) -> str:
    items = value.split()
    try:
        [float(item) for item in items]
    except ValueError:
        raise ValueError("expected a whitespace-separated list of numbers (gml:posList)") from None
    if any(item.lower() in {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"} for item in items):
        raise ValueError("gml:posList holds finite numbers")
    return " ".join(items)


#: clm5ISO42173A:ISO3AlphaCurrencyCodeContentType
CurrencyCode = Annotated[str, BeforeValidator(_token), AfterValidator(_currency)]
#: gml:id (xs:ID)
GmlId = Annotated[str, AfterValidator(_ncname)]
#: gml:posList: coordinates as whitespace-separated numbers ("45.0 -120.1 45.1 -120.2 ...")
PosList = Annotated[str, AfterValidator(_pos_list)]
