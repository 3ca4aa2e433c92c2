# Sourced by the install tests (scripts/test-install): the packages in dist/,
# a PATH with no cargo or rustc on it, a fresh scratch directory removed at
# exit, the jwtgate command from dist/ and a key, policy and tokens made
# with it, and small helpers for servers on 127.0.0.1.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIST="${JWTGATE_DIST:-$ROOT/dist}"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/Cargo.toml" | head -1)"
README_BLOCK() { python3 "$ROOT/tests/install/readme.py" "$@"; }

# No Rust toolchain: drop every PATH entry holding cargo or rustc.
clean_path=""
IFS=: read -ra entries <<<"$PATH"
for dir in "${entries[@]}"; do
    [[ -n "$dir" && ! -x "$dir/cargo" && ! -x "$dir/rustc" ]] && clean_path+="${clean_path:+:}$dir"
done
export PATH="$clean_path" CARGO_HOME=/nonexistent RUSTUP_HOME=/nonexistent
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
    echo "FAILED: cargo or rustc is still on the PATH" >&2
    exit 1
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/jwtgate-install-XXXXXX")"
chmod 0755 "$WORK"
PIDS=()
CLEANUP=()
cleanup() {
    local pid action
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true; done
    for action in "${CLEANUP[@]}"; do eval "$action" || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

need() { [[ -e "$1" ]] || { echo "FAILED: $1 is missing: run scripts/package first" >&2; exit 1; }; }
fail() { echo "FAILED: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() {  # PORT PID: until something answers HTTP on 127.0.0.1:PORT
    for _ in $(seq 300); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        kill -0 "$2" 2>/dev/null || fail "the server on port $1 exited"
        sleep 0.1
    done
    fail "nothing answers on 127.0.0.1:$1"
}
# expect STATUS BODY_SUBSTRING CURL_ARGS...: one request, its status and body.
expect() {
    local status=$1 body=$2 got
    shift 2
    got="$(curl -s -w '\n%{http_code}' "$@")"
    [[ "${got##*$'\n'}" == "$status" ]] || fail "curl $*: status ${got##*$'\n'}, expected $status (body: ${got%$'\n'*})"
    [[ -z "$body" || "${got%$'\n'*}" == *"$body"* ]] || fail "curl $*: body ${got%$'\n'*} lacks $body"
}
# timed LABEL CMD...: runs CMD and prints how long it took.
timed() {
    local label=$1 start=$EPOCHREALTIME
    shift
    "$@"
    awk -v a="$start" -v b="$EPOCHREALTIME" -v l="$label" 'BEGIN { printf "time - %s: %.1f s\n", l, b - a }'
}

# The jwtgate command from dist/ signs the tokens.
need "$DIST/jwtgate-cli-$VERSION-x86_64-linux-gnu.tar.gz"
tar -xzf "$DIST/jwtgate-cli-$VERSION-x86_64-linux-gnu.tar.gz" -C "$WORK"
JWTGATE="$WORK/jwtgate-cli-$VERSION-x86_64-linux-gnu/jwtgate"
cli_dir="$(dirname "$JWTGATE")"
head -c 200 "$cli_dir/man/man1/jwtgate-verify.1" | grep -q '^\.TH' || fail "the CLI tarball has no jwtgate-verify(1) man page"
bash -c 'source "$1" && complete -p jwtgate' _ "$cli_dir/completions/jwtgate.bash" >/dev/null \
    || fail "the CLI tarball's bash completion does not load"
[[ -s "$cli_dir/completions/_jwtgate" && -s "$cli_dir/completions/jwtgate.fish" ]] \
    || fail "the CLI tarball lacks the zsh or fish completion"
"$JWTGATE" keygen --alg ES256 --kid k1 --out-dir "$WORK/keys" >/dev/null
"$JWTGATE" jwks --alg ES256 "$WORK/keys/k1.pem" >"$WORK/jwks.json"
python3 - "$WORK" <<'PY'
import json, pathlib, sys
work = pathlib.Path(sys.argv[1])
jwks = json.loads((work / "jwks.json").read_text())
policy = {"issuers": [{"issuer": "https://idp.example.com/", "algorithms": ["ES256"], "keys": {"jwks": jwks},
                       "forward": {"claims_to_headers": {"sub": "X-User"}}}]}
(work / "policy.json").write_text(json.dumps(policy))
PY
chmod 0644 "$WORK/policy.json"
# token CLAIMS_JSON [--lifetime N] [--now T]: a token of the policy's issuer.
token() {
    local claims=$1
    shift
    "$JWTGATE" sign --alg ES256 --key "$WORK/keys/k1.pem" --kid k1 --lifetime "${LIFETIME:-300}" "$@" \
        "{\"iss\":\"https://idp.example.com/\",\"sub\":\"ada\",$claims}"
}
