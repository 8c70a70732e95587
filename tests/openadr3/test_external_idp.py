"""Tokens of an outside identity provider (``vtn serve --openadr3-jwks-url``): a real JWKS endpoint the test
serves, RS256 tokens it signs; their scopes decide the role; issuer, audience, expiry and key are checked; the
VTN's own tokens keep working beside them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.openadr3.conftest import Client, Oa3Vtn
from tests.vtn.conftest import ROOT
from transactive.vtn.app import VtnApp, VtnOptions
from transactive.vtn.openadr3_app import Oa3Config

ISSUER = "https://idp.example.org/realms/grid"
AUDIENCE = "openadr3-vtn"
BL_SCOPES = "read_all write_programs write_events write_subscriptions write_vens"
VEN_SCOPES = "read_targets read_ven_objects write_reports write_subscriptions write_vens"


class Provider:
    """An identity provider's signing key and its JWKS document, served on loopback."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk: dict[str, Any] = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.url = ""

    def token(self, client_id: str, scope: str, *, kid: str = "k1", iss: str = ISSUER, aud: str = AUDIENCE,
              lifetime: int = 300) -> str:
        now = int(time.time())
        claims = {"iss": iss, "aud": aud, "azp": client_id, "sub": f"service-account-{client_id}",
                  "scope": scope, "iat": now, "exp": now + lifetime}
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    idp = Provider()

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response(idp.jwks)

    app = web.Application()
    app.router.add_get("/certs", jwks)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    idp.url = f"http://{host}:{port}/certs"
    try:
        yield idp
    finally:
        await runner.cleanup()


async def test_an_outside_providers_tokens_are_checked_against_its_keys(tmp_path: Path, provider: Provider) -> None:
    config = Oa3Config(jwks_url=provider.url, jwt_issuer=ISSUER, jwt_audience=AUDIENCE)
    app = VtnApp(VtnOptions(data_dir=tmp_path / "vtn", scheduler=False, openadr3=config))
    await app.start()
    try:
        assert app.openadr3 is not None
        keys = app.openadr3.tokens.external
        assert keys is not None
        deadline = time.monotonic() + 10
        while keys.fetched_at is None:
            assert time.monotonic() < deadline, "the VTN did not fetch the provider's keys"
            await asyncio.sleep(0.05)
        token = (tmp_path / "vtn" / "operator.token").read_text().strip()
        async with aiohttp.ClientSession() as session:
            oa3 = Oa3Vtn(app, app.url, token, session)
            bl = Client("grid-operator", "", provider.token("grid-operator", BL_SCOPES), "bl")
            ven = Client("house-9", "", provider.token("house-9", VEN_SCOPES), "ven")
            status, program = await oa3.call("POST", "/programs", bl, {"programName": "outside"})
            assert status == 201
            status, mine = await oa3.call("POST", "/vens", ven, {"objectType": "VEN_VEN_REQUEST", "venName": "h9"})
            assert status == 201
            assert mine["clientID"] == "house-9"  # the provider's client id (azp)
            assert program["id"] in {p["id"] for p in (await oa3.call("GET", "/programs", ven))[1]}
            status, problem = await oa3.call("POST", "/programs", ven, {"programName": "not mine"})
            assert status == 403
            for bad, why in [(provider.token("x", BL_SCOPES, iss="https://elsewhere"), "issuer"),
                             (provider.token("x", BL_SCOPES, aud="another-api"), "audience"),
                             (provider.token("x", BL_SCOPES, lifetime=-60), "expired"),
                             (provider.token("x", BL_SCOPES, kid="k2"), "JWKS does not hold")]:
                status, problem = await oa3.call("GET", "/programs", Client("x", "", bad, "bl"))
                assert status == 401, why
                assert why.lower() in problem["detail"].lower(), (why, problem["detail"])
            assert keys.wanted  # the unknown key asks for an early refresh
            own = await oa3.make_client("ven", "local")  # the VTN's own clients still work beside the provider's
            assert (await oa3.call("GET", "/programs", own))[0] == 200
    finally:
        await app.stop()


def test_outside_provider_flags_are_checked_before_the_vtn_starts(tmp_path: Path) -> None:
    for flags, named in [(["--openadr3-jwt-issuer", ISSUER], "--openadr3-jwks-url"),
                         (["--openadr3-jwks-url", "ftp://idp/certs"], "--openadr3-jwks-url"),
                         (["--openadr3-token-lifetime", "5"], "--openadr3-token-lifetime")]:
        out = subprocess.run([sys.executable, "-m", "transactive.cli", "vtn", "serve", "--data-dir",
                              str(tmp_path / "vtn"), *flags], capture_output=True, text=True, cwd=ROOT, timeout=60,
                             check=False)
        assert out.returncode == 2, out.stderr
        assert named in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1
