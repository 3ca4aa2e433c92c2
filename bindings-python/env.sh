# Sourced by test.sh and demo.sh: a virtualenv inside the repo
# (bindings-python/.venv, git-ignored) with the pinned test dependencies and
# the extension built from this checkout. Idempotent; needs python3 and Rust.

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PYTHON="${PYTHON:-python3}"
# Keep pip's cache inside the virtualenv, not in $HOME.
export PIP_CACHE_DIR="$VENV/pip-cache"
export PIP_DISABLE_PIP_VERSION_CHECK=1

if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

# Reinstall the dependencies only when the pinned list changes.
STAMP="$VENV/.requirements.sha256"
WANT="$(sha256sum "$HERE/tests/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
    echo "== installing test dependencies"
    "$VENV/bin/python" -m pip install --quiet -r "$HERE/tests/requirements.txt"
    echo "$WANT" > "$STAMP"
fi

echo "== building the extension (maturin develop --release)"
# cargo reuses the workspace's target/ directory, so rebuilds are incremental.
# A failed build must stop here, not leave an older extension to be tested.
if ! BUILD_LOG="$(VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop --release --quiet --manifest-path "$HERE/Cargo.toml" 2>&1)"; then
    printf '%s\n' "$BUILD_LOG" >&2
    echo "FAILED: maturin develop" >&2
    return 1 2>/dev/null || exit 1
fi
printf '%s\n' "$BUILD_LOG" | grep -v "^Ignoring " || true
