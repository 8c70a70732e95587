"""The benchmarks' smoke tests reuse the openleadr peer's environment (built on first use, skipped offline)."""

from tests.interop.conftest import openleadr_python  # noqa: F401  (the fixture, for the tests here)
