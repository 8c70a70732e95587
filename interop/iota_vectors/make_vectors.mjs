// Golden vectors from the official IOTA Rebased TypeScript SDK (@iota/iota-sdk, pinned in package.json).
//
// Usage: node make_vectors.mjs [out.json]      (writes to stdout without an argument)
// Run with NODE_PATH or from a directory whose node_modules holds @iota/iota-sdk (install.sh does that).
//
// Everything is derived from fixed inputs: keys from fixed 32-byte seeds (SHA-256 of a label) and from
// the BIP-39 test mnemonic, gas objects, price, budget and expiration written out in each vector, so the
// Python side can rebuild the same transactions and must reproduce the bytes and signatures exactly.
// No network is used: every input is resolved (pure arguments, full gas object references).

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The SDK is resolved from IOTA_VECTORS_PREFIX (install.sh: <repo>/.cache/iota-vectors), else from here.
const prefix = process.env.IOTA_VECTORS_PREFIX || dirname(fileURLToPath(import.meta.url));
const require = createRequire(pathToFileURL(join(prefix, 'package.json')).href);
// the SDK ships CommonJS next to ESM; require() picks the CommonJS build, which is enough here
const load = async (spec) => require(spec);

const { Ed25519Keypair } = await load('@iota/iota-sdk/keypairs/ed25519');
const { Transaction } = await load('@iota/iota-sdk/transactions');
const { toBase64 } = await load('@iota/iota-sdk/utils');
const sdkPackage = JSON.parse(readFileSync(join(prefix, 'node_modules/@iota/iota-sdk/package.json'), 'utf8'));

const hex = (bytes) => Buffer.from(bytes).toString('hex');
const seedFor = (label) => createHash('sha256').update(label).digest();

// The anchor payload format transactive puts in a pure vector<u8> argument (see transactive/ledger/iota.py).
const ANCHOR_MAGIC = 'transactive/iota-anchor/1\n';

const keys = [0, 1, 2].map((i) => {
  const label = `transactive-iota-vector-${i}`;
  const seed = seedFor(label);
  const kp = Ed25519Keypair.fromSecretKey(seed);
  return {
    label,
    seed_hex: hex(seed),
    public_key_hex: hex(kp.getPublicKey().toRawBytes()),
    address: kp.getPublicKey().toIotaAddress(),
    bech32_secret: kp.getSecretKey(),
    keypair: kp,
  };
});

const MNEMONIC =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
const mnemonicKeys = [0, 1].map((account) => {
  const path = `m/44'/4218'/0'/0'/${account}'`; // the account index last, as Ed25519PrivateKey.from_mnemonic(phrase, i) in Python
  const kp = Ed25519Keypair.deriveKeypair(MNEMONIC, path);
  return { mnemonic: MNEMONIC, path, account_index: account, address: kp.getPublicKey().toIotaAddress() };
});

function gasRef(i) {
  // a made-up but well-formed owned gas coin: id 0x11.., 0x22.., version, digest = base58 of 32 bytes
  const id = `0x${String(i + 1).repeat(64).slice(0, 64)}`;
  const digestBytes = createHash('sha256').update(`gas-digest-${i}`).digest();
  return { objectId: id, version: String(1000 + i), digest: toBase58(digestBytes) };
}

