"""Keys per party for the EVM ledger: the keystore (one encrypted file per party, made on first use, reused
after a restart, a clear LedgerError naming the file when one is wrong or missing), parties that hold their
own key and pay themselves (reported by reference), and development-node funding -- against a real anvil
that holds no account."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.ledger.anvil_process import AnvilProcess
from tests.ledger.test_evm import BUYER, DEADLINE, NOW, SELLER, record, requested
from transactive.codec.json import decode_json
from transactive.errors import MalformedDocumentError
from transactive.ledger import EntryKind, LedgerError, PaymentStatus, evm_keys
from transactive.ledger.effects import execute
from transactive.ledger.evm import EvmLedger, JsonRpcClient
from transactive.ledger.evm_dev import DevFundedKeys, DevFunding
from transactive.ledger.evm_keys import (
    INDEX_FILE,
    LIGHT_KDF_ITERATIONS,
    PASSWORD_FILE,
    EvmKey,
    EvmKeystore,
    KeyMap,
)
from transactive.ledger.settlement import SettlementMachine, SettlementParams, State

Account = evm_keys.Account  # eth-account, imported where its import is guarded (see evm_keys)

MARKET = "market"
CHEAP = 2**4  # scrypt's n for the tests' keystores (the default costs a second a file)


def keystore(directory: Path, password: str = "correct horse", **kwargs: object) -> EvmKeystore:
    return EvmKeystore(directory, password, iterations=CHEAP, **kwargs)  # type: ignore[arg-type]


# ---- the key and the keystore, on their own -------------------------------------------------------------


def test_a_key_signs_what_eth_account_recovers_to_its_address() -> None:
    key = EvmKey.generate()
    signed = key.sign({"to": b"\x11" * 20, "value": 1, "gas": 21_000, "gasPrice": 1, "nonce": 0, "chainId": 5})
    assert Account.recover_transaction(signed.raw).lower() == key.address
    assert signed.tx_hash.startswith("0x")
    assert len(signed.tx_hash) == 66
    assert EvmKey.from_hex(key.hex()).address == key.address
    assert key.address in repr(key)
    assert key.hex() not in repr(key)
    with pytest.raises(LedgerError, match="not a private key"):
        EvmKey.from_hex("0x12")
    with pytest.raises(LedgerError, match="cannot sign"):
        key.sign({"to": b"\x11" * 20, "value": -1, "gas": 21_000, "gasPrice": 1, "nonce": 0, "chainId": 5})


async def test_a_party_gets_a_key_on_first_use_and_the_same_one_after_a_restart(tmp_path: Path) -> None:
    store = keystore(tmp_path / "keys")
    first = await store.key(BUYER)
    assert await store.key(BUYER) is first  # cached
    other = await store.key(SELLER)
    assert other.address != first.address
    # one encrypted Web3 Secret Storage file per party, owner-only, in an owner-only directory
    path = store.path(BUYER)
    document = json.loads(path.read_text())
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert document["crypto"]["kdfparams"]["n"] == CHEAP
    assert "0x" + document["address"].lower() == first.address
    assert document["transactive_party"] == BUYER
    assert first.hex()[2:] not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert store.accounts() == {BUYER: first.address, SELLER: other.address}
    # another process, the same directory and password: the same keys
    again = keystore(tmp_path / "keys")
    assert (await again.key(BUYER)).address == first.address
    assert (await again.key(SELLER)).address == other.address
    # a wallet reads the file with the password (the party can take its key out)
    assert Account.decrypt(document, "correct horse") == bytes.fromhex(first.hex()[2:])


async def test_concurrent_first_uses_make_one_key(tmp_path: Path) -> None:
    import asyncio

    store = keystore(tmp_path / "keys")
    keys = await asyncio.gather(*(store.key(BUYER) for _ in range(5)))
    assert len({k.address for k in keys}) == 1
    assert len(list((tmp_path / "keys").glob("*.json"))) == 2  # the key's file and the index


async def test_odd_party_ids_get_distinct_safe_file_names(tmp_path: Path) -> None:
    store = keystore(tmp_path / "keys")
    parties = ["a/b", "a_b", "A_B", "../../etc/passwd", "", "é" * 300]
    paths = {store.path(p) for p in parties}
    assert len(paths) == len(parties)
    assert all(p.parent == tmp_path / "keys" and len(p.name) < 80 for p in paths)
    for party in parties[:4]:
        await store.key(party)
    assert set(store.accounts()) == set(parties[:4])


async def test_a_wrong_password_names_the_file(tmp_path: Path) -> None:
    await keystore(tmp_path / "keys").key(BUYER)
    wrong = keystore(tmp_path / "keys", password="battery staple")
    with pytest.raises(LedgerError, match=rf"keystore file {wrong.path(BUYER)} does not decrypt \(wrong password"):
        await wrong.key(BUYER)


async def test_a_missing_file_of_a_known_party_names_the_file_and_makes_no_new_key(tmp_path: Path) -> None:
    store = keystore(tmp_path / "keys")
    key = await store.key(BUYER)
    store.path(BUYER).unlink()
    restarted = keystore(tmp_path / "keys")
    with pytest.raises(LedgerError, match=rf"keystore file {restarted.path(BUYER)} of party 'house-3' "
                                          rf"\({key.address}\) is missing"):
        await restarted.key(BUYER)
    assert not restarted.path(BUYER).exists()


async def test_damaged_swapped_or_foreign_files_name_the_file(tmp_path: Path) -> None:
    store = keystore(tmp_path / "keys")
    buyer, _seller = await store.key(BUYER), await store.key(SELLER)
    # the seller's file copied over the buyer's
    store.path(BUYER).write_text(store.path(SELLER).read_text())
    with pytest.raises(LedgerError, match=rf"{store.path(BUYER)} holds the key of party 'pv-roof-7', not 'house-3'"):
        await keystore(tmp_path / "keys").key(BUYER)
    # another key for the buyer, not the one the index lists
    document = EvmKey.generate().encrypt("correct horse", iterations=CHEAP)
    store.path(BUYER).write_text(json.dumps(document))
    with pytest.raises(LedgerError, match=rf"{store.path(BUYER)} holds the key of 0x.*{INDEX_FILE} lists "
                                          rf"{buyer.address}"):
        await keystore(tmp_path / "keys").key(BUYER)
    # a key whose file states another address
    document = buyer.encrypt("correct horse", iterations=CHEAP)
    document["address"] = "11" * 20
    store.path(BUYER).write_text(json.dumps(document))
    with pytest.raises(LedgerError, match="states address 0x1111"):
        await keystore(tmp_path / "keys").key(BUYER)
    for text, message in (("not json", "cannot be read"), ("[1]", "is not a keystore"),
                          ('{"crypto": {"kdf": "none"}}', "does not decrypt")):
        store.path(BUYER).write_text(text)
        with pytest.raises(LedgerError, match=rf"keystore file {store.path(BUYER)} {message}"):
            await keystore(tmp_path / "keys").key(BUYER)
    (tmp_path / "keys" / INDEX_FILE).write_text('{"x": 1}')
    with pytest.raises(LedgerError, match=rf"keystore index {tmp_path / 'keys' / INDEX_FILE} is damaged"):
        await keystore(tmp_path / "keys").key("someone-new")


async def test_a_keystore_that_makes_no_keys_refuses_a_new_party(tmp_path: Path) -> None:
    store = keystore(tmp_path / "keys", create=False)
    with pytest.raises(LedgerError, match=rf"no keystore file {store.path(BUYER)} for party 'house-3'"):
        await store.key(BUYER)


async def test_open_with_a_password_file_or_a_generated_password(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("a passphrase\nignored\n")
    store = EvmKeystore.open(tmp_path / "a", password_file=secret)
    assert store.password == "a passphrase"
    assert not store.password_in_directory
    assert store.iterations == 2**18  # a chosen password: scrypt's full cost
    assert not (tmp_path / "a" / PASSWORD_FILE).exists()

    generated = EvmKeystore.open(tmp_path / "b")
    assert generated.password_in_directory
    assert generated.iterations == LIGHT_KDF_ITERATIONS
    path = tmp_path / "b" / PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(generated.password) >= 40
    key = await generated.key(BUYER)
    assert EvmKeystore.open(tmp_path / "b").password == generated.password  # kept, not made again
    assert (await EvmKeystore.open(tmp_path / "b").key(BUYER)).address == key.address

    with pytest.raises(LedgerError, match=rf"cannot read the keystore password file {tmp_path / 'missing'}"):
        EvmKeystore.open(tmp_path / "c", password_file=tmp_path / "missing")
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(LedgerError, match=rf"the keystore password file {tmp_path / 'empty'} is empty"):
        EvmKeystore.open(tmp_path / "c", password_file=tmp_path / "empty")
    path.write_text("")
    with pytest.raises(LedgerError, match="is empty"):
        EvmKeystore.open(tmp_path / "b")
    os.chmod(tmp_path / "b", 0o500)
    try:
        if os.access(tmp_path / "b", os.W_OK):  # root writes anyway: nothing to see
            return
        path.unlink(missing_ok=True)
        with pytest.raises(LedgerError, match="cannot read or make the keystore password"):
            EvmKeystore.open(tmp_path / "b")
    finally:
        os.chmod(tmp_path / "b", 0o700)


async def test_a_key_map_names_the_party_it_has_no_key_for() -> None:
    key = EvmKey.generate()
    keys = KeyMap({BUYER: key})
    assert await keys.key(BUYER) is key
    with pytest.raises(LedgerError, match="no key for party 'nobody'"):
        await keys.key("nobody")


# ---- the ledger with a keystore, on anvil ---------------------------------------------------------------


async def keystore_ledger(node: AnvilProcess, directory: Path, *, start_block: int | None = None) -> EvmLedger:
    """What the reference VTN does: the market's key and the parties' keys in one keystore, each account
    funded on first use (a development node)."""
    rpc = JsonRpcClient(node.url)
    store = keystore(directory)
    funding = DevFunding(rpc, 50)
    market = await store.key(MARKET)
    await funding.top_up(market.address)
    head = int(await rpc.call("eth_blockNumber"), 16)
    return EvmLedger(rpc, signer=market, keys=DevFundedKeys(store, funding),
                     start_block=head + 1 if start_block is None else start_block)


async def test_a_restarted_ledger_on_the_same_keystore_pays_from_the_same_addresses(anvil: AnvilProcess,
                                                                                     tmp_path: Path) -> None:
    led = await keystore_ledger(anvil, tmp_path / "keys")
    start = led.start_block
    try:
        first = record()
        await requested(led, first)
        assert await led.confirm_payment(first.transaction_id, now=NOW, paid=first.amount) is PaymentStatus.PAID
        buyer, seller, market = await led.account(BUYER), await led.account(SELLER), led.sender
        paid_from = (await led.audit_trail(first.transaction_id))[-1].data["from"]
        assert paid_from == buyer
    finally:
        await led.close()

    again = await keystore_ledger(anvil, tmp_path / "keys", start_block=start)
    try:
        assert again.sender == market
        assert (await again.account(BUYER), await again.account(SELLER)) == (buyer, seller)
        assert await again.rebuild_index() == 3  # the first anchor, its request and its payment
        assert await again.confirm_payment(first.transaction_id, now=NOW) is PaymentStatus.PAID
        second = record()
        await requested(again, second)
        assert await again.confirm_payment(second.transaction_id, now=NOW, paid=second.amount) is \
            PaymentStatus.PAID
        trail = await again.audit_trail(second.transaction_id)
        assert (trail[-1].data["from"], trail[-1].data["to"]) == (buyer, seller)
    finally:
        await again.close()


async def test_the_market_pays_with_its_own_key(anvil: AnvilProcess, tmp_path: Path) -> None:
    led = await keystore_ledger(anvil, tmp_path / "keys")
    try:
        rec = record(buyer=MARKET)
        await led.anchor(rec)
        await led.request_payment(rec.transaction_id, amount=rec.amount, currency="USD", payer=MARKET,
                                  payee=SELLER, deadline=DEADLINE)
        assert await led.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount) is PaymentStatus.PAID
        assert (await led.audit_trail(rec.transaction_id))[-1].data["from"] == led.sender
    finally:
        await led.close()


async def test_an_unfunded_account_is_refused_by_the_node(anvil: AnvilProcess, tmp_path: Path) -> None:
    rpc = JsonRpcClient(anvil.url)
    led = EvmLedger(rpc, signer=anvil.funded_key(), keys=keystore(tmp_path / "keys"))  # no funding
    try:
        rec = record()
        await requested(led, rec)
        with pytest.raises(LedgerError, match=r"(?i)insufficient funds"):
            await led.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount)
    finally:
        await led.close()


async def test_a_keystore_that_lost_a_payers_key_stops_the_payment_naming_the_file(anvil: AnvilProcess,
                                                                                   tmp_path: Path) -> None:
    led = await keystore_ledger(anvil, tmp_path / "keys")
    try:
        rec = record()
        await requested(led, rec)
    finally:
        await led.close()
    store = keystore(tmp_path / "keys")
    store.path(BUYER).unlink()
    again = await keystore_ledger(anvil, tmp_path / "keys", start_block=led.start_block)
    try:
        await again.rebuild_index()
        with pytest.raises(LedgerError, match=rf"keystore file {store.path(BUYER)} .* is missing"):
            await again.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount)
    finally:
        await again.close()


# ---- parties that hold their own key ---------------------------------------------------------------------


async def test_a_party_holding_its_own_key_pays_itself_and_reports_the_transfer(anvil: AnvilProcess,
                                                                               tmp_path: Path) -> None:
    own = anvil.funded_key()  # the buyer's wallet: the ledger never sees this key
    rpc = JsonRpcClient(anvil.url)
    head = int(await rpc.call("eth_blockNumber"), 16)
    led = EvmLedger(rpc, signer=anvil.funded_key(), keys={SELLER: anvil.funded_key()},
                    accounts={BUYER: own.address}, start_block=head + 1)
    try:
        rec = record()
        request = await requested(led, rec)
        assert request.extra["kind"] == "payment_request"
        trail = await led.audit_trail(rec.transaction_id)
        assert trail[-1].data["payer_account"] == own.address
        # the ledger cannot pay for it
        with pytest.raises(LedgerError, match="no key for 'house-3' here: the party holds its own key"):
            await led.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount)
        # the party pays from its wallet (signed there, sent there) and reports the hash
        wei = led.to_wei(rec.amount, "USD")
        tx_hash = anvil.wallet_send(own, trail[-1].data["payee_account"], value=wei)
        status = await led.confirm_payment(rec.transaction_id, now=NOW, paid=rec.amount, reference=tx_hash)
        assert status is PaymentStatus.PAID
        paid = (await led.audit_trail(rec.transaction_id))[-1]
        assert (paid.kind, paid.reference, paid.data["from"]) == (EntryKind.PAYMENT, tx_hash, own.address)
        # a transfer signed by anyone else is not the payer's
        impostor = anvil.wallet_send(anvil.funded_key(), trail[-1].data["payee_account"], value=wei)
        with pytest.raises(LedgerError, match="not a transfer from the payer"):
            await led.confirm_payment(rec.transaction_id, now=NOW, reference=impostor)
    finally:
        await led.close()


async def test_the_settlement_machine_records_a_self_made_payment_by_reference(anvil: AnvilProcess) -> None:
    own = anvil.funded_key()
    rpc = JsonRpcClient(anvil.url)
    led = EvmLedger(rpc, signer=anvil.funded_key(), keys={SELLER: anvil.funded_key()},
                    accounts={BUYER: own.address})
    try:
        rec = record()
        machine = SettlementMachine(rec, SettlementParams())
        measured = rec.interval_start + rec.interval_duration
        now = measured + timedelta(minutes=1)
        effects = machine.anchor()
        effects += machine.reading(SELLER, rec.quantity_kwh, measured_at=measured, now=now)
        effects += machine.reading(BUYER, rec.quantity_kwh, measured_at=measured, now=now)
        await execute(led, rec.transaction_id, effects)
        assert machine.state is State.PAYMENT_REQUESTED
        assert machine.amount_due is not None
        request = (await led.audit_trail(rec.transaction_id))[-1].data
        tx_hash = anvil.wallet_send(own, request["payee_account"], value=int(request["amount_wei"]))
        [status] = await execute(led, rec.transaction_id,
                                 machine.payment(machine.amount_due, now=now, reference=tx_hash))
        assert status is PaymentStatus.PAID
        assert machine.state is State.PAID
    finally:
        await led.close()


# ---- development-node funding ---------------------------------------------------------------------------


async def test_dev_funding_tops_up_only_what_is_short(anvil: AnvilProcess) -> None:
    rpc = JsonRpcClient(anvil.url)
    try:
        funding = DevFunding(rpc, Decimal("1.5"))
        assert funding.wei == 15 * 10**17
        key = EvmKey.generate()
        assert await funding.top_up(key.address) is True
        assert int(await rpc.call("eth_getBalance", [key.address, "latest"]), 16) == 15 * 10**17
        assert await funding.top_up(key.address) is False
        funded = DevFundedKeys(KeyMap({BUYER: key}), DevFunding(rpc, 3))
        assert await funded.key(BUYER) is key
        assert int(await rpc.call("eth_getBalance", [key.address, "latest"]), 16) == 3 * 10**18
        for bad in (0, -1, Decimal("1e-19"), Decimal("NaN")):
            with pytest.raises(LedgerError, match="not an amount of ether"):
                DevFunding(rpc, bad)
        with pytest.raises(LedgerError, match=r"cannot fund 0x.* \(development-node funding needs anvil"):
            await DevFunding(rpc, 1, method="no_such_method").top_up(EvmKey.generate().address)
    finally:
        await rpc.close()


def test_nothing_funds_accounts_unless_asked() -> None:
    """The adapter and the keystore never call a development-node method: only evm_dev.py does."""
    root = Path(__file__).resolve().parents[2] / "transactive" / "ledger"
    for name in ("evm.py", "evm_keys.py", "evm_nonces.py", "evm_entries.py", "jsonrpc.py"):
        text = (root / name).read_text()
        assert "setBalance" not in text, name
        assert "eth_sendTransaction\"" not in text, name


def test_importing_the_evm_ledger_leaves_the_recursion_limit_as_it_was() -> None:
    """py_ecc (eth-account -> eth-keyfile -> py_ecc) raises the limit to 100,000 when imported; then a deeply
    nested JSON document overflows the C stack instead of being refused. evm_keys puts the limit back."""
    import subprocess
    import sys

    script = ("import sys; before = sys.getrecursionlimit()\n"
              "import transactive.ledger.evm, transactive.vtn.app, eth_account\n"
              "assert sys.getrecursionlimit() == before, sys.getrecursionlimit()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    with pytest.raises(MalformedDocumentError):  # in this process, with everything imported: refused
        decode_json(b"[" * 100_000 + b"]" * 100_000)
