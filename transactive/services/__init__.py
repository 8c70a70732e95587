"""The sans-I/O transactive services of a VTN: registration, market context, tender, transaction,
position (**extension**), delivery and quote over one :class:`Store`, plus gate closure and settlement.

Entry points: :class:`VtnCore` (sync, sans-I/O: ``handle``/``answer``/``close_gate``), :class:`VtnService`
(the async shell transports drive: settlement and notice fan-out), :class:`SqliteStore` /
:class:`MemoryStore`, :class:`Settlement`. The requests the VTN accepts are one table
(:data:`.requests.REQUESTS`); the tender lifecycle is a table too (:mod:`.lifecycle`).

What a VEN shares with the VTN — the refusals and their EI codes, the reply check, :class:`MarketConfig`, the
clocks — lives in :mod:`transactive.protocol` and is re-exported here for the server side's convenience;
extension payloads are :mod:`transactive.ei.ext`.
"""

from transactive.ei.ext import (
    TX,
    TX_NS,
    EiReplyPosition,
    EiRequestPosition,
    EiResponsePayload,
    MarketRules,
    PositionInterval,
    TxReplyEiMarketContext,
)
from transactive.protocol.clock import Clock, ManualClock, system_clock
from transactive.protocol.errors import (
    ConflictError,
    InvalidIdError,
    NotAllowedError,
    NotAuthorizedError,
    OutOfSequenceError,
    OutsideLimitsError,
    RequestRefusedError,
    ServiceError,
)
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import check_reply, error_reply
from transactive.services.core import HANDLERS, MUTATING, VtnCore
from transactive.services.gate import GateResult
from transactive.services.lifecycle import TENDER_TRANSITIONS, TenderEvent, TenderStatus
from transactive.services.positions import Position
from transactive.services.requests import FACETS, REQUESTS, RequestKind
from transactive.services.service import NoticeListener, VtnService
from transactive.services.settlement import Settlement, transaction_record
from transactive.services.sqlite_store import MemoryStore, SqliteStore
from transactive.services.store import (
    DeliveryRow,
    GateRow,
    Registration,
    SettlementStep,
    Store,
    StoreError,
    TenderRow,
    TransactionRow,
)

__all__ = [
    "FACETS",
    "HANDLERS",
    "MUTATING",
    "TENDER_TRANSITIONS",
    "TX",
    "TX_NS",
    "Clock",
    "ConflictError",
    "DeliveryRow",
    "EiReplyPosition",
    "EiRequestPosition",
    "EiResponsePayload",
    "GateResult",
    "GateRow",
    "InvalidIdError",
    "ManualClock",
    "MarketConfig",
    "MarketRules",
    "MemoryStore",
    "NotAllowedError",
    "NotAuthorizedError",
    "NoticeListener",
    "OutOfSequenceError",
    "OutsideLimitsError",
    "Position",
    "PositionInterval",
    "REQUESTS",
    "Registration",
    "RequestKind",
    "RequestRefusedError",
    "ServiceError",
    "Settlement",
    "SettlementStep",
    "SqliteStore",
    "Store",
    "StoreError",
    "TenderEvent",
    "TenderRow",
    "TenderStatus",
    "TransactionRow",
    "TxReplyEiMarketContext",
    "VtnCore",
    "VtnService",
    "check_reply",
    "error_reply",
    "system_clock",
    "transaction_record",
]
