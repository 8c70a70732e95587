"""What an OpenADR 2.0b VEN keeps between runs: the venID and registrationID the VTN gave it and the VTN's ID,
so a restarted device re-registers as itself (its ``oadrCreatePartyRegistration`` carries them).

``STATE_DIR/openadr.json`` (mode 0600, written atomically) holds::

    {"vtn_url": "...", "ven_name": "...", "ven_id": "...", "registration_id": "...", "vtn_id": "..."}

A file written for another VTN URL or VEN name is not used (the registration belongs to that VTN); the
directory is the one the CTS VEN uses (:func:`transactive.ven.state.default_state_dir`) unless told otherwise.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["STATE_FILE", "OadrRegistrationState"]

STATE_FILE = "openadr.json"


@dataclass(frozen=True, slots=True)
class OadrRegistrationState:
    """The registration of one VEN with one VTN."""

    vtn_url: str
    ven_name: str
    ven_id: str | None = None
    registration_id: str | None = None
    vtn_id: str | None = None

    @classmethod
    def load(cls, directory: Path, vtn_url: str, ven_name: str) -> OadrRegistrationState:
        """The state kept in ``directory`` for this VTN and VEN name (an empty one when there is none, or it
        belongs to another VTN or name); ``ValueError`` naming the file when it does not read."""
        path = directory / STATE_FILE
        empty = cls(vtn_url, ven_name)
        if not path.exists():
            return empty
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{path}: cannot read the OpenADR state ({error})") from None
        if not isinstance(data, dict) or data.get("vtn_url") != vtn_url or data.get("ven_name") != ven_name:
            return empty

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) and value else None

        return cls(vtn_url, ven_name, text("ven_id"), text("registration_id"), text("vtn_id"))

    def save(self, directory: Path) -> None:
        """Write the state (the directory is created, mode 0700)."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = directory / (STATE_FILE + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(asdict(self), out, indent=1, sort_keys=True)
            out.write("\n")
        tmp.replace(directory / STATE_FILE)
