"""Scalar types shared by the models: time stamps, RFC 5545 durations, identifiers, amounts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field

__all__ = [
    "DateTime",
    "Duration",
    "MAX_DECIMAL_EXPONENT",
    "Money",
    "XsDecimal",
    "check_decimal",
    "check_decimal_text",
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
    try:
        value = timedelta(
            weeks=int(g["weeks"] or 0),
            days=int(g["days"] or 0),
            hours=int(g["hours"] or 0),
            minutes=int(g["minutes"] or 0),
            seconds=float(g["seconds"] or 0),
        )
    except OverflowError:
        raise ValueError(f"duration {text!r} is longer than 999,999,999 days") from None
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


#: text of recently written UTC times (interval starts repeat across many messages); cleared when full
_UTC_TEXT: dict[datetime, str] = {}
_UTC_TEXT_MAX = 4096


def format_datetime(value: datetime) -> str:
    """xs:dateTime text; UTC is written with ``Z``."""
    if value.tzinfo is UTC:  # the common case: every time the services create, most times they read
        text = _UTC_TEXT.get(value)
        if text is None:
            text = value.isoformat()[:-6] + "Z"
            if len(_UTC_TEXT) >= _UTC_TEXT_MAX:
                _UTC_TEXT.clear()
            _UTC_TEXT[value] = text
        return text
    # equal instants in different offsets hash alike: key the cache on the offset too
    return _format_datetime(value, value.utcoffset())


@lru_cache(maxsize=4096)
def _format_datetime(value: datetime, offset: timedelta | None) -> str:
    if offset is not None and offset.total_seconds() % 60:
        raise ValueError(f"UTC offset {offset} has seconds, which xs:dateTime cannot write")
    text = value.isoformat()
    if text.endswith("+00:00"):
        return text[:-6] + "Z"
    return text


_XS_DECIMAL = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
#: the largest decimal exponent (either way) a price, a quantity or a fee may have
MAX_DECIMAL_EXPONENT = 30


def check_decimal_text(text: str) -> str:
    """Refuse what xs:decimal does not allow (exponents, INF, NaN) and absurd lengths."""
    stripped = text.strip()
    if _XS_DECIMAL.match(stripped) is None:
        raise ValueError(f"not an xs:decimal (digits with an optional point, no exponent): {text[:40]!r}")
    if len(stripped) > 2 * MAX_DECIMAL_EXPONENT + 2:
        raise ValueError(f"decimal has more than {2 * MAX_DECIMAL_EXPONENT} digits")
    return stripped


def check_decimal(value: Decimal) -> Decimal:
    """A finite Decimal whose magnitude and precision fit ``MAX_DECIMAL_EXPONENT``."""
    if not value.is_finite():
        raise ValueError("decimal must be finite")
    exponent = value.as_tuple().exponent
    too_fine = isinstance(exponent, int) and exponent < -MAX_DECIMAL_EXPONENT
    if value and (value.adjusted() > MAX_DECIMAL_EXPONENT or too_fine):
        raise ValueError(f"decimal {value:.3e} is out of range (|exponent| <= {MAX_DECIMAL_EXPONENT})")
    return value


def _decimal_before(value: Any) -> Any:
    if isinstance(value, str):
        return check_decimal_text(value)
    return value


def _duration_before(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    return value


#: a timezone-aware date-time; naive ones are refused (an energy market spans time zones)
DateTime = AwareDatetime
#: an RFC 5545 duration as a timedelta
Duration = Annotated[timedelta, BeforeValidator(_duration_before)]
#: an xs:decimal: no exponent form, bounded magnitude (see :data:`MAX_DECIMAL_EXPONENT`)
XsDecimal = Annotated[Decimal, BeforeValidator(_decimal_before), AfterValidator(check_decimal)]
#: a price or amount of money: decimal, never binary floating point
Money = XsDecimal
#: an identifier that may not be empty
NonEmptyStr = Annotated[str, Field(min_length=1)]
