#!/usr/bin/env bash
# Install the official IOTA Rebased TypeScript SDK (version pinned in package.json) into
# <repo>/.cache/iota-vectors and write the golden vectors to <repo>/.cache/iota-vectors/vectors.json.
# Idempotent: npm install is skipped while the installed package.json matches ours; vectors are
# regenerated when missing or older than the script or package.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
prefix="$repo/.cache/iota-vectors"
out="$prefix/vectors.json"

command -v node >/dev/null || { echo "install.sh: node not found" >&2; exit 3; }
command -v npm >/dev/null || { echo "install.sh: npm not found" >&2; exit 3; }

mkdir -p "$prefix"
if ! cmp -s "$here/package.json" "$prefix/package.json" || [ ! -d "$prefix/node_modules/@iota/iota-sdk" ]; then
  cp "$here/package.json" "$prefix/package.json"
  npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error >&2
fi

if [ ! -s "$out" ] || [ "$here/make_vectors.mjs" -nt "$out" ] || [ "$prefix/package.json" -nt "$out" ]; then
  IOTA_VECTORS_PREFIX="$prefix" node "$here/make_vectors.mjs" "$out.tmp"
  mv "$out.tmp" "$out"
fi
echo "$out"
