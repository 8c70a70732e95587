"""The lead's OpenADR 3 fixture (a real VTN on loopback, clients made through the operator's API) for the VEN
tests against it."""

from tests.openadr3.conftest import oa3  # noqa: F401  (a fixture)
