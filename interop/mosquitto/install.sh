#!/usr/bin/env sh
# Install the Mosquitto MQTT broker (Debian package) unless a `mosquitto` binary is already available, and
# print its path. Idempotent; starts no service (tests run their own broker: interop/mosquitto/broker.py).
#
#   interop/mosquitto/install.sh        # prints e.g. /usr/sbin/mosquitto
#
# Debian installs the binary in /usr/sbin, which is not on every user's PATH, so that is looked at too.
# Exit status 1 (nothing on stdout) when it is missing and apt-get cannot install it (not root, no apt, offline).
set -eu

find_mosquitto() {
  command -v mosquitto 2>/dev/null && return 0
  for candidate in /usr/sbin/mosquitto /usr/local/sbin/mosquitto /opt/homebrew/sbin/mosquitto; do
    if [ -x "$candidate" ]; then echo "$candidate"; return 0; fi
  done
  return 1
}

if find_mosquitto; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "mosquitto: not installed and apt-get not available (install the mosquitto broker by hand)" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "mosquitto: not installed, and apt-get needs root (run: sudo apt-get install -y mosquitto)" >&2
    exit 1
  fi
fi
# the package's postinst may try to start the service; that is harmless where there is no init system
if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto >&2; then
  $SUDO apt-get update >&2 || true
  if ! $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends mosquitto >&2; then
    echo "mosquitto: apt-get install -y mosquitto failed" >&2
    exit 1
  fi
fi
if ! find_mosquitto; then
  echo "mosquitto: installed, but no mosquitto binary found" >&2
  exit 1
fi
