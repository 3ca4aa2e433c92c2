# Sourced by scripts/package and the packaging/*.sh steps: paths, the
# version, the pinned packaging tools (packaging/requirements.txt, in a
# virtualenv under .tools/packaging) and the targets they build for.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${JWTGATE_DIST:-$ROOT/dist}"
# One cargo target directory for the tests and every packaging build.
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
VERSION="$(cargo metadata --format-version 1 --no-deps --manifest-path "$ROOT/Cargo.toml" \
    | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "jwtgate"))')"
# The glibc every shipped Linux binary is linked against: 2.17 is manylinux2014.
GLIBC_FLOOR=2.17
ZIG_TARGET="x86_64-unknown-linux-gnu.$GLIBC_FLOOR"
RUST_TARGET=x86_64-unknown-linux-gnu
# Where cargo-zigbuild puts what it builds for $ZIG_TARGET.
ZIG_OUT="$TARGET_DIR/$RUST_TARGET/release"
STAGE="$TARGET_DIR/package-stage"

TOOLS="$ROOT/.tools/packaging"
if ! cmp -s "$ROOT/packaging/requirements.txt" "$TOOLS/requirements.txt" 2>/dev/null; then
    echo "== installing the packaging tools (packaging/requirements.txt) into .tools/packaging"
    rm -rf "$TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check -r "$ROOT/packaging/requirements.txt"
    cp "$ROOT/packaging/requirements.txt" "$TOOLS/requirements.txt"
fi
export PATH="$TOOLS/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }
