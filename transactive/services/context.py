"""What every facet handler shares: the market, the store, the clock, authentication, idempotent replies."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from transactive.codec import decode_json, encode_json
from transactive.ei.cts.responses import EiResponse
from transactive.model import Model
from transactive.protocol.clock import Clock
from transactive.protocol.errors import ConflictError, NotAuthorizedError
from transactive.protocol.identity import KeyProof
from transactive.protocol.market import MarketConfig
from transactive.protocol.replies import ok_response
from transactive.services.store import Registration, Store, StoredReply

__all__ = ["Credentials", "ServiceContext", "digest"]


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a request came with: the bearer ``token`` registration issued, and/or a checked signature
    (``proof``: the transport verified that a key signed the request's bytes, see
    :mod:`transactive.protocol.identity`)."""

    token: str | None = None
    proof: KeyProof | None = None


#: no credentials at all
ANONYMOUS = Credentials()


def digest(message: Model) -> str:
    """SHA-256 of a message's JSON encoding: what "the same request" means for idempotency."""
    return hashlib.sha256(encode_json(message)).hexdigest()


@dataclass(slots=True)
class ServiceContext:
    config: MarketConfig
    store: Store
    clock: Clock
    #: while a request is handled (:meth:`request`): the registration each token it presented is, so that its
    #: owner check and its handler's authorization read it once; None between requests (nothing is kept)
    _tokens: dict[str, Registration | None] | None = field(default=None, repr=False, compare=False)

    @contextmanager
    def request(self) -> Iterator[None]:
        """Handle one request: what it reads about its token is read once and forgotten afterwards."""
        self._tokens = {}
        try:
            yield
        finally:
            self._tokens = None

    def registration_of(self, token: str | None) -> Registration | None:
        """The registration (active or cancelled) ``token`` is."""
        if not token:
            return None
        if self._tokens is None:
            return self.store.registration_by_token(token)
        if token not in self._tokens:
            self._tokens[token] = self.store.registration_by_token(token)
        return self._tokens[token]

    def now(self) -> datetime:
        return self.clock()

    def ok(self, ref_id: str) -> EiResponse:
        return ok_response(ref_id, self.now())

    def authenticate(self, token: str | None) -> Registration:
        """The active registration the bearer token belongs to, or 463."""
        registration = self.registration_of(token)
        if registration is None or not registration.active:
            raise NotAuthorizedError("not registered: register with eiCreatePartyRegistration and present "
                                     "the registration's token", field="ei:partyID")
        return registration

    def owner(self, token: str | None, party_id: str, field: str) -> Registration:
        """The registration of ``party_id`` that ``token`` is, active or cancelled, else 463 naming ``field``:
        who may see the replies to the requests that party made (a new request needs an active one,
        :meth:`authorize`)."""
        registration = self.registration_of(token)
        if registration is None or registration.party_id != party_id:
            raise NotAuthorizedError("not the party's token: requests and their replies are the party's own",
                                     field=field)
        return registration

    def authorize(self, token: str | None, party_id: str, field: str) -> Registration:
        """Authenticate, and check that the message's ``party_id`` (at ``field``) is the token's party."""
        registration = self.authenticate(token)
        if party_id != registration.party_id:
            raise NotAuthorizedError(f"the token belongs to {registration.party_id!r}, not {party_id!r}",
                                     field=field)
        return registration

    def replayed(self, party_id: str, request_id: str, request: Model) -> Model | None:
        """The reply already sent for this request (same party, same id, same content), if any.

        The same ``requestID`` with different content is a :class:`ConflictError` (409).
        """
        stored = self.store.reply_for(party_id, request_id)
        if stored is None:
            return None
        if stored.digest != digest(request):
            raise ConflictError(f"request id {request_id!r} was already used for a different request",
                                field="pyld:requestID")
        reply: Model = decode_json(stored.reply)
        return reply

    def remember(self, party_id: str, request_id: str, request: Model, reply: Model) -> None:
        self.store.put_reply(StoredReply(party_id, request_id, digest(request), encode_json(reply).decode()))
