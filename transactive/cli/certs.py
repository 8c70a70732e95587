"""``transactive certs``: a throwaway CA and certificates for tests and demos (``certs create``)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from transactive.cli._io import usage

__all__ = ["add_parser", "run"]

_EPILOG = """\
commands:
  create      a CA, a VTN's server certificate and VENs' client certificates in a directory

examples:
  transactive certs create certs --vtn vtn-1 --ven ven-1 --ven ven-2
  transactive certs create certs --vtn vtn-1 --ven ven-1 --key-type rsa --json

exit codes: 0 success, 2 usage error, an unwritable directory or files that exist (without --force).
"""

_CREATE_EPILOG = """\
For tests, demos and a first trial: the CA's key is written beside the certificates, unprotected. Use
certificates from your own CA in production.

Files (PEM): DIR/ca.crt and DIR/ca.key (the CA), DIR/NAME.crt and DIR/NAME.key for the VTN and each VEN.
Keys are PKCS#8, unencrypted, mode 0600. The VTN's certificate names the hosts it is reached at (--host,
repeatable; default localhost, 127.0.0.1 and ::1) and serves as a server and as a client (a child VTN is
a client of its parent); a VEN's certificate is a client certificate with NAME as its common name.
Existing files are left alone (exit 2) unless --force.

Output: one line per certificate with its OpenADR 2.0b fingerprint (the last 10 bytes of the SHA-256 of
the DER certificate as colon-separated hex, as openleadr prints it: give the VENs' to the VTN's
fingerprint lookup). --json prints one object instead:
  {"directory", "ca": {"name", "cert", "key", "fingerprint"}, "vtn": {"name", "cert", "key", "fingerprint",
   "hosts"}, "vens": [{"name", "cert", "key", "fingerprint"}, ...], "key_type", "not_before", "not_after"}

Then:
  transactive vtn serve --port 8443 --data-dir /tmp/vtn --tls-cert DIR/vtn-1.crt --tls-key DIR/vtn-1.key \\
      --tls-ca DIR/ca.crt
  transactive ven run --vtn https://127.0.0.1:8443 --party ven-1 --personality pv --tls-ca DIR/ca.crt \\
      --tls-cert DIR/ven-1.crt --tls-key DIR/ven-1.key

examples:
  transactive certs create certs --vtn vtn-1 --ven ven-1 --ven ven-2
  transactive certs create certs --vtn vtn-1 --ven ven-1 --host vtn.example.net --host 10.0.0.5 --days 30
  transactive certs create certs --vtn vtn-1 --ven ven-1 --key-type rsa --force --json

exit codes: 0 success, 2 usage error (a name that cannot name files or is given twice, a bad host, --days
not positive), a directory that cannot be created or written, or files that exist (without --force).
"""


def add_parser(sub: Any) -> None:
    from transactive.protocol.certs import DEFAULT_DAYS, KEY_TYPES

    p = sub.add_parser("certs", help="a throwaway CA and certificates for tests and demos (create)",
                       description="Certificates for TLS and OpenADR 2.0b message signing, for tests and demos.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(run=lambda args: usage(p))
    group = p.add_subparsers(dest="certs_command", metavar="COMMAND")
    c = group.add_parser("create", help="a CA, a VTN's and VENs' certificates in DIR",
                         description="Create a throwaway CA in DIR and sign a server certificate for the VTN and a "
                                     "client certificate for each VEN.",
                         epilog=_CREATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("directory", type=Path, metavar="DIR", help="where the files go (created if missing)")
    c.add_argument("--vtn", required=True, metavar="NAME", help="the VTN's name (its certificate's common name)")
    c.add_argument("--ven", action="append", default=[], metavar="NAME",
                   help="a VEN's name (repeat for several; none is allowed)")
    c.add_argument("--key-type", choices=KEY_TYPES, default=KEY_TYPES[0],
                   help="ecdsa (P-256, the default) or rsa (2048 bits)")
    c.add_argument("--days", type=float, default=DEFAULT_DAYS, metavar="N",
                   help=f"validity in days (default {DEFAULT_DAYS})")
    c.add_argument("--host", action="append", default=None, metavar="NAME",
                   help="a host name or IP address of the VTN (repeat; default localhost, 127.0.0.1, ::1)")
    c.add_argument("--force", action="store_true", help="overwrite existing files")
    c.add_argument("--json", action="store_true", help="print one JSON object")
    c.set_defaults(run=_create)


def run(args: argparse.Namespace) -> int:
    code: int = args.run(args)
    return code


def _create(args: argparse.Namespace) -> int:
    from transactive.protocol.certs import DEFAULT_HOSTS, create_set

    prog = "transactive certs create"
    try:
        made = create_set(args.directory, vtn=args.vtn, vens=args.ven, hosts=tuple(args.host or DEFAULT_HOSTS),
                          key_type=args.key_type, days=args.days, force=args.force)
    except FileExistsError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = error.filename or args.directory
        print(f"{prog}: cannot write {where}: {error.strerror or error}", file=sys.stderr)
        return 2
    report = made.as_json()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"CA   {report['ca']['cert']} (key {report['ca']['key']}), valid until {report['not_after']}")
    rows = [("VTN", report["vtn"]), *(("VEN", ven) for ven in report["vens"])]
    width = max(len(entry["name"]) for _, entry in rows)
    for role, entry in rows:
        print(f"{role}  {entry['name']:<{width}}  fingerprint {entry['fingerprint']}  {entry['cert']}")
    return 0
