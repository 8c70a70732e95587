"""OpenADR 2.0b messages (the OpenADR profile of Energy Interoperation), one module per concern.

* :mod:`~transactive.ei.oadr.base` — message base, ``ei:eiResponse``, ``ei:qualifiedEventID``
* :mod:`~transactive.ei.oadr.enums`, :mod:`~transactive.ei.oadr.types` — enumerations and restricted scalars
* :mod:`~transactive.ei.oadr.items` — ``emix:itemBase`` members (units: power, energy, currency, ...)
* :mod:`~transactive.ei.oadr.payloads` — ``ei:payloadBase`` members (float, resource status)
* :mod:`~transactive.ei.oadr.target` — ``ei:eiTarget`` and the EMIX power interfaces
* :mod:`~transactive.ei.oadr.calendar` — xCal intervals and availability
* :mod:`~transactive.ei.oadr.event`, :mod:`~transactive.ei.oadr.opt`, :mod:`~transactive.ei.oadr.report`,
  :mod:`~transactive.ei.oadr.registration`, :mod:`~transactive.ei.oadr.poll` — the messages of each service
"""

from transactive.ei.oadr import (
    base,
    calendar,
    enums,
    event,
    items,
    opt,
    payloads,
    poll,
    registration,
    report,
    target,
    types,
)
from transactive.ei.oadr.base import *  # noqa: F403
from transactive.ei.oadr.calendar import *  # noqa: F403
from transactive.ei.oadr.enums import *  # noqa: F403
from transactive.ei.oadr.event import *  # noqa: F403
from transactive.ei.oadr.items import *  # noqa: F403
from transactive.ei.oadr.opt import *  # noqa: F403
from transactive.ei.oadr.payloads import *  # noqa: F403
from transactive.ei.oadr.poll import *  # noqa: F403
from transactive.ei.oadr.registration import *  # noqa: F403
from transactive.ei.oadr.report import *  # noqa: F403
from transactive.ei.oadr.target import *  # noqa: F403
from transactive.ei.oadr.types import *  # noqa: F403

__all__ = [
    *base.__all__,
    *calendar.__all__,
    *enums.__all__,
    *event.__all__,
    *items.__all__,
    *opt.__all__,
    *payloads.__all__,
    *poll.__all__,
    *registration.__all__,
    *report.__all__,
    *target.__all__,
    *types.__all__,
]
