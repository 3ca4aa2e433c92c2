#!/usr/bin/env bash
# The Nginx path of the demo: Debian's nginx with ngx_http_jwtgate_module and
# demo/policy.json in front of a backend that echoes the identity headers it
# receives; curl sends good and bad tokens and shows each answer.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
# What this part needs, installed as bindings-c/test.sh does, or the part
# is skipped with one line (the demo goes on).
need=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || need+=(nginx)
[[ -f /usr/share/nginx/src/conf_flags ]] || need+=(nginx-dev)
command -v cc >/dev/null || need+=(build-essential)
command -v curl >/dev/null || need+=(curl)
if ((${#need[@]})) && ! why="$("$root/scripts/apt-need" "${need[@]}" 2>&1)"; then
    echo "skipped the Nginx demo: it needs ${need[*]}, and ${why##*$'\n'}"
    exit 0
fi
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"

cargo build --quiet --release -p jwtgate-c
cargo build --quiet --release -p jwtgate --features cli
target="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
module="$target/nginx-module/ngx_http_jwtgate_module.so"
[[ -f "$module" ]] || "$here/build.sh" >/dev/null
jwtgate="$target/release/jwtgate"

work="$(mktemp -d)"
nginx_pid="" echo_pid=""
cleanup() {
    [[ -n "$nginx_pid" ]] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
    [[ -n "$echo_pid" ]] && kill "$echo_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
# The workers run as an unprivileged user: give them a readable copy.
mkdir -p "$work/keys"
cp demo/policy.json "$work/"
cp demo/keys/*.pub.pem "$work/keys/"
chmod -R a+rX "$work"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
gw=$(port)
up=$(port)
PYTHONPATH="$root/tests/support/python" python3 -m jwtgate_testsupport.identity_echo "$up" &
echo_pid=$!

cat > "$work/nginx.conf" <<CONF
load_module $module;
worker_processes 1;
error_log $work/error.log;
pid $work/nginx.pid;
events { worker_connections 64; }
http {
    client_body_temp_path $work/body; proxy_temp_path $work/proxy; fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    access_log off;
    jwtgate_policy $work/policy.json;
    server {
        listen 127.0.0.1:$gw;
        jwtgate on;
        add_header X-Jwtgate-Code \$jwtgate_code always;
        location /orders/ { proxy_pass http://127.0.0.1:$up; }
        location /health { jwtgate off; proxy_pass http://127.0.0.1:$up; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$gw/health" && curl -s -o /dev/null "http://127.0.0.1:$up/" && break
    sleep 0.1
done

orders='"iss":"https://idp.demo.jwtgate/","aud":"api://orders"'
sign() { "$jwtgate" sign --alg RS256 --key demo/keys/orders-rs256.pem "$@"; }
good=$(sign --lifetime 300 "{$orders,\"sub\":\"ada\",\"dept\":\"IT\",\"roles\":[\"orders:read\"]}")
expired=$(sign --now $(($(date +%s) - 3600)) --lifetime 60 "{$orders,\"sub\":\"ada\",\"dept\":\"IT\",\"roles\":[\"orders:read\"]}")
hr=$(sign --lifetime 300 "{$orders,\"sub\":\"bob\",\"dept\":\"HR\",\"roles\":[\"orders:read\"]}")

ask() {
    local label=$1
    shift
    printf '\n-- %s\n' "$label"
    curl -s -D - "$@" | grep -iE '^(HTTP/|www-authenticate|x-jwtgate-code)|upstream saw' | tr -d '\r'
}
echo "nginx with ngx_http_jwtgate_module on http://127.0.0.1:$gw (policy demo/policy.json)"
ask "a valid token: the backend gets X-User and X-Dept" -H "Authorization: Bearer $good" "http://127.0.0.1:$gw/orders/42"
ask "the same token in a cookie" -H "Cookie: access_token=$good" "http://127.0.0.1:$gw/orders/42"
ask "a client trying to set X-User itself" -H "Authorization: Bearer $good" -H "X-User: mallory" "http://127.0.0.1:$gw/orders/42"
ask "no token" "http://127.0.0.1:$gw/orders/42"
ask "expired an hour ago" -H "Authorization: Bearer $expired" "http://127.0.0.1:$gw/orders/42"
ask "dept HR where the policy wants IT (403)" -H "Authorization: Bearer $hr" "http://127.0.0.1:$gw/orders/42"
ask "an exempt location (jwtgate off)" "http://127.0.0.1:$gw/health"
ask "a client setting X-User at the exempt location: removed there too" -H "X-User: mallory" "http://127.0.0.1:$gw/health"
