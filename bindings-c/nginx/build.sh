#!/usr/bin/env bash
# Builds ngx_http_jwtgate_module.so against Debian's nginx-dev sources with
# the ./configure flags Debian built its nginx with (conf_flags, which
# includes --with-compat), the way Debian's own libnginx-mod-* packages are
# built. Output: target/nginx-module/ngx_http_jwtgate_module.so.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src=/usr/share/nginx/src
if [[ ! -f "$src/conf_flags" ]]; then
    echo "FAILED: $src/conf_flags missing: apt-get install nginx-dev" >&2
    exit 1
fi
cargo build --quiet -p jwtgate-c --release --manifest-path "$root/Cargo.toml"
target="${JWTGATE_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps --manifest-path "$root/Cargo.toml" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"

out="$target/nginx-module"
rm -rf "$out/nginx-src"
mkdir -p "$out"
cp -r "$src" "$out/nginx-src"
# shellcheck disable=SC1091
source "$src/conf_flags"   # defines NGX_CONF_FLAGS
cd "$out/nginx-src"
JWTGATE_LIBDIR="$target/release" ./configure "${NGX_CONF_FLAGS[@]}" \
    --with-cc-opt="-g -O2 -fPIC -fstack-protector-strong -Wformat -Werror=format-security -D_FORTIFY_SOURCE=2" \
    --with-ld-opt="-Wl,-z,relro -Wl,-z,now -fPIC" \
    --add-dynamic-module="$here" >"$out/configure.log" 2>&1 \
    || { tail -20 "$out/configure.log"; exit 1; }
make -j2 -f objs/Makefile modules >"$out/make.log" 2>&1 || { tail -40 "$out/make.log"; exit 1; }
cp objs/ngx_http_jwtgate_module.so "$out/"
echo "built $out/ngx_http_jwtgate_module.so"
