"""Party keys, signed requests and notices, and what a party id may be."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from transactive.errors import ProtocolError
from transactive.protocol.identity import (
    FRESHNESS,
    PartyIdentity,
    PartyKey,
    check_party_id,
    load_or_create_identity,
    new_secret,
    verify_notice,
    verify_request,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
BODY = b'{"pyld:eiCreatePartyRegistration": {"pyld:requestID": "r-1", "ei:registreePartyID": "pv-1"}}'


def _certified(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> PartyIdentity:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pv-1")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(NOW - timedelta(days=1))
            .not_valid_after(NOW + timedelta(days=1)).sign(key, hashes.SHA256()))
    return PartyIdentity(key, cert)


IDENTITIES = {
    "ed25519": PartyIdentity.generate,
    "x509-ecdsa": lambda: _certified(ec.generate_private_key(ec.SECP256R1())),
    "x509-rsa": lambda: _certified(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
}


@pytest.mark.parametrize("kind", list(IDENTITIES))
def test_a_signed_request_proves_the_key_for_its_exact_bytes(kind: str) -> None:
    me = IDENTITIES[kind]()
    header = me.request_signature(BODY, audience="market-lme", created=int(NOW.timestamp()))
    proof = verify_request(header, BODY, audience="market-lme", now=NOW)
    assert proof.fingerprint == me.fingerprint
    assert proof.key.spki == me.public.spki
    assert proof.created == NOW


def _refused(header: str, body: bytes = BODY, audience: str = "market-lme", now: datetime = NOW) -> str:
    with pytest.raises(ProtocolError) as caught:
        verify_request(header, body, audience=audience, now=now)
    assert (caught.value.response_code, caught.value.field) == (463, "Signature")
    return caught.value.message


def test_a_signature_holds_only_for_its_body_audience_and_moment() -> None:
    me = PartyIdentity.generate()
    header = me.request_signature(BODY, audience="market-lme", created=int(NOW.timestamp()))
    assert "does not verify" in _refused(header, body=BODY.replace(b"pv-1", b"pv-2"))
    assert "does not verify" in _refused(header, audience="another-market")
    assert "not fresh" in _refused(header, now=NOW + FRESHNESS + timedelta(seconds=1))
    assert "not fresh" in _refused(header, now=NOW - FRESHNESS - timedelta(seconds=1))
    verify_request(header, BODY, audience="market-lme", now=NOW + FRESHNESS)  # the edge of the window holds


@pytest.mark.parametrize(("header", "says"), [
    ("", "lacks keyid, created, sig"),
    ('keyid="ed25519:AAAA", created=1', "lacks sig"),
    ("nonsense", "must read"),
    ('keyid="rsa:AAAA", created=1, sig="AA"', "unknown key kind"),
    ('keyid="ed25519:!!!", created=1, sig="AA"', "base64url"),
    ('keyid="ed25519:AAAA", created=1, sig="AA"', "not an Ed25519 public key"),
    ('keyid="x509:AAAA", created=1, sig="AA"', "not a DER X.509 certificate"),
    ('keyid="ed25519:AAAA", created=soon, sig="AA"', "Unix seconds"),
    ("x" * 20_000, "too long"),
])
def test_a_malformed_signature_header_is_463_naming_it(header: str, says: str) -> None:
    header = header.replace("created=1,", f"created={int(NOW.timestamp())},")
    assert says in _refused(header)


def test_the_key_travels_raw_or_in_its_certificate_and_reads_back() -> None:
    plain = PartyIdentity.generate()
    assert plain.public.keyid.startswith("ed25519:")
    assert PartyKey.from_keyid(plain.public.keyid).fingerprint == plain.fingerprint
    certified = IDENTITIES["x509-ecdsa"]()
    assert certified.public.keyid.startswith("x509:")
    assert PartyKey.from_keyid(certified.public.keyid).fingerprint == certified.fingerprint
    with pytest.raises(ValueError, match="needs its certificate"):
        PartyIdentity(ec.generate_private_key(ec.SECP256R1()))


def test_a_notice_signature_binds_the_notice_to_its_party() -> None:
    vtn = PartyIdentity.generate()
    body = b'{"pyld:eiCreateTransaction": {}}'
    signature = vtn.notice_signature("pv-1", body)
    assert verify_notice(vtn.public, "pv-1", body, signature)
    assert not verify_notice(vtn.public, "pv-2", body, signature)  # another party's notice
    assert not verify_notice(vtn.public, "pv-1", body + b" ", signature)  # altered
    assert not verify_notice(PartyIdentity.generate().public, "pv-1", body, signature)  # another key
    assert not verify_notice(vtn.public, "pv-1", body, None)
    assert not verify_notice(vtn.public, "pv-1", body, "%%%")


@pytest.mark.parametrize("party", ["pv-1", "home.7", "ven:42@lme", "A", "x" * 128])
def test_party_ids_that_read_as_ids_are_accepted(party: str) -> None:
    assert check_party_id(party, "market") == party


@pytest.mark.parametrize(("party", "why"), [
    ("market", "reserved"), ("MARKET", "reserved"), ("*", "reserved"),
    ("", "not a party id"), ("x" * 129, "not a party id"), ("x" * 100_000, "not a party id"),
    ("pv 1", "not a party id"), ("pv/1", "not a party id"), ("-pv", "not a party id"), ("pv\n1", "not a party id"),
])
def test_reserved_and_malformed_ids_are_454_naming_the_field(party: str, why: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        check_party_id(party, "market")
    assert (caught.value.response_code, caught.value.field) == (454, "ei:registreePartyID")
    assert why in caught.value.message
    assert len(caught.value.message) < 200  # a 100,000-character id is not echoed back whole


def test_an_identity_is_kept_in_its_file_and_comes_back(tmp_path: Path) -> None:
    path = tmp_path / "state" / "party.key"
    first = load_or_create_identity(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_or_create_identity(path).fingerprint == first.fingerprint
    path.write_bytes(b"not a key")
    with pytest.raises(ValueError, match=r"party\.key: not a usable private key"):
        load_or_create_identity(path)


def test_a_new_secret_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token or client secret follows a flag on a command line: ``--operator-token -x`` would be a flag."""
    import secrets

    drawn = iter(["-starts-like-a-flag", "Zfine-afterwards"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda nbytes: next(drawn))
    assert new_secret() == "Zfine-afterwards"


def test_new_secrets_are_long_and_distinct() -> None:
    drawn = {new_secret() for _ in range(500)}
    assert len(drawn) == 500
    assert all(len(s) >= 43 and not s.startswith("-") for s in drawn)  # 32 bytes: 43 base64url characters
