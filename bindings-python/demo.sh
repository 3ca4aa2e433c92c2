#!/usr/bin/env bash
# The Python side of scripts/demo: a FastAPI service behind jwtgate on
# 127.0.0.1, answering real requests with the demo policy and keys.
set -euo pipefail
# A virtualenv needs python3 with venv and ensurepip (Debian: python3-venv).
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    if ! why="$("$(dirname "${BASH_SOURCE[0]}")/../scripts/apt-need" python3 python3-venv 2>&1)"; then
        echo "skipped the Python demo: it needs python3 with venv, and ${why##*$'\n'}"
        exit 0
    fi
fi
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$VENV/bin/python" "$HERE/examples/demo.py"
