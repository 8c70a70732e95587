"""openleadr's side of signed OpenADR 2.0b messages (run inside .venv-openleadr): sign, and verify.

    .venv-openleadr/bin/python interop/openleadr_peer/signatures.py sign CERT KEY OUT_DIR TYPE [TYPE ...]
    .venv-openleadr/bin/python interop/openleadr_peer/signatures.py verify FINGERPRINT FILE [FILE ...]

``sign`` makes each message type (the payloads of ``emit_messages.py``, first variant) with openleadr's
``create_message`` and the certificate and key, as an openleadr VEN or VTN signs what it sends, and writes
``OUT_DIR/<type>.xml``. ``verify`` checks each file as openleadr's server does with a signed message:
``validate_xml_schema``, then ``validate_xml_signature`` against FINGERPRINT (digests, signature, the
5-second ReplayProtect window and its nonce cache), then ``parse_message``.

Prints one JSON object: ``sign`` → ``{"fingerprint": str, "files": [str]}``; ``verify`` → file name →
``{"ok": bool, "message_type": str | null, "error": str | null}``. Exits 0 whatever the verdicts (the caller
judges), 2 on a wrong command line. transactive does not import this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from emit_messages import messages  # type: ignore[import-not-found, unused-ignore]
from openleadr.messaging import (  # type: ignore[import-not-found, unused-ignore]
    create_message,
    parse_message,
    validate_xml_schema,
    validate_xml_signature,
)
from openleadr.utils import certificate_fingerprint  # type: ignore[import-not-found, unused-ignore]


def sign(cert: Path, key: Path, out: Path, types: list[str]) -> dict[str, Any]:
    cert_pem, key_pem = cert.read_bytes(), key.read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    for message_type, _variant, payload in messages():
        if message_type not in types or f"{message_type}.xml" in files:
            continue
        xml = create_message(message_type, cert=cert_pem, key=key_pem, **payload)
        (out / f"{message_type}.xml").write_text(xml, encoding="utf-8")
        files.append(f"{message_type}.xml")
    return {"fingerprint": certificate_fingerprint(cert_pem), "files": files}


def verify(fingerprint: str, path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    try:
        tree = validate_xml_schema(data)
        validate_xml_signature(tree, cert_fingerprint=fingerprint)
        message_type, _payload = parse_message(data)
    except Exception as exc:  # report every failure, whatever openleadr raises
        return {"ok": False, "message_type": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": True, "message_type": message_type, "error": None}


def main(argv: list[str]) -> int:
    if len(argv) >= 6 and argv[1] == "sign":
        result: dict[str, Any] = sign(Path(argv[2]), Path(argv[3]), Path(argv[4]), argv[5:])
    elif len(argv) >= 4 and argv[1] == "verify":
        result = {Path(name).name: verify(argv[2], Path(name)) for name in argv[3:]}
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
