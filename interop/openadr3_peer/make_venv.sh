#!/usr/bin/env bash
# Create the separate virtual environment the OpenADR 3 interop tests run openadr3-client (ElaadNL) in.
#
# openadr3-client 2.4.2 needs Python >= 3.12, newer than the project's own floor, so it lives in .venv-openadr3
# at the repository root. The interpreter is looked for in this order: $OPENADR3_PYTHON, python3.12 on PATH,
# then pyenv's versions/3.12.* (in `pyenv root`, else $PYENV_ROOT or ~/.pyenv). Idempotent: an existing, working
# venv is left as it is.
# Usage: interop/openadr3_peer/make_venv.sh [VENV_DIR]
# Exit status: 0 ready, 2 no Python 3.12 found, anything else a failed install (e.g. offline).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.venv-openadr3}"
version="2.4.2"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$version" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
import openadr3_client.bl  # noqa: F401  (imports: the install is whole)
import openadr3_client.ven  # noqa: F401
sys.exit(0 if version("openadr3-client") == sys.argv[1] else 1)
PY
then
    echo "openadr3-client $version already installed in $venv"
    exit 0
fi

# True when $1 runs and is Python 3.12 or newer.
is_312() {
    [ -n "$1" ] && [ -x "$1" ] && "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null
}

python=""
if [ -n "${OPENADR3_PYTHON:-}" ]; then
    if ! is_312 "$OPENADR3_PYTHON"; then
        echo "OPENADR3_PYTHON=$OPENADR3_PYTHON is not a runnable Python >= 3.12" >&2
        exit 2
    fi
    python="$OPENADR3_PYTHON"
fi
if [ -z "$python" ] && command -v python3.12 >/dev/null 2>&1; then
    candidate="$(command -v python3.12)"
    # a pyenv shim is on PATH even when no 3.12 is installed; is_312 runs it to be sure
    if is_312 "$candidate"; then python="$candidate"; fi
fi
if [ -z "$python" ]; then
    # pyenv's own answer when it is on PATH, else where it keeps its versions by default
    pyenv_root="$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")"
    for candidate in $(ls -d "$pyenv_root"/versions/3.12.* 2>/dev/null | sort -V -r); do
        if is_312 "$candidate/bin/python3.12"; then python="$candidate/bin/python3.12"; break; fi
    done
fi
if [ -z "$python" ]; then
    echo "no Python 3.12 for openadr3-client: looked for \$OPENADR3_PYTHON, python3.12 on PATH and" \
        "\$(pyenv root)/versions/3.12.*; install one (e.g. pyenv install 3.12) or set OPENADR3_PYTHON=/path/to/python3.12" >&2
    exit 2
fi

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "openadr3-client==$version"
"$venv/bin/python" -c "import openadr3_client.bl, openadr3_client.ven" >/dev/null
echo "openadr3-client $version installed in $venv (with $python)"
