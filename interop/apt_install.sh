#!/usr/bin/env sh
# Install one Debian package non-interactively (as root, or through passwordless sudo), running
# `apt-get update` once and retrying if the first attempt fails (stale package lists). Shared by the
# scripts that fetch a real service or tool the tests and benchmarks need (interop/mosquitto/install.sh,
# bench/install_wrk.sh). All output goes to stderr.
#
#   tools/apt_install.sh PACKAGE
#
# Exit status 1 when it cannot (no apt-get, not root and no sudo, offline, no such package).
set -eu

pkg="$1"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "$pkg: not installed and apt-get not available (install $pkg by hand)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "$pkg: not installed, and apt-get needs root (run: sudo apt-get install -y $pkg)" >&2
    exit 1
  fi
fi
# a package's postinst may try to start a service; that is harmless where there is no init system
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2; then
  $SUDO apt-get update >&2 || true
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2; then
    echo "$pkg: apt-get install -y $pkg failed" >&2
    exit 1
  fi
fi
