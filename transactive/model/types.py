"""Scalar types shared by the models: time stamps, RFC 5545 durations, identifiers, amounts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, Field

__all__ = [
    "DateTime",
    "Duration",
    "Money",
    "NonEmptyStr",
    "format_datetime",
    "format_duration",
    "parse_duration",
]

# RFC 5545 section 3.3.6 dur-value: weeks, or days and/or a time part; no years or months.
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?:(?P<weeks>\d+)W|(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?)$"
)


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> timedelta:
    """Parse an RFC 5545 / xCal duration (``PT15M``, ``P1D``, ``-PT5M``, ``P2W``) into a timedelta.

    Years and months are refused: they have no fixed length, and RFC 5545 does not allow them.
    """
    m = _DURATION.match(text.strip())
    if m is None or text.strip() in {"P", "+P", "-P"} or text.strip().endswith("T"):
        raise ValueError(f"not an RFC 5545 duration (e.g. PT15M, P1D, P1W): {text!r}")
    g = m.groupdict()
    value = timedelta(
        weeks=int(g["weeks"] or 0),
        days=int(g["days"] or 0),
        hours=int(g["hours"] or 0),
        minutes=int(g["minutes"] or 0),
        seconds=float(g["seconds"] or 0),
    )
    return -value if g["sign"] == "-" else value


@lru_cache(maxsize=4096)
def format_duration(value: timedelta) -> str:
    """The shortest RFC 5545 text for a timedelta (``PT15M``, ``P1D``, ``P1DT2H``, ``-PT5M``)."""
    total_us = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    seconds, micro = divmod(total_us, 1_000_000)
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    out = [sign, "P"]
    if days:
        out.append(f"{days}D")
    if hours or minutes or seconds or micro or not days:
        out.append("T")
        if hours:
            out.append(f"{hours}H")
        if minutes:
            out.append(f"{minutes}M")
        if seconds or micro or not (hours or minutes):
            frac = f".{micro:06d}".rstrip("0") if micro else ""
            out.append(f"{seconds}{frac}S")
    return "".join(out)


def format_datetime(value: datetime) -> str:
    """xs:dateTime text; UTC is written with ``Z``."""
    # equal instants in different offsets hash alike: key the cache on the offset too
    return _format_datetime(value, value.utcoffset())


@lru_cache(maxsize=4096)
def _format_datetime(value: datetime, offset: timedelta | None) -> str:
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text


def _duration_before(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    return value


#: a timezone-aware date-time; naive ones are refused (an energy market spans time zones)
DateTime = AwareDatetime
#: an RFC 5545 duration as a timedelta
Duration = Annotated[timedelta, BeforeValidator(_duration_before)]
#: a price or amount of money: decimal, never binary floating point
Money = Annotated[Decimal, Field(allow_inf_nan=False)]
#: an identifier that may not be empty
NonEmptyStr = Annotated[str, Field(min_length=1)]
