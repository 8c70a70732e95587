"""The OpenADR 2.0b VTN services: sans-I/O, over the same :class:`~transactive.services.store.Store` as the CTS
services (one file, one transaction per request, durable before the reply).

* :mod:`.core` — :class:`OadrCore`: the table of requests, dispatch, replayed requests, error replies;
* :mod:`.registration`, :mod:`.events`, :mod:`.reports`, :mod:`.poll` — the handlers of each service, and the
  operator's event lifecycle;
* :mod:`.records` — what is stored; :mod:`.context` — settings, the sender (:class:`Peer`), caches;
* :mod:`.service` — :class:`OadrService`: the async shell (group commit, the market's price events, pushes).
"""

from transactive.services.oadr.context import OadrSettings, Peer
from transactive.services.oadr.core import OadrCore

__all__ = ["OadrCore", "OadrSettings", "Peer"]
