#!/usr/bin/env bash
# The Python side of scripts/demo: a FastAPI service behind jwtgate on
# 127.0.0.1, answering real requests with the demo policy and keys.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$VENV/bin/python" "$HERE/examples/demo.py"
