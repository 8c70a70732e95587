"""Run a real anvil (Foundry's Ethereum dev node) on 127.0.0.1 for tests and benchmarks.

    with AnvilProcess.start() as node:       # free port, no unlocked account, waits for eth_chainId
        market = node.funded_key()           # a key made here, its account given ether (anvil_setBalance)
        ledger = EvmLedger(node.url, signer=market, ...)
    # stopped here (SIGTERM, then SIGKILL after 5 s): never left running

The node holds no account (``--accounts 0``): ``eth_accounts`` is empty and ``eth_sendTransaction`` is
refused ("No Signer available"), so whatever the adapter sends must be signed by a key it holds.
``AnvilProcess.start(unlocked=N)`` starts one with N unlocked dev accounts instead (only a test that needs
to show an unlocked node changes nothing asks for that).

The binary: ``$ANVIL_BIN`` if set, else what ``interop/anvil/install.sh`` installed under ``.cache/anvil``
(the per-platform npm package ``@foundry-rs/anvil-<os>-<arch>``; the script is run once, idempotently, when
the binary is missing), else ``anvil`` on ``PATH``. :class:`AnvilUnavailable` says why none could be had
(the tests skip with that reason).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from transactive.ledger.evm_keys import EvmKey  # before eth_account: see evm_keys (the recursion limit)

ROOT = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = ROOT / "interop" / "anvil" / "install.sh"

#: anvil's (and hardhat's) well-known test mnemonic (for unlocked=N: account 0 is 0xf39F...2266)
MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337
BALANCE_ETH = 10_000
#: what funded_key gives a new account
FUND_ETH = 100


class AnvilUnavailable(RuntimeError):
    """anvil could not be found or installed; the message says why."""


_resolved: str | None = None


def find_anvil(*, install: bool = True) -> str:
    """Path of a working anvil binary, installing it through npm (``interop/anvil/install.sh``) if needed."""
    global _resolved
    if _resolved is not None:
        return _resolved
    env = os.environ.get("ANVIL_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise AnvilUnavailable(f"ANVIL_BIN={env} is not an executable")
        _resolved = env
        return env
    failure = "interop/anvil/install.sh not run"
    if install and INSTALL_SCRIPT.exists():
        try:
            done = subprocess.run([str(INSTALL_SCRIPT)], capture_output=True, text=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            failure = f"interop/anvil/install.sh failed: {exc}"
        else:
            path = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
            if done.returncode == 0 and path and os.access(path, os.X_OK):
                _resolved = path
                return path
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            failure = f"interop/anvil/install.sh failed ({last})"
    on_path = shutil.which("anvil")
    if on_path:
        _resolved = on_path
        return on_path
    raise AnvilUnavailable(f"anvil could not be installed from the npm registry: {failure}")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (bind to port 0, read it back, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _rpc(url: str, method: str, params: list[Any], timeout: float = 1.0) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())["result"]


@dataclass
class AnvilProcess:
    """One running anvil; use :meth:`start` as a context manager."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    accounts: list[str] = field(default_factory=list)
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @classmethod
    @contextlib.contextmanager
    def start(cls, *extra_args: str, host: str = "127.0.0.1", startup_timeout: float = 30.0,
              binary: str | None = None, unlocked: int = 0) -> Iterator[AnvilProcess]:
        """Start anvil on a free port of ``host`` with ``unlocked`` dev accounts (default none), wait until
        it answers ``eth_chainId``, yield it, and stop it on exit (also when the body raises). ``extra_args``
        go to anvil as they are (e.g. ``"--no-mining"``)."""
        exe = binary or find_anvil()
        last_error = "did not start"
        for _attempt in range(3):  # the free port can be taken between probing and anvil's bind: retry
            port = free_port(host)
            log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in stop())
            argv = [exe, "--host", host, "--port", str(port), "--mnemonic", MNEMONIC, "--accounts", str(unlocked),
                    "--balance", str(BALANCE_ETH), "--chain-id", str(CHAIN_ID), "--silent", *extra_args]
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            node = cls(process=process, host=host, port=port, log=log)
            try:
                if node._wait_ready(startup_timeout):
                    node.accounts = [str(a) for a in _rpc(node.url, "eth_accounts", [])]
                    yield node
                    return
                last_error = node._tail()
            finally:
                node.stop()
        raise AnvilUnavailable(f"anvil did not start: {last_error}")

    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC call to the node (synchronous; the result, or RuntimeError with the node's error)."""
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
        request = urllib.request.Request(self.url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            answer = json.loads(response.read())
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def fund(self, address: str, ether: int = FUND_ETH) -> None:
        """Give ``address`` a balance of ``ether`` (anvil_setBalance: a development-node call)."""
        self.rpc("anvil_setBalance", address, hex(ether * 10**18))

    def funded_key(self, ether: int = FUND_ETH) -> EvmKey:
        """A new key, made here, whose account holds ``ether``."""
        key = EvmKey.generate()
        self.fund(key.address, ether)
        return key

    def wallet_send(self, key: EvmKey, to: str, *, value: int = 0, data: bytes = b"", gas: int | None = None,
                    wait: bool = True) -> str:
        """Send a transaction the way a party's own wallet would: signed with eth-account directly (legacy,
        EIP-155, the node's gas price), not through the adapter; its hash, once it is mined (``wait=False``:
        at once)."""
        from eth_account import Account  # after transactive.ledger.evm_keys (see there)

        tx = {"to": bytes.fromhex(to.removeprefix("0x")), "value": value, "data": data,
              "gas": gas if gas is not None else 21_000 + 40 * len(data),
              "gasPrice": int(self.rpc("eth_gasPrice"), 16), "chainId": int(self.rpc("eth_chainId"), 16),
              "nonce": int(self.rpc("eth_getTransactionCount", key.address, "pending"), 16)}
        signed = Account.sign_transaction(tx, key.hex())
        tx_hash = str(self.rpc("eth_sendRawTransaction", "0x" + bytes(signed.raw_transaction).hex())).lower()
        deadline = time.monotonic() + 10
        while wait and self.rpc("eth_getTransactionReceipt", tx_hash) is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tx_hash} not mined within 10 s")
            time.sleep(0.005)
        return tx_hash

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if int(_rpc(self.url, "eth_chainId", [], timeout=0.5), 16) == CHAIN_ID:
                    return True
            except (OSError, urllib.error.URLError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        return False

    def _tail(self) -> str:
        if self.log is None:
            return ""
        self.log.seek(0)
        lines = self.log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self.process.poll()}"

    def stop(self) -> None:
        """SIGTERM, wait up to 5 s, then SIGKILL; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not None:
            self.log.close()
            self.log = None


def anvil_or_skip(*extra_args: str, unlocked: int = 0) -> contextlib.AbstractContextManager[AnvilProcess]:
    """:meth:`AnvilProcess.start`, or ``pytest.skip`` with the reason anvil is unavailable."""
    try:
        find_anvil()
    except AnvilUnavailable as exc:
        pytest.skip(str(exc))
    return AnvilProcess.start(*extra_args, unlocked=unlocked)
