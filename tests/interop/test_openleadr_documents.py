"""Interoperability with openleadr 0.5.36, a widely used independent OpenADR 2.0b implementation.

openleadr runs in its own virtual environment (``.venv-openleadr``, built by
``interop/openleadr_peer/make_venv.sh``), because it pins old signxml/xmltodict versions.

* openleadr → transactive: every document openleadr's ``create_message`` produces (one per message type, two
  variants for events and opts) validates against our schema, decodes, re-encodes to a valid document, and
  decodes again to an equal model;
* transactive → openleadr: every example message we encode passes openleadr's own schema check and
  ``parse_message``.

The tests are skipped (with the reason) only when the virtual environment cannot be built, e.g. offline.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.interop.conftest import PEER
from transactive.codec import decode_xml, encode_xml
from transactive.ei.oadr import OadrMessage
from transactive.ei.oadr.examples import examples
from transactive.schemas import validate

pytestmark = pytest.mark.interop

#: the documents emit_messages.py writes: every message type openleadr can create
OPENLEADR_DOCUMENTS = [
    "oadrCancelOpt.xml",
    "oadrCancelPartyRegistration.xml",
    "oadrCancelReport.xml",
    "oadrCanceledOpt.xml",
    "oadrCanceledPartyRegistration.xml",
    "oadrCanceledReport.xml",
    "oadrCreateOpt-event.xml",
    "oadrCreateOpt-schedule.xml",
    "oadrCreatePartyRegistration.xml",
    "oadrCreateReport.xml",
    "oadrCreatedEvent.xml",
    "oadrCreatedOpt.xml",
    "oadrCreatedPartyRegistration.xml",
    "oadrCreatedReport.xml",
    "oadrDistributeEvent-price.xml",
    "oadrDistributeEvent-simple.xml",
    "oadrPoll.xml",
    "oadrQueryRegistration.xml",
    "oadrRegisterReport.xml",
    "oadrRegisteredReport.xml",
    "oadrRequestEvent.xml",
    "oadrRequestReregistration.xml",
    "oadrResponse.xml",
    "oadrUpdateReport.xml",
    "oadrUpdatedReport.xml",
]

EXAMPLES = examples()
EXAMPLE_FILES = [f"{i:02d}-{type(m).__name__}.xml" for i, m in enumerate(EXAMPLES)]


@pytest.fixture(scope="session")
def openleadr_documents(openleadr_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of documents openleadr created, one per message type (and variant)."""
    out = tmp_path_factory.mktemp("openleadr-documents")
    done = subprocess.run(
        [str(openleadr_python), str(PEER / "emit_messages.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"emit_messages.py failed:\n{done.stderr}"
    return out


@pytest.fixture(scope="session")
def openleadr_verdicts(openleadr_python: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """openleadr's verdict on each of our encoded example messages."""
    out = tmp_path_factory.mktemp("transactive-documents")
    for name, msg in zip(EXAMPLE_FILES, EXAMPLES, strict=True):
        (out / name).write_bytes(encode_xml(msg))
    done = subprocess.run(
        [str(openleadr_python), str(PEER / "parse_messages.py"), *(str(out / n) for n in EXAMPLE_FILES)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"parse_messages.py failed:\n{done.stderr}"
    verdicts: dict[str, Any] = json.loads(done.stdout)
    return verdicts


def test_openleadr_emits_every_message_type(openleadr_documents: Path) -> None:
    assert sorted(p.name for p in openleadr_documents.glob("*.xml")) == OPENLEADR_DOCUMENTS


@pytest.mark.parametrize("name", OPENLEADR_DOCUMENTS)
def test_openleadr_document_validates_against_our_schema(openleadr_documents: Path, name: str) -> None:
    report = validate(etree.fromstring((openleadr_documents / name).read_bytes()))
    assert report.schema == "oadr20b"
    assert report.valid, report.errors


@pytest.mark.parametrize("name", OPENLEADR_DOCUMENTS)
def test_openleadr_document_decodes_and_reencodes_equal(openleadr_documents: Path, name: str) -> None:
    decoded: OadrMessage = decode_xml((openleadr_documents / name).read_bytes())
    assert decoded.__tag__ == "oadr:" + name.removesuffix(".xml").split("-")[0]
    again = encode_xml(decoded)
    report = validate(etree.fromstring(again))
    assert report.valid, report.errors
    assert decode_xml(again) == decoded


def test_openleadr_event_values_survive_decoding(openleadr_documents: Path) -> None:
    from transactive.ei.oadr import OadrDistributeEvent, PayloadFloat

    msg = decode_xml((openleadr_documents / "oadrDistributeEvent-price.xml").read_bytes(), OadrDistributeEvent)
    assert msg.vtn_id == "vtn-acme-utility"
    assert [e.event.descriptor.event_id for e in msg.events] == ["evt-2", "evt-3"]
    price = msg.events[0].event.signals[0]
    assert price.signal_name == "ELECTRICITY_PRICE"
    values = [i.payloads[0].payload for i in price.intervals]
    assert values == [PayloadFloat(value=0.42), PayloadFloat(value=0.65)]


@pytest.mark.parametrize(("name", "tag"), [(n, m.__tag__) for n, m in zip(EXAMPLE_FILES, EXAMPLES, strict=True)],
                         ids=EXAMPLE_FILES)
def test_openleadr_parses_our_document(openleadr_verdicts: dict[str, Any], name: str, tag: str) -> None:
    verdict = openleadr_verdicts[name]
    assert verdict["ok"], verdict["error"]
    assert verdict["message_type"] == tag.split(":", 1)[1]
