#!/usr/bin/env bash
# The jwtgate command as one self-contained file (with its man pages and
# bash, zsh and fish completions beside it), into
# dist/jwtgate-cli-<version>-x86_64-linux-gnu.tar.gz: statically linked,
# glibc included (static-pie), so it runs on any x86_64 Linux kernel.
# The caveat of a static glibc: name resolution (getaddrinfo, for a
# jwks_uri or discovery host name) loads the NSS modules of the machine it
# runs on, which must come from a compatible glibc; numeric addresses,
# /etc/hosts and DNS through the built-in resolver are unaffected.
# Zig cannot link glibc statically, so this build uses the host toolchain
# in its own directory under the target directory (other RUSTFLAGS).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
step "cargo build --release -p jwtgate --features cli (+crt-static)"
export CARGO_TARGET_DIR="$TARGET_DIR/cli-static"
RUSTFLAGS="-C target-feature=+crt-static" \
    cargo build --quiet --release --target "$RUST_TARGET" -p jwtgate --features cli
bin="$CARGO_TARGET_DIR/$RUST_TARGET/release/jwtgate"
# Static: no program interpreter, no shared library needed.
if readelf -l "$bin" | grep -q INTERP || readelf -d "$bin" | grep -q NEEDED; then
    echo "FAILED: $bin is not statically linked: $(readelf -d "$bin" | grep NEEDED)" >&2
    exit 1
fi
name="jwtgate-cli-$VERSION-x86_64-linux-gnu"
out="$STAGE/cli/$name"
rm -rf "$STAGE/cli"
mkdir -p "$out" "$DIST"
cp "$bin" "$out/jwtgate"
cp "$ROOT"/LICENSE-* "$out/"
"$out/jwtgate" --version >/dev/null
# Man pages and shell completions, made by the command itself.
"$out/jwtgate" man --out-dir "$out/man/man1"
mkdir -p "$out/completions"
"$out/jwtgate" completions bash >"$out/completions/jwtgate.bash"
"$out/jwtgate" completions zsh >"$out/completions/_jwtgate"
"$out/jwtgate" completions fish >"$out/completions/jwtgate.fish"
tar -C "$STAGE/cli" --owner=0 --group=0 --numeric-owner -czf "$DIST/$name.tar.gz" "$name"
echo "dist/$name.tar.gz"
