"""An EVM chain as the ledger, over Ethereum JSON-RPC (tested against a real anvil dev node).

What goes on chain
    Every entry is one transaction carrying the entry in its ``data`` (:mod:`transactive.ledger.evm_entries`
    has the encoding). An anchor's ``data`` is :meth:`TransactionRecord.as_dict` (the EMIX document hash and
    the trade's fields). The receipt's ``entry_hash`` is the hex SHA-256 of the entry's canonical JSON, its
    ``reference`` the transaction hash and its ``sequence`` the block number. Anchors, deliveries, payment
    requests and disputes are 0-value transactions from the ``signer``'s account (the market's) to
    ``anchor_address`` (by default an address derived from a fixed string, whose key nobody holds). Payments
    are real value transfers (wei) from the payer's account to the payee's, tagged with a ``payment`` entry in
    their data.

Keys and signing
    Whoever holds an account's key moves its money, so every transaction is signed here, with the key of the
    account it spends from, and sent signed (``eth_sendRawTransaction``): the node needs no unlocked account
    and ``eth_sendTransaction`` is never called (:mod:`transactive.ledger.evm_nonces`: chain id from
    ``eth_chainId``, EIP-1559 fees when the node has a base fee, else legacy; nonces per account, assigned
    here so the adapter can pipeline: :meth:`EvmLedger.anchor_many` sends a whole batch, in nonce order,
    without waiting for any to be mined, then reads all the receipts in one JSON-RPC batch request). Gas is
    the intrinsic cost of a plain transfer with data, so the payees and the anchor address must be plain
    accounts, not contracts.

    Who holds which key (:mod:`transactive.ledger.evm_keys`): ``signer`` is the market's key (it writes the
    entries and pays what the market owes); ``keys`` (a :class:`~.evm_keys.PartyKeys`, e.g. an
    :class:`~.evm_keys.EvmKeystore`) holds the keys of the parties whose payments this process makes on their
    behalf (the reference VTN's ``auto_pay``), and gives each a key, so an account, on first use; ``accounts``
    names the accounts of the parties that hold their own keys: they pay from them themselves, and the
    payment is counted by reference (``confirm_payment(reference=tx_hash)``). Without ``signer`` the adapter
    only reads and verifies (an auditor: give ``sender``, the market's address).

Money
    ``wei = amount * wei_per_unit[currency]`` exactly (a fixed rate, default ``10**12`` wei, i.e. 10^-6 ether,
    per unit of any currency); an amount that does not convert to a whole number of wei is refused.
    A payment request names the payer's and the payee's accounts (``payer_account``, ``payee_account``);
    :meth:`EvmLedger.confirm_payment` sums the mined, successful transfers between those two accounts
    recorded for the transaction (made by the adapter with ``paid=``, signed with the payer's key, or read
    back by hash with ``reference=``, made by whoever holds the payer's key) and reports
    :func:`~transactive.ledger.interface.payment_status` of those wei against the requested wei.

The index
    The adapter keeps, in memory, the transaction hashes of the entries it wrote (or read back) per
    transaction id; :meth:`EvmLedger.audit_trail` reads those transactions back from the chain. After a
    restart, :meth:`EvmLedger.rebuild_index` rebuilds it by scanning blocks from ``start_block``: it keeps
    the tagged transactions sent by ``sender`` (the market's account), and tagged payments sent between the
    accounts that a payment request of the same transaction, sent by ``sender`` before them, names -- so
    nobody else can inject entries. Untagged transfers confirmed by ``reference`` are not found by a
    rescan.

Errors
    :class:`~transactive.ledger.jsonrpc.JsonRpcClient` maps every failure on the way in (unreachable node,
    timeouts, HTTP 5xx/429, "limit exceeded": :class:`LedgerUnavailableError`; the rest: :class:`LedgerError`,
    JSON-RPC errors as :class:`RpcError`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import statistics
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from transactive.ledger.evm_entries import (
    MAGIC,
    decode_entry,
    encode_entry,
    hex_quantity,
    intrinsic_gas,
    lower_hex,
    parse_address,
    sha256_hex,
)
from transactive.ledger.evm_keys import EvmKey, KeyMap, PartyKeys
from transactive.ledger.evm_nonces import NonceSender, Unsigned
from transactive.ledger.interface import (
    Capabilities,
    Ledger,
    LedgerError,
    LedgerUnavailableError,
    TamperedLedgerError,
    UnknownTransactionError,
    payment_status,
)
from transactive.ledger.jsonrpc import (
    HttpPoster,
    JsonRpcClient,
    RpcError,
    RpcPoster,
    RpcUnavailableError,
    map_transport_error,
)
from transactive.ledger.records import EntryKind, LedgerEntry, PaymentStatus, Receipt, TransactionRecord

__all__ = [
    "DEFAULT_ANCHOR_ADDRESS",
    "DEFAULT_WEI_PER_UNIT",
    "MAGIC",
    "EvmKey",
    "EvmLedger",
    "HttpPoster",
    "JsonRpcClient",
    "RpcError",
    "RpcPoster",
    "RpcUnavailableError",
    "decode_entry",
    "encode_entry",
    "map_transport_error",
]

#: where anchors and other data entries are sent: derived from a fixed string, nobody holds its key
DEFAULT_ANCHOR_ADDRESS = "0x" + hashlib.sha256(b"transactive.ledger.evm/anchor").hexdigest()[:40]
#: wei per unit of currency (10**12 wei = 10**-6 ether per dollar, euro, ...)
DEFAULT_WEI_PER_UNIT = 10**12


@dataclass(frozen=True, slots=True)
class _Indexed:
    """Where one entry of a transaction id is: tx hash and position; entry_hash is "" for untagged transfers."""

    tx_hash: str
    block: int
    position: int
    kind: EntryKind
    entry_hash: str


@dataclass(frozen=True, slots=True)
class _Outgoing:
    key: EvmKey  # of the account it spends from
    to: str
    value_wei: int
    kind: EntryKind
    transaction_id: str
    body: bytes  # canonical JSON of the entry


# --------------------------------------------------------------------------------------------------------
# the ledger


class EvmLedger(Ledger):
    """The :class:`Ledger` on an EVM chain through JSON-RPC; see the module docstring for the design.

    ``rpc`` is a node URL or a :class:`JsonRpcClient`; ``signer`` is the market's key, which signs the data
    entries and the market's own payments (without it the ledger reads and verifies only, and ``sender``
    names the market's address); ``keys`` gives the keys of the parties this process pays for (made on first
    use by an :class:`~.evm_keys.EvmKeystore`; a mapping party -> :class:`EvmKey` is taken as it is);
    ``accounts`` maps the parties that hold their own keys to their addresses (they pay themselves, reported
    by reference); ``confirmations`` is how many blocks (the entry's own included) make an entry durable (1 on
    a dev node); ``mine=True`` calls ``evm_mine`` after sending, for a dev node started without automining
    (then a batch lands in one block); ``start_block`` is where :meth:`rebuild_index` starts scanning;
    ``send_batches`` sends a batch's transactions as one JSON-RPC batch request instead of one request after
    the other (only for nodes that handle batch items in order: anvil 1.7.1 handles them concurrently, the
    nonces arrive out of order, and its pool then leaves some queued for good -- seen here as
    ``txpool_status`` queued 0x20); ``fee_ttl`` is how long a fee quote is reused (seconds).
    """

    backend = "evm"

    def __init__(self, rpc: JsonRpcClient | str, *, signer: EvmKey | None = None, sender: str | None = None,
                 keys: PartyKeys | Mapping[str, EvmKey] | None = None, accounts: Mapping[str, str] | None = None,
                 anchor_address: str = DEFAULT_ANCHOR_ADDRESS,
                 wei_per_unit: int | Mapping[str, int] = DEFAULT_WEI_PER_UNIT, confirmations: int = 1,
                 mine: bool = False, start_block: int = 0, receipt_timeout: float = 30.0,
                 poll_interval: float = 0.05, timeout: float = 10.0, max_batch: int = 100,
                 send_batches: bool = False, fee_ttl: float = 5.0,
                 measured_throughput: float | None = None) -> None:
        self.rpc = rpc if isinstance(rpc, JsonRpcClient) else JsonRpcClient(
            rpc, timeout=timeout, max_batch=max_batch, peer=f"the EVM node at {rpc}")
        self.signer = signer
        self._sender = parse_address(sender, "sender") if sender is not None else None
        if signer is not None and self._sender is not None and signer.address != self._sender:
            raise LedgerError(f"sender {self._sender} is not the signer's address {signer.address}")
        self.keys: PartyKeys | None = KeyMap(keys) if isinstance(keys, Mapping) else keys
        #: parties holding their own keys -> their accounts (never asked of ``keys``)
        self.accounts = {party: parse_address(addr, f"account of {party!r}")
                         for party, addr in (accounts or {}).items()}
        self._key_accounts: dict[str, str] = {}  # parties whose keys are in ``keys`` -> their accounts
        self.anchor_address = parse_address(anchor_address, "anchor_address")
        if isinstance(wei_per_unit, int):
            self._default_rate: int | None = wei_per_unit
            self._rates: dict[str, int] = {}
        else:
            self._default_rate = None
            self._rates = dict(wei_per_unit)
        if confirmations < 1:
            raise ValueError("confirmations must be at least 1 (the entry's own block)")
        self.confirmations = confirmations
        self.mine = mine
        self.start_block = start_block
        self.receipt_timeout = receipt_timeout
        self.poll_interval = poll_interval
        self.nonces = NonceSender(self.rpc, send_batches=send_batches, fee_ttl=fee_ttl)
        self.measured_throughput = measured_throughput
        self._index: dict[str, list[_Indexed]] = {}
        self._known: set[str] = set()
        self._reserved: set[str] = set()
        self._pending_refs: dict[str, set[str]] = {}
        #: per transaction, the (payer, payee) accounts its trusted payment requests name
        self._request_accounts: dict[str, set[tuple[str, str]]] = {}
        self._latencies: deque[float] = deque(maxlen=200)

    @property
    def send_batches(self) -> bool:
        """Send a batch's transactions as one JSON-RPC batch request (see the class docstring)."""
        return self.nonces.send_batches

    @send_batches.setter
    def send_batches(self, value: bool) -> None:
        self.nonces.send_batches = value

    # ---- plumbing ----------------------------------------------------------------------------------

    @property
    def sender(self) -> str:
        """The market's account, which writes the data entries (the signer's, or ``sender``)."""
        if self.signer is not None:
            return self.signer.address
        if self._sender is None:
            raise LedgerError("this EvmLedger has neither a signer nor a sender: give signer= (to write) or "
                              "sender= (the market's address, to read and verify)")
        return self._sender

    def _writer(self) -> EvmKey:
        if self.signer is None:
            raise LedgerError("this EvmLedger has no key to sign with (EvmLedger(signer=...)): it reads and "
                              "verifies only")
        return self.signer

    async def account(self, party: str) -> str:
        """The party's account: the one given in ``accounts`` (a party holding its own key), else the one of
        its key in ``keys`` (made on first use by a keystore)."""
        found = self.accounts.get(party) or self._key_accounts.get(party)
        if found is None:
            if self.keys is None:
                raise LedgerError(f"no account for party {party!r} (EvmLedger(accounts=...) or keys=...)")
            found = self._key_accounts[party] = (await self.keys.key(party)).address
        return found

    async def _payer_key(self, payer: str, account: str) -> EvmKey:
        """The key that pays from ``account`` for ``payer``: the market's, or the party's in ``keys``."""
        if self.signer is not None and self.signer.address == account:
            return self.signer
        if self.keys is not None and payer not in self.accounts:
            key = await self.keys.key(payer)
            if key.address != account:
                raise LedgerError(f"the key held here for {payer!r} is {key.address}'s, but the payment request "
                                  f"names {account}")
            return key
        raise LedgerError(f"no key for {payer!r} here: the party holds its own key, pays from {account} itself and "
                          "the payment is counted with confirm_payment(reference=TX_HASH)")

    def to_wei(self, amount: Decimal, currency: str) -> int:
        """``amount * wei_per_unit[currency]``, exactly; refused when negative or not a whole number of wei."""
        rate = self._rates.get(currency, self._default_rate)
        if rate is None:
            raise LedgerError(f"no wei rate for currency {currency!r}")
        with localcontext() as ctx:
            ctx.prec = 80
            try:
                wei = Decimal(amount) * rate
            except InvalidOperation as exc:
                raise LedgerError(f"not an amount: {amount!r}") from exc
            if not wei.is_finite() or wei < 0 or wei != wei.to_integral_value():
                raise LedgerError(f"{amount} {currency} is not a whole, non-negative number of wei at {rate} wei/unit")
            return int(wei)

    async def _wait_receipts(self, hashes: Sequence[str]) -> dict[str, dict[str, Any]]:
        receipts: dict[str, dict[str, Any]] = {}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.receipt_timeout
        delay = 0.0005  # a dev node mines within milliseconds: poll fast first, back off to poll_interval
        while True:
            missing = [h for h in hashes if h not in receipts]
            found = await self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in missing])
            for tx_hash, receipt in zip(missing, found, strict=True):
                if isinstance(receipt, dict):
                    receipts[tx_hash] = receipt
            if len(receipts) == len(hashes):
                break
            if loop.time() > deadline:
                raise LedgerUnavailableError(f"{len(hashes) - len(receipts)} transaction(s) not mined within "
                                             f"{self.receipt_timeout} s")
            await asyncio.sleep(delay)
            delay = min(self.poll_interval, delay * 2)
        if self.confirmations > 1:
            needed = max(hex_quantity(r.get("blockNumber"), "blockNumber") for r in receipts.values()) \
                + self.confirmations - 1
            while hex_quantity(await self.rpc.call("eth_blockNumber"), "eth_blockNumber") < needed:
                if loop.time() > deadline:
                    raise LedgerUnavailableError(f"not {self.confirmations} confirmations within "
                                                 f"{self.receipt_timeout} s")
                await asyncio.sleep(self.poll_interval)
        return receipts

    async def _block_times(self, receipts: Iterable[Mapping[str, Any]]) -> dict[int, datetime]:
        times: dict[int, datetime] = {}
        unknown: set[int] = set()
        for receipt in receipts:
            block = hex_quantity(receipt.get("blockNumber"), "blockNumber")
            stamp = receipt.get("blockTimestamp")  # anvil and some nodes include it; otherwise read the block
            if stamp is None:
                unknown.add(block)
            else:
                times[block] = datetime.fromtimestamp(hex_quantity(stamp, "blockTimestamp"), UTC)
        ordered = sorted(unknown - times.keys())
        blocks = await self.rpc.batch([("eth_getBlockByNumber", [hex(b), False]) for b in ordered])
        for number, block in zip(ordered, blocks, strict=True):
            if not isinstance(block, dict):
                raise LedgerError(f"block {number} not found")
            times[number] = datetime.fromtimestamp(hex_quantity(block.get("timestamp"), "timestamp"), UTC)
        return times

    async def _write(self, outgoing: Sequence[_Outgoing]) -> list[Receipt]:
        """Sign and send entries (pipelined per spending account), wait until durable, index them; their receipts
        in order."""
        started = time.perf_counter()
        by_sender: dict[str, list[int]] = {}
        for i, out in enumerate(outgoing):
            by_sender.setdefault(out.key.address, []).append(i)
        hashes: list[str] = [""] * len(outgoing)

        async def send(positions: list[int]) -> None:
            txs = []
            for i in positions:
                data = MAGIC + outgoing[i].body
                txs.append(Unsigned(outgoing[i].to, outgoing[i].value_wei, data, intrinsic_gas(data)))
            key = outgoing[positions[0]].key
            for i, tx_hash in zip(positions, await self.nonces.send(key, txs), strict=True):
                hashes[i] = tx_hash

        await asyncio.gather(*(send(p) for p in by_sender.values()))
        if self.mine:
            await self.rpc.call("evm_mine")
        receipts = await self._wait_receipts(hashes)
        times = await self._block_times(receipts.values())
        self._latencies.append(time.perf_counter() - started)
        out_receipts: list[Receipt] = []
        for out, tx_hash in zip(outgoing, hashes, strict=True):
            receipt = receipts[tx_hash]
            if hex_quantity(receipt.get("status", "0x1"), "status") != 1:
                raise LedgerError(f"transaction {tx_hash} ({out.kind} of {out.transaction_id}) failed on chain")
            block = hex_quantity(receipt.get("blockNumber"), "blockNumber")
            position = hex_quantity(receipt.get("transactionIndex"), "transactionIndex")
            entry_hash = sha256_hex(out.body)
            self._add(out.transaction_id, _Indexed(tx_hash, block, position, out.kind, entry_hash))
            out_receipts.append(Receipt(
                backend=self.backend, reference=tx_hash, sequence=block, entry_hash=entry_hash,
                timestamp=times.get(block),
                extra={"kind": out.kind.value, "block_hash": receipt.get("blockHash"), "transaction_index": position,
                       "from": out.key.address, "to": out.to, "value_wei": out.value_wei,
                       "gas_used": hex_quantity(receipt.get("gasUsed", "0x0"), "gasUsed")}))
        return out_receipts

    def _add(self, transaction_id: str, item: _Indexed) -> bool:
        if item.tx_hash in self._known:
            return False
        self._known.add(item.tx_hash)
        entries = self._index.setdefault(transaction_id, [])
        entries.append(item)
        entries.sort(key=lambda e: (e.block, e.position))
        return True

    def _entries(self, transaction_id: str) -> list[_Indexed]:
        entries = self._index.get(transaction_id)
        if not entries or entries[0].kind is not EntryKind.ANCHOR:
            raise UnknownTransactionError(transaction_id)
        return entries

    async def _data_entry(self, kind: EntryKind, transaction_id: str, data: Mapping[str, Any]) -> Receipt:
        self._entries(transaction_id)
        out = _Outgoing(self._writer(), self.anchor_address, 0, kind, transaction_id,
                        encode_entry(kind, transaction_id, data))
        receipt = (await self._write([out]))[0]
        if kind is EntryKind.PAYMENT_REQUEST:
            self._trust_request(transaction_id, data)
        return receipt

    def _trust_request(self, transaction_id: str, data: Mapping[str, Any]) -> None:
        """Remember the accounts a payment request by ``sender`` names: payments between them are trusted."""
        try:
            pair = (parse_address(str(data.get("payer_account")), "payer_account"),
                    parse_address(str(data.get("payee_account")), "payee_account"))
        except LedgerError:
            return
        self._request_accounts.setdefault(transaction_id, set()).add(pair)

    # ---- the Ledger interface -------------------------------------------------------------------------

    async def anchor(self, record: TransactionRecord) -> Receipt:
        return (await self.anchor_many([record]))[0]

    async def anchor_many(self, records: Sequence[TransactionRecord]) -> list[Receipt]:
        """Anchor several records at once: their signed transactions sent back to back (consecutive nonces,
        nobody waiting for a block), then one batch request for all receipts; the receipts in the records'
        order."""
        ids = [r.transaction_id for r in records]
        if len(set(ids)) != len(ids):
            raise LedgerError("the same transaction id twice in one batch")
        taken = [i for i in ids if i in self._index or i in self._reserved]
        if taken:
            raise LedgerError(f"already anchored: {', '.join(taken[:5])}")
        self._reserved.update(ids)
        try:
            writer = self._writer()
            outgoing = [_Outgoing(writer, self.anchor_address, 0, EntryKind.ANCHOR, r.transaction_id,
                                  encode_entry(EntryKind.ANCHOR, r.transaction_id, r.as_dict())) for r in records]
            return await self._write(outgoing) if outgoing else []
        finally:
            self._reserved.difference_update(ids)

    async def record_delivery(self, transaction_id: str, party: str, quantity_kwh: Decimal,
                              measured_at: datetime) -> Receipt:
        if measured_at.tzinfo is None:
            raise ValueError("measured_at needs a UTC offset")
        return await self._data_entry(EntryKind.DELIVERY, transaction_id, {
            "party": party, "quantity_kwh": str(quantity_kwh), "measured_at": measured_at.isoformat()})

    async def request_payment(self, transaction_id: str, *, amount: Decimal, currency: str,
                              payer: str, payee: str, deadline: datetime) -> Receipt:
        if deadline.tzinfo is None:
            raise ValueError("deadline needs a UTC offset")
        wei = self.to_wei(amount, currency)
        self._entries(transaction_id)  # an unknown transaction gives nobody an account
        return await self._data_entry(EntryKind.PAYMENT_REQUEST, transaction_id, {
            "amount": str(amount), "currency": currency, "payer": payer, "payee": payee,
            "payer_account": await self.account(payer), "payee_account": await self.account(payee),
            "amount_wei": str(wei), "deadline": deadline.isoformat()})

    async def open_dispute(self, transaction_id: str, *, reason: str, opened_by: str,
                           details: dict[str, Any] | None = None) -> Receipt:
        return await self._data_entry(EntryKind.DISPUTE, transaction_id, {
            "reason": reason, "opened_by": opened_by, "details": details or {}})

    async def _read_entry(self, tx_hash: str) -> tuple[dict[str, Any], dict[str, Any]]:
        tx = await self.rpc.call("eth_getTransactionByHash", [tx_hash])
        if not isinstance(tx, dict):
            raise TamperedLedgerError(f"transaction {tx_hash} is no longer on the chain")
        decoded = decode_entry(tx.get("input") or tx.get("data"))
        if decoded is None:
            raise TamperedLedgerError(f"transaction {tx_hash} carries no entry")
        return tx, decoded[2]

    async def _payment_request(self, transaction_id: str) -> tuple[str, dict[str, Any]]:
        requests = [e for e in self._entries(transaction_id) if e.kind is EntryKind.PAYMENT_REQUEST]
        if not requests:
            raise LedgerError(f"no payment requested for {transaction_id}")
        _tx, data = await self._read_entry(requests[-1].tx_hash)
        return requests[-1].tx_hash, data

    async def confirm_payment(self, transaction_id: str, *, now: datetime,
                              paid: Decimal | None = None, reference: str | None = None) -> PaymentStatus:
        """With ``reference`` (a transfer's tx hash, made and signed by whoever holds the payer's key): read
        that transfer back and count it (``paid``, if also given, must equal its value); with ``paid`` alone:
        transfer that amount now from the payer's account to the payee's, signed here with the payer's key
        (the market's ``signer`` or the party's in ``keys``); with neither: just report. The accounts are
        the ones the payment request names; the status counts every mined, successful transfer between them
        recorded for the transaction (see the module docstring)."""
        request_hash, request = await self._payment_request(transaction_id)
        payer, payee = str(request["payer"]), str(request["payee"])
        payer_account = parse_address(str(request.get("payer_account")), "the payment request's payer_account")
        payee_account = parse_address(str(request.get("payee_account")), "the payment request's payee_account")
        if reference is not None:
            await self._observe(transaction_id, reference.lower(), payer_account, payee_account,
                                None if paid is None else self.to_wei(paid, str(request["currency"])))
        elif paid is not None:
            wei = self.to_wei(paid, str(request["currency"]))
            if wei == 0:
                raise LedgerError("a payment of nothing")
            data = {"amount": str(paid), "currency": request["currency"], "payer": payer, "payee": payee,
                    "amount_wei": str(wei), "request": request_hash}
            key = await self._payer_key(payer, payer_account)
            await self._write([_Outgoing(key, payee_account, wei, EntryKind.PAYMENT, transaction_id,
                                         encode_entry(EntryKind.PAYMENT, transaction_id, data))])
        total = await self._paid_wei(transaction_id, payer_account, payee_account)
        return payment_status(due=int(request["amount_wei"]), paid=total,
                              deadline=datetime.fromisoformat(str(request["deadline"])), now=now)

    async def _observe(self, transaction_id: str, tx_hash: str, payer: str, payee: str, wei: int | None) -> None:
        tx = await self.rpc.call("eth_getTransactionByHash", [tx_hash])
        if not isinstance(tx, dict):
            raise LedgerError(f"no transaction {tx_hash} on the chain")
        if lower_hex(tx.get("from")) != payer or lower_hex(tx.get("to")) != payee:
            raise LedgerError(f"transaction {tx_hash} is not a transfer from the payer's account to the payee's")
        value = hex_quantity(tx.get("value", "0x0"), "value")
        if wei is not None and wei != value:
            raise LedgerError(f"transaction {tx_hash} moved {value} wei, not {wei}")
        self._pending_refs.setdefault(transaction_id, set()).add(tx_hash)

    async def _paid_wei(self, transaction_id: str, payer: str, payee: str) -> int:
        """Sum of mined, successful transfers payer -> payee for the transaction (indexing observed ones)."""
        pending = sorted(self._pending_refs.get(transaction_id, set()) - self._known)
        if pending:
            receipts = await self.rpc.batch([("eth_getTransactionReceipt", [h]) for h in pending])
            for tx_hash, receipt in zip(pending, receipts, strict=True):
                if isinstance(receipt, dict) and receipt.get("blockNumber") is not None:
                    self._add(transaction_id, _Indexed(
                        tx_hash, hex_quantity(receipt["blockNumber"], "blockNumber"),
                        hex_quantity(receipt.get("transactionIndex"), "transactionIndex"), EntryKind.PAYMENT, ""))
                    self._pending_refs[transaction_id].discard(tx_hash)
        payments = [e.tx_hash for e in self._entries(transaction_id) if e.kind is EntryKind.PAYMENT]
        if not payments:
            return 0
        results = await self.rpc.batch([("eth_getTransactionByHash", [h]) for h in payments]
                                       + [("eth_getTransactionReceipt", [h]) for h in payments])
        total = 0
        for tx, receipt in zip(results[:len(payments)], results[len(payments):], strict=True):
            if not isinstance(tx, dict) or not isinstance(receipt, dict):
                continue
            if hex_quantity(receipt.get("status", "0x1"), "status") != 1:
                continue
            if lower_hex(tx.get("from")) == payer and lower_hex(tx.get("to")) == payee:
                total += hex_quantity(tx.get("value", "0x0"), "value")
        return total

    async def audit_trail(self, transaction_id: str) -> list[LedgerEntry]:
        """Every entry about the transaction, read back from the chain, in chain order (block, position)."""
        entries = self._entries(transaction_id)
        txs = await self.rpc.batch([("eth_getTransactionByHash", [e.tx_hash]) for e in entries])
        blocks = sorted({e.block for e in entries})
        headers = await self.rpc.batch([("eth_getBlockByNumber", [hex(b), False]) for b in blocks])
        times = {b: datetime.fromtimestamp(hex_quantity(h.get("timestamp"), "timestamp"), UTC)
                 for b, h in zip(blocks, headers, strict=True) if isinstance(h, dict)}
        out: list[LedgerEntry] = []
        for i, (item, tx) in enumerate(zip(entries, txs, strict=True)):
            if not isinstance(tx, dict) or tx.get("blockNumber") is None:
                raise TamperedLedgerError(f"entry {i} ({item.tx_hash}) is no longer on the chain", index=i)
            decoded = decode_entry(tx.get("input") or tx.get("data"))
            if item.entry_hash:
                if decoded is None or sha256_hex(decoded[3]) != item.entry_hash or decoded[1] != transaction_id:
                    raise TamperedLedgerError(f"entry {i} ({item.tx_hash}) does not match what was written",
                                              index=i)
                data = dict(decoded[2])
            else:  # a transfer confirmed by reference, without an entry in its data
                data = {"observed": True}
            if item.kind is EntryKind.PAYMENT:
                data["value_wei"] = str(hex_quantity(tx.get("value", "0x0"), "value"))
                data["from"], data["to"] = lower_hex(tx.get("from")), lower_hex(tx.get("to"))
            out.append(LedgerEntry(kind=item.kind, transaction_id=transaction_id, data=data, sequence=item.block,
                                   reference=item.tx_hash, timestamp=times.get(item.block),
                                   entry_hash=item.entry_hash or None))
        return out

    async def verify(self, record: TransactionRecord, receipt: Receipt) -> bool:
        """Fetch the receipt's transaction: it must be mined (in the receipt's block, if given), sent by
        ``sender`` to ``anchor_address``, successful, and carry exactly this record's anchor entry, whose
        hash is the receipt's ``entry_hash``. Node failures raise; any mismatch is ``False``."""
        if receipt.backend != self.backend:
            return False
        tx_hash = receipt.reference.lower()
        tx, chain_receipt = await self.rpc.batch([("eth_getTransactionByHash", [tx_hash]),
                                                  ("eth_getTransactionReceipt", [tx_hash])])
        if not isinstance(tx, dict) or not isinstance(chain_receipt, dict) or tx.get("blockNumber") is None:
            return False
        try:
            if receipt.sequence is not None and hex_quantity(tx["blockNumber"], "blockNumber") != receipt.sequence:
                return False
            if hex_quantity(chain_receipt.get("status", "0x1"), "status") != 1:
                return False
        except LedgerError:
            return False
        if lower_hex(tx.get("from")) != self.sender or lower_hex(tx.get("to")) != self.anchor_address:
            return False
        decoded = decode_entry(tx.get("input") or tx.get("data"))
        if decoded is None:
            return False
        kind, transaction_id, data, body = decoded
        expected = encode_entry(EntryKind.ANCHOR, record.transaction_id, record.as_dict())
        return (kind is EntryKind.ANCHOR and transaction_id == record.transaction_id
                and data == json.loads(expected)["d"] and body == expected
                and sha256_hex(body) == receipt.entry_hash)

    async def rebuild_index(self, from_block: int | None = None, to_block: int | None = None,
                            *, chunk: int = 100) -> int:
        """Scan blocks ``from_block`` (default ``start_block``) .. ``to_block`` (default: the head) for the
        entries this adapter trusts and add them to the index; the number of entries added. Start at or before
        the block of the first anchor you want back: a transaction whose anchor was not scanned stays unknown."""
        sender = self.sender
        first = self.start_block if from_block is None else from_block
        last = hex_quantity(await self.rpc.call("eth_blockNumber"), "eth_blockNumber") if to_block is None \
            else to_block
        added = 0
        for start in range(first, last + 1, chunk):
            numbers = list(range(start, min(start + chunk, last + 1)))
            blocks = await self.rpc.batch([("eth_getBlockByNumber", [hex(n), True]) for n in numbers])
            for number, block in zip(numbers, blocks, strict=True):
                if not isinstance(block, dict):
                    raise LedgerError(f"block {number} not found")
                for tx in block.get("transactions", []):
                    if isinstance(tx, dict) and self._index_scanned(tx, number, sender):
                        added += 1
        return added

    def _index_scanned(self, tx: Mapping[str, Any], block: int, sender: str) -> bool:
        decoded = decode_entry(tx.get("input") or tx.get("data"))
        if decoded is None:
            return False
        kind, transaction_id, data, body = decoded
        origin, target = lower_hex(tx.get("from")), lower_hex(tx.get("to"))
        if kind is EntryKind.PAYMENT:  # between the accounts of a trusted request (scanned before it)
            if origin is None or target is None or (origin, target) not in self._request_accounts.get(
                    transaction_id, set()):
                return False
        elif origin != sender or target != self.anchor_address:
            return False
        if kind is EntryKind.PAYMENT_REQUEST:
            self._trust_request(transaction_id, data)
        tx_hash = str(tx.get("hash", "")).lower()
        position = hex_quantity(tx.get("transactionIndex"), "transactionIndex")
        return self._add(transaction_id, _Indexed(tx_hash, block, position, kind, sha256_hex(body)))

    def capabilities(self) -> Capabilities:
        if self.confirmations <= 1:
            finality = "immediate on a dev node (anvil mines on submit); on a public chain, set confirmations"
        else:
            finality = f"after {self.confirmations} confirmations (returns once the entry is that deep)"
        latency = statistics.median(self._latencies) if self._latencies else 0.01 * self.confirmations
        return Capabilities(
            backend=self.backend, native_payments=True, finality=finality, expected_latency_s=latency,
            measured_throughput=self.measured_throughput, multi_writer=True,
            notes=("signed here with each paying account's own key, sent with eth_sendRawTransaction (no "
                   "unlocked node account); entries are data "
                   f"transactions to {self.anchor_address}; payments are wei transfers at "
                   f"{self._default_rate if self._default_rate is not None else self._rates} wei per unit; "
                   "expected_latency_s is the median submit-to-receipt time measured here"
                   + (" so far" if self._latencies else " (none yet: a guess)")))

    async def close(self) -> None:
        await self.rpc.close()
