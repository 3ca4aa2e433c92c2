#!/usr/bin/env bash
# Runs the Python benchmark and writes benches/python/RESULTS.md.
# Sets up its own virtualenv (benches/python/.venv), builds jwtgate into it
# and installs wrk for the end-to-end figure. Extra arguments go to bench.py;
# with --binding-cost only the binding's cost over the core is measured (printed).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$HERE/.venv"
export PIP_CACHE_DIR="$VENV/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1

[ -x "$VENV/bin/python" ] || "${PYTHON:-python3}" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet -r "$HERE/requirements.txt"
VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop --release --quiet --manifest-path "$REPO/bindings-python/Cargo.toml"

cd "$HERE"
case " $* " in
*" --binding-cost "*) exec "$VENV/bin/python" bench.py "$@" ;; # no wrk, no RESULTS.md
esac

E2E=()
if command -v wrk >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }; then
    E2E=(--e2e)
else
    echo "wrk is not available: skipping the end-to-end figure" >&2
fi

"$VENV/bin/python" bench.py "${E2E[@]}" --out RESULTS.md "$@"
