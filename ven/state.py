"""What a VEN keeps between runs: its key (so it stays the same party) and the VTN's notice key (so a later
run accepts notices only from the VTN it met first).

``STATE_DIR/party.key`` is the party's private key (PEM, mode 0600, created on the first run);
``STATE_DIR/vtn-key.txt`` the VTN's published signing key (``ed25519:...``) as first seen. The default
directory is ``$XDG_STATE_HOME/transactive/ven/PARTY`` (``~/.local/state/...`` when the variable is unset).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from transactive.protocol.identity import PartyIdentity, load_or_create_identity

__all__ = ["KEY_FILE", "VTN_KEY_FILE", "VenState", "default_state_dir"]

KEY_FILE = "party.key"
VTN_KEY_FILE = "vtn-key.txt"


def default_state_dir(party: str) -> Path:
    """Where a VEN of ``party`` keeps its state unless told otherwise."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "transactive" / "ven" / party


@dataclass(frozen=True, slots=True)
class VenState:
    """The state directory of one VEN."""

    directory: Path
    identity: PartyIdentity

    @classmethod
    def open(cls, directory: Path) -> VenState:
        """The state in ``directory`` (created, mode 0700, with a new key on the first run); ``ValueError``
        naming the file when the key there does not read, ``OSError`` when the directory cannot be written."""
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return cls(directory, load_or_create_identity(directory / KEY_FILE))

    @property
    def vtn_key(self) -> str | None:
        """The VTN's signing key as first seen, if any."""
        path = self.directory / VTN_KEY_FILE
        return path.read_text(encoding="ascii").strip() or None if path.exists() else None

    def remember_vtn_key(self, key: str) -> None:
        """Keep the VTN's signing key (on the first run; later runs require it)."""
        tmp = self.directory / (VTN_KEY_FILE + ".tmp")
        tmp.write_text(key + "\n", encoding="ascii")
        tmp.replace(self.directory / VTN_KEY_FILE)
