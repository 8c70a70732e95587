"""What both OpenADR 3 roles need to read the document's times: ISO 8601 durations (which may count years and
months, and ``P9999Y`` for "for ever") and date-times. The VTN (:mod:`transactive.services.openadr3`) decides with
them when an event is over; the VEN (:mod:`transactive.ven.openadr3`) reads its events' intervals."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["DURATION_PATTERN", "INFINITE_DURATION", "duration_of", "iso_duration", "time_of"]

#: an ISO 8601 duration as the document writes them (a sign, years to seconds, weeks)
DURATION_PATTERN = (r"^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?"
                    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
#: OpenADR 3's "no end"
INFINITE_DURATION = "P9999Y"


def duration_of(text: str) -> timedelta | None:
    """The :class:`timedelta` of an ISO 8601 duration; None for :data:`INFINITE_DURATION` (or longer).
    A year counts 365 days and a month 30 (the document leaves calendar arithmetic to the user guide);
    ``ValueError`` for text that is not a duration."""
    match = re.match(DURATION_PATTERN, text)
    if match is None:
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    sign, years, months, count, unit, hours, minutes, seconds = match.groups()
    if int(years or 0) >= 9999:
        return None
    days = int(years or 0) * 365 + int(months or 0) * 30 + int(count or 0) * (7 if unit == "W" else 1)
    value = timedelta(days=days, hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0))
    return -value if sign else value


def iso_duration(value: timedelta) -> str:
    """``value`` as an ISO 8601 duration in hours, minutes and seconds (``PT15M``, ``PT0S``, ``-PT1H``)."""
    seconds = value.total_seconds()
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{int(n)}{u}" for n, u in ((hours, "H"), (minutes, "M")) if n)
    if secs or not text:
        text += f"{secs:g}S"
    return f"{sign}PT{text}"


def time_of(text: object) -> datetime | None:
    """A date-time of the document (``Z`` or an offset; one without a zone is taken as UTC); None for anything
    that does not read as one."""
    if not isinstance(text, str):
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
