"""The reference VTN: the aiohttp server (:mod:`.http`), the data directory's market clock and the gate
scheduler (:mod:`.clock`), the runnable application (:mod:`.app`, ``transactive vtn serve``), its OpenAPI
document (:mod:`.openapi`), the MQTT bridge (:mod:`.mqtt`), the fractal link to a parent VTN (:mod:`.fractal`)
and the data-directory report (:mod:`.report`, ``transactive vtn report``). The market's time line itself
(:class:`~transactive.protocol.TimeMapping`, :class:`~transactive.protocol.MarketClock`) is shared with the VEN
side in :mod:`transactive.protocol`."""

from transactive.protocol.clock import MarketClock, TimeMapping
from transactive.services.requests import FACETS
from transactive.vtn.app import VtnApp, VtnOptions, serve
from transactive.vtn.clock import GateScheduler, load_mapping
from transactive.vtn.http import create_app, create_server
from transactive.vtn.notices import NoticeBoard
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
