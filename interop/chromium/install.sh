#!/usr/bin/env sh
# Install Chromium (Debian package) unless a Chromium is already available, and print its path. Idempotent.
# The tests use it headless, on local files only, to look at the conformance kit's HTML report the way a
# person would (tests/conformance/test_report_in_browser.py); nothing is downloaded at test time.
#
#   interop/chromium/install.sh        # prints e.g. /usr/bin/chromium
#
# Exit status 1 (nothing on stdout) when it is missing and apt-get cannot install it (not root, no apt, offline).
set -eu

find_chromium() {
  for name in chromium chromium-browser google-chrome; do
    command -v "$name" 2>/dev/null && return 0
  done
  return 1
}

if find_chromium; then
  exit 0
fi

sh "$(dirname "$0")/../apt_install.sh" chromium
if ! find_chromium; then
  echo "chromium: installed, but no chromium binary found" >&2
  exit 1
fi
