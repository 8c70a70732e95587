"""``transactive vtn client``: the operator's OpenADR 3 clients on a running VTN (create, list, revoke)."""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from typing import Any

from transactive.cli._io import party_name
from transactive.cli.oadr import OperatorRefusedError, OperatorUsageError, add_operator_flags, operator_call

__all__ = ["add_client_parser", "add_deliveries_parser", "add_serve_flags", "openadr3_config"]

_PREFIX = "/operator/openadr3"

_CLIENT_EPILOG = """\
An OpenADR 3 client is what the OAuth2 token endpoint of the VTN ({VTN}/openadr3/3.1.0/auth/token) knows: a
client_id and a client_secret for a role. bl is the business logic (programs, events, every object);
ven is a device (its own VEN object and resources, the programs and events targeted at it, its reports).
The secret is shown once, by create; the VTN keeps only a salted hash. revoke refuses the client's secret
and every token it already holds at once.

output: readable lines; --json prints, for create, {"client_id", "client_secret", "role", "scopes", "name"};
for list, a list of {"client_id", "name", "role", "scopes", "created", "revoked"}; for revoke, that object.

examples:
  transactive vtn client create --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token \\
      --role ven --name house-17 --json
  transactive vtn client list --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token
  transactive vtn client revoke ven_2f4c9a1b7e3d5c60 --vtn http://127.0.0.1:8080 \\
      --operator-token @/tmp/vtn/operator.token

exit codes: 0 done, 1 refused by the VTN (one line: the reason and the EI code), 2 usage error or VTN
unreachable.
"""


def add_serve_flags(serve: argparse.ArgumentParser) -> None:
    g = serve.add_argument_group(
        "OpenADR 3.1", "the VTN also serves the OpenADR 3.1.0 API under /openadr3/3.1.0 (same store); its clients "
        "are made with 'transactive vtn client'; its token key is DIR/openadr3-token.key")
    g.add_argument("--openadr3-token-lifetime", type=int, default=3600, metavar="S",
                   help="how long the VTN's access tokens are valid, seconds (default 3600)")
    g.add_argument("--openadr3-jwks-url", metavar="URL",
                   help="also accept the tokens of an outside identity provider, checked with the keys it publishes "
                        "at URL (a JWKS document); their scopes decide the role")
    g.add_argument("--openadr3-jwt-issuer", metavar="ISS", help="the iss the outside provider's tokens must carry")
    g.add_argument("--openadr3-jwt-audience", metavar="AUD", help="the aud the outside provider's tokens must carry")
    g.add_argument("--openadr3-webhooks-private", action="store_true",
                   help="let webhooks go to loopback, private and link-local addresses (refused by default, so that "
                        "a subscriber cannot make the VTN post into its own network)")


def openadr3_config(args: argparse.Namespace) -> Any:
    """The :class:`~transactive.vtn.openadr3_app.Oa3Config` of ``vtn serve``'s flags (ValueError naming the flag)."""
    from transactive.vtn.openadr3_app import Oa3Config

    if not 60 <= args.openadr3_token_lifetime <= 7 * 86400:
        raise ValueError(f"--openadr3-token-lifetime {args.openadr3_token_lifetime}: give 60 to 604800 seconds")
    url = args.openadr3_jwks_url
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"--openadr3-jwks-url {url!r}: give an http:// or https:// URL")
    if url is None and (args.openadr3_jwt_issuer or args.openadr3_jwt_audience):
        raise ValueError("--openadr3-jwt-issuer and --openadr3-jwt-audience go with --openadr3-jwks-url")
    return Oa3Config(token_lifetime=args.openadr3_token_lifetime, jwks_url=url, jwt_issuer=args.openadr3_jwt_issuer,
                     jwt_audience=args.openadr3_jwt_audience, webhooks_private=args.openadr3_webhooks_private)


