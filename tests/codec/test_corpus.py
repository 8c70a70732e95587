"""Stored sample documents (``corpus/``): each file's name says what decoding it must give.

``valid__*`` decode to the sample oadrDistributeEvent; ``malformed__*``, ``unknown__*`` and ``invalid__*``
raise exactly MalformedDocumentError, UnknownMessageError and InvalidMessageError.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from transactive.codec import decode, decode_json, decode_xml
from transactive.errors import InvalidMessageError, MalformedDocumentError, ProtocolError, UnknownMessageError

from .samples import distribute_event

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".xml", ".json"))
EXPECTED: dict[str, type[ProtocolError]] = {
    "malformed": MalformedDocumentError,
    "unknown": UnknownMessageError,
    "invalid": InvalidMessageError,
}


def test_corpus_holds_every_kind_of_document():
    kinds = {p.name.split("__", 1)[0] for p in FILES}
    assert kinds == {"valid", *EXPECTED}


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_document_decodes_as_its_name_says(path: Path):
    data = path.read_bytes()
    decoder = decode_json if path.suffix == ".json" else decode_xml
    kind = path.name.split("__", 1)[0]
    if kind == "valid":
        assert decoder(data) == distribute_event()
        assert decode(data) == distribute_event()
        return
    for call in (decoder, decode):
        with pytest.raises(ProtocolError) as info:
            call(data)
        assert type(info.value) is EXPECTED[kind]
