"""Who may do what in the OpenADR 3.1 API: roles, scopes, the principal a token names, and object privacy.

OpenADR 3 has two kinds of client: the **business logic** (BL: the utility's or aggregator's program
operator) and the **VEN**. The specification's OAuth2 scopes gate each operation (the table the OpenAPI
document's ``security`` sections give, read once from the shipped document); a token carries the scopes of its
client's role:

====  ==============================================================================================
bl    read_all, read_bl, write_programs, write_events, write_subscriptions, write_vens
ven   read_targets, read_ven_objects, write_reports, write_subscriptions, write_vens
====  ==============================================================================================

(``read_bl`` is not in the document's list of scopes but its notifier-topic operations require it: the
business logic holds it.)

**Privacy** (3.1 "object privacy"; the rules here are this VTN's reading of it, written down in
docs/openadr3.md): the business logic sees every object. A VEN client sees

- programs and events that carry no targets, or whose targets meet the targets of its VEN object or of that
  VEN's resources;
- its own VEN object (the one whose ``clientID`` is its client id) and that VEN's resources;
- the reports and subscriptions it wrote (their ``clientID``).

An object a VEN may not see does not exist for it: reading it is 404, as for an id that was never issued.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["ROLE_SCOPES", "SCOPES", "Principal", "Role"]


class Role(StrEnum):
    BL = "bl"
    VEN = "ven"


#: every scope the VTN issues, in the order tokens list them
SCOPES = ("read_all", "read_bl", "read_targets", "read_ven_objects", "write_programs", "write_events",
          "write_reports", "write_subscriptions", "write_vens")

ROLE_SCOPES: dict[Role, tuple[str, ...]] = {
    Role.BL: ("read_all", "read_bl", "write_programs", "write_events", "write_subscriptions", "write_vens"),
    Role.VEN: ("read_targets", "read_ven_objects", "write_reports", "write_subscriptions", "write_vens"),
}

#: what each read scope stands in for: the business logic's read_all reads what the VEN scopes read
_IMPLIED = {"read_all": ("read_targets", "read_ven_objects", "read_bl")}


@dataclass(frozen=True, slots=True)
class Principal:
    """The client a request comes from: its id, role and the scopes its token grants. ``ven_targets`` are the
    targets of its VEN object and that VEN's resources; ``ven_ids`` the ids of its VEN objects (filled in by the
    service for VEN clients when a request needs them)."""

    client_id: str
    role: Role
    scopes: frozenset[str]
    ven_ids: frozenset[str] = field(default=frozenset())
    ven_targets: frozenset[str] = field(default=frozenset())

    @property
    def is_bl(self) -> bool:
        return self.role is Role.BL

    def allows(self, scope: str) -> bool:
        if scope in self.scopes:
            return True
        return any(scope in _IMPLIED.get(held, ()) for held in self.scopes)

    def sees_targeted(self, targets: Iterable[str] | None) -> bool:
        """Whether a VEN client sees a program or event with these targets (the business logic sees all)."""
        if self.is_bl or not targets:
            return True
        return not self.ven_targets.isdisjoint(targets)

    def sees(self, object_type: str, obj: dict[str, Any]) -> bool:
        """Whether this client may read ``obj`` (an object of ``object_type``: PROGRAM, EVENT, ...)."""
        if self.is_bl:
            return True
        if object_type in ("PROGRAM", "EVENT"):
            return self.sees_targeted(obj.get("targets"))
        if object_type == "VEN":
            return obj.get("clientID") == self.client_id
        if object_type == "RESOURCE":
            return obj.get("venID") in self.ven_ids
        return obj.get("clientID") == self.client_id  # REPORT, SUBSCRIPTION
