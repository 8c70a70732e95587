#!/usr/bin/env sh
# Install wrk, the HTTP load generator bench/vtn_bench.py drives both VTNs with (Debian package), unless a
# `wrk` binary is already on PATH; print its path. Idempotent.
#
#   bench/install_wrk.sh        # prints e.g. /usr/bin/wrk
#
# Exit status 1 (nothing on stdout) when it is missing and apt-get cannot install it (not root, no apt, offline).
set -eu

if command -v wrk 2>/dev/null; then
  exit 0
fi
sh "$(dirname "$0")/../interop/apt_install.sh" wrk
command -v wrk
