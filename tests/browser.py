"""The system Chromium the browser tests drive (installed by interop/chromium/install.sh; never downloaded)."""

from __future__ import annotations

import shutil

import pytest


def chromium() -> str:
    """The path of the Debian Chromium (or another Chromium on the PATH); fails the test when there is none."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no Chromium: run interop/chromium/install.sh (make test does)")
