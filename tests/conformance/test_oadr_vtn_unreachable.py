"""``probe --role vtn`` stops with :class:`EndpointUnreachable` (the command's exit 2) when nothing answers on the
first exchange: a closed port, a name that does not resolve, a TLS handshake that cannot succeed."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.conformance.oadr_vtn_standin import StandIn
from tests.pki import make_pki
from transactive.interop.conformance.model import EndpointUnreachable, Options
from transactive.interop.conformance.oadr_vtn import probe
from transactive.transport.tls import server_context


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with pytest.raises(EndpointUnreachable, match=r"nothing answers at http://127\.0\.0\.1:\d+/OpenADR2"):
        await probe(url, Options(timeout=5))


async def test_a_name_that_does_not_resolve_is_unreachable() -> None:
    with pytest.raises(EndpointUnreachable):
        await probe("http://vtn.invalid", Options(timeout=5))


@pytest.fixture
async def tls_standin(tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """A stand-in VTN over TLS with a certificate from a CA the probe is not told to trust."""
    pki = make_pki(tmp_path / "pki")
    cert, key = pki.pair("vtn", other=True)
    runner = web.AppRunner(StandIn().app(), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cert, key))
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"https://{host}:{port}", pki.ca
    finally:
        await runner.cleanup()


async def test_a_tls_handshake_that_fails_is_unreachable(tls_standin: tuple[str, Path]) -> None:
    url, trusted = tls_standin
    with pytest.raises(EndpointUnreachable, match="TLS"):
        await probe(url, Options(tls_ca=trusted, timeout=5))
