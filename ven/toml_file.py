"""Reading a device's or a community's ``--config`` TOML file, with errors that name the file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

__all__ = ["read_toml"]


def read_toml(path: Path, label: str = "--config") -> dict[str, Any]:
    """The table in ``path``; ``ValueError`` naming ``label`` and the file when it is missing, unreadable or
    not TOML."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{label} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{label} {path}: cannot read ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{label} {path}: not TOML ({error})") from None
