"""The refusals of the transactive services, each with its Energy Interoperation response code.

All are :class:`~transactive.errors.RemoteProtocolError` (the peer asked for something the market refuses)
and name the offending field in ``errors`` (a :class:`~transactive.errors.FieldError` whose ``path`` is
the wire name, e.g. ``ei:eiTender[1]/emix:product/emix:quantity``)::

    RemoteProtocolError
    └── ServiceError                     400 (base)
        ├── NotAuthorizedError           463  unregistered party, unknown/cancelled token, someone else's
        │                                     tender, transaction or position
        ├── InvalidIdError               452  an id the market does not know (tender, transaction,
        │                                     registration, market context, counterparty)
        ├── OutsideLimitsError           454  a quantity or price outside the market's limits, a product the
        │                                     market does not trade, an interval off the market's grid
        ├── OutOfSequenceError           450  a closed interval (gate closure passed), a cleared tender
        ├── ConflictError                409  an id re-used with different content
        └── NotAllowedError              451  a payload the VTN does not accept as a request

:class:`RequestRefusedError` is what a *client* raises when a reply carries a non-2xx ``eiResponse``, and
:class:`ForgedNoticeError` what it raises for a notice whose signature does not verify.
"""

from __future__ import annotations

from transactive.errors import FieldError, RemoteProtocolError, ResponseCode

__all__ = [
    "ConflictError",
    "ForgedNoticeError",
    "InvalidIdError",
    "NotAllowedError",
    "NotAuthorizedError",
    "OutOfSequenceError",
    "OutsideLimitsError",
    "RequestRefusedError",
    "ServiceError",
]


class ServiceError(RemoteProtocolError):
    """A request the market refuses; build with the field that caused it."""

    default_code = ResponseCode.BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, response_code: int | None = None) -> None:
        errors = (FieldError(field, message),) if field else ()
        super().__init__(message, response_code=response_code, errors=errors)


class NotAuthorizedError(ServiceError):
    default_code = ResponseCode.NOT_AUTHORIZED


class InvalidIdError(ServiceError):
    default_code = ResponseCode.INVALID_ID


class OutsideLimitsError(ServiceError):
    default_code = ResponseCode.INVALID_DATA


class OutOfSequenceError(ServiceError):
    default_code = ResponseCode.OUT_OF_SEQUENCE


class ConflictError(ServiceError):
    default_code = ResponseCode.CONFLICT


class NotAllowedError(ServiceError):
    default_code = ResponseCode.NOT_ALLOWED


class ForgedNoticeError(RemoteProtocolError):
    """A notice that does not carry a valid signature by the VTN's key (463): a client drops it."""

    default_code = ResponseCode.NOT_AUTHORIZED


class RequestRefusedError(RemoteProtocolError):
    """The peer answered with a non-2xx ``eiResponse``; ``reply`` is the whole answer."""

    def __init__(self, message: str, *, response_code: int, field: str | None = None,
                 reply: object | None = None) -> None:
        errors = (FieldError(field, message),) if field else ()
        super().__init__(message, response_code=response_code, errors=errors)
        self.reply = reply
