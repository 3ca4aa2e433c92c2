#!/usr/bin/env bash
# The npm tarballs from dist/ in a new project with no Rust toolchain: the
# README's Express quick start, as written, answers real requests on
# 127.0.0.1 through the prebuilt @jwtgate/linux-x64-gnu; and without the
# platform package the install fails with one line naming the platform and
# what to install.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
main_tgz="$DIST/jwtgate-$VERSION.tgz"
platform_tgz="$DIST/jwtgate-linux-x64-gnu-$VERSION.tgz"
need "$main_tgz"
need "$platform_tgz"
express_version="$(node -p 'require(process.argv[1]).packages["node_modules/express"].version' "$ROOT/bindings-node/package-lock.json")"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

app="$WORK/app"
mkdir -p "$app"
echo '{"name": "install-test", "version": "1.0.0", "private": true}' >"$app/package.json"
(cd "$app" && npm install --silent "express@$express_version" >/dev/null)
(cd "$app" && timed "npm install of the two tarballs" npm install --silent "$platform_tgz" "$main_tgz")
[[ -f "$app/node_modules/@jwtgate/linux-x64-gnu/jwtgate.linux-x64-gnu.node" ]] || fail "@jwtgate/linux-x64-gnu has no addon"
compgen -G "$app/node_modules/jwtgate/*.node" >/dev/null && fail "jwtgate carries its own .node: the loader should use @jwtgate/linux-x64-gnu"
loaded="$(cd "$app" && node -e 'require("jwtgate"); console.log(Object.keys(require.cache).find((f) => f.endsWith(".node")))')"
[[ "$loaded" == "$app/node_modules/@jwtgate/linux-x64-gnu/jwtgate.linux-x64-gnu.node" ]] || fail "the addon loaded from $loaded"
ok "npm install: jwtgate loads the prebuilt @jwtgate/linux-x64-gnu"

# The README's Express quick start as written; only the port differs.
README_BLOCK 'Node.js (Express, Fastify)' js 0 >"$app/app.js"
grep -q '^app.listen(3000)$' "$app/app.js" || fail "the README's Express example no longer ends with app.listen(3000)"
sed -i 's/^app.listen(3000)$/app.listen(Number(process.env.PORT), "127.0.0.1")/' "$app/app.js"
cp "$WORK/policy.json" "$app/policy.json"
port="$(free_port)"
(cd "$app" && PORT=$port exec node app.js) &
PIDS+=($!)
wait_port "$port" "${PIDS[-1]}"
base="http://127.0.0.1:$port"
good="$(token '"subscribedAPIs":["orders"],"scope":"orders:write"')"
unsubscribed="$(token '"subscribedAPIs":["billing"]')"
expired="$(LIFETIME=60 token '"subscribedAPIs":["orders"]' --now $(($(date +%s) - 3600)))"
expect 200 ok "$base/health"
expect 401 missing_token "$base/orders"
expect 200 '{"user":"ada","forwarded":"ada"}' -H "Authorization: Bearer $good" -H 'X-User: mallory' "$base/orders"
expect 403 claim -H "Authorization: Bearer $unsubscribed" "$base/orders"
expect 401 expired -H "Authorization: Bearer $expired" "$base/orders"
expect 204 '' -X DELETE -H "Authorization: Bearer $good" "$base/orders/7"
expect 403 'scope orders:write is required' -X DELETE -H "Authorization: Bearer $unsubscribed" "$base/orders/7"
ok "the README's Express app: 200 with the forwarded user, 401 without or with an expired token, 403 on claims and scopes"

# The README's decide block as the handler of a plain http server: what it
# leaves of the request is what an upstream would get.
{
    echo "const http = require('node:http')"
    echo "http.createServer((req, res) => {"
    README_BLOCK 'Node.js (Express, Fastify)' js 1
    echo "  if (d.allow) res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ user: req.headers['x-user'] ?? null, url: req.url }))"
    echo "}).listen(Number(process.env.PORT), '127.0.0.1')"
} >"$app/decide.js"
port="$(free_port)"
(cd "$app" && PORT=$port exec node decide.js) &
PIDS+=($!)
wait_port "$port" "${PIDS[-1]}"
base="http://127.0.0.1:$port"
read_token="$(token '"subscribedAPIs":["orders"],"scope":"orders:read"')"
expect 200 '{"user":"ada","url":"/orders"}' -H "Authorization: Bearer $read_token" -H 'X-User: mallory' "$base/orders"
expect 401 missing_token "$base/orders"
expect 403 'orders:read' -H "Authorization: Bearer $unsubscribed" "$base/orders"
ok "the README's decide block in a plain http server: 200 with a token that has orders:read, 401 without one, 403 without the scope"

# No platform package and no cargo: the install script says what to do.
bare="$WORK/bare"
mkdir -p "$bare"
echo '{"name": "bare", "version": "1.0.0", "private": true, "allowScripts": {"jwtgate": true}}' >"$bare/package.json"
if (cd "$bare" && npm install --omit=optional "$main_tgz" >"$WORK/bare.log" 2>&1); then
    fail "npm install without @jwtgate/linux-x64-gnu and without cargo succeeded"
fi
line="$(grep -o 'jwtgate: no prebuilt binary for linux-x64-gnu.*' "$WORK/bare.log" || true)"
[[ "$line" == *"no cargo on the PATH"*"https://rustup.rs"* ]] || { cat "$WORK/bare.log" >&2; fail "the failed install does not say what to install"; }
ok "without a prebuilt binary or cargo, npm install fails with: $line"
