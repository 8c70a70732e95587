"""EMIX (Energy Market Information Exchange) as profiled by the Common Transactive Services rev 0.4.

*What* is traded (:mod:`~transactive.emix.products`: ``power:temixPower`` and the power product
descriptions), *how much of what* (:mod:`~transactive.emix.items`: energy/power items with SI scale),
*at what price* (:mod:`~transactive.emix.prices`), *where* (:mod:`~transactive.emix.interfaces`),
*when* (:mod:`~transactive.emix.stream`: a WS-Calendar stream with intervals), and *by whom to whom*
(:mod:`~transactive.emix.product`: ``emix:product`` with side, market context, currency). Market rules
are :mod:`~transactive.emix.terms`. :mod:`~transactive.emix.constructors` builds the common products.
"""

from transactive.emix.base import *  # noqa: F403
from transactive.emix.base import __all__ as _base_all
from transactive.emix.constructors import *  # noqa: F403
from transactive.emix.constructors import __all__ as _constructors_all
from transactive.emix.currency import ISO4217_CODES, check_currency
from transactive.emix.interfaces import *  # noqa: F403
from transactive.emix.interfaces import __all__ as _interfaces_all
from transactive.emix.items import *  # noqa: F403
from transactive.emix.items import __all__ as _items_all
from transactive.emix.prices import *  # noqa: F403
from transactive.emix.prices import __all__ as _prices_all
from transactive.emix.product import *  # noqa: F403
from transactive.emix.product import __all__ as _product_all
from transactive.emix.products import *  # noqa: F403
from transactive.emix.products import __all__ as _products_all
from transactive.emix.stream import *  # noqa: F403
from transactive.emix.stream import __all__ as _stream_all
from transactive.emix.terms import *  # noqa: F403
from transactive.emix.terms import __all__ as _terms_all

__all__ = [
    "ISO4217_CODES",
    "check_currency",
    *_base_all,
    *_constructors_all,
    *_interfaces_all,
    *_items_all,
    *_prices_all,
    *_product_all,
    *_products_all,
    *_stream_all,
    *_terms_all,
]