// base58 (Bitcoin alphabet) for object digests; tiny local implementation to avoid another dependency
function toBase58(bytes) {
  const A = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
  let n = BigInt(`0x${hex(bytes)}`);
  let out = '';
  while (n > 0n) {
    out = A[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

const common = (sender, gas) => ({
  sender,
  gas_payment: gas,
  gas_price: '1000',
  gas_budget: '10000000',
  expiration: { None: true },
});

async function finish(tx, inputs, kp, kind) {
  tx.setSender(inputs.sender);
  tx.setGasPayment(inputs.gas_payment);
  tx.setGasPrice(BigInt(inputs.gas_price));
  tx.setGasBudget(BigInt(inputs.gas_budget));
  tx.setExpiration(inputs.expiration);
  const bytes = await tx.build();
  const { signature } = await kp.signTransaction(bytes);
  return {
    kind,
    inputs,
    tx_bytes_b64: toBase64(bytes),
    signature_b64: signature,
    digest: await tx.getDigest(),
  };
}

// 1. coin transfer: split `amount` off the gas coin and transfer it to the recipient.
//    Inputs in this order: [recipient address, amount u64]; commands SplitCoins(Gas, [Input 1]),
//    TransferObjects([Result 0], Input 0) (the order the Rust/Python builder's send_iota uses).
async function transferVector(from, to, amount, gasIndex) {
  const inputs = { ...common(from.address, [gasRef(gasIndex)]), recipient: to.address, amount: String(amount) };
  const tx = new Transaction();
  const recipient = tx.pure.address(to.address);
  const amt = tx.pure.u64(BigInt(amount));
  // Result(0), not `const [coin] = ...` (NestedResult(0,0)): same meaning on chain, different bytes;
  // the Rust/Python builder (send_iota) writes Result(0).
  const coin = tx.splitCoins(tx.gas, [amt]);
  tx.transferObjects([coin], recipient);
  return finish(tx, inputs, from.keypair, 'transfer');
}

// 2. anchor: a Move call whose only argument is the anchor payload as pure vector<u8>.
async function anchorVector(from, target, payloadText, gasIndex) {
  const payload = Buffer.from(ANCHOR_MAGIC + payloadText, 'utf8');
  const inputs = { ...common(from.address, [gasRef(gasIndex)]), target, payload_hex: hex(payload) };
  const tx = new Transaction();
  tx.moveCall({ target, arguments: [tx.pure.vector('u8', Array.from(payload))] });
  return finish(tx, inputs, from.keypair, 'anchor');
}

// 3. payment: the transfer and the anchor of the payment entry in one programmable transaction.
//    Inputs: [recipient, amount, payload]; commands SplitCoins, TransferObjects, MoveCall.
async function paymentVector(from, to, amount, target, payloadText, gasIndexes) {
  const payload = Buffer.from(ANCHOR_MAGIC + payloadText, 'utf8');
  const inputs = {
    ...common(from.address, gasIndexes.map(gasRef)),
    recipient: to.address,
    amount: String(amount),
    target,
    payload_hex: hex(payload),
  };
  const tx = new Transaction();
  const recipient = tx.pure.address(to.address);
  const amt = tx.pure.u64(BigInt(amount));
  const data = tx.pure.vector('u8', Array.from(payload));
  // Result(0), not `const [coin] = ...` (NestedResult(0,0)): same meaning on chain, different bytes;
  // the Rust/Python builder (send_iota) writes Result(0).
  const coin = tx.splitCoins(tx.gas, [amt]);
  tx.transferObjects([coin], recipient);
  tx.moveCall({ target, arguments: [data] });
  return finish(tx, inputs, from.keypair, 'payment');
}

const HASH_TARGET = '0x1::hash::sha2_256';
// the entry body exactly as transactive.ledger.iota.encode_payload writes it: keys sorted, no spaces
const entry = (kind, data) =>
  JSON.stringify({ data, kind, transaction_id: 'tx-vector-1', v: 1 }, (key, value) =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]))
      : value,
  );
const payloadA = entry('anchor', { document_hash: 'ab'.repeat(32), quantity_kwh: '10', seller: 'seller' });
const payloadP = entry('payment', { currency: 'IOTA', nanos: 12_500_000_000, paid: '12.5', reference: null });

const transactions = [
  await transferVector(keys[0], keys[1], 1_000_000_000n, 0),
  await transferVector(keys[1], keys[2], 1n, 1),
  await anchorVector(keys[0], HASH_TARGET, payloadA, 2),
  await anchorVector(keys[2], `0x${'ab'.repeat(32)}::anchor::record`, payloadA, 3),
  await paymentVector(keys[0], keys[2], 12_500_000_000n, HASH_TARGET, payloadP, [4, 5]),
];

const out = {
  generator: 'interop/iota_vectors/make_vectors.mjs',
  sdk: { name: sdkPackage.name, version: sdkPackage.version },
  anchor_magic: ANCHOR_MAGIC,
  keys: keys.map(({ keypair, ...rest }) => rest),
  mnemonic_keys: mnemonicKeys,
  transactions,
};

const text = `${JSON.stringify(out, null, 2)}\n`;
if (process.argv[2]) writeFileSync(process.argv[2], text);
else process.stdout.write(text);
