"""openleadr's view of certificates (run inside .venv-openleadr): fingerprints, and signing with them.

    .venv-openleadr/bin/python interop/openleadr_peer/certificates.py CERT.pem[:KEY.pem] ...

For each certificate, prints openleadr's ``utils.certificate_fingerprint``; given its key too, signs an
``oadrPoll`` with openleadr's ``create_message`` (XML signature, as an OpenADR 2.0b VEN does) and checks the
result with ``validate_xml_signature`` against that fingerprint (what a VTN's fingerprint lookup does).
Prints one JSON object: certificate file (as given) → ``{"fingerprint": str, "signed": bool | null, "error": str |
null}``. Exits 0 whatever the verdicts (the caller judges).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-not-found, unused-ignore]
from openleadr.messaging import (  # type: ignore[import-not-found, unused-ignore]
    create_message,
    validate_xml_signature,
)
from openleadr.utils import certificate_fingerprint  # type: ignore[import-not-found, unused-ignore]


def check(spec: str) -> tuple[str, dict[str, Any]]:
    cert_name, _, key_name = spec.partition(":")
    cert = Path(cert_name).read_bytes()
    result: dict[str, Any] = {"fingerprint": certificate_fingerprint(cert), "signed": None, "error": None}
    if key_name:
        try:
            message = create_message("oadrPoll", cert=cert, key=Path(key_name).read_bytes(), ven_id="ven-1")
            validate_xml_signature(etree.fromstring(message.encode()), cert_fingerprint=result["fingerprint"])
            result["signed"] = True
        except Exception as exc:  # report every failure, whatever openleadr raises
            result["signed"] = False
            result["error"] = f"{type(exc).__name__}: {exc}"
    return cert_name, result


def main(argv: list[str]) -> int:
    print(json.dumps(dict(check(spec) for spec in argv[1:]), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
