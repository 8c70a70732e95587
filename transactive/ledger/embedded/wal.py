"""Is an SQLite write-ahead log intact? :func:`wal_problem` reads ``FILE-wal`` (and ``FILE-shm``) by the
format SQLite documents (https://www.sqlite.org/fileformat2.html#walformat), without opening the database.

Why: when SQLite opens a database whose WAL is damaged it does not complain. It uses the frames up to the
first one whose salts or checksum do not match and silently drops that frame *and every frame after it*,
committed transactions included. The embedded ledger and the VTN's store both run in WAL mode, so a
damaged WAL loses acknowledged writes without a word; the VTN calls this before it opens either file.

What is checked
    * the 32-byte header: magic number, format version, page size, header checksum (a damaged header makes
      SQLite ignore the whole WAL);
    * every frame, in order: its salts must be the header's and its checksum (cumulative, seeded by the
      previous frame's stored checksum) must match. The first frame that fails ends what SQLite will use.
      That is **normal** when nothing committed follows it: frames left over from before a WAL reset
      (they carry the salts of an older generation), or a transaction cut short by a crash. It is
      **damage** when a later frame of the same generation (the header's salts, a checksum that matches
      its predecessor's) is a commit frame: a committed transaction would be dropped;
    * ``FILE-shm`` when it is there and its header is intact and names the same salts: its ``mxFrame`` is
      the last frame a writer committed, so fewer usable frames than that is damage too (this catches a
      damaged *last* transaction, which has no committed frame after it).

What is not detected: damage to frames that SQLite will not use anyway (leftovers), damage to the last
transaction when ``FILE-shm`` is gone or stale (indistinguishable from a write cut short by a crash), and a
frame altered together with a checksum recomputed to match (the checksum guards against accidents, not
against someone who rewrites the file on purpose: the ledger's signatures do that).
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

__all__ = ["wal_problem"]

_MAGIC = (0x377F0682, 0x377F0683)  # the low bit: checksums over big-endian words
_VERSION = 3007000
_HEADER = 32
_FRAME_HEADER = 24
_SHM_HEADER = 48  # WalIndexHdr, stored twice at the start of FILE-shm
_M = 0xFFFFFFFF


def _checksum(data: bytes, s0: int, s1: int, big_endian: bool) -> tuple[int, int]:
    """SQLite's WAL checksum (walChecksumBytes) over ``data`` (a multiple of 8 bytes), seeded with s0, s1."""
    words = struct.unpack(f"{'>' if big_endian else '<'}{len(data) // 4}I", data)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & _M
        s1 = (s1 + words[i + 1] + s0) & _M
    return s0, s1


def _shm_frames(shm: Path, salts: bytes) -> int | None:
    """``mxFrame`` of an intact ``FILE-shm`` header naming ``salts``, else None."""
    try:
        with open(shm, "rb") as fh:
            head = fh.read(2 * _SHM_HEADER)
    except OSError:
        return None
    if len(head) < 2 * _SHM_HEADER or head[:_SHM_HEADER] != head[_SHM_HEADER:]:
        return None  # absent, or caught mid-update
    big = sys.byteorder == "big"  # the wal-index is in the writer's native byte order
    fields = struct.unpack(f"{'>' if big else '<'}IIIBBHII", head[:24])
    version, is_init, max_frame = fields[0], fields[3], fields[6]
    stored = struct.unpack(f"{'>' if big else '<'}II", head[40:48])
    if version != _VERSION or not is_init or _checksum(head[:40], 0, 0, big) != stored or head[32:40] != salts:
        return None
    return int(max_frame)


def wal_problem(database: Path) -> str | None:
    """What is wrong with ``database``'s WAL (``DATABASE-wal``), in words, or None: no WAL, or one SQLite
    will read whole (see the module docstring)."""
    wal = database.with_name(database.name + "-wal")
    try:
        data = wal.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{wal}: cannot be read ({exc.strerror or exc})"
    if not data:
        return None
    if len(data) < _HEADER:
        return f"{wal}: {len(data)} bytes, shorter than a WAL header: the WAL is damaged"
    magic, version, page_size, _seq, salt1, salt2, c1, c2 = struct.unpack(">8I", data[:_HEADER])
    if magic not in _MAGIC:
        return f"{wal}: not a WAL (bad magic number {magic:#010x}): the WAL is damaged"
    big = bool(magic & 1)
    if version != _VERSION or page_size < 512 or page_size > 65536 or page_size & (page_size - 1):
        return f"{wal}: its header is damaged (version {version}, page size {page_size})"
    if _checksum(data[:24], 0, 0, big) != (c1, c2):
        return f"{wal}: its header is damaged (checksum mismatch): SQLite would ignore every frame of it"
    frame_size = _FRAME_HEADER + page_size
    count = (len(data) - _HEADER) // frame_size
    prev = (c1, c2)
    usable = 0  # frames SQLite uses: the valid prefix, up to its last commit frame
    first_bad: tuple[int, str] | None = None
    for i in range(count):
        off = _HEADER + i * frame_size
        _page, commit, s1, s2, k1, k2 = struct.unpack(">6I", data[off:off + _FRAME_HEADER])
        current = (s1, s2) == (salt1, salt2)
        ok = current and _checksum(data[off:off + 8] + data[off + _FRAME_HEADER:off + frame_size],
                                   prev[0], prev[1], big) == (k1, k2)
        prev = (k1, k2)
        if first_bad is None:
            if ok:
                if commit:
                    usable = i + 1
                continue
            first_bad = (i + 1, "checksum mismatch" if current else "salt mismatch")
        elif ok and commit:
            n, why = first_bad
            return (f"{wal}: frame {n} of {count} is damaged ({why}) but frame {i + 1} after it was committed: "
                    f"SQLite would silently drop the transactions committed from frame {n} on")
    committed = _shm_frames(wal.with_name(database.name + "-shm"), data[16:24])
    if committed is not None and committed > usable:
        where = f"frame {first_bad[0]} ({first_bad[1]})" if first_bad else f"the file ends after frame {count}"
        return (f"{wal}: {committed} frames were committed (says {database.name}-shm) but only {usable} are "
                f"intact, {where}: SQLite would silently drop committed transactions")
    return None
