"""An EVM chain as the ledger, over Ethereum JSON-RPC (tested against a real anvil dev node).

What goes on chain
    Every entry is one transaction carrying the entry in its ``data`` (:mod:`transactive.ledger.evm_entries`
    has the encoding). An anchor's ``data`` is :meth:`TransactionRecord.as_dict` (the EMIX document hash and
    the trade's fields). The receipt's ``entry_hash`` is the hex SHA-256 of the entry's canonical JSON, its
    ``reference`` the transaction hash and its ``sequence`` the block number. Anchors, deliveries, payment
    requests and disputes are 0-value transactions from the adapter's ``sender`` account to ``anchor_address``
    (by default an address derived from a fixed string, whose key nobody holds). Payments are real value
    transfers (wei) from the payer's account to the payee's, tagged with a ``payment`` entry in their data.

Signing
    No well-kept secp256k1/keccak/RLP library is in the environment, so the adapter does not sign:
    transactions go out with ``eth_sendTransaction`` and the node signs them with its unlocked accounts
    (anvil's dev accounts; on a real chain, a node or signer proxy that holds the keys). The adapter assigns
    nonces itself (:mod:`transactive.ledger.evm_nonces`) so it can pipeline: :meth:`EvmLedger.anchor_many`
    sends a whole batch, in nonce order, without waiting for any to be mined, then reads all the receipts in
    one JSON-RPC batch request. Gas is the
    intrinsic cost of a plain transfer with data, so the payees and the anchor address must be plain
    accounts, not contracts.

Money
    ``wei = amount * wei_per_unit[currency]`` exactly (a fixed rate, default ``10**12`` wei, i.e. 10^-6 ether,
    per unit of any currency); an amount that does not convert to a whole number of wei is refused.
    :meth:`EvmLedger.confirm_payment` sums the mined, successful transfers from the payer's account to the
    payee's recorded for the transaction (made by the adapter with ``paid=`` or read back by hash with
    ``reference=``) and reports :func:`~transactive.ledger.interface.payment_status` of those wei against the
    requested wei.

The index
    The adapter keeps, in memory, the transaction hashes of the entries it wrote (or read back) per
    transaction id; :meth:`EvmLedger.audit_trail` reads those transactions back from the chain. After a
    restart, :meth:`EvmLedger.rebuild_index` rebuilds it by scanning blocks from ``start_block``: it keeps
    the tagged transactions sent by ``sender`` (and payments sent between the mapped accounts of the
    payer and payee they name), so nobody else can inject entries. Untagged transfers confirmed by
    ``reference`` are not found by a rescan.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
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
from transactive.ledger.evm_nonces import NonceSender
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
    sender: str
    to: str
    value_wei: int
    kind: EntryKind
    transaction_id: str
    body: bytes  # canonical JSON of the entry


# --------------------------------------------------------------------------------------------------------
# the ledger


class EvmLedger(Ledger):
    """The :class:`Ledger` on an EVM chain through JSON-RPC; see the module docstring for the design.

    ``rpc`` is a node URL or a :class:`JsonRpcClient`; ``sender`` writes the data entries (default: the
    node's first account); ``accounts`` maps party names to the accounts that pay and get paid;
    ``confirmations`` is how many blocks (the entry's own included) make an entry durable (1 on a dev node);
    ``mine=True`` calls ``evm_mine`` after sending, for a dev node started without automining (then a batch
    lands in one block); ``start_block`` is where :meth:`rebuild_index` starts scanning; ``send_batches``
    sends a batch's transactions as one JSON-RPC batch request instead of one request after the other (only
    for nodes that handle batch items in order: anvil 1.7.1 handles them concurrently, the nonces arrive out
    of order, and its pool then leaves some queued for good -- seen here as ``txpool_status`` queued 0x20).
    """

    backend = "evm"

    def __init__(self, rpc: JsonRpcClient | str, *, sender: str | None = None,
                 accounts: Mapping[str, str] | None = None, anchor_address: str = DEFAULT_ANCHOR_ADDRESS,
                 wei_per_unit: int | Mapping[str, int] = DEFAULT_WEI_PER_UNIT, confirmations: int = 1,
                 mine: bool = False, start_block: int = 0, receipt_timeout: float = 30.0,
                 poll_interval: float = 0.05, timeout: float = 10.0, max_batch: int = 100,
                 send_batches: bool = False, measured_throughput: float | None = None,
                 account_allocator: Callable[[str], str] | None = None) -> None:
        self.rpc = rpc if isinstance(rpc, JsonRpcClient) else JsonRpcClient(
            rpc, timeout=timeout, max_batch=max_batch, peer=f"the EVM node at {rpc}")
        self._sender = parse_address(sender, "sender") if sender is not None else None
        self.accounts = {party: parse_address(addr, f"account of {party!r}")
                         for party, addr in (accounts or {}).items()}
        #: gives an account to a party not in ``accounts`` (e.g. a dev node's unlocked accounts, in order)
        self.account_allocator = account_allocator
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
        self.nonces = NonceSender(self.rpc, send_batches=send_batches)
        self.measured_throughput = measured_throughput
        self._index: dict[str, list[_Indexed]] = {}
        self._known: set[str] = set()
        self._reserved: set[str] = set()
        self._pending_refs: dict[str, set[str]] = {}
        self._latencies: deque[float] = deque(maxlen=200)

    @property
    def send_batches(self) -> bool:
        """Send a batch's transactions as one JSON-RPC batch request (see the class docstring)."""
        return self.nonces.send_batches

    @send_batches.setter
    def send_batches(self, value: bool) -> None:
        self.nonces.send_batches = value

    # ---- plumbing ----------------------------------------------------------------------------------

    async def sender(self) -> str:
        """The account that writes data entries (the node's first account unless given)."""
        if self._sender is None:
            accounts = await self.rpc.call("eth_accounts")
            if not isinstance(accounts, list) or not accounts:
                raise LedgerError("the node has no unlocked account to send from; pass sender=")
            self._sender = parse_address(str(accounts[0]), "eth_accounts[0]")
        return self._sender

    def account(self, party: str) -> str:
        found = self.accounts.get(party)
        if found is None and self.account_allocator is not None:
            found = self.accounts[party] = parse_address(self.account_allocator(party), f"account of {party!r}")
        if found is None:
            raise LedgerError(f"no account for party {party!r} (EvmLedger(accounts=...))")
        return found

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
        """Send entries (pipelined per sender), wait until durable, index them; their receipts in order."""
        started = time.perf_counter()
        by_sender: dict[str, list[int]] = {}
        for i, out in enumerate(outgoing):
            by_sender.setdefault(out.sender, []).append(i)
        hashes: list[str] = [""] * len(outgoing)

        async def send(sender: str, positions: list[int]) -> None:
            txs = []
            for i in positions:
                out = outgoing[i]
                data = MAGIC + out.body
                tx = {"from": sender, "to": out.to, "data": "0x" + data.hex(), "gas": hex(intrinsic_gas(data))}
                if out.value_wei:
                    tx["value"] = hex(out.value_wei)
                txs.append(tx)
            for i, tx_hash in zip(positions, await self.nonces.send(sender, txs), strict=True):
                hashes[i] = tx_hash

        await asyncio.gather(*(send(s, p) for s, p in by_sender.items()))
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
                       "from": out.sender, "to": out.to, "value_wei": out.value_wei,
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
        out = _Outgoing(await self.sender(), self.anchor_address, 0, kind, transaction_id,
                        encode_entry(kind, transaction_id, data))
        return (await self._write([out]))[0]

    # ---- the Ledger interface -------------------------------------------------------------------------

    async def anchor(self, record: TransactionRecord) -> Receipt:
        return (await self.anchor_many([record]))[0]

    async def anchor_many(self, records: Sequence[TransactionRecord]) -> list[Receipt]:
        """Anchor several records at once: their ``eth_sendTransaction`` calls back to back (consecutive
        nonces, nobody waiting for a block), then one batch request for all receipts; the receipts in the
        records' order."""
        ids = [r.transaction_id for r in records]
        if len(set(ids)) != len(ids):
            raise LedgerError("the same transaction id twice in one batch")
        taken = [i for i in ids if i in self._index or i in self._reserved]
        if taken:
            raise LedgerError(f"already anchored: {', '.join(taken[:5])}")
        self._reserved.update(ids)
        try:
            sender = await self.sender()
            outgoing = [_Outgoing(sender, self.anchor_address, 0, EntryKind.ANCHOR, r.transaction_id,
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
        return await self._data_entry(EntryKind.PAYMENT_REQUEST, transaction_id, {
            "amount": str(amount), "currency": currency, "payer": payer, "payee": payee,
            "payer_account": self.account(payer), "payee_account": self.account(payee),
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
        """With ``reference`` (a transfer's tx hash): read that transfer back and count it (``paid``, if
        also given, must equal its value); with ``paid`` alone: transfer that amount now from the payer's
        account to the payee's; with neither: just report. The status counts every mined, successful
        transfer payer -> payee recorded for the transaction (see the module docstring)."""
        request_hash, request = await self._payment_request(transaction_id)
        payer, payee = str(request["payer"]), str(request["payee"])
        payer_account, payee_account = self.account(payer), self.account(payee)
        if reference is not None:
            await self._observe(transaction_id, reference.lower(), payer_account, payee_account,
                                None if paid is None else self.to_wei(paid, str(request["currency"])))
        elif paid is not None:
            wei = self.to_wei(paid, str(request["currency"]))
            if wei == 0:
                raise LedgerError("a payment of nothing")
            data = {"amount": str(paid), "currency": request["currency"], "payer": payer, "payee": payee,
                    "amount_wei": str(wei), "request": request_hash}
            await self._write([_Outgoing(payer_account, payee_account, wei, EntryKind.PAYMENT, transaction_id,
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
                                   reference=item.tx_hash, timestamp=times.get(item.block)))
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
        if lower_hex(tx.get("from")) != await self.sender() or lower_hex(tx.get("to")) != self.anchor_address:
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
        sender = await self.sender()
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
        if kind is EntryKind.PAYMENT:
            if origin != self.accounts.get(str(data.get("payer"))) or target != self.accounts.get(
                    str(data.get("payee"))):
                return False
        elif origin != sender or target != self.anchor_address:
            return False
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
            notes=("node-signed (eth_sendTransaction, the node's unlocked accounts); entries are data "
                   f"transactions to {self.anchor_address}; payments are wei transfers at "
                   f"{self._default_rate if self._default_rate is not None else self._rates} wei per unit; "
                   "expected_latency_s is the median submit-to-receipt time measured here"
                   + (" so far" if self._latencies else " (none yet: a guess)")))

    async def close(self) -> None:
        await self.rpc.close()
