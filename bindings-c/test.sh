#!/usr/bin/env bash
# The C binding's test command: builds libjwtgate (shared + static), checks
# the generated header is up to date, runs the C tests (shared vectors and
# API misuse) under valgrind, then the Nginx module tests against a real
# nginx, once as they are and once under valgrind together with every
# shared vector. Installs what it needs (cbindgen locally, apt packages when missing).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

need_apt=()
command -v cc >/dev/null && command -v c++ >/dev/null || need_apt+=(build-essential)
command -v make >/dev/null || need_apt+=(make)
command -v ps >/dev/null || need_apt+=(procps)
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v openssl >/dev/null || need_apt+=(openssl)  # signs DPoP proofs in the Nginx tests
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v python3 >/dev/null || need_apt+=(python3)
[[ -x /usr/sbin/nginx ]] || need_apt+=(nginx)
[[ -f /usr/share/nginx/src/conf_flags ]] || need_apt+=(nginx-dev)
compgen -G '/usr/lib/*/faketime/libfaketime.so.1' >/dev/null || need_apt+=(faketime)
if ((${#need_apt[@]})); then
    echo "== apt-get install ${need_apt[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get install -y -q "${need_apt[@]}" \
        || { "${sudo_cmd[@]}" apt-get update -q && "${sudo_cmd[@]}" apt-get install -y -q "${need_apt[@]}"; } \
        || { echo "FAILED: could not install ${need_apt[*]}" >&2; exit 1; }
fi

echo "== cargo build -p jwtgate-c --release"
cargo build -p jwtgate-c --release
cargo test -p jwtgate-c --quiet
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
export JWTGATE_TARGET_DIR="$target"

echo "== header"
"$here/check-header.sh"

out="$target/jwtgate-c-tests"
mkdir -p "$out"
# Only for pkg-config: exported, it would change cargo's build-script
# environment and rebuild the crypto crates on the next cargo call.
pc() { PKG_CONFIG_PATH="$target/release${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" pkg-config "$@"; }
cflags=(-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -pthread)

echo "== C tests (shared library, under valgrind)"
python3 "$root/tests/c/vectors_to_lines.py" "$root/tests/vectors" >"$out/vectors.txt"
# shellcheck disable=SC2046
cc "${cflags[@]}" -o "$out/test_vectors" "$root/tests/c/test_vectors.c" $(pc --cflags --libs jwtgate)
# shellcheck disable=SC2046
cc "${cflags[@]}" -o "$out/test_api" "$root/tests/c/test_api.c" $(pc --cflags --libs jwtgate)
valgrind_args=(-q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
valgrind "${valgrind_args[@]}" "$out/test_vectors" "$out/vectors.txt" | grep -v '^ok '
valgrind "${valgrind_args[@]}" "$out/test_api"

echo "== C tests: the shared gateway vectors through jwtgate_verifier_decide (under valgrind)"
python3 "$root/tests/c/gateway_to_lines.py" "$root/tests/gateway" >"$out/gateway.txt"
# shellcheck disable=SC2046
cc "${cflags[@]}" -o "$out/test_gateway" "$root/tests/c/test_gateway.c" $(pc --cflags --libs jwtgate)
valgrind "${valgrind_args[@]}" "$out/test_gateway" "$out/gateway.txt"

echo "== C tests (static library)"
# shellcheck disable=SC2046
cc "${cflags[@]}" -o "$out/test_api_static" "$root/tests/c/test_api.c" $(pc --cflags jwtgate) \
    "$target/release/libjwtgate.a" -lpthread -ldl -lm
"$out/test_api_static"

echo "== C++ (header compatibility)"
# shellcheck disable=SC2046
c++ -std=c++17 -Wall -Wextra -Werror -o "$out/header_cplusplus" "$root/tests/c/header_cplusplus.cc" \
    $(pc --cflags --libs jwtgate)
"$out/header_cplusplus" && echo "ok - the header compiles and links as C++"

echo "== Nginx module"
"$here/nginx/build.sh"
python3 "$here/nginx/test_nginx.py"

echo "== Nginx module under valgrind: the suite again, then every shared vector"
JWTGATE_NGINX_VALGRIND=1 python3 "$here/nginx/test_nginx.py"
JWTGATE_NGINX_VALGRIND=1 python3 "$here/nginx/test_nginx_vectors.py"

echo "C binding: all tests passed"
