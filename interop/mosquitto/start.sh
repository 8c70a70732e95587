#!/usr/bin/env sh
# Run a throw-away Mosquitto broker on 127.0.0.1 in the foreground (Ctrl-C stops it):
#
#   interop/mosquitto/start.sh          # a free port, printed first: "mqtt://127.0.0.1:PORT"
#   interop/mosquitto/start.sh 1883     # that port
#
# The generated config (loopback listener, anonymous access, no persistence, log to a file) and the log live
# in a temporary directory that is removed on exit. Installs mosquitto first if needed (install.sh).
set -eu

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
exec python3 -m interop.mosquitto.broker ${1:+--port "$1"}
