#!/usr/bin/env bash
# Builds the jwtgate Python extension into a virtualenv inside the repo and
# runs the pytest suite. Works from any directory on a fresh clone (needs
# python3 with venv and a Rust toolchain); safe to run again.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
# Keep pip's cache inside the (git-ignored) virtualenv, not in $HOME.
export PIP_CACHE_DIR="$VENV/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall the test dependencies only when the pinned list changes.
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/tests/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
    echo "== installing test dependencies"
    "$VENV/bin/python" -m pip install --quiet -r "$HERE/tests/requirements.txt"
    echo "$WANT" > "$STAMP"
fi

echo "== building the extension (maturin develop --release)"
# cargo reuses the workspace's target/ directory, so rebuilds are incremental.
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop --release --quiet --manifest-path "$HERE/Cargo.toml"

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
