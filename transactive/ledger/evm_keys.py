"""The keys that sign EVM transactions here, and where they are kept.

Whoever holds an account's key moves its money, so the adapter signs every transaction itself, with the
key of the account it spends from (:class:`EvmKey`, over eth-account), and sends it signed
(``eth_sendRawTransaction``): no node account needs to be unlocked, and the node operator moves nobody's money.

Keys per party (:class:`PartyKeys`):

* :class:`EvmKeystore` -- a directory (the VTN's ``DATA_DIR/evm-keys/``) with one encrypted keystore file per
  party, in the Web3 Secret Storage format (version 3, ``eth_account.Account.encrypt``: scrypt and AES-128-CTR;
  geth, Foundry's ``cast wallet`` and browser wallets import it, so a party can take its key out and pay from
  it itself). A party's key is made the first time it is asked for and reused after a restart: the same
  party pays from the same address. ``accounts.json`` beside the files names each party's address and file;
  a party listed there whose file is missing, a file that does not decrypt (wrong password, damaged) or that
  holds another party's key is a :class:`LedgerError` naming the file -- never a new key made in silence.
* :class:`KeyMap` -- keys given in memory (tests, or an application that keeps keys elsewhere).

The trade-off of the keystore: the files are encrypted, so a copy of the directory (a backup, a stolen disk)
gives the keys only with the password. When the password sits in the same directory (what the VTN does when
it is given no password file: ``EvmKeystore.open``), the keys are exactly as safe as that directory's file
permissions (0700 directory, 0600 files), like the embedded ledger's writer key -- but already in the format
to move the password out later. A password chosen by a person gets scrypt's full cost (n = 2^18, about a
second and 256 MiB per file opened or made, run in a worker thread); a generated 256-bit password needs no
key stretching and gets n = 2^12 (milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

# eth-account imports eth-keyfile, which imports py_ecc, whose __init__ raises the interpreter's recursion
# limit to 100,000 for the whole process. With that limit Python no longer stops a deep recursion before the
# C stack overflows: a hostile, deeply nested JSON request would crash the VTN (segfault) instead of being
# refused. The limit is put back as it was before this import; nothing used here needs the deep recursion
# (py_ecc's is for BLS keys). Import eth-account through this module first (the tests do too).
_RECURSION_LIMIT = sys.getrecursionlimit()
try:
    from eth_account import Account
    from eth_account.signers.local import LocalAccount
    from eth_keys.datatypes import PrivateKey
finally:
    sys.setrecursionlimit(_RECURSION_LIMIT)

from transactive.ledger.evm_entries import parse_address  # noqa: E402  (after the guarded import above)
from transactive.ledger.interface import LedgerError  # noqa: E402

__all__ = [
    "INDEX_FILE",
    "LIGHT_KDF_ITERATIONS",
    "PASSWORD_FILE",
    "STANDARD_KDF_ITERATIONS",
    "EvmKey",
    "EvmKeystore",
    "KeyMap",
    "PartyKeys",
    "SignedTransaction",
]

#: the keystore directory's index: party -> address and file
INDEX_FILE = "accounts.json"
#: the generated password, when the keystore is given none (EvmKeystore.open)
PASSWORD_FILE = "password"
#: scrypt's cost for a password a person chose (eth-account's default, geth's "standard")
STANDARD_KDF_ITERATIONS = 2**18
#: scrypt's cost for a generated 256-bit password, which key stretching cannot make any harder to guess
LIGHT_KDF_ITERATIONS = 2**12


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    """A signed transaction: what ``eth_sendRawTransaction`` takes, and its hash (both 0x-hex)."""

    raw: str
    tx_hash: str


class EvmKey:
    """One secp256k1 private key held here; :meth:`sign` signs EVM transactions with it.

    The key never leaves the object except through :meth:`encrypt` (a keystore file) and :meth:`hex`.
    """

    __slots__ = ("_account", "_private", "address")

    def __init__(self, account: LocalAccount) -> None:
        self._account = account
        # eth-keys' key object: Account.sign_transaction takes it as it is, where bytes would be parsed and
        # the public key derived again on every call (a fifth of the signing time)
        self._private = PrivateKey(bytes(account.key))
        #: the account's address, lower-case 0x-hex (as the adapter compares addresses)
        self.address = account.address.lower()

    @classmethod
    def generate(cls) -> EvmKey:
        """A new random key (from the operating system's CSPRNG)."""
        return cls(Account.from_key(secrets.token_bytes(32)))

    @classmethod
    def from_hex(cls, private_key: str | bytes) -> EvmKey:
        """The key of a 32-byte private key (0x-hex or bytes); :class:`LedgerError` if it is not one."""
        try:
            return cls(Account.from_key(private_key))
        except Exception as exc:  # eth-keys' ValidationError, ValueError, ...: the key itself is never shown
            raise LedgerError(f"not a private key: {type(exc).__name__}") from None

    def hex(self) -> str:
        """The private key as 0x-hex (for moving it into a wallet; treat the text as the money itself)."""
        return "0x" + bytes(self._account.key).hex()

    def sign(self, tx: Mapping[str, Any]) -> SignedTransaction:
        """Sign a transaction given as eth-account's dict (``to`` as 20 bytes, ints for the quantities,
        ``chainId``, ``nonce``, and ``gasPrice`` or the EIP-1559 fee fields)."""
        try:
            signed = Account.sign_transaction(dict(tx), self._private)
        except Exception as exc:  # eth-account, eth-utils and rlp raise their own kinds: all mapped here
            raise LedgerError(f"cannot sign the transaction: {type(exc).__name__}: {exc}") from exc
        return SignedTransaction("0x" + bytes(signed.raw_transaction).hex(), "0x" + bytes(signed.hash).hex())

    def encrypt(self, password: str, *, iterations: int = STANDARD_KDF_ITERATIONS) -> dict[str, Any]:
        """The key as a Web3 Secret Storage (v3) keystore document, scrypt with ``iterations`` (n)."""
        document: dict[str, Any] = Account.encrypt(self._account.key, password, kdf="scrypt", iterations=iterations)
        return document

    def __repr__(self) -> str:
        return f"EvmKey({self.address})"


class PartyKeys(Protocol):
    """Where the keys of the parties whose money this process moves are found."""

    async def key(self, party: str) -> EvmKey:
        """The party's key; :class:`LedgerError` when there is none (and none may be made)."""
        ...


class KeyMap:
    """:class:`PartyKeys` from a mapping party -> key, held in memory."""

    def __init__(self, keys: Mapping[str, EvmKey]) -> None:
        self.keys = dict(keys)

    async def key(self, party: str) -> EvmKey:
        found = self.keys.get(party)
        if found is None:
            raise LedgerError(f"no key for party {party!r} here")
        return found


def _file_name(party: str) -> str:
    """A file name for the party: readable, safe on every file system, and one per exact party id."""
    slug = re.sub(r"[^a-z0-9._-]+", "_", party.lower()).strip("._")[:40] or "party"
    return f"{slug}-{hashlib.sha256(party.encode()).hexdigest()[:12]}.json"


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only (0600)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


class EvmKeystore:
    """:class:`PartyKeys` kept in ``directory``: one encrypted keystore file per party (see the module
    docstring). ``create=False`` refuses to make keys (a party without a file is a :class:`LedgerError`);
    ``iterations`` is scrypt's n for the files it makes. Files are opened and made in a worker thread (scrypt
    is meant to be slow), each once per process."""

    def __init__(self, directory: Path, password: str, *, create: bool = True,
                 iterations: int = STANDARD_KDF_ITERATIONS) -> None:
        self.directory = Path(directory)
        self.password = password
        self.create = create
        self.iterations = iterations
        #: whether the password is kept in the directory itself (see :meth:`open`)
        self.password_in_directory = False
        self._keys: dict[str, EvmKey] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._index_lock = asyncio.Lock()

    @classmethod
    def open(cls, directory: Path, *, password_file: Path | None = None, create: bool = True) -> EvmKeystore:
        """The keystore in ``directory`` with the password read from ``password_file`` (its first line; full
        scrypt cost for new files), or -- without one -- a generated password kept in
        ``directory/password`` (0600; made on first use; light scrypt cost: see the module docstring)."""
        if password_file is not None:
            try:
                lines = Path(password_file).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise LedgerError(f"cannot read the keystore password file {password_file}: {exc}") from exc
            if not lines or not lines[0]:
                raise LedgerError(f"the keystore password file {password_file} is empty")
            return cls(directory, lines[0], create=create)
        directory = Path(directory)
        path = directory / PASSWORD_FILE
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not path.exists():
                _write_private(path, secrets.token_urlsafe(32) + "\n")
            password = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"cannot read or make the keystore password {path}: {exc}") from exc
        if not password:
            raise LedgerError(f"the keystore password file {path} is empty")
        store = cls(directory, password, create=create, iterations=LIGHT_KDF_ITERATIONS)
        store.password_in_directory = True
        return store

    def path(self, party: str) -> Path:
        """The keystore file of ``party`` (whether it exists or not)."""
        return self.directory / _file_name(party)

    def accounts(self) -> dict[str, str]:
        """Party -> address of every key in the keystore, from its index (no file is decrypted)."""
        return {party: entry["address"] for party, entry in self._read_index().items()}

    async def key(self, party: str) -> EvmKey:
        found = self._keys.get(party)
        if found is not None:
            return found
        async with self._locks.setdefault(party, asyncio.Lock()):
            found = self._keys.get(party)
            if found is None:
                found = await asyncio.to_thread(self._load_or_make, party)
                async with self._index_lock:
                    await asyncio.to_thread(self._add_to_index, party, found.address)
                self._keys[party] = found
            return found

    # ---- files ---------------------------------------------------------------------------------------

    def _read_index(self) -> dict[str, dict[str, str]]:
        path = self.directory / INDEX_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            raise LedgerError(f"cannot read the keystore index {path}: {exc}") from exc
        try:
            index = json.loads(text)
            ok = isinstance(index, dict) and all(
                isinstance(v, dict) and isinstance(v.get("address"), str) and isinstance(v.get("file"), str)
                for v in index.values())
        except ValueError:
            ok = False
        if not ok:
            raise LedgerError(f"the keystore index {path} is damaged (party -> {{address, file}} expected)")
        return dict(index)

    def _add_to_index(self, party: str, address: str) -> None:
        index = self._read_index()
        entry = {"address": address, "file": self.path(party).name}
        if index.get(party) != entry:
            index[party] = entry
            _write_private(self.directory / INDEX_FILE, json.dumps(index, indent=1, sort_keys=True) + "\n")

    def _load_or_make(self, party: str) -> EvmKey:
        path = self.path(party)
        listed = self._read_index().get(party)
        if path.exists():
            key = self._load(party, path)
            if listed is not None and listed["address"] != key.address:
                raise LedgerError(f"keystore file {path} holds the key of {key.address}, but {INDEX_FILE} lists "
                                  f"{listed['address']} for {party!r}")
            return key
        if listed is not None:
            raise LedgerError(f"keystore file {path} of party {party!r} ({listed['address']}) is missing: restore "
                              "it from a backup (a new key would pay from another account)")
        if not self.create:
            raise LedgerError(f"no keystore file {path} for party {party!r} (and this keystore makes no keys)")
        key = EvmKey.generate()
        document = key.encrypt(self.password, iterations=self.iterations)
        document["transactive_party"] = party
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _write_private(path, json.dumps(document, indent=1) + "\n")
        except OSError as exc:
            raise LedgerError(f"cannot write keystore file {path}: {exc}") from exc
        return key

    def _load(self, party: str, path: Path) -> EvmKey:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise LedgerError(f"keystore file {path} cannot be read: {type(exc).__name__}: {exc}") from exc
        if not isinstance(document, dict) or ("crypto" not in document and "Crypto" not in document):
            raise LedgerError(f"keystore file {path} is not a keystore (no 'crypto' section)")
        owner = document.get("transactive_party")
        if owner is not None and owner != party:
            raise LedgerError(f"keystore file {path} holds the key of party {owner!r}, not {party!r}")
        try:
            secret = Account.decrypt(document, self.password)
        except Exception as exc:  # eth-keyfile's own errors for a wrong MAC, an unknown KDF, missing fields
            raise LedgerError(f"keystore file {path} does not decrypt (wrong password or a damaged file: "
                              f"{exc})") from exc
        key = EvmKey.from_hex(bytes(secret))
        stated = document.get("address")
        if isinstance(stated, str) and parse_address("0x" + stated.lower().removeprefix("0x"),
                                                     f"{path}: address") != key.address:
            raise LedgerError(f"keystore file {path} states address 0x{stated}, but its key is {key.address}")
        return key