def add_client_parser(group: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    c = group.add_parser("client", help="create, list or revoke the OpenADR 3 clients of a running VTN",
                         description="The operator's OpenADR 3 clients (OAuth2 client credentials) on a running VTN.",
                         epilog=_CLIENT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.set_defaults(run=lambda args: (c.print_usage(sys.stderr), 2)[1])
    sub = c.add_subparsers(dest="client_command", metavar="ACTION", parser_class=parser_class)

    def described(name: str, helptext: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=helptext, description=helptext, epilog=_CLIENT_EPILOG,  # type: ignore[no-any-return]
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    make = described("create", "make a client for a role; prints its id and secret (shown once)")
    add_operator_flags(make)
    make.add_argument("--role", required=True, choices=("bl", "ven"), help="bl: business logic; ven: a device")
    make.add_argument("--name", required=True, type=party_name, metavar="NAME",
                      help="what the operator calls it (1-128 characters)")
    make.set_defaults(run=_create)
    ls = described("list", "every client (never a secret)")
    add_operator_flags(ls)
    ls.set_defaults(run=_list)
    rv = described("revoke", "refuse a client's secret and tokens from now on")
    rv.add_argument("client_id", metavar="CLIENT_ID")
    add_operator_flags(rv)
    rv.set_defaults(run=_revoke)


_DELIVERIES_EPILOG = """\
The OpenADR 3 webhook deliveries of a running VTN: those waiting to be sent again (the receiver failed; the
next attempt's time is shown) and those given up after the last attempt (dead letters: the receiver never took
them; each keeps its subscription, URL, object and last error).

output: readable lines; --json prints {"pending": [...], "dead": [...]}, each {"id", "subscriptionID",
"clientID", "url", "objectType", "operation", "object", "attempts", "lastError", "created", "nextAttempt",
"givenUp"}.

example:
  transactive vtn deliveries --vtn http://127.0.0.1:8080 --operator-token @/tmp/vtn/operator.token

exit codes: 0 done, 1 refused by the VTN, 2 usage error or VTN unreachable.
"""


def add_deliveries_parser(group: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    d = group.add_parser("deliveries", help="the OpenADR 3 webhook deliveries waiting or given up on a running VTN",
                         description="The OpenADR 3 webhook deliveries waiting or given up (dead letters).",
                         epilog=_DELIVERIES_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_operator_flags(d)
    d.set_defaults(run=_deliveries)


def _delivery_line(d: dict[str, Any]) -> str:
    when = f"next {d['nextAttempt']}" if d.get("nextAttempt") else "given up"
    return (f"{d['id']}  {d['operation']} {d['objectType']} -> {d['url']}  attempts {d['attempts']}, {when}; "
            f"last error: {d.get('lastError') or '-'}")


def _deliveries(args: argparse.Namespace) -> int:
    def show(result: dict[str, Any]) -> str:
        lines = [f"pending {len(result['pending'])}, given up {len(result['dead'])}"]
        lines += ["  " + _delivery_line(d) for d in result["pending"] + result["dead"]]
        return "\n".join(lines)

    return _run(args, "deliveries", lambda: operator_call(args, "GET", "/deliveries", prefix=_PREFIX), show,
                prog="transactive vtn deliveries")


def _run(args: argparse.Namespace, action: str, work: Any, show: Any, prog: str | None = None) -> int:
    prog = prog or f"transactive vtn client {action}"
    try:
        result = work()
    except OperatorUsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except OperatorRefusedError as exc:
        print(f"{prog}: refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else show(result))
    return 0


def _create(args: argparse.Namespace) -> int:
    if not args.name.strip() or len(args.name) > 128:
        print("transactive vtn client create: --name: give 1 to 128 characters", file=sys.stderr)
        return 2
    return _run(args, "create", lambda: operator_call(
        args, "POST", "/clients", {"role": args.role, "name": args.name}, prefix=_PREFIX),
        lambda c: f"client {c['client_id']} ({c['role']}, {c['name']}): secret {c['client_secret']}\n"
                  f"scopes: {' '.join(c['scopes'])}\nthe secret is not shown again")


def _line(c: dict[str, Any]) -> str:
    state = f"revoked {c['revoked']}" if c.get("revoked") else "active"
    return f"{c['client_id']}  {c['role']:<3}  {state:<8}  created {c['created']}  {c['name']}"


def _list(args: argparse.Namespace) -> int:
    return _run(args, "list", lambda: operator_call(args, "GET", "/clients", prefix=_PREFIX)["clients"],
                lambda clients: "\n".join(_line(c) for c in clients) if clients else "no clients")


def _revoke(args: argparse.Namespace) -> int:
    path = f"/clients/{urllib.parse.quote(args.client_id, safe='')}"
    return _run(args, "revoke", lambda: operator_call(args, "DELETE", path, prefix=_PREFIX), _line)
