"""The communities the dashboard shows: community aggregators trading in this market (``transactive community
run``), read from their data directories (``vtn serve --community-dir DIR``, repeatable), never written.

A community's page is its ``transactive community report --json`` (the same keys and values, and
``ledger_tokens_match``: whether its token ledger gives every member its balance) with three more keys:
``data_dir``, ``status`` (``ok``; ``waiting``: the aggregator has not written its books yet; ``unreadable``)
and ``reason`` (why not ``ok``, else None). The aggregator rewrites its books atomically after every change,
so a read sees one state or the next, never half of one. Reads run in a worker thread (the token ledger of a
long-running community is a file of many entries): the VTN's event loop is not held up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transactive.ledger.interface import LedgerError
from transactive.ven.community.community import STATE_FILE, Community, CommunityStateError

__all__ = ["check_community_dirs", "communities_view", "community_names", "community_view"]


def check_community_dirs(dirs: tuple[Path, ...]) -> None:
    """``ValueError`` naming ``--community-dir`` for a directory that cannot be a community's: not a directory,
    a directory with files but no community books, unreadable books, given twice, or two directories of
    communities with one name. A directory that does not exist yet is fine (the aggregator makes it)."""
    seen: dict[str, Path] = {}
    for path in dirs:
        if path in seen.values():
            raise ValueError(f"--community-dir {path}: given twice")
        if path.exists() and not path.is_dir():
            raise ValueError(f"--community-dir {path}: not a directory")
        if not path.exists():
            seen[f"\0{path}"] = path
            continue
        if not (path / STATE_FILE).exists():
            if any(path.iterdir()):
                raise ValueError(f"--community-dir {path}: not a community data directory (no {STATE_FILE}; "
                                 "it is the directory given to 'transactive community run --data-dir')")
            seen[f"\0{path}"] = path
            continue
        try:
            name = Community.load(path).name
        except CommunityStateError as error:
            raise ValueError(f"--community-dir {error}") from None
        if name in seen:
            raise ValueError(f"--community-dir {path}: community {name!r} is also in {seen[name]}")
        seen[name] = path


def community_names(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """Community name -> its data directory, for the directories whose books can be read now."""
    out: dict[str, Path] = {}
    for path in dirs:
        try:
            out.setdefault(Community.load(path).name, path)
        except CommunityStateError:
            continue
    return out


def _not_ok(path: Path, error: CommunityStateError) -> dict[str, Any]:
    waiting = not path.exists() or not (path / STATE_FILE).exists()
    return {"community": None, "data_dir": str(path), "status": "waiting" if waiting else "unreadable",
            "reason": str(error)}


def community_view(path: Path) -> dict[str, Any]:
    """One community's page (see the module docstring)."""
    try:
        community = Community.load(path)
    except CommunityStateError as error:
        return _not_ok(path, error)
    view = community.report()
    reason = None
    try:
        view["ledger_tokens_match"] = community.ledger_agrees()
    except LedgerError as error:
        view["ledger_tokens_match"] = None
        reason = f"{community.ledger_path}: {error}"
    if view["ledger_tokens_match"] is False:
        reason = f"the token ledger {community.ledger_path} disagrees with the books"
    view.update(data_dir=str(path), status="ok", reason=reason)
    return view


def communities_view(dirs: tuple[Path, ...]) -> dict[str, Any]:
    """The communities' list: per directory its community's goal and figures (without the ledger check)."""
    rows = []
    for path in dirs:
        try:
            community = Community.load(path)
        except CommunityStateError as error:
            rows.append(_not_ok(path, error))
            continue
        report = community.report()
        ranking = report["ranking"]
        rows.append({"community": report["community"], "data_dir": str(path), "status": "ok", "reason": None,
                     "goal": report["goal"], "goal_kw": report["goal_kw"], "members": len(report["members"]),
                     "calls": report["calls"], "delivered_kwh": report["delivered_kwh"],
                     "revenue": report["revenue"], "currency": report["currency"],
                     "leader": ranking[0] if ranking else None})
    return {"communities": rows}
