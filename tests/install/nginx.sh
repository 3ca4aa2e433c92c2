#!/usr/bin/env bash
# The Debian package from dist/ installed with apt-get (which checks its
# nginx ABI dependency against the nginx installed here), then nginx run
# with the README's Nginx configuration, as written, loading the module
# through the modules-enabled snippet the package set up: 200 with the
# claim header upstream, 401 and 403 otherwise. The package is purged at
# the end, whatever happened, so nothing of it stays for other tests.
# Needs root and Debian's nginx; skipped with one line otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deb="$(ls "$DIST"/libnginx-mod-http-jwtgate_"$VERSION"-1_*.deb 2>/dev/null | head -1 || true)"
need "${deb:-$DIST/libnginx-mod-http-jwtgate_$VERSION-1_amd64.deb}"
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null || [[ ! -x /usr/sbin/nginx ]]; then
    echo "SKIPPED: the .deb install test needs root, apt-get and Debian's nginx"
    exit 0
fi
pkg=libnginx-mod-http-jwtgate
snippet=/etc/nginx/modules-enabled/50-mod-http-jwtgate.conf
dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'installed' \
    && fail "$pkg is already installed here: this test installs and purges it itself"
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 "$@"; }
CLEANUP+=("apt_get purge $pkg >/dev/null 2>&1")
install_deb() { apt_get install "$deb" >"$WORK/apt.log" 2>&1 || { cat "$WORK/apt.log" >&2; fail "apt-get install $deb"; }; }
timed "apt-get install of the .deb" install_deb
[[ -f /usr/lib/nginx/modules/ngx_http_jwtgate_module.so ]] || fail "the module file is not in /usr/lib/nginx/modules"
[[ "$(readlink "$snippet")" == /usr/share/nginx/modules-available/mod-http-jwtgate.conf ]] || fail "$snippet is not enabled"
ok "apt-get install $(basename "$deb"): module in /usr/lib/nginx/modules, enabled in modules-enabled"

# An upstream that echoes the identity header it receives.
up="$(free_port)"
PYTHONPATH="$ROOT/tests/support/python" python3 -m jwtgate_testsupport.identity_echo "$up" X-User &
PIDS+=($!)
wait_port "$up" "${PIDS[-1]}"

# The README's configuration: its load_module line is what the package's
# snippet holds, so the snippet is included in its place; the policy path
# and upstream are this test's, and the scaffolding a private nginx needs
# (pid, logs, temp paths, a listen address) is added around it.
conf="$(README_BLOCK Nginx nginx 0)"
grep -q '^load_module modules/ngx_http_jwtgate_module.so;' <<<"$conf" || fail "the README's Nginx block lost its load_module line"
grep -qx 'load_module modules/ngx_http_jwtgate_module.so;' "$snippet" || fail "$snippet holds $(cat "$snippet")"
gw="$(free_port)"
mkdir -p "$WORK/nginx"
# The README sets the claim header in nginx: a policy that forwards nothing.
python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); [i.pop("forward") for i in p["issuers"]]; json.dump(p, open(sys.argv[2], "w"))' \
    "$WORK/policy.json" "$WORK/nginx/policy.json"
chmod 0644 "$WORK/nginx/policy.json"
chmod 0777 "$WORK/nginx"
{
    echo "include $snippet;"
    echo "pid $WORK/nginx/nginx.pid;"
    echo "error_log $WORK/nginx/error.log;"
    echo "events { worker_connections 64; }"
    grep -v '^load_module' <<<"$conf" \
        | sed -e "s|/etc/jwtgate/policy.json|$WORK/nginx/policy.json|" \
              -e "s|http://backend|http://127.0.0.1:$up|" \
              -e "s|^http {|http {\n    access_log off; client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;\n    fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;|" \
              -e "s|^    server {|    server {\n        listen 127.0.0.1:$gw;|"
} >"$WORK/nginx/nginx.conf"
/usr/sbin/nginx -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$gw" "${PIDS[-1]}"
base="http://127.0.0.1:$gw"
good="$(token '"subscriptions":["orders"]')"
other="$(token '"subscriptions":["billing"]')"
expect 200 'upstream saw /api/orders: X-User=ada' -H "Authorization: Bearer $good" -H 'X-User: mallory' "$base/api/orders"
expect 401 missing_token "$base/api/orders"
expect 401 signature -H "Authorization: Bearer ${good%?????}AAAAA" "$base/api/orders"
expect 403 claim -H "Authorization: Bearer $other" "$base/api/orders"
ok "nginx with the README's configuration: 200 with X-User from the token, 401 without a token or with a forged one, 403 on the claim rule"
