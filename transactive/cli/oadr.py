"""The OpenADR 2.0b parts of ``transactive vtn``: the role's flags on ``vtn serve`` and the operator's
``vtn event create|modify|cancel|list`` (over HTTP to a running VTN, see :mod:`transactive.vtn.oadr_http`)."""

from __future__ import annotations

import argparse
import json
import re
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

from transactive.cli._io import event_start

__all__ = ["OperatorRefusedError", "OperatorUsageError", "add_event_parser", "add_operator_flags", "add_serve_flags",
           "oadr_config", "operator_call", "operator_tls", "operator_token"]

_FP = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){9}$")

_EVENT_EPILOG = """\
The operator's commands reach a running VTN over HTTP(S) with the operator token the VTN wrote to
DATA_DIR/operator.token (mode 0600): give it as --operator-token TOKEN or --operator-token @FILE.

--start is ISO 8601 with a time zone (2026-12-04T18:00:00Z) in market time, or "now" / "now+PT5M" (the VTN's
market clock). --intervals is DURATION:VALUE[,DURATION:VALUE...] with ISO 8601 durations (PT15M:1,PT15M:2).
No --ven: every registered OpenADR VEN. The VENs see a new or changed event on their next poll (push VENs at
once); modify and cancel increment the event's modificationNumber.

output: readable lines; --json prints, for create/modify/cancel, {"event_id", "modification_number",
"status", "targets"}, and for list, a list of {"event_id", "status", "modification_number", "signals":
[{"name", "type", "intervals": [{"duration", "value"}]}], "targets", "opts": {VEN_NAME: "optIn"|"optOut"|null},
...}.

examples:
  transactive vtn event create --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token \\
      --signal SIMPLE --start now+PT1M --intervals PT10M:1,PT10M:2 --ven ven-1
  transactive vtn event create --vtn https://127.0.0.1:8443 --operator-token @/tmp/vtn/operator.token \\
      --tls-ca certs/ca.crt --signal ELECTRICITY_PRICE --start 2026-12-04T18:00:00Z --intervals PT1H:0.31 --json
  transactive vtn event modify evt-0123 --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token \\
      --intervals PT10M:3
  transactive vtn event cancel evt-0123 --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token
  transactive vtn event list --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token --json

exit codes: 0 done, 1 refused by the VTN (one line: the reason and the EI code), 2 usage error or VTN
unreachable.
"""


def add_serve_flags(serve: argparse.ArgumentParser) -> None:
    g = serve.add_argument_group(
        "OpenADR 2.0b", "the VTN also serves OpenADR 2.0b VENs under /OpenADR2/Simple/2.0b/ (same store); the "
        "operator's token is written to DIR/operator.token")
    g.add_argument("--oadr-vtn-id", default="TRANSACTIVE-VTN", metavar="ID",
                   help="the VTN's ei:vtnID (default TRANSACTIVE-VTN; not all lower case)")
    g.add_argument("--oadr-poll-seconds", type=int, default=10, metavar="S",
                   help="how often VENs are asked to poll, whole seconds (oadrRequestedOadrPollFreq; default 10)")
    g.add_argument("--sign-cert", type=Path, metavar="FILE", help="sign every OpenADR reply with this certificate")
    g.add_argument("--sign-key", type=Path, metavar="FILE", help="its private key (RSA or ECDSA, PEM)")
    g.add_argument("--require-signatures", action="store_true",
                   help="refuse (463) OpenADR messages without a valid XML signature")
    g.add_argument("--ven-fingerprint", action="append", default=[], metavar="NAME=FINGERPRINT",
                   help="only VENs listed may register, each with its certificate (repeatable); fingerprints as "
                        "`transactive certs create` prints them")
    g.add_argument("--allowed-vens", type=Path, metavar="FILE",
                   help="the same from a file: one 'NAME FINGERPRINT' per line (# comments)")


