"""openadr3-client 2.4.2 (ElaadNL) driving an OpenADR 3.1 VTN, run in its own virtual environment
(``.venv-openadr3``, see ``make_venv.sh``) by the interop tests.

    python peer.py SCENARIO --vtn BASE_URL --client-id ID --client-secret SECRET [--ca CA_PEM] [options]

``BASE_URL`` is the base of the OpenADR 3 API (``https://host:port/openadr3/3.1.0``). The client finds the token
URL itself through ``GET BASE_URL/auth/server`` unless ``--token-url`` is given. The script prints one JSON object
on stdout: what each step of the scenario saw (ids and objects read back, as the client parsed them) or, for a step
the VTN refused, ``{"error": ..., "status": ..., "problem": ...}``; and ``exchanges``, every HTTP request the client
made with the VTN's reply (method, path below BASE_URL, status, bodies), so the test can check each reply against
the specification. The exit status is 0 when the scenario ran to its end, whatever the VTN answered, and 1 when the
client failed in a way it has no status for (a connection error, a reply it could not parse).

Scenarios (the role is the kind of credentials the scenario needs):

- ``bl-program-event`` (BL): create a program and an event in it, read both back (by id and in lists), update
  both, then delete the event and the program and read them again (``--keep`` leaves them).
- ``bl-ven`` (BL): create the ven object of a VEN client (``--ven-client-id``) with ``--targets``, or with
  ``--ven-id`` give an existing ven those targets.
- ``bl-list`` (BL): list programs, events, vens, resources, reports and subscriptions.
- ``bl-delete`` (BL): delete each ``--object KIND:ID`` and read it again.
- ``ven-register`` (VEN): find or create its ven, create a resource, list the programs and events it sees,
  create a USAGE report for ``--event-id`` (or the first event it sees), read it back and update it;
  ``--delete`` then deletes the report and the resource.
- ``ven-list`` (VEN): the ids of the vens, resources, programs, events and reports it sees, and what reading each
  ``--event-id`` by id gives.
- ``ven-forbidden`` (VEN): try what only a BL may do (create a program, an event in ``--program-id``, a ven for
  another client) with the business logic client and VEN credentials; each step should be refused.
- ``ven-subscribe`` (VEN): create a webhook subscription to ``--callback-url`` (the client can only send the
  OpenADR 3.0.1 operation names) and read the subscriptions back.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests  # type: ignore[import-untyped, unused-ignore]
from openadr3_client._models.common.interval import (  # type: ignore[import-not-found, unused-ignore]
    Interval,
)
from openadr3_client._models.common.interval_period import (  # type: ignore[import-not-found, unused-ignore]
    IntervalPeriod,
)
from openadr3_client.bl.http_factory import (  # type: ignore[import-not-found, unused-ignore]
    BusinessLogicHttpClientFactory,
)
from openadr3_client.oadr310._vtn.interfaces.filters import (  # type: ignore[import-not-found, unused-ignore]
    TargetFilter,
)
from openadr3_client.oadr310.models.event.event import (  # type: ignore[import-not-found, unused-ignore]
    EventUpdate,
    NewEvent,
)
from openadr3_client.oadr310.models.event.event_payload import (  # type: ignore[import-not-found, unused-ignore]
    EventPayload,
    EventPayloadDescriptor,
    EventPayloadType,
)
from openadr3_client.oadr310.models.program.program import (  # type: ignore[import-not-found, unused-ignore]
    NewProgram,
    ProgramUpdate,
)
from openadr3_client.oadr310.models.report.report import (  # type: ignore[import-not-found, unused-ignore]
    NewReport,
    ReportResource,
    ReportUpdate,
)
from openadr3_client.oadr310.models.report.report_payload import (  # type: ignore[import-not-found, unused-ignore]
    ReportPayload,
    ReportPayloadType,
)
from openadr3_client.oadr310.models.resource.resource import (  # type: ignore[import-not-found, unused-ignore]
    NewResourceVenRequest,
)
from openadr3_client.oadr310.models.subscriptions.subscription import (  # type: ignore[import-not-found, unused-ignore]
    NewSubscription,
    Object,
    ObjectOperation,
    Operation,
)
from openadr3_client.oadr310.models.ven.ven import (  # type: ignore[import-not-found, unused-ignore]
    NewVenBlRequest,
    NewVenVenRequest,
    VenUpdateBlRequest,
)
from openadr3_client.ven.http_factory import (  # type: ignore[import-not-found, unused-ignore]
    VirtualEndNodeHttpClientFactory,
)
from openadr3_client.version import OADRVersion  # type: ignore[import-not-found, unused-ignore]
from pydantic import ValidationError

SCENARIOS = (
    "bl-program-event",
    "bl-ven",
    "bl-list",
    "bl-delete",
    "ven-register",
    "ven-list",
    "ven-forbidden",
    "ven-subscribe",
)


class Recorder:
    """Every HTTP exchange the client makes, recorded by wrapping ``requests.Session.send`` (the client makes
    one session per interface and one more for the token, so the class is the one place to see them all)."""

    def __init__(self, base_url: str) -> None:
        self.base_path = urlsplit(base_url).path.rstrip("/")
        self.exchanges: list[dict[str, Any]] = []

    def install(self) -> None:
        original = requests.Session.send
        recorder = self

        def send(session: Any, request: Any, **kwargs: Any) -> Any:
            response = original(session, request, **kwargs)
            recorder.exchanges.append(recorder.describe(request, response))
            return response

        requests.Session.send = send  # type: ignore[method-assign, assignment, unused-ignore]

    def describe(self, request: Any, response: Any) -> dict[str, Any]:
        url = urlsplit(request.url)
        path = url.path
        if path.startswith(self.base_path + "/"):
            path = path[len(self.base_path) :]
        authorization = request.headers.get("Authorization", "")
        return {
            "method": request.method,
            "path": path,
            "query": parse_qs(url.query),
            "auth": authorization.split(" ", 1)[0] or None,
            "basic_user": _basic_user(authorization),
            "request_type": request.headers.get("Content-Type"),
            "request": _request_body(request),
            "status": response.status_code,
            "response_type": response.headers.get("Content-Type"),
            "response": _response_body(response),
        }


def _basic_user(authorization: str) -> str | None:
    """The client id of HTTP Basic credentials (the secret is left out of the record)."""
    scheme, _, value = authorization.partition(" ")
    if scheme != "Basic":
        return None
    return base64.b64decode(value).decode("utf-8", "replace").partition(":")[0]


def _request_body(request: Any) -> Any:
    body = request.body
    if body is None:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    kind = request.headers.get("Content-Type") or ""
    if "json" in kind:
        return json.loads(text)
    if "x-www-form-urlencoded" in kind:
        form = {key: values[0] for key, values in parse_qs(text).items()}
        if "client_secret" in form:
            form["client_secret"] = "<secret>"
        return form
    return text


def _response_body(response: Any) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text[:2000]


def _dump(model: Any) -> Any:
    """A client model as the JSON it stands for."""
    return model.model_dump(by_alias=True, mode="json")


def _error(exc: Exception) -> dict[str, Any]:
    """A refused step: the HTTP status and problem body when there is a reply, else the error's type."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return {"error": "http", "status": exc.response.status_code, "problem": _response_body(exc.response)}
    if isinstance(exc, ValidationError):  # the VTN answered 2xx with something the client's models refuse
        return {"error": "client-validation", "status": None, "detail": str(exc)[:2000]}
    return {"error": type(exc).__name__, "status": None, "detail": str(exc)[:2000]}


