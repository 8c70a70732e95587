#!/usr/bin/env sh
# Install anvil (the Foundry Ethereum dev node) from the npm registry into <repo>/.cache/anvil and print the
# path of its binary. Idempotent: does nothing when the pinned version is already there.
#
#   interop/anvil/install.sh            # prints e.g. .../.cache/anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
#   ANVIL_VERSION=1.7.1 interop/anvil/install.sh
#
# The npm package @foundry-rs/anvil carries the binary in a per-platform optional dependency
# (@foundry-rs/anvil-<os>-<arch>, os: linux|darwin, arch: amd64|arm64); its bin.mjs wrapper only spawns that
# binary, and its postinstall script is not needed (so --ignore-scripts). We run the platform binary directly.
# Exit status 1 (nothing printed on stdout) when npm is missing or the registry cannot be reached.
set -eu

VERSION="${ANVIL_VERSION:-1.7.1}"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX="$ROOT/.cache/anvil"

case "$(uname -s)" in
  Linux) os=linux ;;
  Darwin) os=darwin ;;
  *) echo "anvil: unsupported operating system $(uname -s)" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "anvil: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
BIN="$PREFIX/node_modules/@foundry-rs/anvil-$os-$arch/bin/anvil"

installed_version() {
  # "anvil Version: 1.7.1" -> 1.7.1
  "$BIN" --version 2>/dev/null | sed -n 's/^anvil Version: \([^ ]*\).*/\1/p' | head -n 1
}

if [ -x "$BIN" ] && [ "$(installed_version)" = "$VERSION" ]; then
  echo "$BIN"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "anvil: npm not found (Node.js >= 20 is needed to install @foundry-rs/anvil)" >&2
  exit 1
fi

mkdir -p "$PREFIX"
if ! npm install --prefix "$PREFIX" --no-audit --no-fund --ignore-scripts --loglevel=error \
    "@foundry-rs/anvil@$VERSION" >&2; then
  echo "anvil: npm install @foundry-rs/anvil@$VERSION failed (npm registry unreachable?)" >&2
  exit 1
fi

if [ ! -x "$BIN" ] || [ "$(installed_version)" != "$VERSION" ]; then
  echo "anvil: installed, but no working binary at $BIN" >&2
  exit 1
fi
echo "$BIN"
