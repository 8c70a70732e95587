""""Every message type validates" only means something if every registered message type is exercised."""

from __future__ import annotations

from tests.conftest import all_examples
from transactive.codec import message_types


def test_every_registered_message_type_has_an_example() -> None:
    covered = {type(m) for m in all_examples()}
    missing = sorted(cls.__tag__ or cls.__name__ for cls in message_types() if cls not in covered)
    assert missing == []


def test_the_families_are_all_registered() -> None:
    all_examples()  # imports the example modules, and with them the extension payloads
    families = {cls.__family__.name for cls in message_types()}
    assert families == {"oadr20b", "cts04", "xcal", "transactive-ext"}
    assert len(message_types()) >= 23 + 27 + 2  # OpenADR 2.0b, CTS EiPayloads, xCal + MIN roots
