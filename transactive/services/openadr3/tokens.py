"""OAuth2 client credentials for the OpenADR 3.1 API: the clients the operator makes, the tokens the VTN issues
for them, and the check of a token on every request.

**Clients.** The operator makes a client for a role (:class:`~.access.Role`: ``bl`` or ``ven``) and a name; the
VTN answers with a ``client_id`` and a ``client_secret`` shown that once. The store keeps the client (object
kind ``oa3.client``) with a salted SHA-256 of its secret: the secret is 256 random bits, so a slow password hash
would add nothing but cost. Revoking a client refuses its secret and every token it already holds at once.

**Tokens** are JWTs (RFC 7519) signed with the VTN's Ed25519 token key (``EdDSA``; the key lives in
``DATA_DIR/openadr3-token.key``, mode 0600): ``sub`` the client id, ``scope`` its scopes (space separated),
``role``, ``iss`` the VTN, ``iat``/``exp`` (one hour by default), ``jti``. Signing and checking use PyJWT.
A checked token is remembered until it expires (the signature is not checked again on every request: about
60 µs saved each), the client's revocation is looked up every time.

**An outside identity provider** (``vtn serve --openadr3-jwks-url``): its tokens are accepted beside the VTN's own,
checked against the keys its JWKS document publishes (:class:`ExternalKeys`); their clients are the provider's
business (the operator's ``vtn client`` commands manage only the VTN's own).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from transactive.protocol.identity import new_secret
from transactive.services.openadr3.access import ROLE_SCOPES, Principal, Role
from transactive.services.store import OadrObject, Store

__all__ = ["CLIENT_KIND", "TOKEN_KEY_FILE", "ClientRecord", "Clients", "ExternalKeys", "IssuedClient", "TokenError",
           "Tokens", "load_token_key"]

CLIENT_KIND = "oa3.client"
TOKEN_KEY_FILE = "openadr3-token.key"
#: how long an issued token is valid (seconds)
TOKEN_LIFETIME = 3600
#: the most checked tokens remembered (then the memory is emptied and fills again)
_CHECKED_MAX = 100_000


class TokenError(Exception):
    """A credential that does not hold: ``error`` is the RFC 6749 code (``invalid_client``, ...), ``status`` the
    HTTP status (401 for a bad secret or token, 400 for a malformed request)."""

    def __init__(self, error: str, description: str, status: int = 401) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True, slots=True)
class ClientRecord:
    """One client as the store keeps it (never its secret)."""

    client_id: str
    name: str
    role: Role
    scopes: tuple[str, ...]
    created: str
    revoked: str | None
    salt: str
    secret_hash: str

    def public(self) -> dict[str, Any]:
        """What the operator's listing shows."""
        return {"client_id": self.client_id, "name": self.name, "role": self.role.value,
                "scopes": list(self.scopes), "created": self.created, "revoked": self.revoked}

    def to_json(self) -> str:
        return json.dumps({**self.public(), "salt": self.salt, "secret_hash": self.secret_hash}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ClientRecord:
        d = json.loads(text)
        return cls(d["client_id"], d["name"], Role(d["role"]), tuple(d["scopes"]), d["created"], d.get("revoked"),
                   d["salt"], d["secret_hash"])


@dataclass(frozen=True, slots=True)
class IssuedClient:
    """A new client and its secret (shown once)."""

    record: ClientRecord
    secret: str

    def to_json(self) -> dict[str, Any]:
        return {"client_id": self.record.client_id, "client_secret": self.secret, "role": self.record.role.value,
                "scopes": list(self.record.scopes), "name": self.record.name}


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _now_text(wall: Callable[[], datetime]) -> str:
    return wall().astimezone(UTC).isoformat().replace("+00:00", "Z")


class Clients:
    """The OpenADR 3 clients in the store; reads go through a memory of the records. When several processes share
    the store, :meth:`object_changed` brings another process's write (a new client, a revocation) into this
    memory, and a client id the memory lacks is looked up in the store where a credential names it
    (:meth:`lookup`: a client made through another process gets its token here at once)."""

    def __init__(self, store: Store, *, wall: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.wall = wall
        self._records: dict[str, ClientRecord] = {
            obj.key: ClientRecord.from_json(obj.document) for obj in store.oadr_objects(CLIENT_KIND)}
        self._revoked: list[Callable[[str], None]] = []

    def on_revoke(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(client_id)`` once a revocation is committed (the MQTT notifier deletes the client's
        broker login); returns the function that stops it."""
        self._revoked.append(callback)
        return lambda: self._revoked.remove(callback)

    def create(self, role: Role, name: str) -> IssuedClient:
        """A new client of ``role``; its secret is in the answer only."""
        name = name.strip()
        if not name or len(name) > 128:
            raise ValueError("name: 1 to 128 characters")
        client_id = f"{role.value}_{secrets.token_hex(8)}"
        secret = new_secret()
        salt = secrets.token_hex(8)
        record = ClientRecord(client_id, name, role, ROLE_SCOPES[role], _now_text(self.wall), None, salt,
                              _digest(salt, secret))
        with self.store.transaction():
            self.store.put_oadr_object(OadrObject(CLIENT_KIND, client_id, None, record.to_json(), self.wall()))
        self._records[client_id] = record
        return IssuedClient(record, secret)

    def revoke(self, client_id: str) -> ClientRecord:
        """Refuse the client's secret and tokens from now on (KeyError: no such client). Revoking twice keeps
        the first time."""
        record = self.lookup(client_id)
        if record is None:
            raise KeyError(client_id)
        if record.revoked is not None:
            return record
        revoked = ClientRecord(record.client_id, record.name, record.role, record.scopes, record.created,
                               _now_text(self.wall), record.salt, record.secret_hash)
        with self.store.transaction():
            self.store.put_oadr_object(OadrObject(CLIENT_KIND, client_id, None, revoked.to_json(), self.wall()))
        self._records[client_id] = revoked
        for callback in list(self._revoked):
            callback(client_id)
        return revoked

    def all(self) -> list[ClientRecord]:
        return sorted(self._records.values(), key=lambda r: (r.created, r.client_id))

    def get(self, client_id: str) -> ClientRecord | None:
        return self._records.get(client_id)

    def lookup(self, client_id: str) -> ClientRecord | None:
        """:meth:`get`, and when memory does not know the client, the store (then remembered)."""
        record = self._records.get(client_id)
        if record is None:
            obj = self.store.oadr_object(CLIENT_KIND, client_id)
            if obj is not None:
                record = self._records[client_id] = ClientRecord.from_json(obj.document)
        return record

    def forget(self, client_id: str) -> None:
        """Drop the client from memory (its record could not be read: :meth:`lookup` reads it at its next use)."""
        self._records.pop(client_id, None)

    def object_changed(self, client_id: str) -> None:
        """Another process wrote (made, revoked) or deleted the client: read it again from the store. Its
        revocation callbacks ran in that process (the broker login is deleted once)."""
        obj = self.store.oadr_object(CLIENT_KIND, client_id)
        if obj is None:
            self._records.pop(client_id, None)
        else:
            self._records[client_id] = ClientRecord.from_json(obj.document)

    def authenticate(self, client_id: str, secret: str) -> ClientRecord:
        """The client whose secret this is (:class:`TokenError` ``invalid_client`` otherwise, the same answer
        for an unknown id, a wrong secret and a revoked client)."""
        record = self.lookup(client_id)
        if record is None or not hmac.compare_digest(record.secret_hash, _digest(record.salt, secret)):
            raise TokenError("invalid_client", "unknown client_id or wrong client_secret")
        if record.revoked is not None:
            raise TokenError("invalid_client", f"client {client_id} was revoked")
        return record


def load_token_key(path: Path, *, create: bool = True) -> ed25519.Ed25519PrivateKey:
    """The VTN's token key (PEM, mode 0600), made when missing and ``create``."""
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        if not create:
            raise
        key = ed25519.Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        return key
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"{path}: not an Ed25519 private key")
    return key


class Tokens:
    """Issue and check the VTN's access tokens for the clients in ``clients``."""

    def __init__(self, clients: Clients, key: ed25519.Ed25519PrivateKey, *, issuer: str = "transactive-vtn",
                 lifetime: int = TOKEN_LIFETIME, now: Callable[[], float] = time.time,
                 external: ExternalKeys | None = None) -> None:
        """``external``: also accept the tokens of an outside identity provider (those whose ``iss`` is not
        this VTN's)."""
        self.clients = clients
        self.external = external
        self.issuer = issuer
        self.lifetime = lifetime
        self._key = key
        self._public = key.public_key()
        self._now = now
        self._issued: list[Callable[[str, str, float], None]] = []
        #: token -> (expiry, client id, role, scopes, whether an outside provider issued it)
        self._checked: dict[str, tuple[float, str, Role, frozenset[str], bool]] = {}

    def on_issue(self, callback: Callable[[str, str, float], None]) -> Callable[[], None]:
        """Call ``callback(client_id, token, lifetime_seconds)`` for every token issued (the MQTT notifier makes
        it the client's broker password); returns the function that stops it."""
        self._issued.append(callback)
        return lambda: self._issued.remove(callback)

    def _ours(self, token: str) -> bool:
        """Whether the token says this VTN issued it (checked properly by the caller)."""
        try:
            return jwt.decode(token, options={"verify_signature": False}).get("iss") == self.issuer
        except jwt.InvalidTokenError:
            return True  # not a JWT at all: refused by the VTN's own check, with its message

    def issue(self, client_id: str, secret: str, scope: str | None = None) -> dict[str, Any]:
        """The token endpoint's answer for these credentials (a ``clientCredentialResponse``). ``scope``, when
        given, asks for fewer scopes than the role holds; asking for one it does not hold is ``invalid_scope``."""
        record = self.clients.authenticate(client_id, secret)
        scopes = record.scopes
        if scope is not None and scope.strip():
            wanted = tuple(dict.fromkeys(scope.split()))
            extra = [s for s in wanted if s not in record.scopes]
            if extra:
                raise TokenError("invalid_scope", f"the {record.role.value} role does not hold {', '.join(extra)}",
                                 400)
            scopes = wanted
        now = int(self._now())
        claims = {"iss": self.issuer, "sub": record.client_id, "role": record.role.value, "scope": " ".join(scopes),
                  "iat": now, "exp": now + self.lifetime, "jti": secrets.token_hex(8)}
        token = jwt.encode(claims, self._key, algorithm="EdDSA")
        for callback in list(self._issued):
            callback(record.client_id, token, float(self.lifetime))
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.lifetime,
                "scope": claims["scope"]}

    def check(self, token: str) -> Principal:
        """The principal of a bearer token (:class:`TokenError` when it is not one of this VTN's, expired, or its
        client was revoked)."""
        now = self._now()
        known = self._checked.get(token)
        if known is None and self.external is not None and not self._ours(token):
            principal, expires = self.external.check(token)
            if len(self._checked) >= _CHECKED_MAX:
                self._checked.clear()
            self._checked[token] = (expires, principal.client_id, principal.role, principal.scopes, True)
            return principal
        if known is not None and known[4]:  # an outside provider's: revoked there, not here
            if known[0] <= now:
                self._checked.pop(token, None)
                raise TokenError("invalid_token", "the access token expired: fetch a new one")
            return Principal(known[1], known[2], known[3])
        if known is None or known[0] <= now:
            try:
                claims = jwt.decode(token, self._public, algorithms=["EdDSA"], issuer=self.issuer,
                                    options={"require": ["exp", "sub", "iss"]})
                role = Role(claims.get("role", ""))
            except jwt.ExpiredSignatureError:
                raise TokenError("invalid_token", "the access token expired: fetch a new one") from None
            except (jwt.InvalidTokenError, ValueError) as exc:
                raise TokenError("invalid_token", f"not an access token of this VTN ({exc})") from None
            if len(self._checked) >= _CHECKED_MAX:
                self._checked.clear()
            known = (float(claims["exp"]), str(claims["sub"]), role, frozenset(str(claims.get("scope", "")).split()),
                     False)
            self._checked[token] = known
        _exp, client_id, role, scopes, _outside = known
        record = self.clients.lookup(client_id)  # (a token of this VTN's key: its client exists, or existed)
        if record is None or record.revoked is not None:
            raise TokenError("invalid_token", f"client {client_id} was revoked")
        return Principal(client_id, role, scopes)


#: scopes that make a token from an outside identity provider the business logic's (else it is a VEN's)
_BL_SCOPES = frozenset({"read_all", "write_programs", "write_events"})
#: algorithms accepted from an outside identity provider (asymmetric only: a shared secret is not a JWKS)
_EXTERNAL_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class ExternalKeys:
    """The signing keys of an outside identity provider (its JWKS document), and the check of its tokens.

    The key set is fetched by :meth:`refresh` (the VTN does it at start and then every few minutes, off the
    request path: :meth:`run`); a token signed by a key not (yet) in the set is refused, and asks for an earlier
    refresh. A token names its client in ``client_id``, ``azp`` or ``sub`` and its scopes in ``scope`` (space
    separated) or ``scp`` (a list); it is the business logic's when it holds read_all, write_programs or
    write_events, a VEN's otherwise. ``issuer`` and ``audience``, when given, must match ``iss`` and ``aud``."""

    def __init__(self, jwks_url: str, *, issuer: str | None = None, audience: str | None = None,
                 refresh_seconds: float = 300.0, now: Callable[[], float] = time.time) -> None:
        self.jwks_url = jwks_url
        self.issuer = issuer
        self.audience = audience
        self.refresh_seconds = refresh_seconds
        self._now = now
        self._keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at: float | None = None
        self.wanted = False  #: a token named an unknown key: refresh soon

    def __len__(self) -> int:
        return len(self._keys)

    def load(self, document: dict[str, Any]) -> None:
        """Take the keys of a JWKS document (the keys it cannot use are left out)."""
        try:
            keyset = jwt.PyJWKSet(list(document.get("keys") or []))
        except jwt.PyJWKSetError as exc:
            raise ValueError(f"{self.jwks_url}: no usable key ({exc})") from None
        self._keys = {str(key.key_id or ""): key for key in keyset.keys}
        self.fetched_at = self._now()
        self.wanted = False

    async def refresh(self, session: Any) -> None:
        """Fetch the JWKS document with ``session`` (an aiohttp client session)."""
        async with session.get(self.jwks_url) as response:
            if response.status != 200:
                raise ValueError(f"{self.jwks_url}: HTTP {response.status}")
            self.load(await response.json(content_type=None))

    def check(self, token: str) -> tuple[Principal, float]:
        """The principal of a token of this provider and when the token expires (:class:`TokenError` if it
        does not hold)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid_token", f"not a JWT ({exc})") from None
        kid = str(header.get("kid") or "")
        key = self._keys.get(kid) or (next(iter(self._keys.values())) if len(self._keys) == 1 and not kid else None)
        if key is None:
            self.wanted = True
            raise TokenError("invalid_token", f"signed by a key the identity provider's JWKS does not hold ({kid!r})")
        try:
            claims = jwt.decode(token, key.key, algorithms=_EXTERNAL_ALGORITHMS, issuer=self.issuer,
                                audience=self.audience,
                                options={"require": ["exp"], "verify_aud": self.audience is not None})
        except jwt.ExpiredSignatureError:
            raise TokenError("invalid_token", "the access token expired: fetch a new one") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError("invalid_token", f"the identity provider's token does not hold ({exc})") from None
        client = claims.get("client_id") or claims.get("azp") or claims.get("sub")
        if not isinstance(client, str) or not client:
            raise TokenError("invalid_token", "the token names no client (client_id, azp or sub)")
        raw = claims.get("scope", claims.get("scp", ""))
        scopes = frozenset(raw.split() if isinstance(raw, str) else (str(s) for s in raw or ()))
        role = Role.BL if scopes & _BL_SCOPES else Role.VEN
        return Principal(client, role, scopes), float(claims["exp"])
