"""The OpenADR roles of two ``vtn serve`` processes on one PostgreSQL database: what is written at one is found,
listed, changed and deleted at the other (the store's object notifications and
:mod:`transactive.vtn.shared_objects`), and a 2.0b VEN registered at one polls the other."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.vtn.conftest import VtnProcess, start_vtn
from tests.vtn.oadr_probe import Probe, code_of
from transactive.ei.oadr import OadrCreatePartyRegistration, OadrResponse

pytestmark = pytest.mark.slow

BASE = "/openadr3/3.1.0"


async def _until(check: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_openadr3_objects_written_at_one_process_are_served_by_the_other(
        tmp_path: Path, pg_url: str, vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    a = start_vtn(data, "--store", pg_url, log_name="a")
    vtn_processes.append(a)
    b = start_vtn(data, "--store", pg_url, log_name="b")
    vtn_processes.append(b)
    operator = (data / "operator.token").read_text().strip()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{a.url}/operator/openadr3/clients", json={"role": "bl", "name": "utility"},
                             headers={"Authorization": f"Bearer {operator}"}) as response:
            assert response.status == 201, await response.text()
            made = await response.json()
        # the client made at A gets its token at B, and the token made at B works at A
        form = {"grant_type": "client_credentials", "client_id": made["client_id"],
                "client_secret": made["client_secret"]}
        async with http.post(f"{b.url}{BASE}/auth/token", data=form) as response:
            assert response.status == 200, await response.text()
            auth = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
        async with http.post(f"{a.url}{BASE}/programs", json={"programName": "peak"}, headers=auth) as response:
            assert response.status == 201, await response.text()
            program = await response.json()
        async with http.get(f"{b.url}{BASE}/programs/{program['id']}", headers=auth) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["programName"] == "peak"

        async def listed(at: VtnProcess) -> bool:
            async with http.get(f"{at.url}{BASE}/programs", headers=auth) as listing:
                return program["id"] in {p["id"] for p in await listing.json()}

        await _until(lambda: listed(b), "B never listed the program A made")
        async with http.put(f"{b.url}{BASE}/programs/{program['id']}",
                            json={**program, "programLongName": "Peak pricing"}, headers=auth) as response:
            assert response.status == 200, await response.text()

        async def renamed() -> bool:
            async with http.get(f"{a.url}{BASE}/programs/{program['id']}", headers=auth) as got:
                return bool((await got.json()).get("programLongName") == "Peak pricing")

        await _until(renamed, "A never saw B's change")
        async with http.delete(f"{b.url}{BASE}/programs/{program['id']}", headers=auth) as response:
            assert response.status == 200, await response.text()

        async def gone() -> bool:
            return not await listed(a)

        await _until(gone, "A still lists the program B deleted")


def test_an_openadr2_ven_registered_at_one_process_polls_the_other(tmp_path: Path, pg_url: str,
                                                                   vtn_processes: list[VtnProcess]) -> None:
    data = tmp_path / "vtn"
    a = start_vtn(data, "--store", pg_url, "--oadr-poll-seconds", "1", log_name="a")
    vtn_processes.append(a)
    b = start_vtn(data, "--store", pg_url, "--oadr-poll-seconds", "1", log_name="b")
    vtn_processes.append(b)
    ven = Probe(a.url)
    ven.register("meter-17")
    ven.vtn_url = b.url  # the VEN's next poll reaches the other process
    reply = ven.poll()
    assert not isinstance(reply, OadrResponse) or code_of(reply) == 200, reply
    stranger = Probe(b.url, ven_id="ven-never-registered")  # (the control: an unknown venID is refused there)
    assert code_of(stranger.poll()) == 463
    # the name is taken at both processes
    taken = Probe(b.url).send("EiRegisterParty", OadrCreatePartyRegistration(request_id="reg-again",
                                                                           ven_name="meter-17",
                                                                           http_pull_model=True))
    assert code_of(taken) == 463