class Run:
    """The observations of one scenario, step by step."""

    def __init__(self) -> None:
        self.result: dict[str, Any] = {}

    def step(self, name: str, action: Callable[[], Any], show: Callable[[Any], Any] = _dump) -> Any:
        """Run ``action``; keep ``show(value)`` under ``name``, or the error when the VTN refused or the client
        could not read the reply. The value is returned (``None`` after an error), so later steps can use it."""
        try:
            value = action()
        except (requests.HTTPError, ValidationError) as exc:
            self.result[name] = _error(exc)
            return None
        self.result[name] = show(value)
        return value


def _ids(objects: Any) -> list[str]:
    return [item.id for item in objects]


def _period(hours_ahead: int) -> Any:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    return IntervalPeriod(start=start, duration=timedelta(hours=1))


def _price_intervals(price: float) -> tuple[Any, ...]:
    return (Interval(id=0, payloads=(EventPayload(type=EventPayloadType.PRICE, values=(price,)),)),)


def _price_descriptors() -> tuple[Any, ...]:
    return (EventPayloadDescriptor(payload_type=EventPayloadType.PRICE, currency="EUR"),)


def _targets(values: list[str] | None) -> tuple[str, ...] | None:
    return tuple(values) if values else None


def bl_program_event(client: Any, args: argparse.Namespace, run: Run) -> None:
    tag = secrets.token_hex(3)
    program_name = args.program_name or f"peer-program-{tag}"
    event_name = args.event_name or f"peer-event-{tag}"
    program = run.step(
        "program",
        lambda: client.programs.create_program(
            NewProgram(
                program_name=program_name,
                targets=_targets(args.program_targets),
                payload_descriptors=_price_descriptors(),
            )
        ),
    )
    if program is None:
        return
    event = run.step(
        "event",
        lambda: client.events.create_event(
            NewEvent(
                program_id=program.id,
                event_name=event_name,
                priority=1,
                targets=_targets(args.event_targets),
                payload_descriptors=_price_descriptors(),
                interval_period=_period(1),
                intervals=_price_intervals(args.price),
            )
        ),
    )
    run.step("program_read", lambda: client.programs.get_program_by_id(program.id))
    run.step("programs", lambda: client.programs.get_programs(target=None, pagination=None), _ids)
    if args.program_targets:
        run.step(
            "programs_by_target",
            lambda: client.programs.get_programs(target=TargetFilter(targets=args.program_targets), pagination=None),
            _ids,
        )
    run.step(
        "program_updated",
        lambda: client.programs.update_program_by_id(
            program.id,
            ProgramUpdate(
                program_name=program_name + "-updated",
                targets=_targets(args.program_targets),
                payload_descriptors=_price_descriptors(),
            ),
        ),
    )
    if event is not None:
        run.step("event_read", lambda: client.events.get_event_by_id(event.id))
        run.step(
            "events_in_program",
            lambda: client.events.get_events(target=None, pagination=None, program_id=program.id),
            _ids,
        )
        run.step(
            "event_updated",
            lambda: client.events.update_event_by_id(
                event.id,
                EventUpdate(
                    program_id=program.id,
                    event_name=event_name + "-updated",
                    priority=2,
                    targets=_targets(args.event_targets),
                    payload_descriptors=_price_descriptors(),
                    interval_period=_period(1),
                    intervals=_price_intervals(args.price * 2),
                ),
            ),
        )
        run.step("event_reread", lambda: client.events.get_event_by_id(event.id))
    if args.keep:
        return
    if event is not None:
        run.step("event_deleted", lambda: client.events.delete_event_by_id(event.id))
        run.step("event_after_delete", lambda: client.events.get_event_by_id(event.id))
    run.step("program_deleted", lambda: client.programs.delete_program_by_id(program.id))
    run.step("program_after_delete", lambda: client.programs.get_program_by_id(program.id))


