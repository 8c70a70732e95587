"""An openleadr 0.5.36 VTN (``OpenADRServer``) for bench/oadr_bench.py, run in openleadr's own virtual environment.

    python bench_vtn.py --port PORT

Plain HTTP on 127.0.0.1, no certificate: openleadr signs nothing (``create_message`` gets no key) and checks no
signature (``authenticate_message`` runs only for TLS requests). It accepts every VEN that registers
(``on_create_party_registration`` gives it a fresh venID and registrationID, kept in a dict) and knows its VENs
through a ``ven_lookup`` (as openleadr's documentation asks a VTN to provide), so a poll from an unknown venID
is answered with ``oadrRequestReregistration``, as ours refuses it. Prints ``READY {"url": ..., "openleadr":
VERSION}`` (the URL of the 2.0b services, without the service name) once it listens, then serves until
SIGTERM/SIGINT or the end of stdin.
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
from importlib.metadata import version
from typing import Any

from openleadr import OpenADRServer  # type: ignore[import-not-found, unused-ignore]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port))


async def serve(port: int) -> None:
    logging.getLogger("openleadr").setLevel(logging.ERROR)
    vens: dict[str, dict[str, Any]] = {}

    def ven_lookup(ven_id: str) -> dict[str, Any] | None:
        return vens.get(ven_id)

    async def on_create_party_registration(payload: dict[str, Any]) -> tuple[str, str]:
        ven_id, registration_id = f"ven-{uuid.uuid4().hex}", f"reg-{uuid.uuid4().hex}"
        vens[ven_id] = {"ven_id": ven_id, "ven_name": payload.get("ven_name"), "fingerprint": None,
                        "registration_id": registration_id}
        return ven_id, registration_id

    server = OpenADRServer(vtn_id="openleadr-bench-vtn", http_port=port, http_host="127.0.0.1",
                           show_fingerprint=False, ven_lookup=ven_lookup)
    server.add_handler("on_create_party_registration", on_create_party_registration)
    await server.run()
    print("READY " + json.dumps({"url": f"http://127.0.0.1:{port}{server.http_path_prefix}",
                                 "openleadr": version("openleadr")}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    stdin = sys.stdin.fileno()
    loop.add_reader(stdin, lambda: stop.set() if not os.read(stdin, 1) else None)
    await stop.wait()
    await server.stop()


if __name__ == "__main__":
    main()
