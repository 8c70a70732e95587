"""openadr3-client 2.4.2 (ElaadNL), the Python OpenADR 3 client, as the peer of the VTN's OpenADR 3.1 API.

Each test runs ``transactive vtn serve`` as a process, makes BL and VEN clients through the operator endpoint and
drives the API with ``interop/openadr3_peer/peer.py`` in the client's own virtual environment (``.venv-openadr3``,
Python 3.12, built by ``make_venv.sh``; the tests skip, saying why, only when it cannot be built). The peer records
every HTTP exchange the client made; every reply the VTN gave it is checked against the repaired OpenADR 3.1.0
document (:func:`transactive.schemas.openadr3.validate_operation`), and the tests assert on what the client parsed.

Two defects of the client shape what is asserted (``interop/openadr3_peer/README.md``):

- it types a program's ``payloadDescriptors`` as event payload descriptors only, so a program that also lists a
  ``REPORT_PAYLOAD_DESCRIPTOR`` (allowed by the specification) makes it fail to read the whole program list; the
  listing tests therefore read the ids from the reply the VTN sent (already checked against the specification)
  and require the client's own reading to agree whenever it could parse the reply;
- its subscriptions name operations as OpenADR 3.0.1 did (``GET``/``POST``/``PUT``/``DELETE``), which 3.1.0 does
  not allow, so its subscription is refused with 400 and a problem naming the field.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.pki import make_pki
from tests.vtn.conftest import VtnProcess, start_vtn
from transactive.schemas.openadr3 import path_template, validate_operation

ROOT = Path(__file__).resolve().parents[2]
PEER_DIR = ROOT / "interop" / "openadr3_peer"
API = "/openadr3/3.1.0"



@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str
    role: str
    scopes: list[str]

    def args(self) -> list[str]:
        return [f"--client-id={self.client_id}", f"--client-secret={self.client_secret}"]  # (a value may start with -)


@dataclass
class Vtn:
    """A VTN process, its operator token and the interpreter that runs the peer."""

    process: VtnProcess
    data: Path
    python: Path
    ca: Path | None = None

    @property
    def base(self) -> str:
        return self.process.url.rstrip("/") + API

    def operator(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        token = (self.data / "operator.token").read_text().strip()
        request = urllib.request.Request(
            self.process.url.rstrip("/") + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        context = None if self.ca is None else ssl.create_default_context(cafile=str(self.ca))
        with urllib.request.urlopen(request, timeout=10, context=context) as reply:
            return json.loads(reply.read() or b"null")

    def client(self, role: str, name: str) -> Client:
        made = self.operator("POST", "/operator/openadr3/clients", {"role": role, "name": name})
        return Client(made["client_id"], made["client_secret"], made["role"], made["scopes"])

    def peer(self, scenario: str, client: Client, *args: str, ca: Path | None = None) -> Run:
        """``peer.py SCENARIO`` as ``client``; every reply it got is checked against the specification."""
        command = [str(self.python), str(PEER_DIR / "peer.py"), scenario, "--vtn", self.base, *client.args(), *args]
        if ca is not None:
            command += ["--ca", str(ca)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
        try:
            output = json.loads(done.stdout)
        except ValueError:
            raise AssertionError(f"peer.py {scenario} printed no JSON: {done.stderr[-3000:]}") from None
        run = Run(output)
        run.check_replies()
        return run


class Run:
    """What one peer.py run printed."""

    def __init__(self, output: dict[str, Any]) -> None:
        self.output = output
        self.steps: dict[str, Any] = output["steps"]
        self.exchanges: list[dict[str, Any]] = output["exchanges"]

    def __getitem__(self, step: str) -> Any:
        return self.steps[step]

    def completed(self) -> Run:
        assert self.output["completed"], self.output.get("failure")
        return self

    def check_replies(self) -> None:
        """Every reply the VTN gave the client is what the specification says that operation answers."""
        problems = []
        for exchange in self.exchanges:
            path = exchange["path"]
            template = path_template(path)
            assert template is not None, f"the client called {path}, which the specification does not have"
            said = f"{exchange['method']} {path} -> {exchange['status']}"
            try:
                errors = validate_operation(exchange["method"], template, exchange["status"], exchange["response"])
            except KeyError:
                problems.append(f"{said}: a status the specification does not list for {template}")
                continue
            problems += [f"{said}: {e}" for e in errors]
        assert not problems, "\n".join(problems)

    def request_problems(self, *, lenient_nulls: bool) -> list[str]:
        """What the specification says against the JSON bodies the client sent."""
        problems = []
        for exchange in self.exchanges:
            if exchange["method"] not in ("POST", "PUT") or "json" not in (exchange["request_type"] or ""):
                continue
            template = path_template(exchange["path"])
            assert template is not None, exchange["path"]
            errors = validate_operation(
                exchange["method"], template, "request", exchange["request"], lenient_nulls=lenient_nulls
            )
            problems += [f"{exchange['method']} {exchange['path']}: {e}" for e in errors]
        return problems

    def reply(self, method: str, path: str, **query: str) -> Any:
        """The body of the last reply to ``method path`` (with these query parameters)."""
        for exchange in reversed(self.exchanges):
            same = exchange["method"] == method and exchange["path"] == path
            if same and all(exchange["query"].get(k) == [v] for k, v in query.items()):
                return exchange["response"]
        raise AssertionError(f"the client made no {method} {path} {query or ''}")

    def listed(self, step: str, path: str, **query: str) -> list[str]:
        """The ids of a list step: what the VTN sent, which must be what the client read when it could read it
        (it cannot read a program list with a report payload descriptor: see the module docstring)."""
        sent = [item["id"] for item in self.reply("GET", path, **query)]
        seen = self.steps[step]
        if isinstance(seen, dict):
            assert seen["error"] == "client-validation", seen
            assert "REPORT_PAYLOAD_DESCRIPTOR" in seen["detail"], seen
        else:
            assert seen == sent
        return sent


def _status(step: Any) -> int | None:
    return step.get("status") if isinstance(step, dict) and "error" in step else 200


@contextmanager
def _started(tmp: Path, python: Path, *args: str, ca: Path | None = None) -> Iterator[Vtn]:
    """``transactive vtn serve ARGS`` on a free loopback port, killed on the way out."""
    process = start_vtn(tmp / "vtn", *args, log_name="openadr3-vtn")
    try:
        yield Vtn(process, tmp / "vtn", python, ca)
    finally:
        process.kill()


@pytest.fixture(scope="module")
def vtn(openadr3_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Vtn]:
    """One plain-HTTP VTN for the module (the client is told HTTP is allowed: tests only)."""
    with _started(tmp_path_factory.mktemp("oa3-http"), openadr3_python) as started:
        yield started


@pytest.fixture(scope="module")
def bl(vtn: Vtn) -> Client:
    return vtn.client("bl", "peer-business-logic")


def test_the_client_gets_its_token_with_http_basic_credentials_from_the_token_url_the_vtn_publishes(
    vtn: Vtn, bl: Client
) -> None:
    run = vtn.peer("bl-list", bl).completed()
    discovery, token = run.exchanges[0], run.exchanges[1]
    assert (discovery["method"], discovery["path"], discovery["auth"], discovery["status"]) == (
        "GET",
        "/auth/server",
        None,
        200,
    )
    assert discovery["response"]["tokenURL"] == vtn.base + "/auth/token"
    # openadr3-client sends the credentials only as HTTP Basic, the form holding nothing but the grant type
    assert (token["method"], token["path"], token["status"]) == ("POST", "/auth/token", 200)
    assert token["auth"] == "Basic"
    assert token["basic_user"] == bl.client_id
    assert token["request"] == {"grant_type": "client_credentials"}
    assert token["response"]["token_type"] == "Bearer"
    assert set(token["response"]["scope"].split()) == set(bl.scopes)
    assert all(e["auth"] == "Bearer" for e in run.exchanges if e["path"] not in ("/auth/server", "/auth/token"))


def test_the_business_logic_client_creates_reads_updates_and_deletes_a_program_and_its_event(
    vtn: Vtn, bl: Client
) -> None:
    run = vtn.peer(
        "bl-program-event", bl, "--program-name", "peer-tariff", "--event-targets", "feeder-9", "--price", "0.31"
    ).completed()
    program, event = run["program"], run["event"]
    assert program["programName"] == "peer-tariff"
    assert program["id"]
    assert program["payloadDescriptors"][0]["payloadType"] == "PRICE"
    assert event["programID"] == program["id"]
    assert event["targets"] == ["feeder-9"]
    assert event["intervals"][0]["payloads"][0] == {"type": "PRICE", "values": [0.31]}
    assert run["program_read"] == program
    assert program["id"] in run.listed("programs", "/programs")
    assert run["event_read"] == event
    assert run["events_in_program"] == [event["id"]]
    # the updates are kept, and the VTN moves the modification time, never the creation time
    assert run["program_updated"]["programName"] == "peer-tariff-updated"
    updated = run["event_updated"]
    assert updated["eventName"] == event["eventName"] + "-updated"
    assert updated["priority"] == 2
    assert updated["intervals"][0]["payloads"][0]["values"] == [0.62]
    assert updated["createdDateTime"] == event["createdDateTime"]
    assert updated["modificationDateTime"] >= event["modificationDateTime"]
    assert run["event_reread"] == updated
    # a delete answers the deleted object; it is gone afterwards
    assert run["event_deleted"]["id"] == event["id"]
    assert _status(run["event_after_delete"]) == 404
    assert run["program_deleted"]["id"] == program["id"]
    assert _status(run["program_after_delete"]) == 404
    assert run["program_after_delete"]["problem"]["status"] == 404


def test_a_ven_client_registers_its_ven_and_a_resource_and_reports_usage_on_an_event_it_sees(
    vtn: Vtn, bl: Client
) -> None:
    made = vtn.peer("bl-program-event", bl, "--keep").completed()
    event_id = made["event"]["id"]
    ven = vtn.client("ven", "peer-ven-meter")
    run = vtn.peer(
        "ven-register", ven, "--ven-name", "meter-house-4", "--resource-name", "meter-4", "--event-id", event_id,
        "--usage", "2.5",
    ).completed()
    assert run["vens_before"] == []
    assert run["ven_created"] is True
    assert run["ven"]["venName"] == "meter-house-4"
    assert run["ven"]["clientID"] == ven.client_id
    resource = run["resource"]
    assert resource["venID"] == run["ven"]["id"]
    assert resource["clientID"] == ven.client_id
    assert run["resources"] == [resource["id"]]
    assert run["resource_read"] == resource
    assert event_id in run["events"]
    report = run["report"]
    assert report["eventID"] == event_id
    assert report["clientID"] == ven.client_id
    assert report["clientName"] == "meter-house-4"
    assert report["resources"][0]["intervals"][0]["payloads"][0] == {"type": "USAGE", "values": [2.5]}
    assert run["report_read"] == report
    assert run["reports_for_event"] == [report["id"]]
    assert run["report_updated"]["resources"][0]["intervals"][0]["payloads"][0]["values"] == [5.0]
    # the business logic sees the VEN's objects and its latest report
    seen = vtn.peer("bl-list", bl).completed()
    assert run["ven"]["id"] in seen["vens"]
    assert resource["id"] in seen["resources"]
    reports = {r["id"]: r for r in seen["reports"]}
    assert reports[report["id"]]["resources"][0]["intervals"][0]["payloads"][0]["values"] == [5.0]
    # a second run finds the ven it made instead of making another
    again = vtn.peer("ven-register", ven, "--event-id", event_id, "--delete").completed()
    assert again["ven_created"] is False
    assert again["ven"]["id"] == run["ven"]["id"]
    assert again["report_deleted"]["id"] == again["report"]["id"]
    assert _status(again["report_after_delete"]) == 404
    assert again["resource_deleted"]["id"] == again["resource"]["id"]
    assert _status(again["resource_after_delete"]) == 404


def test_a_ven_sees_untargeted_events_and_those_targeted_at_its_ven_never_another_vens(vtn: Vtn, bl: Client) -> None:
    north, south = vtn.client("ven", "peer-ven-north"), vtn.client("ven", "peer-ven-south")
    north_ven = vtn.peer("ven-register", north, "--ven-name", "north").completed()["ven"]
    south_ven = vtn.peer("ven-register", south, "--ven-name", "south").completed()["ven"]
    for ven, group in ((north_ven, "group-north"), (south_ven, "group-south")):
        assert vtn.peer("bl-ven", bl, "--ven-id", ven["id"], "--targets", group).completed()["ven"]["targets"] == [
            group
        ]
    for_north = vtn.peer("bl-program-event", bl, "--keep", "--event-targets", "group-north").completed()
    for_south = vtn.peer("bl-program-event", bl, "--keep", "--event-targets", "group-south").completed()
    for_all = vtn.peer("bl-program-event", bl, "--keep").completed()
    north_event, south_event, open_event = (run["event"]["id"] for run in (for_north, for_south, for_all))

    seen = vtn.peer("ven-list", north, "--event-id", north_event, "--event-id", south_event).completed()
    assert north_event in seen["events"]
    assert open_event in seen["events"]
    assert south_event not in seen["events"]
    assert seen[f"event/{north_event}"]["id"] == north_event
    assert _status(seen[f"event/{south_event}"]) in (403, 404)
    # only its own ven and resources, only its own reports
    assert seen["vens"] == [north_ven["id"]]
    assert all(r not in seen["reports"] for r in vtn.peer("ven-list", south).completed()["reports"])

    other = vtn.peer("ven-list", south, "--event-id", north_event).completed()
    assert south_event in other["events"]
    assert open_event in other["events"]
    assert north_event not in other["events"]
    assert _status(other[f"event/{north_event}"]) in (403, 404)
    assert other["vens"] == [south_ven["id"]]

    # the business logic sees all three events
    everything = vtn.peer("bl-list", bl).completed()
    assert {north_event, south_event, open_event} <= set(everything["events"])


def test_what_the_client_sends_follows_the_specification_once_its_forbidden_nulls_count_as_absent(
    vtn: Vtn, bl: Client
) -> None:
    made = vtn.peer("bl-program-event", bl, "--keep", "--event-targets", "lenient")
    ven = vtn.client("ven", "peer-ven-lenient")
    registered = vtn.peer("ven-register", ven, "--event-id", made.completed()["event"]["id"]).completed()
    # as sent, programs, events and reports carry null where the document does not allow it; the VTN takes such
    # a null as an absent field (the leniency the issue asks for), and then nothing else is wrong with them
    strict = made.request_problems(lenient_nulls=False) + registered.request_problems(lenient_nulls=False)
    assert strict
    assert all("None" in problem for problem in strict), strict
    assert made.request_problems(lenient_nulls=True) == []
    assert registered.request_problems(lenient_nulls=True) == []


def test_ven_credentials_cannot_do_what_only_the_business_logic_may(vtn: Vtn, bl: Client) -> None:
    program_id = vtn.peer("bl-program-event", bl, "--keep").completed()["program"]["id"]
    ven = vtn.client("ven", "peer-ven-forbidden")
    run = vtn.peer("ven-forbidden", ven, "--program-id", program_id).completed()
    for step in ("create_program", f"create_event/{program_id}", "create_ven_for_another_client"):
        assert _status(run[step]) == 403, run[step]
        assert run[step]["problem"]["status"] == 403


def test_the_business_logic_deletes_an_event_a_program_with_its_events_and_a_ven_with_its_resources(
    vtn: Vtn, bl: Client
) -> None:
    ven = vtn.client("ven", "peer-ven-deleted")
    made = vtn.peer("bl-ven", bl, "--ven-client-id", ven.client_id, "--ven-name", "to-delete", "--targets", "t1")
    ven_object = made.completed()["ven"]
    assert ven_object["clientID"] == ven.client_id
    assert ven_object["targets"] == ["t1"]
    # the VEN client finds the ven the business logic made for it, and gives it a resource
    registered = vtn.peer("ven-register", ven, "--resource-name", "doomed-meter").completed()
    assert registered["ven_created"] is False
    assert registered["ven"]["id"] == ven_object["id"]
    resource_id = registered["resource"]["id"]
    alone = vtn.peer("bl-program-event", bl, "--keep").completed()["event"]["id"]
    program = vtn.peer("bl-program-event", bl, "--keep").completed()
    program_id, event_id = program["program"]["id"], program["event"]["id"]

    objects = (f"events:{alone}", f"programs:{program_id}", f"vens:{ven_object['id']}")
    run = vtn.peer("bl-delete", bl, *(arg for item in objects for arg in ("--object", item))).completed()
    for item in objects:
        kind, _, object_id = item.partition(":")
        assert run[f"{kind}/{object_id}"]["id"] == object_id  # a delete answers the deleted object
        assert _status(run[f"{kind}/{object_id}/after"]) == 404
    # what depended on a deleted object went with it: the program's event, the ven's resource
    left = vtn.peer("bl-list", bl).completed()
    assert event_id not in left["events"]
    assert resource_id not in left["resources"]
    assert ven_object["id"] not in left["vens"]


def test_the_clients_subscription_with_openadr_3_0_operation_names_is_refused_naming_the_field(vtn: Vtn) -> None:
    ven = vtn.client("ven", "peer-ven-subscriber")
    run = vtn.peer("ven-subscribe", ven, "--ven-name", "subscriber").completed()
    assert _status(run["subscription"]) == 400
    assert "operations" in json.dumps(run["subscription"]["problem"])
    assert run["subscriptions"] == []


def test_over_https_with_a_private_ca_both_roles_work_and_an_unknown_ca_is_refused(
    openadr3_python: Path, tmp_path: Path
) -> None:
    pki = make_pki(tmp_path / "pki")
    cert, key = pki.pair("vtn")
    with _started(tmp_path, openadr3_python, "--tls-cert", str(cert), "--tls-key", str(key), ca=pki.ca) as vtn:
        assert vtn.base.startswith("https://")
        bl, ven = vtn.client("bl", "tls-business-logic"), vtn.client("ven", "tls-ven")
        run = vtn.peer("bl-program-event", bl, "--keep", ca=pki.ca).completed()
        assert not run.output["insecure_http"]
        assert run["program_read"] == run["program"]
        assert run["event_read"] == run["event"]
        registered = vtn.peer("ven-register", ven, "--event-id", run["event"]["id"], ca=pki.ca).completed()
        assert registered["report"]["eventID"] == run["event"]["id"]
        assert all(e["status"] < 400 for e in registered.exchanges)
        # a client that trusts another CA stops at the handshake, before sending its credentials
        refused = vtn.peer("bl-list", bl, ca=pki.other_ca)
        assert not refused.output["completed"]
        assert refused.exchanges == []
        assert "SSL" in json.dumps(refused.output["failure"]) or "certificate" in json.dumps(refused.output["failure"])
