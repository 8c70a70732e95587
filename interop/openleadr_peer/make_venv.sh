#!/usr/bin/env bash
# Create the separate virtual environment the openleadr interop tests run the peer in.
#
# openleadr 0.5.36 pins old signxml/xmltodict versions that clash with transactive's own dependencies, so it
# lives in .venv-openleadr at the repository root. Idempotent: an existing, working venv is left as it is.
# Usage: interop/openleadr_peer/make_venv.sh [VENV_DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-$root/.venv-openleadr}"
version="0.5.36"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$version" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
import openleadr.messaging  # noqa: F401  (imports: the install is whole)
sys.exit(0 if version("openleadr") == sys.argv[1] else 1)
PY
then
    echo "openleadr $version already installed in $venv"
    exit 0
fi

python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "openleadr==$version"
"$venv/bin/python" -c "import openleadr.messaging" >/dev/null
echo "openleadr $version installed in $venv"