def _fingerprints(args: argparse.Namespace) -> dict[str, str]:
    pairs: list[tuple[str, str, str]] = []
    for item in args.ven_fingerprint:
        name, sep, fp = item.partition("=")
        pairs.append((name.strip(), fp.strip(), f"--ven-fingerprint {item}"))
        if not sep:
            raise ValueError(f"--ven-fingerprint {item!r}: give NAME=FINGERPRINT")
    if args.allowed_vens is not None:
        try:
            lines = args.allowed_vens.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"--allowed-vens {args.allowed_vens}: {exc}") from None
        for n, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) != 2:
                raise ValueError(f"--allowed-vens {args.allowed_vens} line {n}: give 'NAME FINGERPRINT'")
            pairs.append((parts[0], parts[1], f"--allowed-vens {args.allowed_vens} line {n}"))
    found: dict[str, str] = {}
    for name, fp, where in pairs:
        if not name or not _FP.match(fp):
            raise ValueError(f"{where}: a fingerprint is 10 colon-separated hex bytes (AB:CD:...)")
        if name in found and found[name] != fp.upper():
            raise ValueError(f"{where}: VEN {name!r} is given two fingerprints")
        found[name] = fp.upper()
    return found


def oadr_config(args: argparse.Namespace) -> Any:
    """``VtnOptions.oadr`` from the flags; ValueError naming the flag."""
    from transactive.vtn.oadr_app import OadrConfig

    if (args.sign_cert is None) != (args.sign_key is None):
        raise ValueError("--sign-cert and --sign-key go together")
    if not 1 <= args.oadr_poll_seconds <= 86_400:
        raise ValueError("--oadr-poll-seconds must be a whole number of seconds from 1 to 86400")
    if not args.oadr_vtn_id.strip() or args.oadr_vtn_id.islower():
        raise ValueError("--oadr-vtn-id must not be empty or all lower case (OpenADR 2.0b VENs refuse it)")
    return OadrConfig(vtn_id=args.oadr_vtn_id, poll_frequency=timedelta(seconds=args.oadr_poll_seconds),
                      require_signatures=args.require_signatures, sign_cert=args.sign_cert, sign_key=args.sign_key,
                      ven_fingerprints=_fingerprints(args))


# ---- vtn event ------------------------------------------------------------------------------------

def add_operator_flags(p: argparse.ArgumentParser) -> None:
    """The flags every operator command takes: the VTN, the operator token, TLS, --json."""
    p.add_argument("--vtn", required=True, metavar="URL", help="the VTN's base URL (http:// or https://)")
    p.add_argument("--operator-token", required=True, metavar="TOKEN|@FILE",
                   help="the operator token, or @FILE to read it (DATA_DIR/operator.token)")
    p.add_argument("--tls-ca", type=Path, metavar="FILE", help="trust the VTN by the CAs in FILE")
    p.add_argument("--tls-cert", type=Path, metavar="FILE", help="a client certificate, if the VTN asks for one")
    p.add_argument("--tls-key", type=Path, metavar="FILE", help="its private key")
    p.add_argument("--json", action="store_true", help="print JSON")


