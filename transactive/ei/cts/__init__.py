"""Common Transactive Services rev 0.4: every payload of ``EiPayloads.xsd`` and the EI classes they carry.

Quotes (:mod:`.quote`), party registration (:mod:`.registration`), market contexts
(:mod:`.market_context`), tenders (:mod:`.tender`), transactions (:mod:`.transaction`) and deliveries
(:mod:`.delivery`); ``ei:eiResponse`` is in :mod:`.responses`. The EMIX content (products, streams,
items, prices, terms) is :mod:`transactive.emix`. :mod:`.examples` has an instance of every payload.

XML: the schema defects, and the errata that fix them
-----------------------------------------------------
* ``ei:eiTender``, ``ei:eiQuote`` and ``ei:eiTransaction`` require ``emix:emixBase``, which rev 0.4 declares
  ``abstract="true"`` with an *empty* substitution group: ``emix:product``, ``emix:emixOption`` and
  ``emix:delivery`` have types derived from ``EmixBaseType`` but no ``substitutionGroup="emix:emixBase"``.
  An abstract element can never appear (``xsi:type`` does not help), so as published no document holding
  a tender, quote or transaction is valid (``eiCreateTender``, ``eiReplyTender`` with tenders,
  ``eiDistributeTender``, ``eiCreateQuote``, ``eiReplyQuote`` with quotes, ``eiCreateTransaction``,
  ``eiReplyTransaction`` with transactions). We write the member under its own name (``<emix:product>``),
  which is what the types and the documentation ("a Tender can be for one EmixBase derived type") intend.
* ``ei:eiRegistrationInfo`` and ``ei:eiRegistration`` have abstract types from which nothing derives, so
  as published ``eiCreatePartyRegistration`` (which requires the info) cannot be valid.
* The shipped schema set ``cts`` (``schemas/cts/xsd-errata``, the default for CTS namespaces) applies two
  errata that make exactly these documents valid and change nothing else: the three EMIX members join the
  ``emix:emixBase`` substitution group, and the two registration types are not abstract (see
  ``schemas/SOURCES.md``). The published set stays available as ``cts-upstream``;
  :data:`.examples.XSD_INVALID` lists the examples it refuses, and ``tests/cts`` checks that it refuses them
  for exactly these reasons and nothing else.
* ``emix:measurement`` has the abstract ``strm:StreamPayloadBaseType`` as its type and is not modelled.
* ``eiReplyEiMarketContext`` holds only an ``ei:eiResponse``; ``ei:eiMarketContext`` is modelled but no
  payload carries it.
* Required wrappers whose items may be empty in the schema (``emix:terms``, ``power:transportCharges``)
  need at least one item here: the codec omits an empty wrapper.

JSON: where our binding deviates from the generated ``schemas/cts/json/EIPayloads.json``
----------------------------------------------------------------------------------------
Our JSON follows the same XMLSpy convention the schema was generated with (prefixed element names as
keys, repeated elements as arrays, wrappers as objects, simple values bare). It differs only here:

1. **Substitution groups.** The generated schema names the heads only: ``emix:emixBase`` (in
   ``ei:EiTenderType``, ``EiQuoteType``, ``EiTransactionType``), ``strm:streamPayloadBase`` (in every stream
   and ``strm:streamInterval``), ``emix:productDescription`` (``emix:standardTerms``), ``emix:emixInterface``,
   ``emix:itemBase``, ``power:energyItem``, ``power:powerItem``, ``emix:priceBase``, ``emix:baseTerm``
   (``ei:responseTermViolated``, ``emix:terms``), ``power:baseCharge``/``baseTransportCharge``. All of these
   are abstract (element or type), so a document converted from schema-valid XML never contains them; we
   write the member instead (``"emix:product"``, ``"power:temixPower"``, ``"power:meterAsset"``,
   ``"power:energyReal"``, ``"emix:price"``, ``"emix:minimumResponseDuration"`` ...), which the generated
   schema refuses (``additionalProperties: false``, and ``required`` names the head). Every message free of
   such parts (e.g. ``eiCreatedTender``, ``eiCancelTender``, the registration and market-context payloads)
   validates against the published schema unchanged; every example validates against the published
   definitions of ``EIPayloads.json`` + ``EmixPower.json`` once each head property is complemented by its
   members (taken from the XSDs' ``substitutionGroup`` declarations, plus product/emixOption/delivery
   for ``emix:emixBase``) — see ``tests/cts/test_json_binding.py``.
2. **Power content.** ``EIPayloads.json`` has no ``power:*`` definitions at all (they are in
   ``EmixPower.json``, which repeats the EI-independent definitions identically); validation needs both.
3. **Numbers and strings.** ``ei:responseCode`` is a string (``"200"``, as ``ResponseCodeType`` says);
   ``emix:value`` and other ``xs:decimal`` values are JSON numbers when a double holds them exactly, else
   strings (the schema's ``"number"`` would refuse such a string; no example needs one). The schema also
   allows every simple value as ``{"$": value}``; we write the bare value, and read both.
4. **Empty repeated fields** are left out, as in the XML form (the schema's ``minItems: 1`` refuses ``[]``).
"""

from transactive.ei.cts.delivery import *  # noqa: F403
from transactive.ei.cts.delivery import __all__ as _delivery_all
from transactive.ei.cts.market_context import *  # noqa: F403
from transactive.ei.cts.market_context import __all__ as _market_context_all
from transactive.ei.cts.quote import *  # noqa: F403
from transactive.ei.cts.quote import __all__ as _quote_all
from transactive.ei.cts.registration import *  # noqa: F403
from transactive.ei.cts.registration import __all__ as _registration_all
from transactive.ei.cts.responses import *  # noqa: F403
from transactive.ei.cts.responses import __all__ as _responses_all
from transactive.ei.cts.tender import *  # noqa: F403
from transactive.ei.cts.tender import __all__ as _tender_all
from transactive.ei.cts.transaction import *  # noqa: F403
from transactive.ei.cts.transaction import __all__ as _transaction_all

__all__ = [
    *_delivery_all,
    *_market_context_all,
    *_quote_all,
    *_registration_all,
    *_responses_all,
    *_tender_all,
    *_transaction_all,
]
