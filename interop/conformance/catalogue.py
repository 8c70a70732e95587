"""Every suite of the kit, by standard and role, for ``conformance cases`` and the command line.

Role modules are imported when first asked for: listing the catalogue loads them all, a probe only its own.
Each role module has ``SUITE`` (its :class:`~.suite.Suite`) and either ``probe(url, options, progress=)`` (the
kit plays the client of the endpoint under test) or ``listen(host, port, options, progress=, ready=)`` (the kit
plays the server and waits for the endpoint under test).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from transactive.interop.conformance.model import Case, Role, Standard

__all__ = ["ROLES", "cases", "module_for", "suite_for"]

#: (standard, role under test) -> the module that tests it
ROLES: dict[tuple[Standard, Role], str] = {
    (Standard.OPENADR20B, "vtn"): "transactive.interop.conformance.oadr_vtn",
    (Standard.OPENADR20B, "ven"): "transactive.interop.conformance.oadr_ven",
    (Standard.CTS, "vtn"): "transactive.interop.conformance.cts_vtn",
}


def module_for(standard: Standard, role: Role) -> ModuleType:
    try:
        name = ROLES[(standard, role)]
    except KeyError:
        raise LookupError(f"no {role.upper()} suite for {standard}: the kit tests "
                          + ", ".join(f"{r.upper()}s ({s})" for s, r in ROLES)) from None
    return importlib.import_module(name)


def suite_for(standard: Standard, role: Role) -> Any:
    return module_for(standard, role).SUITE


def cases(standard: Standard | None = None) -> list[Case]:
    """The catalogue, suite by suite, in the order the cases run."""
    found: list[Case] = []
    for s, role in ROLES:
        if standard is None or s is standard:
            found.extend(suite_for(s, role).cases)
    return found
