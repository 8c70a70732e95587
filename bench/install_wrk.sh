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
if ! command -v apt-get >/dev/null 2>&1; then
  echo "wrk: not installed and apt-get not available (install wrk by hand)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "wrk: not installed, and apt-get needs root (run: sudo apt-get install -y wrk)" >&2
    exit 1
  fi
fi
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2; then
  $SUDO apt-get update >&2 || true
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk >&2; then
    echo "wrk: apt-get install -y wrk failed" >&2
    exit 1
  fi
fi
command -v wrk
