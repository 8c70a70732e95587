"""Fixtures for the VEN tests: the VTN subprocess helpers of the VTN tests."""

from tests.vtn.conftest import vtn_processes  # noqa: F401  (a fixture: every VTN process a test starts, killed at the end)
