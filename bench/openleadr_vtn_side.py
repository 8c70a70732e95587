"""Runs INSIDE the openleadr virtual environment (.venv-openleadr): an openleadr ``OpenADRServer`` on a free
loopback port, plain HTTP and without message signing (no certificate, so nothing is signed or checked), for
bench/vtn_bench.py to load with the same generator it points at the transactive VTN.

Usage: python openleadr_vtn_side.py
Prints one line ``READY {"url": ..., "body": ..., "content_type": ...}`` (the oadrPoll endpoint and an
unsigned oadrPoll document, created by openleadr itself), then serves until SIGTERM/SIGINT or end of stdin.
"""

import asyncio
import json
import logging
import signal
import socket
import sys
from importlib.metadata import version

from openleadr import OpenADRServer
from openleadr.messaging import create_message


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def main() -> None:
    logging.getLogger("openleadr").setLevel(logging.ERROR)
    port = free_port()
    server = OpenADRServer(vtn_id="vtn-bench", http_port=port, http_host="127.0.0.1", show_fingerprint=False)
    await server.run()
    body = create_message("oadrPoll", ven_id="ven-bench")
    url = f"http://127.0.0.1:{port}{server.http_path_prefix}/OadrPoll"
    print("READY " + json.dumps({"url": url, "body": body, "content_type": "application/xml",
                                 "openleadr": version("openleadr")}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1) else None)
    await stop.wait()
    await server.stop()


if __name__ == "__main__":
    asyncio.run(main())
