#!/usr/bin/env bash
# The Node path of the demo: examples/issuer.js, an Express app that issues
# tokens for client credentials (POST /token) and protects GET /orders with
# jwtgate/express (the token must list "orders" in subscribedAPIs).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if ! why="$(../scripts/apt-need nodejs npm 2>&1)"; then
    echo "skipped the Node demo: it needs node and npm, and ${why##*$'\n'}"
    exit 0
  fi
fi
if [ ! -d node_modules/express ]; then
  echo "== npm install (builds the addon with cargo)"
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
PORT=$port node examples/issuer.js &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  node -e "fetch('$base/.well-known/jwks.json').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null && break
  sleep 0.1
done

call() {  # METHOD PATH [AUTHORIZATION]
  node -e '
    const [method, url, auth] = process.argv.slice(1)
    fetch(url, { method, headers: auth ? { authorization: auth } : {} }).then(async (r) => {
      const www = r.headers.get("www-authenticate")
      console.log(`${method} ${new URL(url).pathname} -> ${r.status} ${await r.text()}` + (www ? `\nWWW-Authenticate: ${www}` : ""))
    })' "$1" "$base$2" "${3:-}"
}
token_for() {
  node -e '
    fetch(process.argv[1], { method: "POST", headers: { authorization: "Basic " + Buffer.from(process.argv[2]).toString("base64") } })
      .then((r) => r.json()).then((j) => console.log(j.access_token ?? ""))' "$base/token" "$1"
}

printf '\n-- a client asks for a token with its credentials\n'
call POST /token "Basic $(printf shop:s3cret | base64)"
printf '\n-- wrong credentials\n'
call POST /token "Basic $(printf shop:guess | base64)"
printf '\n-- the shop client calls the protected API with its token\n'
call GET /orders "Bearer $(token_for shop:s3cret)"
printf '\n-- the stats client is not subscribed to orders (403: claim)\n'
call GET /orders "Bearer $(token_for stats:n0pe)"
printf '\n-- no token\n'
call GET /orders
