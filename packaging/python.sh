#!/usr/bin/env bash
# The Python distributions, into dist/:
#   jwtgate-<version>-cp39-abi3-manylinux_2_17_x86_64.whl  one wheel for CPython 3.9+,
#       linked against glibc $GLIBC_FLOOR by maturin with zig, checked by auditwheel
#       (JWTGATE_WHEEL_TARGETS, set by scripts/package --all, adds other targets)
#   jwtgate-<version>.tar.gz  the sdist, checked by building a wheel from it
#       (skipped with JWTGATE_SKIP_SDIST_CHECK=1: it compiles the crate again)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
manifest="$ROOT/bindings-python/Cargo.toml"
mkdir -p "$DIST"
rm -f "$DIST"/jwtgate-*.whl "$DIST/jwtgate-$VERSION.tar.gz"

step "maturin build --zig --compatibility manylinux2014 (glibc $GLIBC_FLOOR)"
# maturin links with the cargo-zigbuild library it embeds (0.24.0, the
# version packaging/requirements.txt pins), whose wrapper scripts are named
# after the executable that writes them; cargo rebuilds every crate of a
# target whose linker path changes. Naming cargo-zigbuild's executable (its
# CARGO_BIN_EXE_cargo-zigbuild override) gives maturin the very wrappers
# packaging/npm.sh and c.sh use, so all three share one build of the
# dependencies in the shared target directory.
zig_exe=("CARGO_BIN_EXE_cargo-zigbuild=$TOOLS/bin/cargo-zigbuild")
for target in ${JWTGATE_WHEEL_TARGETS:-$RUST_TARGET}; do
    case "$target" in
        *-musl) compat=musllinux_1_2 ;;
        *) compat=manylinux2014 ;;
    esac
    env "${zig_exe[@]}" maturin build --quiet --release --zig --compatibility "$compat" \
        --target "$target" -m "$manifest" --out "$DIST"
done
wheel="$(ls "$DIST"/jwtgate-"$VERSION"-cp39-abi3-manylinux*_x86_64.whl)"
report="$(auditwheel show "$wheel")"
tag="manylinux_${GLIBC_FLOOR/./_}_x86_64"
if ! grep -q "\"$tag\"" <<<"$report"; then
    printf '%s\n' "$report" >&2
    echo "FAILED: auditwheel does not find $wheel consistent with $tag" >&2
    exit 1
fi
echo "auditwheel: $(basename "$wheel") is consistent with $tag"

step "maturin sdist"
maturin sdist -m "$manifest" --out "$DIST" >/dev/null
sdist="$DIST/jwtgate-$VERSION.tar.gz"
[[ -f "$sdist" ]] || { echo "FAILED: no $sdist" >&2; exit 1; }
echo "dist/$(basename "$sdist")"
stamp="$STAGE/sdist-check.sha256"
sum="$(sha256sum "$sdist" | cut -d' ' -f1)"
if [[ "${JWTGATE_SKIP_SDIST_CHECK:-}" == 1 ]]; then
    echo "sdist check skipped (JWTGATE_SKIP_SDIST_CHECK=1)"
elif [[ "$(cat "$stamp" 2>/dev/null || true)" == "$sum" ]]; then
    echo "the sdist is byte for byte the one whose wheel build passed last time"
else
    step "a wheel from the sdist alone"
    # Unpacked with fresh file times (the sdist's are fixed, and cargo judges
    # freshness by time) at the same place each time, and built as pip would
    # with the shared target directory: only the jwtgate crates compile again.
    scratch="$STAGE/sdist-check"
    rm -rf "$scratch" "$stamp"
    mkdir -p "$scratch"
    tar -xzf "$sdist" -C "$scratch" --touch
    CARGO_TARGET_DIR="$TARGET_DIR" "$TOOLS/bin/python" -m pip wheel --quiet --no-deps --no-build-isolation \
        --disable-pip-version-check -w "$scratch/wheel" "$scratch/jwtgate-$VERSION"
    ls "$scratch"/wheel/jwtgate-"$VERSION"-*.whl >/dev/null
    echo "the sdist builds: $(basename "$scratch"/wheel/*.whl)"
    echo "$sum" >"$stamp"
fi
