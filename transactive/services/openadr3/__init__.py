"""OpenADR 3.1 on the VTN: the objects (:mod:`.service`), who may read and write them (:mod:`.access`) and the
OAuth2 client credentials and tokens (:mod:`.tokens`). The HTTP edge is :mod:`transactive.vtn.openadr3_http`."""

from transactive.services.openadr3.access import ROLE_SCOPES, SCOPES, Principal, Role
from transactive.services.openadr3.service import COLLECTIONS, SYSTEM, Oa3Change, Oa3Error, Oa3Service, event_end
from transactive.services.openadr3.tokens import Clients, IssuedClient, TokenError, Tokens, load_token_key

__all__ = ["COLLECTIONS", "ROLE_SCOPES", "SCOPES", "SYSTEM", "Clients", "IssuedClient", "Oa3Change", "Oa3Error",
           "Oa3Service", "Principal", "Role", "TokenError", "Tokens", "event_end", "load_token_key"]
