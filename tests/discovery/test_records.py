"""The DNS-SD records of market discovery, without a network: the ``_transactive._tcp`` TXT record written and
read back, every malformed record refused naming its key, OpenADR 3.1's ``_openadr3._tcp`` record (the
specification's own example), merging both announcements of one VTN, and how a VEN picks one market."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from transactive.protocol.discovery import (
    DiscoveryError,
    Market,
    TxtError,
    choose_market,
    encode_openadr3_txt,
    encode_txt,
    merge,
    parse_openadr3_txt,
    parse_txt,
)
from transactive.protocol.identity import PartyKey

KEY = PartyKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()).keyid
FULL = Market(name="campus VTN", url="https://vtn.campus.example:8443", market_context="urn:campus:rt5",
              protocols=("cts", "openadr2b", "openadr3"), interval_seconds=300, currency="EUR", vtn_key=KEY)


def _wire(pairs: dict[str, str]) -> dict[bytes, bytes | None]:
    """A TXT record as zeroconf hands it over: bytes keys and values."""
    return {k.encode(): v.encode() for k, v in pairs.items()}


def test_a_record_reads_back_as_written() -> None:
    txt = encode_txt(FULL)
    assert txt == {"txtvers": "1", "url": FULL.url, "mc": "urn:campus:rt5", "proto": "cts,openadr2b,openadr3",
                   "iv": "300", "cur": "EUR", "vk": KEY}
    assert parse_txt("campus VTN", _wire(txt)) == FULL


def test_the_optional_keys_may_be_left_out_and_keys_are_case_insensitive() -> None:
    minimal = Market(name="m", url="http://127.0.0.1:8080", market_context="urn:m", protocols=("cts",))
    txt = encode_txt(minimal)
    assert set(txt) == {"txtvers", "url", "mc", "proto"}
    shouting = {k.upper().encode(): v.encode() for k, v in txt.items()}
    assert parse_txt("m", shouting) == minimal


def test_where_it_was_heard_is_kept() -> None:
    market = parse_txt("m", _wire(encode_txt(FULL)), host="vtn.local", port=8443, addresses=["192.0.2.7"])
    assert (market.host, market.port, market.addresses) == ("vtn.local", 8443, ("192.0.2.7",))
    assert market.to_json()["addresses"] == ["192.0.2.7"]


GOOD = encode_txt(FULL)


@pytest.mark.parametrize(("change", "key", "problem"), [
    ({"txtvers": None}, "txtvers", "missing"),
    ({"txtvers": "2"}, "txtvers", "version '2' is not understood"),
    ({"url": None}, "url", "missing"),
    ({"url": ""}, "url", "empty"),
    ({"url": "ftp://vtn.example:21"}, "url", "not an http:// or https:// URL"),
    ({"url": "http://:8080"}, "url", "not an http:// or https:// URL"),
    ({"url": "http://vtn.example:99999"}, "url", "valid port"),
    ({"url": "http://vtn.example:8080/?x=1"}, "url", "not an http:// or https:// URL"),
    ({"mc": None}, "mc", "missing"),
    ({"proto": ""}, "proto", "empty"),
    ({"proto": "cts,mqtt"}, "proto", "unknown protocol 'mqtt'"),
    ({"proto": "cts,cts"}, "proto", "names a protocol twice"),
    ({"iv": "fifteen"}, "iv", "not a whole number of seconds"),
    ({"iv": "0"}, "iv", "not a whole number of seconds"),
    ({"iv": "-900"}, "iv", "not a whole number of seconds"),
    ({"iv": "604801"}, "iv", "not a whole number of seconds"),
    ({"cur": "usd"}, "cur", "not an ISO 4217 code"),
    ({"vk": "x509:AAAA"}, "vk", "not an ed25519:... key"),
    ({"vk": "ed25519:AAAA"}, "vk", "not an Ed25519 public key"),
    ({"vk": "ed25519:***"}, "vk", "not base64url"),
    ({"mc": "urn:a\nb"}, "mc", "control characters"),
])
def test_a_malformed_record_is_refused_naming_its_key(change: dict[str, str | None], key: str, problem: str) -> None:
    pairs: dict[bytes, bytes | None] = _wire(GOOD)
    for k, v in change.items():
        if v is None:
            pairs.pop(k.encode())
        else:
            pairs[k.encode()] = v.encode()
    with pytest.raises(TxtError, match=problem) as caught:
        parse_txt("m", pairs)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"TXT key {key!r}: ")


def test_a_key_without_a_value_or_bytes_that_are_not_text_are_refused() -> None:
    with pytest.raises(TxtError, match="has no value") as caught:
        parse_txt("m", {**_wire(GOOD), b"iv": None})
    assert caught.value.key == "iv"
    with pytest.raises(TxtError, match="not UTF-8") as caught:
        parse_txt("m", {**_wire(GOOD), b"mc": b"urn:\xff"})
    assert caught.value.key == "mc"


def test_what_cannot_be_announced_is_refused_naming_the_key() -> None:
    too_long = Market(name="m", url="http://h:1", market_context="urn:" + "x" * 260, protocols=("cts",))
    with pytest.raises(TxtError, match="a TXT string holds 255") as caught:
        encode_txt(too_long)
    assert caught.value.key == "mc"
    with pytest.raises(TxtError, match="required") as caught:
        encode_txt(Market(name="m", url="http://h:1", protocols=("cts",)))
    assert caught.value.key == "mc"
    with pytest.raises(TxtError, match="names no protocol") as caught:
        encode_txt(Market(name="m", url="http://h:1", market_context="urn:m"))
    assert caught.value.key == "proto"
    with pytest.raises(TxtError) as caught:
        encode_txt(Market(name="m", url="mqtt://h:1", market_context="urn:m", protocols=("cts",)))
    assert caught.value.key == "url"


def test_the_openadr3_record_is_the_specifications() -> None:
    txt = encode_openadr3_txt(FULL)
    assert txt == {"version": "3.1.0", "base_path": "openadr3/3.1.0",
                   "local_url": "https://vtn.campus.example:8443/openadr3/3.1.0", "program_names": "urn:campus:rt5",
                   "requires_auth": "True",
                   "openapi_url": "https://vtn.campus.example:8443/openadr3/3.1.0/openapi.json"}
    market = parse_openadr3_txt("campus VTN", _wire(txt))
    assert (market.url, market.openadr3_url, market.market_context, market.protocols) == (
        FULL.url, "https://vtn.campus.example:8443/openadr3/3.1.0", "urn:campus:rt5", ("openadr3",))


def test_the_specifications_example_record_is_read() -> None:
    # OpenADR 3.1.0 Definitions, "Discovery and Configuration of Local VTNs", the example TXT record
    example = {"version": "3.1.0", "base_path": "openadr3/3.1.0", "local_url": "https://myvtn.local:883/openadr3/3.1.0",
               "program_names": "local", "requires_auth": "False"}
    market = parse_openadr3_txt("My_VTN", _wire(example))
    assert (market.url, market.openadr3_url, market.market_context) == (
        "https://myvtn.local:883", "https://myvtn.local:883/openadr3/3.1.0", "local")
    with pytest.raises(TxtError) as caught:
        parse_openadr3_txt("My_VTN", _wire({**example, "local_url": "myvtn.local"}))
    assert caught.value.key == "local_url"
    two = parse_openadr3_txt("x", _wire({**example, "program_names": "a,b", "base_path": "elsewhere"}))
    assert (two.market_context, two.url) == (None, "https://myvtn.local:883")


def test_both_announcements_of_one_vtn_are_one_market() -> None:
    ours = parse_txt("campus VTN", _wire(encode_txt(FULL)))
    oa3 = parse_openadr3_txt("campus VTN", _wire(encode_openadr3_txt(FULL)))
    other = Market(name="another", url="http://192.0.2.9:8080", market_context="urn:x", protocols=("cts",))
    expected = [other, Market(**{**ours.__dict__, "openadr3_url": oa3.openadr3_url})]  # (sorted by name)
    assert merge([oa3, other, ours]) == expected
    assert merge([ours, oa3, other]) == expected
    assert merge([other, ours, oa3, oa3]) == expected


A = Market(name="a", url="http://192.0.2.1:8080", market_context="urn:market:a", protocols=("cts",))
B = Market(name="b", url="http://192.0.2.2:8080", market_context="urn:market:b", protocols=("cts",))


def test_a_ven_takes_the_only_market_or_the_one_named() -> None:
    assert choose_market([A]) is A
    assert choose_market([A, B], "b") is B
    assert choose_market([A, B], "urn:market:a") is A


def test_none_or_several_markets_is_a_clear_error() -> None:
    with pytest.raises(DiscoveryError, match=r"no market answered.*--announce"):
        choose_market([])
    with pytest.raises(DiscoveryError, match=r"2 markets answered: 'a' \(urn:market:a, http://192.0.2.1:8080\); "
                                             r"'b' .*pick one with --market NAME"):
        choose_market([A, B])
    with pytest.raises(DiscoveryError, match=r"no market named 'c'.*'a'.*'b'"):
        choose_market([A, B], "c")
    twin = Market(name="a2", url="http://192.0.2.3:8080", market_context="urn:market:a", protocols=("cts",))
    with pytest.raises(DiscoveryError, match=r"2 markets answered to 'urn:market:a': 'a' .*; 'a2' .*\); pick one"):
        choose_market([A, B, twin], "urn:market:a")
