#!/usr/bin/env bash
# Builds the jwtgate Python extension into a virtualenv inside the repo and
# runs the pytest suite. Works from any directory on a fresh clone (needs
# python3 with venv and a Rust toolchain); safe to run again.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

echo "== pytest"
cd "$HERE"
set +e
"$VENV/bin/python" -m pytest -ra "$@" tests
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
