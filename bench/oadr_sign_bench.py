"""OpenADR 2.0b XML signatures: sign and verify per message, RSA-2048 and ECDSA P-256, beside openleadr.

    python bench/oadr_sign_bench.py [--rounds 5] [--seconds 0.5] [--no-openleadr] [--json out.json]

The message is a signed ``oadrPoll`` (what a pulling VEN sends every few seconds). Each round times, for each
key type, for ``--seconds`` each:

* ``sign``: :class:`OadrSigner` (the fast engine: signxml's template, one c14n, two digests, one key operation);
* ``sign (signxml engine)``: the same signer running signxml's ``XMLSigner`` for every message;
* ``verify``: :class:`OadrVerifier` (structure, certificate cache, XML-DSig core validation, replay checks),
  each document once (fresh nonces);
* ``verify (signxml alone)``: signxml's ``XMLVerifier.verify`` on the same document with every help it can
  take (parsed certificate, the element, no schema check): the floor of a signxml-based verifier;
* ``key operation``: the bare private-key signature and public-key verification (cryptography), the floor;
* openleadr 0.5.36 in its own virtual environment (a subprocess timing itself): ``create_message`` with
  cert and key, then ``validate_xml_signature`` with the fingerprint on each document it made.

The report gives the median over rounds, µs per operation and operations/s, and the sign+verify round trips
per second (one sign and one verify) for us and openleadr. The machine is shared and noisy: compare ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cryptography  # noqa: E402
from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa  # noqa: E402
from lxml import etree  # noqa: E402
from machine import machine_info  # noqa: E402  (bench/ is on sys.path when run as a script)
from signxml.verifier import SignatureConfiguration, XMLVerifier  # noqa: E402

from transactive.codec import encode_xml  # noqa: E402
from transactive.ei.oadr.poll import OadrPoll  # noqa: E402
from transactive.protocol.certs import CertificateSet, create_set  # noqa: E402
from transactive.protocol.oadr_sign import OadrSigner, OadrVerifier  # noqa: E402

OPENLEADR_PYTHON = ROOT / ".venv-openleadr" / "bin" / "python"
KEY_TYPES = ("rsa", "ecdsa")
POLL = encode_xml(OadrPoll(ven_id="ven-1"))

#: runs inside openleadr's virtual environment: argv = cert, key, seconds; prints one JSON line
OPENLEADR_SIDE = r"""
import json, sys, time
from lxml import etree
from openleadr.messaging import create_message, validate_xml_signature
from openleadr.utils import certificate_fingerprint
cert, key = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
seconds, fingerprint = float(sys.argv[3]), certificate_fingerprint(open(sys.argv[1], "rb").read())
create_message("oadrPoll", cert=cert, key=key, ven_id="ven-1")  # warm up
docs, start = [], time.perf_counter()
while len(docs) < 3 or time.perf_counter() - start < seconds:
    docs.append(create_message("oadrPoll", cert=cert, key=key, ven_id="ven-1"))
sign = (time.perf_counter() - start) / len(docs)
start = time.perf_counter()   # its replay window is 5 s: verify at once, each document once
for doc in docs:
    validate_xml_signature(etree.fromstring(doc.encode()), cert_fingerprint=fingerprint)