def bl_ven(client: Any, args: argparse.Namespace, run: Run) -> None:
    if args.ven_id:
        existing = run.step("ven_before", lambda: client.vens.get_ven_by_id(args.ven_id))
        if existing is None:
            return
        run.step(
            "ven",
            lambda: client.vens.update_ven_by_id(
                args.ven_id,
                VenUpdateBlRequest(
                    ven_name=existing.ven_name, client_id=existing.client_id, targets=_targets(args.targets)
                ),
            ),
        )
    else:
        if not args.ven_client_id:
            raise SystemExit("bl-ven needs --ven-client-id (to create) or --ven-id (to update)")
        name = args.ven_name or f"peer-ven-{secrets.token_hex(3)}"
        run.step(
            "ven",
            lambda: client.vens.create_ven(
                NewVenBlRequest(ven_name=name, client_id=args.ven_client_id, targets=_targets(args.targets))
            ),
        )
    run.step("vens", lambda: client.vens.get_vens(ven_name=None, target=None, pagination=None), _ids)


def bl_list(client: Any, args: argparse.Namespace, run: Run) -> None:
    run.step("programs", lambda: client.programs.get_programs(target=None, pagination=None), _ids)
    run.step("events", lambda: client.events.get_events(target=None, pagination=None, program_id=None), _ids)
    run.step("vens", lambda: client.vens.get_vens(ven_name=None, target=None, pagination=None), _ids)
    run.step("resources", lambda: client.resources.get_resources(), _ids)
    run.step(
        "reports",
        lambda: client.reports.get_reports(pagination=None, program_id=None, event_id=None, client_name=None),
        lambda reports: [_dump(report) for report in reports],
    )
    run.step(
        "subscriptions",
        lambda: client.subscriptions.get_subscriptions(
            pagination=None, program_id=None, client_name=None, objects=None
        ),
        _ids,
    )


_DELETERS = {
    "programs": ("delete_program_by_id", "get_program_by_id"),
    "events": ("delete_event_by_id", "get_event_by_id"),
    "vens": ("delete_ven_by_id", "get_ven_by_id"),
    "resources": ("delete_resource_by_id", "get_resource_by_id"),
}


