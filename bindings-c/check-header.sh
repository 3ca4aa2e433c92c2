#!/usr/bin/env bash
# Regenerates the C header with the pinned cbindgen and fails when the
# checked-in include/jwtgate.h differs. With --write, updates it instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cbindgen_version="0.29.2"
cbindgen="$here/.tools/bin/cbindgen"
if ! "$cbindgen" --version 2>/dev/null | grep -qx "cbindgen $cbindgen_version"; then
    echo "installing cbindgen $cbindgen_version into bindings-c/.tools"
    cargo install --quiet --locked --root "$here/.tools" cbindgen --version "=$cbindgen_version"
fi
tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
"$cbindgen" --quiet --config "$here/cbindgen.toml" --crate jwtgate-c --output "$tmp" "$here"
if [[ "${1:-}" == "--write" ]]; then
    cp "$tmp" "$root/include/jwtgate.h"
    echo "wrote include/jwtgate.h"
elif ! diff -u "$root/include/jwtgate.h" "$tmp"; then
    echo "include/jwtgate.h is out of date: run bindings-c/check-header.sh --write" >&2
    exit 1
else
    echo "include/jwtgate.h is up to date"
fi
