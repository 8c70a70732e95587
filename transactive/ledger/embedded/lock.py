"""One writer at a time: the advisory lock ``FILE.lock`` beside an embedded ledger file.

A writer holds an exclusive ``flock`` on ``FILE.lock`` while it is open; the kernel drops it when the process
dies, so a crashed writer never leaves the ledger locked. Readers and verification take no lock: they open the
file read-only, any time. On platforms without ``fcntl`` (Windows) there is no lock.
"""

from __future__ import annotations

import os
from pathlib import Path

from transactive.ledger.interface import LedgerUnavailableError

try:  # advisory single-writer lock; not available on Windows
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["WriterLock"]


class WriterLock:
    """The exclusive writer lock of the ledger at ``path``, taken on construction.

    Raises :class:`LedgerUnavailableError` when the lock file cannot be created or another writer holds it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerUnavailableError(f"{self.path}: cannot create the writer lock ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LedgerUnavailableError(f"{path}: another writer has this ledger open") from None
        self._fd = fd

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Drop the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
