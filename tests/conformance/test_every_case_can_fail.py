"""The issue's proof that the kit can find something: every case of every suite has a broken stand-in endpoint
that makes exactly that case fail. This test holds the tables of those stand-ins to the catalogue, so that a
case added without one is noticed here (the stand-ins themselves run in the test modules named below)."""

from __future__ import annotations

from tests.conformance import test_cts_broken, test_oadr_ven_broken, test_oadr_vtn_broken
from transactive.interop.conformance import cts_vtn, oadr_ven, oadr_vtn

#: cases whose failing stand-in is a test of its own rather than a row of the module's table
VTN_ALONE = {"G1_0010"}  # test_oadr_vtn_broken: a poll answered with a registration reply
#: test_oadr_ven_push: the push VEN's wrong modificationNumbers, refused cancellation, wrong registrationID
VEN_ALONE = {"E0_0010", "E0_0020", "E0_0030", "N0_0040"}


def test_every_vtn_probe_case_has_a_stand_in_that_fails_it() -> None:
    shown = {case for _, case, _ in test_oadr_vtn_broken.PLAIN + test_oadr_vtn_broken.SECURE} | VTN_ALONE
    assert {c.id for c in oadr_vtn.SUITE.cases} == shown


def test_every_ven_listener_case_has_a_stand_in_that_fails_it() -> None:
    shown = {case for _, case in test_oadr_ven_broken.BREAKAGES.values()} | VEN_ALONE
    assert {c.id for c in oadr_ven.SUITE.cases} == shown


def test_every_cts_probe_case_has_a_stand_in_that_fails_it() -> None:
    assert {c.id for c in cts_vtn.SUITE.cases} == {b.case for b in test_cts_broken.BREAKAGES}
