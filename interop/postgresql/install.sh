#!/usr/bin/env sh
# Install the PostgreSQL server (Debian package) unless an initdb is already found under
# /usr/lib/postgresql/*/bin, and print that bin directory (initdb, pg_ctl, postgres). Idempotent; creates and
# starts no cluster (tests and demos run their own: interop/postgresql/cluster.py).
#
#   interop/postgresql/install.sh        # prints e.g. /usr/lib/postgresql/15/bin
#
# Exit status 1 (nothing on stdout) when it is missing and apt-get cannot install it (not root, no apt, offline).
set -eu

find_bindir() {
  # the newest major version first (sort -V: 9.6 < 15 < 16)
  for initdb in $(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V -r); do
    if [ -x "$initdb" ]; then dirname "$initdb"; return 0; fi
  done
  return 1
}

if find_bindir; then
  exit 0
fi

sh "$(dirname "$0")/../apt_install.sh" postgresql
if ! find_bindir; then
  echo "postgresql: installed, but no initdb under /usr/lib/postgresql/*/bin" >&2
  exit 1
fi
