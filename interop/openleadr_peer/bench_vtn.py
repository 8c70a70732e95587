"""An openleadr 0.5.36 VTN (``OpenADRServer``) for bench/oadr_bench.py, run in openleadr's own virtual environment.

    python bench_vtn.py --port PORT [--tls-cert F --tls-key F --tls-ca F] [--sign-cert F --sign-key F]
        [--ven-fingerprint NAME=FP ...]

Without flags: plain HTTP on 127.0.0.1, no certificate: openleadr signs nothing (``create_message`` gets no key)
and checks no signature (``authenticate_message`` runs only for TLS requests). It accepts every VEN that
registers (``on_create_party_registration`` gives it a fresh venID and registrationID, kept in a dict) and knows
its VENs through a ``ven_lookup`` (as openleadr's documentation asks a VTN to provide), so a poll from an unknown
venID is answered with ``oadrRequestReregistration``, as ours refuses it.

Signed, over mutual TLS (what a secured OpenADR 2.0b VTN does):

* ``--tls-cert/--tls-key/--tls-ca``: HTTPS (``http_cert``, ``http_key``, ``http_ca_file``), client certificates
  required and checked against the CA;
* ``--sign-cert/--sign-key``: every reply is signed (``cert``, ``key``);
* ``--ven-fingerprint NAME=FP``: only the VENs named may register, each over a TLS connection whose client
  certificate has that fingerprint; message signatures are verified (``verify_message_signatures=True``)
  and a ``fingerprint_lookup`` gives each registered venID's fingerprint, so every later message must come
  over a connection with that certificate and be signed with it, fresh (openleadr's 5-second replay window
  and nonce cache).

openleadr answers every refused signature alike (a ValueError becomes "The message signature did not match
the message contents"); to say *why* messages were refused, its replay check is wrapped and counts its
refusals by reason. On exit it prints ``REFUSALS {"reason": count, ...}``.

Prints ``READY {"url": ..., "openleadr": VERSION}`` (the URL of the 2.0b services, without the service name)
once it listens, then serves until SIGTERM/SIGINT or the end of stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from openleadr import OpenADRServer, messaging  # type: ignore[import-not-found, unused-ignore]

#: openleadr's replay-check refusals by reason (its ValueError's message)
REFUSALS: Counter[str] = Counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--tls-ca")
    parser.add_argument("--sign-cert")
    parser.add_argument("--sign-key")
    parser.add_argument("--ven-fingerprint", action="append", default=[], metavar="NAME=FP")
    args = parser.parse_args()
    if len({args.tls_cert is None, args.tls_key is None, args.tls_ca is None}) != 1:
        parser.error("--tls-cert, --tls-key and --tls-ca go together")
    if (args.sign_cert is None) != (args.sign_key is None):
        parser.error("--sign-cert and --sign-key go together")
    if args.ven_fingerprint and args.tls_cert is None:
        parser.error("--ven-fingerprint needs --tls-* (openleadr checks fingerprints of TLS requests only)")
    fingerprints = dict(item.split("=", 1) for item in args.ven_fingerprint)
    asyncio.run(serve(args, fingerprints))


def _count_refusals(check: Callable[[Any], None]) -> Callable[[Any], None]:
    def counted(xml_tree: Any) -> None:
        try:
            check(xml_tree)
        except ValueError as error:
            REFUSALS[str(error)] += 1
            raise
    return counted


async def serve(args: argparse.Namespace, fingerprints: dict[str, str]) -> None:
    logging.getLogger("openleadr").setLevel(logging.ERROR)
    vens: dict[str, dict[str, Any]] = {}

    def ven_lookup(ven_id: str) -> dict[str, Any] | None:
        return vens.get(ven_id)

    def fingerprint_lookup(ven_id: str) -> str | None:
        ven = vens.get(ven_id)
        return None if ven is None else ven["fingerprint"]

    async def on_create_party_registration(payload: dict[str, Any]) -> tuple[str, str] | bool:
        name, fingerprint = payload.get("ven_name"), payload.get("fingerprint")
        if fingerprints and (name not in fingerprints or fingerprints[name] != fingerprint):
            return False
        ven_id, registration_id = f"ven-{uuid.uuid4().hex}", f"reg-{uuid.uuid4().hex}"
        vens[ven_id] = {"ven_id": ven_id, "ven_name": name, "fingerprint": fingerprint,
                        "registration_id": registration_id}
        return ven_id, registration_id

    tls = args.tls_cert is not None
    if tls and fingerprints:
        messaging._verify_replay_protect = _count_refusals(messaging._verify_replay_protect)
    server = OpenADRServer(vtn_id="openleadr-bench-vtn", http_port=args.port, http_host="127.0.0.1",
                           show_fingerprint=False, ven_lookup=ven_lookup,
                           http_cert=args.tls_cert, http_key=args.tls_key, http_ca_file=args.tls_ca,
                           cert=args.sign_cert, key=args.sign_key,
                           fingerprint_lookup=fingerprint_lookup if tls and fingerprints else None,
                           verify_message_signatures=bool(fingerprints))
    server.add_handler("on_create_party_registration", on_create_party_registration)
    await server.run()
    scheme = "https" if tls else "http"
    print("READY " + json.dumps({"url": f"{scheme}://127.0.0.1:{args.port}{server.http_path_prefix}",
                                 "openleadr": version("openleadr")}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: stop.set() if not os.read(stdin, 1) else None)
    await stop.wait()
    await server.stop()
    print("REFUSALS " + json.dumps(dict(REFUSALS)), flush=True)


if __name__ == "__main__":
    main()
