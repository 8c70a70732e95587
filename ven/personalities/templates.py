"""The campus paper's appliance templates (T1-T4) as named configurations of the personalities.

The paper's regional aggregator lets each user pick a template for each appliance, and rations a renewable
surplus between them in template order, T1 first (:attr:`Template.priority`):

====  ===================================  ===============================================================
T1    scheduled-based appliance (SBA)      ``scheduled``: a washing machine, dryer or dishwasher: one run of a
                                           fixed length, anywhere in a window the user sets
T2    range-temperature appliance (RTBA)   ``homeostasis``: heating or air conditioning kept within a
                                           temperature range (a 3 kW classroom HVAC in the case study)
T3    battery-assisted appliance (BASA)    ``ev``: an EV charged by its departure, when energy is there and cheap
T4    full flexibility (FF)                ``preconsumption``: a water heater that may run at any time (the user
                                           accepts an occasional cooler tank)
====  ===================================  ===============================================================

``transactive ven run --personality t2`` runs one; its flags (or ``--config``) override the template's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["TEMPLATES", "Template"]


@dataclass(frozen=True, slots=True)
class Template:
    """A named configuration: ``personality`` with ``params`` (and ``capacity_kw``); ``priority`` 1 is served
    first when energy is rationed."""

    name: str
    title: str
    personality: str
    priority: int
    capacity_kw: float
    params: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


#: template name -> template, in priority order
TEMPLATES: dict[str, Template] = {t.name: t for t in (
    Template("t1", "scheduled-based appliance", "scheduled", 1, 2.0,
             {"duration_h": 2.0, "earliest_h": 8.0, "latest_end_h": 20.0},
             "T1: a washing machine (2 kW, 2 h) that must run once between 08:00 and 20:00"),
    Template("t2", "range-temperature appliance", "homeostasis", 2, 3.0,
             {"mode": "heat", "low_c": 20.0, "high_c": 23.0},
             "T2: a 3 kW heat pump keeping a room between 20 and 23 C"),
    Template("t3", "battery-assisted appliance (EV)", "ev", 3, 7.4,
             {"battery_kwh": 24.0, "v2g": False},
             "T3: a 24 kWh EV on a 7.4 kW charger, charged by its departure"),
    Template("t4", "full flexibility", "preconsumption", 4, 2.0,
             {"storage_kwh": 10.0},
             "T4: a 2 kW water heater (10 kWh tank) that may run at any time"),
)}
