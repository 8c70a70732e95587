"""``transactive certs create``: the files, their modes, the certificates in them, the fingerprints printed,
the JSON report, refusing to overwrite, and usage errors as exit 2 with one line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import ssl
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID

from transactive.cli import main
from transactive.protocol.certs import load_certificate, load_private_key

ROOT = Path(__file__).resolve().parents[2]


def _create(tmp: Path, *args: str, process: bool = False) -> tuple[int, str, str]:
    """``transactive certs create ARGS`` run in ``tmp`` (relative paths are below it): exit code, stdout, stderr.
    In this process by default; ``process=True`` runs the module entry point as a user would."""
    if process:
        done = subprocess.run([sys.executable, "-m", "transactive.cli", "certs", "create", *args],
                              capture_output=True, text=True, cwd=tmp, timeout=60, check=False)
        return done.returncode, done.stdout, done.stderr
    out, err = io.StringIO(), io.StringIO()
    here = Path.cwd()
    os.chdir(tmp)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["certs", "create", *args])
    finally:
        os.chdir(here)
    return code, out.getvalue(), err.getvalue()


def _openadr_fingerprint(path: Path) -> str:
    """The fingerprint as OpenADR 2.0b defines it, computed here independently: the last 10 bytes of the SHA-256
    of the DER certificate, upper-case hex joined by colons."""
    der = ssl.PEM_cert_to_DER_cert(path.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest()[-10:])


def _json(tmp: Path, *args: str) -> dict[str, Any]:
    code, out, err = _create(tmp, *args, "--json")
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def test_create_writes_a_ca_a_vtn_and_each_ven_with_private_keys_readable_by_the_owner_only(tmp_path: Path) -> None:
    code, out, err = _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--ven", "battery.22",
                             process=True)
    assert (code, err) == (0, "")
    names = sorted(p.name for p in (tmp_path / "certs").iterdir())
    assert names == ["battery.22.crt", "battery.22.key", "ca.crt", "ca.key", "ven-1.crt", "ven-1.key", "vtn-1.crt",
                     "vtn-1.key"]
    for path in (tmp_path / "certs").iterdir():
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o600 if path.suffix == ".key" else 0o644), path.name
    # one line per certificate, each party's with the OpenADR fingerprint of the file written
    lines = out.splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("CA ")
    for line, name in zip(lines[1:], ("vtn-1", "ven-1", "battery.22"), strict=True):
        assert line.split()[1] == name
        assert f"fingerprint {_openadr_fingerprint(tmp_path / 'certs' / f'{name}.crt')} " in line


def test_the_certificates_form_a_chain_with_the_roles_and_names_asked_for(tmp_path: Path) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--host", "vtn.example.net",
                   "--host", "10.1.2.3")
    ca, vtn, ven = (load_certificate(entry["cert"]) for entry in (report["ca"], report["vtn"], report["vens"][0]))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    for leaf in (vtn, ven):
        leaf.verify_directly_issued_by(ca)
        assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    sans = vtn.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["vtn.example.net"]
    assert [str(a) for a in sans.get_values_for_type(x509.IPAddress)] == ["10.1.2.3"]
    usages = vtn.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    assert list(ven.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [
        ExtendedKeyUsageOID.CLIENT_AUTH]
    assert [a.value for a in ven.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)] == ["ven-1"]
    assert [a.value for a in vtn.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)] == ["vtn-1"]
    assert report["vtn"]["hosts"] == ["vtn.example.net", "10.1.2.3"]


def test_default_hosts_are_this_machine(tmp_path: Path) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1")
    sans = load_certificate(report["vtn"]["cert"]).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert sans.value.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(a) for a in sans.value.get_values_for_type(x509.IPAddress)] == ["127.0.0.1", "::1"]
    assert report["vens"] == []


def test_json_names_every_file_and_fingerprint(tmp_path: Path) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--ven", "ven-2")
    assert {"ca", "vtn", "vens", "key_type", "not_before", "not_after", "directory"} <= set(report)
    assert set(report["ca"]) >= {"cert", "key"}
    assert set(report["vtn"]) >= {"name", "cert", "key", "fingerprint"}
    assert [v["name"] for v in report["vens"]] == ["ven-1", "ven-2"]
    for entry in (report["ca"], report["vtn"], *report["vens"]):
        assert set(entry) >= {"name", "cert", "key", "fingerprint"}
        assert Path(entry["cert"]).is_absolute()
        assert Path(entry["key"]).exists()
        assert entry["fingerprint"] == _openadr_fingerprint(Path(entry["cert"]))
        assert len(entry["fingerprint"]) == 29
    assert report["key_type"] == "ecdsa"


@pytest.mark.parametrize(("key_type", "expected"), [("ecdsa", ec.EllipticCurvePrivateKey),
                                                    ("rsa", rsa.RSAPrivateKey)])
def test_key_type(tmp_path: Path, key_type: str, expected: type) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--key-type", key_type)
    for entry in (report["ca"], report["vtn"], report["vens"][0]):
        key = load_private_key(entry["key"])
        assert isinstance(key, expected)
        if isinstance(key, rsa.RSAPrivateKey):
            assert key.key_size == 2048
        else:
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            assert key.curve.name == "secp256r1"


def test_ecdsa_is_the_default(tmp_path: Path) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1")
    assert isinstance(load_private_key(report["vtn"]["key"]), ec.EllipticCurvePrivateKey)


def test_days_sets_the_validity(tmp_path: Path) -> None:
    report = _json(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--days", "30")
    for entry in (report["ca"], report["vtn"], report["vens"][0]):
        cert = load_certificate(entry["cert"])
        assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(days=30)


def test_existing_files_are_left_alone_without_force(tmp_path: Path) -> None:
    assert _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1")[0] == 0
    before = {p.name: p.read_bytes() for p in (tmp_path / "certs").iterdir()}
    # a second set naming one existing file: refused before anything is written, the new VEN's files too
    code, out, err = _create(tmp_path, "certs", "--vtn", "vtn-2", "--ven", "ven-1", "--ven", "ven-9")
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [f"transactive certs create: {tmp_path / 'certs' / 'ca.crt'} exists "
                                        "(--force overwrites)"]
    assert {p.name: p.read_bytes() for p in (tmp_path / "certs").iterdir()} == before


def test_force_overwrites_and_keys_stay_private(tmp_path: Path) -> None:
    assert _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1")[0] == 0
    key = tmp_path / "certs" / "ven-1.key"
    old = key.read_bytes()
    key.chmod(0o644)
    assert _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--force")[0] == 0
    assert key.read_bytes() != old
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


@pytest.mark.parametrize(("args", "message"), [
    (["--vtn", "vtn-1", "--ven", "vtn-1"], "given more than once: vtn-1"),
    (["--vtn", "../vtn"], "'../vtn' cannot name certificate files"),
    (["--vtn", "ca"], "'ca' is the CA's file name"),
    (["--vtn", "vtn-1", "--host", "not a host"], "not a host name or IP address: 'not a host'"),
    (["--vtn", "vtn-1", "--days", "0"], "positive number of days"),
    (["--vtn", "vtn-1", "--days", "inf"], "positive number of days"),
])
def test_usage_errors_are_exit_2_with_one_line_and_nothing_written(tmp_path: Path, args: list[str],
                                                                   message: str) -> None:
    code, out, err = _create(tmp_path, "certs", *args, process=args[-1] == "inf")  # one as a process, no traceback
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "certs").exists()


def test_a_directory_that_cannot_be_made_is_exit_2_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    code, out, err = _create(tmp_path, "a-file/certs", "--vtn", "vtn-1", process=True)
    assert out == ""
    assert code == 2
    assert err.strip().splitlines() == [f"transactive certs create: cannot write {tmp_path / 'a-file' / 'certs'}: "
                                        "Not a directory"]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_directory_is_exit_2_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "ro"
    target.mkdir()
    target.chmod(0o500)
    try:
        code, _out, err = _create(tmp_path, "ro", "--vtn", "vtn-1")
    finally:
        target.chmod(0o700)
    assert code == 2
    assert "cannot write" in err
    assert "Permission denied" in err
    assert len(err.strip().splitlines()) == 1


def test_certs_without_a_command_prints_help_and_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["certs"]) == 2
    assert "certs create" in capsys.readouterr().err


def test_force_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    assert _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1")[0] == 0
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours")
    link = tmp_path / "certs" / "ven-1.key"
    link.unlink()
    link.symlink_to(elsewhere)
    before = (tmp_path / "certs" / "ca.crt").read_bytes()
    code, _out, err = _create(tmp_path, "certs", "--vtn", "vtn-1", "--ven", "ven-1", "--force")
    assert code == 2
    assert err == f"transactive certs create: {link} is a symbolic link: certificates and keys are not written " \
                  "through one\n"
    assert elsewhere.read_text() == "not yours"
    assert (tmp_path / "certs" / "ca.crt").read_bytes() == before  # refused before anything was written
