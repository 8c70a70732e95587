"""The embedded ledger writer's Ed25519 key.

The key is injected (``key=``) or read from ``FILE.key`` beside the database (PKCS#8 PEM, created with mode
0600 when missing, fsync'ed with its directory). The ledger refuses a key whose public key differs from the
one it was created with. Verification needs only the public key in the file, or a pinned one
(``public_key=``): pinning is what protects against an attacker who rewrites the whole file with a key of
their own.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from transactive.ledger.interface import LedgerError

__all__ = ["default_key_path", "fsync_dir", "load_or_create_key", "raw_public"]


def default_key_path(ledger_path: Path) -> Path:
    """``FILE.key`` beside the ledger ``FILE``."""
    return ledger_path.with_name(ledger_path.name + ".key")


def load_or_create_key(key_path: Path) -> Ed25519PrivateKey:
    """The key in ``key_path``; a new one written there (mode 0600, durably) when the file is missing."""
    try:
        pem = key_path.read_bytes()
    except IsADirectoryError:
        raise LedgerError(f"{key_path}: a directory, not a key") from None
    except FileNotFoundError:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        try:
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created concurrently: use that one
            return load_or_create_key(key_path)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        fsync_dir(key_path.parent)
        return key
    try:
        loaded = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"{key_path}: not a PEM private key without a password ({exc})") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise LedgerError(f"{key_path}: not an Ed25519 private key")
    return loaded


def fsync_dir(directory: Path) -> None:
    """Make a new directory entry durable (best effort: not every platform lets a directory be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key (what ``ledger_meta`` stores)."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