def bl_delete(client: Any, args: argparse.Namespace, run: Run) -> None:
    for item in args.object or []:
        kind, _, object_id = item.partition(":")
        if kind not in _DELETERS or not object_id:
            raise SystemExit(f"--object must be KIND:ID with KIND one of {sorted(_DELETERS)}: {item!r}")
        delete, read = _DELETERS[kind]
        interface = getattr(client, kind)
        run.step(f"{kind}/{object_id}", partial(getattr(interface, delete), object_id))
        run.step(f"{kind}/{object_id}/after", partial(getattr(interface, read), object_id))


def ven_register(client: Any, args: argparse.Namespace, run: Run) -> None:
    tag = secrets.token_hex(3)
    ven_name = args.ven_name or f"peer-ven-{tag}"
    mine = run.step("vens_before", lambda: client.vens.get_vens(ven_name=None, target=None, pagination=None), _ids)
    if mine:
        ven = mine[0]
        run.result["ven"] = _dump(ven)
        run.result["ven_created"] = False
    else:
        ven = run.step("ven", lambda: client.vens.create_ven(NewVenVenRequest(ven_name=ven_name)))
        run.result["ven_created"] = ven is not None
    if ven is None:
        return
    resource_name = args.resource_name or f"peer-meter-{tag}"
    resource = run.step(
        "resource",
        lambda: client.resources.create_resource(NewResourceVenRequest(resource_name=resource_name, ven_id=ven.id)),
    )
    run.step("resources", lambda: client.resources.get_resources(ven_id=ven.id), _ids)
    if resource is not None:
        run.step("resource_read", lambda: client.resources.get_resource_by_id(resource.id))
    run.step("programs", lambda: client.programs.get_programs(target=None, pagination=None), _ids)
    events = run.step("events", lambda: client.events.get_events(target=None, pagination=None, program_id=None), _ids)
    event_id = args.event_id[0] if args.event_id else (events[0].id if events else None)
    if event_id is None:
        run.result["report"] = {"error": "no-event", "status": None}
        return

    def usage(value: float) -> tuple[Any, ...]:
        return (
            ReportResource(
                resource_name=resource_name,
                intervals=(Interval(id=0, payloads=(ReportPayload(type=ReportPayloadType.USAGE, values=(value,)),)),),
            ),
        )

    report = run.step(
        "report",
        lambda: client.reports.create_report(
            NewReport(
                event_id=event_id,
                client_name=ven.ven_name,
                report_name=f"peer-report-{tag}",
                resources=usage(args.usage),
            )
        ),
    )
    if report is not None:
        run.step("report_read", lambda: client.reports.get_report_by_id(report.id))
        run.step(
            "reports_for_event",
            lambda: client.reports.get_reports(pagination=None, program_id=None, event_id=event_id, client_name=None),
            _ids,
        )
        run.step(
            "report_updated",
            lambda: client.reports.update_report_by_id(
                report.id,
                ReportUpdate(
                    event_id=event_id,
                    client_name=ven.ven_name,
                    report_name=f"peer-report-{tag}-updated",
                    resources=usage(args.usage * 2),
                ),
            ),
        )
    if not args.delete:
        return
    if report is not None:
        run.step("report_deleted", lambda: client.reports.delete_report_by_id(report.id))
        run.step("report_after_delete", lambda: client.reports.get_report_by_id(report.id))
    if resource is not None:
        run.step("resource_deleted", lambda: client.resources.delete_resource_by_id(resource.id))
        run.step("resource_after_delete", lambda: client.resources.get_resource_by_id(resource.id))


def ven_list(client: Any, args: argparse.Namespace, run: Run) -> None:
    run.step("vens", lambda: client.vens.get_vens(ven_name=None, target=None, pagination=None), _ids)
    run.step("resources", lambda: client.resources.get_resources(), _ids)
    run.step("programs", lambda: client.programs.get_programs(target=None, pagination=None), _ids)
    run.step("events", lambda: client.events.get_events(target=None, pagination=None, program_id=None), _ids)
    run.step(
        "reports",
        lambda: client.reports.get_reports(pagination=None, program_id=None, event_id=None, client_name=None),
        _ids,
    )
    for event_id in args.event_id or []:
        run.step(f"event/{event_id}", partial(client.events.get_event_by_id, event_id))
    for program_id in args.program_id or []:
        run.step(f"program/{program_id}", partial(client.programs.get_program_by_id, program_id))


def ven_forbidden(client: Any, args: argparse.Namespace, run: Run) -> None:
    """``client`` is a business logic client holding VEN credentials."""
    run.step("create_program", lambda: client.programs.create_program(NewProgram(program_name="not-for-a-ven")))
    for program_id in args.program_id or []:
        run.step(
            f"create_event/{program_id}",
            partial(
                client.events.create_event,
                NewEvent(program_id=program_id, intervals=_price_intervals(1.0), interval_period=_period(1)),
            ),
        )
    run.step(
        "create_ven_for_another_client",
        lambda: client.vens.create_ven(NewVenBlRequest(ven_name="not-mine", client_id="someone-else")),
    )


