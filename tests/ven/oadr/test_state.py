"""A restarted VEN re-registers as itself: the registration kept in the state directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from transactive.ven.oadr.state import STATE_FILE, OadrRegistrationState


def test_the_registration_survives_a_restart(tmp_path: Path) -> None:
    OadrRegistrationState("http://vtn", "pv-1", "ven-1", "reg-1", "vtn-1").save(tmp_path / "s")
    assert OadrRegistrationState.load(tmp_path / "s", "http://vtn", "pv-1") == OadrRegistrationState(
        "http://vtn", "pv-1", "ven-1", "reg-1", "vtn-1")
    assert (tmp_path / "s" / STATE_FILE).stat().st_mode & 0o777 == 0o600


def test_a_registration_with_another_vtn_or_name_is_not_used(tmp_path: Path) -> None:
    OadrRegistrationState("http://vtn", "pv-1", "ven-1", "reg-1", "vtn-1").save(tmp_path)
    assert OadrRegistrationState.load(tmp_path, "http://other", "pv-1").registration_id is None
    assert OadrRegistrationState.load(tmp_path, "http://vtn", "pv-2").ven_id is None


def test_an_unreadable_state_file_is_named(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(ValueError, match=STATE_FILE):
        OadrRegistrationState.load(tmp_path, "http://vtn", "pv-1")
