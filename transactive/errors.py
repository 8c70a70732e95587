"""The one error tree of transactive.

Every protocol error carries the Energy Interoperation response code a VTN or VEN
answers with in its ``eiResponse`` (OpenADR 2.0b application-layer codes 450-469,
HTTP-like 4xx/5xx otherwise). Catch :class:`TransactiveError` to catch them all.

    TransactiveError
    ├── ProtocolError                 (carries ``response_code``)
    │   ├── LocalProtocolError        we were asked to build something the standard forbids
    │   │   └── InvalidModelError     a model built with a missing or wrong field (also a ValueError)
    │   └── RemoteProtocolError       a peer sent something the standard forbids
    │       ├── MalformedDocumentError   not well-formed, truncated, too deep/large, DTD/entities
    │       ├── UnknownMessageError      well-formed, but a root element / namespace we do not speak
    │       └── InvalidMessageError      the right message, but a field is missing or wrong
    └── SchemaError                   a shipped schema could not be loaded (installation problem)
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "FieldError",
    "InvalidMessageError",
    "InvalidModelError",
    "LocalProtocolError",
    "MalformedDocumentError",
    "ProtocolError",
    "RemoteProtocolError",
    "ResponseCode",
    "SchemaError",
    "TransactiveError",
    "UnknownMessageError",
]


class ResponseCode(IntEnum):
    """Response codes of ``ei:responseCode``.

    2xx/4xx/5xx follow HTTP as Energy Interoperation 1.0 prescribes; 450-469 are the
    OpenADR 2.0b application-layer codes (compliance 450-459, deployment 460-469).
    """

    OK = 200
    BAD_REQUEST = 400
    FORBIDDEN = 403
    NOT_FOUND = 404
    CONFLICT = 409
    PAYLOAD_TOO_LARGE = 413
    UNSUPPORTED_MEDIA_TYPE = 415
    TOO_MANY_REQUESTS = 429
    OUT_OF_SEQUENCE = 450
    NOT_ALLOWED = 451
    INVALID_ID = 452
    NOT_RECOGNIZED = 453
    INVALID_DATA = 454
    COMPLIANCE_ERROR = 459
    SIGNAL_NOT_SUPPORTED = 460
    REPORT_NOT_SUPPORTED = 461
    TARGET_MISMATCH = 462
    NOT_AUTHORIZED = 463
    DEPLOYMENT_ERROR = 469
    INTERNAL_ERROR = 500
    SERVICE_UNAVAILABLE = 503


class TransactiveError(Exception):
    """Base of every error transactive raises on purpose."""


class SchemaError(TransactiveError):
    """A shipped XSD could not be found or compiled: the installation is broken."""


class FieldError:
    """One problem with one field: where it is and what is wrong."""

    __slots__ = ("line", "message", "path")

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        self.path = path
        self.message = message
        self.line = line

    def __repr__(self) -> str:
        return f"FieldError(path={self.path!r}, message={self.message!r}, line={self.line!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and (self.path, self.message, self.line) == (
            other.path,
            other.message,
            other.line,
        )

    def __hash__(self) -> int:
        return hash((self.path, self.message, self.line))

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.path}: {self.message}"


class ProtocolError(TransactiveError):
    """A message broke a rule of the standard. ``response_code`` is what to answer with."""

    default_code: ResponseCode = ResponseCode.BAD_REQUEST

    def __init__(
        self,
        message: str,
        *,
        response_code: int | None = None,
        errors: list[FieldError] | tuple[FieldError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.response_code = int(response_code if response_code is not None else self.default_code)
        self.errors: tuple[FieldError, ...] = tuple(errors)

    @property
    def field(self) -> str | None:
        """The path of the first offending field, when one is known."""
        return self.errors[0].path if self.errors else None

    def __str__(self) -> str:
        return f"[{self.response_code}] {self.message}"


class LocalProtocolError(ProtocolError):
    """We were asked to build a message the standard forbids (a bug on our side of the wire)."""

    default_code = ResponseCode.INVALID_DATA


class InvalidModelError(LocalProtocolError, ValueError):
    """A model was constructed with a missing, unknown or wrong field.

    ``errors`` name each field by its Python path (``signals[1].intervals[3].duration``). It is also a
    ``ValueError``, like every validation failure in Python.
    """


class RemoteProtocolError(ProtocolError):
    """A peer sent something the standard forbids."""


class MalformedDocumentError(RemoteProtocolError):
    """Not a well-formed, safe document: syntax error, truncation, DTD or entity, too large or deep."""

    default_code = ResponseCode.BAD_REQUEST


class UnknownMessageError(RemoteProtocolError):
    """Well-formed, but the root element or its namespace is not a message we speak."""

    default_code = ResponseCode.NOT_RECOGNIZED


class InvalidMessageError(RemoteProtocolError):
    """A known message whose fields are missing, of the wrong type, or out of range."""

    default_code = ResponseCode.INVALID_DATA