def ven_subscribe(client: Any, args: argparse.Namespace, run: Run) -> None:
    callback = args.callback_url or "https://127.0.0.1:9/callback"
    run.step(
        "subscription",
        lambda: client.subscriptions.create_subscription(
            NewSubscription(
                client_name=args.ven_name or "peer-ven",
                object_operations=(
                    ObjectOperation(
                        objects=(Object.EVENT, Object.PROGRAM),
                        operations=(Operation.POST, Operation.PUT),
                        callback_url=callback,
                        bearer_token=None,
                    ),
                ),
            )
        ),
    )
    run.step(
        "subscriptions",
        lambda: client.subscriptions.get_subscriptions(
            pagination=None, program_id=None, client_name=None, objects=None
        ),
        _ids,
    )


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--vtn", required=True, help="base URL of the OpenADR 3 API, e.g. https://h:p/openadr3/3.1.0")
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret", required=True)
    p.add_argument("--ca", help="PEM of the CA that issued the VTN's certificate")
    p.add_argument("--token-url", help="default: discovered through GET BASE_URL/auth/server")
    p.add_argument("--program-name")
    p.add_argument("--event-name")
    p.add_argument("--ven-name")
    p.add_argument("--resource-name")
    p.add_argument("--program-targets", nargs="*")
    p.add_argument("--event-targets", nargs="*")
    p.add_argument("--targets", nargs="*", help="bl-ven: the targets of the ven object")
    p.add_argument("--ven-client-id", help="bl-ven: the client id of the VEN the ven object is for")
    p.add_argument("--ven-id", help="bl-ven: update this ven instead of creating one")
    p.add_argument("--event-id", action="append", help="repeatable")
    p.add_argument("--program-id", action="append", help="repeatable")
    p.add_argument("--object", action="append", help="bl-delete: KIND:ID, repeatable")
    p.add_argument("--callback-url")
    p.add_argument("--price", type=float, default=0.25)
    p.add_argument("--usage", type=float, default=1.5)
    p.add_argument("--keep", action="store_true", help="bl-program-event: do not delete what it made")
    p.add_argument("--delete", action="store_true", help="ven-register: delete the report and resource at the end")
    return p


_RUNNERS: dict[str, Callable[[Any, argparse.Namespace, Run], None]] = {
    "bl-program-event": bl_program_event,
    "bl-ven": bl_ven,
    "bl-list": bl_list,
    "bl-delete": bl_delete,
    "ven-register": ven_register,
    "ven-list": ven_list,
    "ven-forbidden": ven_forbidden,
    "ven-subscribe": ven_subscribe,
}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    insecure = urlsplit(args.vtn).scheme == "http"
    if insecure:
        # plain HTTP is for tests only: the client refuses it (3.1 requires HTTPS) unless told, and oauthlib
        # refuses a token URL that is not https unless this variable is set
        os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
    verify: bool | Path = True
    if args.ca:
        verify = Path(args.ca)
        # the client's token request does not use the CA it is given (it uses requests' default trust), so the
        # CA is also handed to requests through its environment variable
        os.environ["REQUESTS_CA_BUNDLE"] = str(verify)
    recorder = Recorder(args.vtn)
    recorder.install()
    run = Run()
    output: dict[str, Any] = {"scenario": args.scenario, "insecure_http": insecure}
    status = 0
    try:
        # ven-forbidden uses the business logic client on purpose: the VEN client has no way to even try
        bl_role = args.scenario.startswith("bl-") or args.scenario == "ven-forbidden"
        factory = (
            BusinessLogicHttpClientFactory.create_http_bl_client
            if bl_role
            else VirtualEndNodeHttpClientFactory.create_http_ven_client
        )
        client = factory(
            vtn_base_url=args.vtn.rstrip("/"),
            client_id=args.client_id,
            client_secret=args.client_secret,
            token_url=args.token_url,
            verify_vtn_tls_certificate=verify,
            allow_insecure_http=insecure,
            version=OADRVersion.OADR_310,
        )
        _RUNNERS[args.scenario](client, args, run)
        output["completed"] = True
    except Exception as exc:  # reported in the output: the test decides what it means
        output["completed"] = False
        output["failure"] = {"type": type(exc).__name__, **_error(exc)}
        status = 1
    output["steps"] = run.result
    output["exchanges"] = recorder.exchanges
    json.dump(output, sys.stdout, indent=1, default=str)
    sys.stdout.write("\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