verify = (time.perf_counter() - start) / len(docs)
print(json.dumps({"sign_us": sign * 1e6, "verify_us": verify * 1e6, "n": len(docs)}))
"""


def per_op(fn: Callable[[], Any], seconds: float) -> float:
    """µs per call of ``fn``, calling it for about ``seconds``."""
    fn()
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(20):
            fn()
        n += 20
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return elapsed / n * 1e6


def per_item(fn: Callable[[Any], Any], items: list[Any], seconds: float) -> float:
    """µs per call of ``fn`` on each of ``items`` in turn (each at most once), for about ``seconds``."""
    n, start = 0, time.perf_counter()
    for item in items:
        fn(item)
        n += 1
        if n % 20 == 0 and time.perf_counter() - start >= seconds:
            break
    return (time.perf_counter() - start) / n * 1e6


def ours(made: CertificateSet, seconds: float) -> dict[str, float]:
    cert, key = made.files(made.vens[0])
    signer = OadrSigner.from_files(cert, key)
    reference = OadrSigner.from_files(cert, key, engine="signxml")
    verifier = OadrVerifier(trusted_ca=made.files(made.ca)[0])
    results = {"sign": per_op(lambda: signer.sign(POLL), seconds),
               "sign (signxml engine)": per_op(lambda: reference.sign(POLL), seconds)}
    pool = [signer.sign(POLL) for _ in range(max(200, int(seconds / 60e-6)))]  # fresh nonces, one each
    results["verify"] = per_item(lambda doc: verifier.verify(doc, expected_fingerprint=signer.fingerprint), pool,
                                 seconds)
    config = SignatureConfiguration(expect_references=2, location="./")
    alone = XMLVerifier()
    root = etree.fromstring(pool[0])
    results["verify (signxml alone)"] = per_op(
        lambda: alone.verify(root, x509_cert=signer.certificate, validate_schema=False, id_attribute="Id",
                             expect_config=config), seconds)
    private, public, data = signer._key, signer.certificate.public_key(), b"x" * 900  # about a SignedInfo
    if isinstance(private, rsa.RSAPrivateKey) and isinstance(public, rsa.RSAPublicKey):
        value = private.sign(data, padding.PKCS1v15(), hashes.SHA256())
        results["key operation: sign"] = per_op(lambda: private.sign(data, padding.PKCS1v15(), hashes.SHA256()),
                                                seconds)
        results["key operation: verify"] = per_op(lambda: public.verify(value, data, padding.PKCS1v15(),
                                                                        hashes.SHA256()), seconds)
    elif isinstance(private, ec.EllipticCurvePrivateKey) and isinstance(public, ec.EllipticCurvePublicKey):
        value = private.sign(data, ec.ECDSA(hashes.SHA256()))
        results["key operation: sign"] = per_op(lambda: private.sign(data, ec.ECDSA(hashes.SHA256())), seconds)
        results["key operation: verify"] = per_op(lambda: public.verify(value, data, ec.ECDSA(hashes.SHA256())),
                                                  seconds)
    return results


def theirs(made: CertificateSet, seconds: float) -> dict[str, float]:
    cert, key = made.files(made.vens[0])
    done = subprocess.run([str(OPENLEADR_PYTHON), "-c", OPENLEADR_SIDE, str(cert), str(key), str(seconds)],
                          capture_output=True, text=True, timeout=600, check=True)
    measured: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return {"sign": measured["sign_us"], "verify": measured["verify_us"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds to take the median over (default 5)")
    parser.add_argument("--seconds", type=float, default=0.5, help="time per operation per round (default 0.5)")
    parser.add_argument("--no-openleadr", action="store_true", help="skip openleadr's side")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw results here")
    args = parser.parse_args()
    openleadr = not args.no_openleadr and OPENLEADR_PYTHON.exists()
    if not args.no_openleadr and not openleadr:
        print(f"no {OPENLEADR_PYTHON} (interop/openleadr_peer/make_venv.sh makes it): openleadr skipped",
              file=sys.stderr)
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        sets = {kind: create_set(Path(directory) / kind, vtn="vtn-1", vens=["ven-1"], key_type=kind)  # type: ignore[arg-type]
                for kind in KEY_TYPES}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds} ...", file=sys.stderr, flush=True)
            for kind, made in sets.items():
                for side, measure in (("transactive", ours), ("openleadr", theirs)):
                    if side == "openleadr" and not openleadr:
                        continue
                    for op, us in measure(made, args.seconds).items():
                        samples.setdefault(f"{kind}/{side}", {}).setdefault(op, []).append(us)
    medians = {name: {op: statistics.median(v) for op, v in ops.items()} for name, ops in samples.items()}
    machine = machine_info(lxml=version("lxml"), signxml=version("signxml"), cryptography=cryptography.__version__)
    print(f"\nmachine: {machine}\nmedian of {args.rounds} rounds; µs per operation and operations per second\n")
    for kind in KEY_TYPES:
        print(f"{'RSA-2048' if kind == 'rsa' else 'ECDSA P-256'}, signed oadrPoll")
        mine, other = medians[f"{kind}/transactive"], medians.get(f"{kind}/openleadr")
        for op, us in mine.items():
            versus = f"   openleadr {other[op]:10.1f} µs   {other[op] / us:7.1f}x" if other and op in other else ""
            print(f"  {op:<24} {us:10.1f} µs {1e6 / us:10,.0f} /s{versus}")
        trip = mine["sign"] + mine["verify"]
        line = f"  sign+verify round trips {1e6 / trip:10,.0f} /s"
        if other:
            line += f"   openleadr {1e6 / (other['sign'] + other['verify']):10,.1f} /s   " \
                    f"{(other['sign'] + other['verify']) / trip:7.1f}x"
        print(line + "\n")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rounds": args.rounds, "seconds": args.seconds,
                                         "median_us": medians, "samples_us": samples}, indent=1))
        print(f"raw results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
