"""Read OpenADR 2.0b documents with openleadr (run inside .venv-openleadr): the reverse interop direction.

    .venv-openleadr/bin/python interop/openleadr_peer/parse_messages.py FILE.xml [FILE.xml ...]

For each file, validates it with openleadr's own copy of the 2.0b schema (``validate_xml_schema``) and reads
it with ``openleadr.messaging.parse_message``. Prints one JSON object: file name → ``{"ok": bool,
"message_type": str | null, "error": str | null}``. Exits 0 whether or not a document failed (the caller judges).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from openleadr.messaging import parse_message, validate_xml_schema  # type: ignore[import-not-found, unused-ignore]


def check(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    try:
        validate_xml_schema(data)
        message_type, payload = parse_message(data)
    except Exception as exc:  # report every failure, whatever openleadr raises
        return {"ok": False, "message_type": None, "error": f"{type(exc).__name__}: {exc}"}
    if not isinstance(payload, dict):
        return {"ok": False, "message_type": message_type, "error": f"payload is {type(payload).__name__}"}
    return {"ok": True, "message_type": message_type, "error": None}


def main(argv: list[str]) -> int:
    results = {Path(name).name: check(Path(name)) for name in argv[1:]}
    print(json.dumps(results, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
