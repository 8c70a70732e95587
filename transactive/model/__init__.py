"""The modelling kit: :class:`Model`, :class:`Xml` field paths, namespace :class:`Family` and scalar types."""

from transactive.model.base import Family, Model, Xml
from transactive.model.registry import message
from transactive.model.types import (
    DateTime,
    Duration,
    Money,
    NonEmptyStr,
    XsDecimal,
    format_datetime,
    format_duration,
    parse_duration,
)

__all__ = [
    "DateTime",
    "Duration",
    "Family",
    "Model",
    "Money",
    "NonEmptyStr",
    "XsDecimal",
    "Xml",
    "format_datetime",
    "format_duration",
    "message",
    "parse_duration",
]
