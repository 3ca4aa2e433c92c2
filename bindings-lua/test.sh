#!/usr/bin/env bash
# The Lua binding's test command: builds libjwtgate (release) when needed,
# checks the FFI declarations against include/jwtgate.h and the library,
# then runs lua-resty-jwtgate in real nginx processes on 127.0.0.1 (the
# shared token and gateway vectors, every reject code, forwarded-header stripping,
# DPoP vectors, a rotating JWKS endpoint, keys that hang). Installs what it
# needs: Debian's nginx with libnginx-mod-http-lua and lua-resty-core, the
# luajit interpreter, and libfaketime for the vectors with a pinned clock.
#
# Debian 12 ships two LuaJITs that cannot be installed together: `luajit`
# (with libluajit-5.1-2) and OpenResty's branch (`luajit2`, with
# libluajit2-5.1-2), which libnginx-mod-http-lua needs. So the interpreter
# installed here is `luajit2`: the same LuaJIT nginx runs.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

apt_install() {
    echo "== apt-get install $*"
    local sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get install -y -q "$@" \
        || { "${sudo_cmd[@]}" apt-get update -q && "${sudo_cmd[@]}" apt-get install -y -q "$@"; } \
        || { echo "FAILED: could not install $*" >&2; exit 1; }
}

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3)
[[ -x /usr/sbin/nginx ]] || need_apt+=(nginx)
[[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]] || need_apt+=(libnginx-mod-http-lua)
[[ -f /usr/share/lua/5.1/resty/core.lua ]] || need_apt+=(lua-resty-core)
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || need_apt+=(faketime)
if ((${#need_apt[@]})); then
    apt_install "${need_apt[@]}"
fi
# Only now: installing libnginx-mod-http-lua removes Debian's other luajit.
command -v luajit >/dev/null || apt_install luajit2

echo "== cargo build -p jwtgate-c --release"
cargo build -p jwtgate-c --release --quiet
target="${JWTGATE_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
export JWTGATE_TARGET_DIR="$target"

echo "== FFI declarations against include/jwtgate.h and libjwtgate"
luajit "$here/tests/check_ffi.lua" "$root/include/jwtgate.h" "$target/release/libjwtgate.so"

echo "== Lua sources compile (module and the Kong / APISIX examples)"
while IFS= read -r -d '' file; do
    luajit -b "$file" /dev/null || { echo "FAILED: $file does not compile" >&2; exit 1; }
done < <(find "$here/lib" "$here/examples" -name '*.lua' -print0)

echo "== lua-resty-jwtgate in nginx"
(cd "$here/tests" && python3 -m unittest -v test_layout test_readme test_access test_vectors test_gateway_vectors test_dpop test_nonce test_keys)

echo "Lua binding: all tests passed"
