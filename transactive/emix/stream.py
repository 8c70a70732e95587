"""WS-Calendar Streams (``strm``) as EMIX uses them: a stream base and its intervals.

A stream has an optional start (``xcal:dtStart/xcal:dateTime``) and length (``xcal:duration``), one
payload for the whole stream, and optionally ``strm:intervals``: consecutive intervals, each with a
``strm:uid`` and its own payload. In a CTS stream the intervals share the stream's interval length
(``duration`` divided by the number of intervals is the usual reading; a market context may fix the
granularity). These are wire models; the domain-level calendar arithmetic lives elsewhere.
"""

from __future__ import annotations

from typing import Annotated

from transactive.emix.base import CtsModel, PositiveDuration
from transactive.emix.products import ProductDescription
from transactive.model import DateTime, NonEmptyStr, Xml

__all__ = ["StreamBase", "StreamInterval"]


class StreamInterval(CtsModel):
    """``strm:streamInterval``: one interval of a stream, identified by ``uid`` (often its ordinal)."""

    uid: Annotated[NonEmptyStr, Xml("strm:uid")]
    payload: Annotated[ProductDescription, Xml("*")]


class StreamBase(CtsModel):
    """The fields of ``strm:StreamBaseType`` (abstract: a base class, never an element of its own)."""

    dtstart: Annotated[DateTime | None, Xml("xcal:dtStart/xcal:dateTime")] = None
    duration: Annotated[PositiveDuration | None, Xml("xcal:duration")] = None
    payload: Annotated[ProductDescription, Xml("*")]
    intervals: Annotated[tuple[StreamInterval, ...], Xml("strm:intervals/strm:streamInterval")] = ()