def add_event_parser(group: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    e = group.add_parser("event", help="create, modify, cancel or list OpenADR events on a running VTN",
                         description="The operator's OpenADR 2.0b events on a running VTN.", epilog=_EVENT_EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    e.set_defaults(run=lambda args: (e.print_usage(sys.stderr), 2)[1])
    sub = e.add_subparsers(dest="event_command", metavar="ACTION", parser_class=parser_class)

    common = add_operator_flags

    def described(name: str, helptext: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=helptext, description=helptext, epilog=_EVENT_EPILOG,  # type: ignore[no-any-return]
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    c = described("create", "create an event")
    common(c)
    c.add_argument("--signal", required=True, metavar="NAME", help="signal name: SIMPLE, ELECTRICITY_PRICE, "
                   "LOAD_DISPATCH, ... or x-...")
    c.add_argument("--signal-type", metavar="TYPE", help="level, price, setpoint, delta, ... (default: from the "
                   "signal name)")
    c.add_argument("--start", required=True, type=event_start, metavar="ISO8601",
                   help='start (market time), or "now"/"now+PT5M"')
    c.add_argument("--intervals", required=True, metavar="DUR:VALUE[,...]", help="e.g. PT15M:1,PT15M:2")
    c.add_argument("--ven", action="append", default=[], metavar="NAME", help="a target VEN (repeatable; none: all)")
    c.add_argument("--priority", type=int, metavar="N", help="0 none, 1 highest")
    c.add_argument("--response-required", choices=("always", "never"), default="always")
    c.add_argument("--randomize-start", metavar="DURATION", help="VENs may start up to this long after the start")
    c.set_defaults(run=_create)
    m = described("modify", "change an event's intervals, start or priority (modificationNumber + 1)")
    m.add_argument("event_id", metavar="EVENT_ID")
    common(m)
    m.add_argument("--intervals", metavar="DUR:VALUE[,...]")
    m.add_argument("--start", type=event_start, metavar="ISO8601")
    m.add_argument("--priority", type=int, metavar="N")
    m.set_defaults(run=_modify)
    x = described("cancel", "cancel an event (modificationNumber + 1)")
    x.add_argument("event_id", metavar="EVENT_ID")
    common(x)
    x.set_defaults(run=_cancel)
    ls = described("list", "every event with its targets and the VENs' opts")
    common(ls)
    ls.set_defaults(run=_list)


class OperatorUsageError(Exception):
    """An operator command's flags do not work, or the VTN cannot be reached (exit 2)."""


class OperatorRefusedError(Exception):
    """The VTN refused the operator's request (exit 1)."""


def _intervals(text: str) -> list[dict[str, Any]]:
    out = []
    for item in text.split(","):
        duration, sep, value = item.strip().rpartition(":")
        if not sep or not duration:
            raise OperatorUsageError(f"--intervals {text!r}: give DURATION:VALUE[,DURATION:VALUE...], e.g. PT15M:1")
        try:
            number = float(value)
        except ValueError:
            raise OperatorUsageError(f"--intervals {text!r}: {value!r} is not a number") from None
        out.append({"duration": duration, "value": number})
    return out


def operator_token(text: str) -> str:
    """``--operator-token TOKEN|@FILE``: the token, read from FILE with ``@``."""
    if text.startswith("@"):
        try:
            token = Path(text[1:]).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise OperatorUsageError(f"--operator-token {text}: {exc}") from None
        if not token:
            raise OperatorUsageError(f"--operator-token {text}: the file is empty")
        return token
    if not text.strip():
        raise OperatorUsageError("--operator-token is empty")
    return text.strip()


def operator_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context for ``--vtn`` (``--tls-ca``, ``--tls-cert``, ``--tls-key``); None for http://."""
    if not args.vtn.lower().startswith(("http://", "https://")):
        raise OperatorUsageError(f"--vtn {args.vtn!r}: give an http:// or https:// URL")
    if (args.tls_cert is None) != (args.tls_key is None):
        raise OperatorUsageError("--tls-cert and --tls-key go together")
    if not args.vtn.lower().startswith("https://"):
        if args.tls_ca or args.tls_cert:
            raise OperatorUsageError("--tls-* need an https:// --vtn")
        return None
    from transactive.protocol.certs import CertificateError
    from transactive.transport.tls import client_context

    try:
        return client_context(args.tls_ca, cert=args.tls_cert, key=args.tls_key)
    except (CertificateError, OSError, ValueError) as exc:
        raise OperatorUsageError(str(exc)) from None


def operator_call(args: argparse.Namespace, method: str, path: str, body: dict[str, Any] | None = None, *,
                  prefix: str = "/operator/openadr") -> Any:
    """``method`` the operator API's ``prefix + path`` on ``--vtn`` with the operator token; the decoded answer.
    A refusal is :class:`OperatorRefusedError` (its reason, EI code and field: the 2.0b operator API's
    ``{"error", "code", "field"}`` or an OpenADR 3 problem's ``{"detail", "responseCode", "field"}``)."""
    context = operator_tls(args)
    url = args.vtn.rstrip("/") + prefix + path
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {operator_token(args.operator_token)}", "Content-Type": "application/json",
        "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            problem = json.loads(exc.read())
            reason = problem["error"] if "error" in problem else problem["detail"]
            code = problem["code"] if "code" in problem else problem["responseCode"]
            message = f"{reason} (EI {code}" + (f", {problem['field']})" if problem.get("field") else ")")
        except (ValueError, KeyError, TypeError):
            raise OperatorUsageError(f"{url}: HTTP {exc.code} {exc.reason}: not a transactive VTN's operator "
                                     "API?") from None
        raise OperatorRefusedError(message) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise OperatorUsageError(f"cannot reach the VTN at {args.vtn}: {reason}") from None


def _run(args: argparse.Namespace, action: str, work: Any) -> int:
    prog = f"transactive vtn event {action}"
    try:
        result = work()
    except OperatorUsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except OperatorRefusedError as exc:
        print(f"{prog}: refused: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    elif isinstance(result, list):
        sys.stdout.write(_table(result))
    else:
        targets = ", ".join(result["targets"]) or "(no VEN registered yet)"
        done = {"create": "created", "modify": "modified", "cancel": "cancelled"}[action]
        print(f"event {result['event_id']} {done}: modification {result['modification_number']}, status "
              f"{result['status']}, targets {targets}")
    return 0


def _table(events: list[dict[str, Any]]) -> str:
    if not events:
        return "no events\n"
    lines = []
    for e in events:
        signal = e["signals"][0]
        values = " ".join(f"{i['duration']}:{i['value']:g}" for i in signal["intervals"][:6])
        more = " ..." if len(signal["intervals"]) > 6 else ""
        opts = ", ".join(f"{k}={v or '-'}" for k, v in sorted(e["opts"].items())) or "-"
        lines.append(f"{e['event_id']}  {e['status']:<9} mod {e['modification_number']}  {signal['name']} "
                     f"({signal['type']}) from {e['start']}: {values}{more}\n    opts: {opts}")
    return "\n".join(lines) + "\n"


def _create(args: argparse.Namespace) -> int:
    def work() -> Any:
        body: dict[str, Any] = {"signal_name": args.signal, "start": args.start,
                                "intervals": _intervals(args.intervals), "vens": args.ven,
                                "response_required": args.response_required}
        if args.signal_type:
            body["signal_type"] = args.signal_type
        if args.priority is not None:
            body["priority"] = args.priority
        if args.randomize_start:
            body["start_after"] = args.randomize_start
        return operator_call(args, "POST", "/events", body)
    return _run(args, "create", work)


def _modify(args: argparse.Namespace) -> int:
    def work() -> Any:
        body: dict[str, Any] = {}
        if args.intervals:
            body["intervals"] = _intervals(args.intervals)
        if args.start:
            body["start"] = args.start
        if args.priority is not None:
            body["priority"] = args.priority
        if not body:
            raise OperatorUsageError("give --intervals, --start or --priority")
        return operator_call(args, "POST", f"/events/{urllib.parse.quote(args.event_id, safe='')}/modify", body)
    return _run(args, "modify", work)


def _cancel(args: argparse.Namespace) -> int:
    return _run(args, "cancel", lambda: operator_call(
        args, "POST", f"/events/{urllib.parse.quote(args.event_id, safe='')}/cancel", {}))


def _list(args: argparse.Namespace) -> int:
    return _run(args, "list", lambda: operator_call(args, "GET", "/events"))
