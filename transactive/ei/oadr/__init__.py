"""OpenADR 2.0b messages (the OpenADR profile of Energy Interoperation)."""

from transactive.ei.oadr.base import EiResponse, OadrMessage, OadrModel
from transactive.ei.oadr.event import *  # noqa: F403
from transactive.ei.oadr.event import __all__ as _event_all

__all__ = ["EiResponse", "OadrMessage", "OadrModel", *_event_all]
