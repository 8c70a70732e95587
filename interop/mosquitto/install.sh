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

sh "$(dirname "$0")/../apt_install.sh" mosquitto
if ! find_mosquitto; then
  echo "mosquitto: installed, but no mosquitto binary found" >&2
  exit 1
fi
