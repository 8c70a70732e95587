"""What the OpenADR 3 notifiers send and for whom: the specification's ``notification`` of a committed change,
and the principal a subscription acts for (its client, with that client's role)."""

from __future__ import annotations

from typing import Any

from transactive.services.openadr3.access import ROLE_SCOPES, Principal, Role
from transactive.services.openadr3.service import Oa3Change
from transactive.services.openadr3.tokens import Clients

__all__ = ["notification", "principal_of"]


def notification(change: Oa3Change) -> dict[str, Any]:
    """The specification's ``notification`` of a change (``targets``: the object's, when it has some)."""
    body: dict[str, Any] = {"objectType": change.object_type, "operation": change.operation,
                            "object": change.object}
    targets = change.object.get("targets")
    if targets:
        body["targets"] = list(targets)
    return body


def principal_of(clients: Clients, client_id: str, *, outside: bool = False) -> Principal | None:
    """The principal of a client as its subscriptions act for it (None: unknown or revoked). With ``outside``
    (the VTN accepts an outside identity provider's tokens), a client the VTN does not know is one of that
    provider's: its role is not kept, so it is taken for a VEN (it hears of less, never of more)."""
    record = clients.get(client_id)
    if record is None:
        return Principal(client_id, Role.VEN, frozenset(ROLE_SCOPES[Role.VEN])) if outside else None
    if record.revoked is not None:
        return None
    return Principal(client_id, record.role, frozenset(ROLE_SCOPES[record.role]))
