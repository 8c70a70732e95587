"""The reference VTN: the aiohttp server (:mod:`.http`), the market clock and gate scheduler (:mod:`.clock`),
the runnable application (:mod:`.app`, ``transactive vtn serve``), its OpenAPI document (:mod:`.openapi`)
and the data-directory report (:mod:`.report`, ``transactive vtn report``)."""

from transactive.vtn.app import VtnApp, VtnOptions, serve
from transactive.vtn.clock import GateScheduler, MarketClock, TimeMapping, load_mapping
from transactive.vtn.http import FACETS, NoticeBoard, create_app, create_server
from transactive.vtn.openapi import openapi_document
from transactive.vtn.report import format_report, vtn_report

__all__ = [
    "FACETS",
    "GateScheduler",
    "MarketClock",
    "NoticeBoard",
    "TimeMapping",
    "VtnApp",
    "VtnOptions",
    "create_app",
    "create_server",
    "format_report",
    "load_mapping",
    "openapi_document",
    "serve",
    "vtn_report",
]
