#!/usr/bin/env bash
# The C library, into dist/jwtgate-c-<version>-x86_64-linux-gnu.tar.gz:
#   lib/libjwtgate.so.<version>  SONAME libjwtgate.so.<major>.<minor> (0.x
#                                releases break at the minor, as cargo-c names them),
#                                linked against glibc $GLIBC_FLOOR (zig), no rpath
#   lib/libjwtgate.so.<major>.<minor>, lib/libjwtgate.so  the usual links
#   lib/libjwtgate.a, include/jwtgate.h, lib/pkgconfig/jwtgate.pc.in
#   install.sh                   copies them into a prefix and writes jwtgate.pc for it
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
IFS=. read -r major minor _ <<<"$VERSION"
soname="libjwtgate.so.$major.$minor"
name="jwtgate-c-$VERSION-x86_64-linux-gnu"

step "cargo zigbuild rustc --release --target $ZIG_TARGET -p jwtgate-c (soname $soname)"
# `cargo rustc` passes the linker flag to this crate only: its dependencies
# stay the ones the npm build already compiled.
cargo-zigbuild rustc --quiet --release --target "$ZIG_TARGET" -p jwtgate-c --lib \
    --crate-type cdylib,staticlib -- -C "link-arg=-Wl,-soname,$soname"

out="$STAGE/c/$name"
rm -rf "$STAGE/c"
mkdir -p "$out/lib/pkgconfig" "$out/include"
cp "$ZIG_OUT/libjwtgate.so" "$out/lib/libjwtgate.so.$VERSION"
ln -s "libjwtgate.so.$VERSION" "$out/lib/$soname"
ln -s "$soname" "$out/lib/libjwtgate.so"
cp "$ZIG_OUT/libjwtgate.a" "$out/lib/"
cp "$ROOT/include/jwtgate.h" "$out/include/"
sed "s|@VERSION@|$VERSION|" "$ROOT/packaging/c/jwtgate.pc.in" >"$out/lib/pkgconfig/jwtgate.pc.in"
cp "$ROOT/packaging/c/install.sh" "$ROOT"/LICENSE-* "$out/"
cp "$ROOT/bindings-c/README.md" "$out/README.md"

got="$(readelf -d "$out/lib/libjwtgate.so.$VERSION")"
grep -q "Library soname: \[$soname\]" <<<"$got" || { echo "FAILED: libjwtgate.so has no SONAME $soname" >&2; exit 1; }
if grep -qE 'R(UN)?PATH' <<<"$got"; then echo "FAILED: libjwtgate.so carries an rpath" >&2; exit 1; fi
mkdir -p "$DIST"
tar -C "$STAGE/c" --owner=0 --group=0 --numeric-owner -czf "$DIST/$name.tar.gz" "$name"
echo "dist/$name.tar.gz"
