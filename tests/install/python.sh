#!/usr/bin/env bash
# The wheel from dist/ in a new virtualenv with no Rust toolchain (binary
# distributions only, so nothing can compile): the README's FastAPI quick
# start, as written, answers real requests through uvicorn on 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
wheel="$(ls "$DIST"/jwtgate-"$VERSION"-cp39-abi3-manylinux*_x86_64.whl 2>/dev/null | head -1 || true)"
need "${wheel:-$DIST/jwtgate-$VERSION-cp39-abi3-manylinux_2_17_x86_64.whl}"
pins="$ROOT/bindings-python/tests/requirements.txt"
fastapi="$(grep -i '^fastapi==' "$pins")"
uvicorn="$(grep -i '^uvicorn==' "$pins")"
export PIP_DISABLE_PIP_VERSION_CHECK=1

python3 -m venv "$WORK/venv"
py="$WORK/venv/bin/python"
"$py" -m pip install --quiet --only-binary=:all: "$fastapi" "$uvicorn"
timed "pip install of the wheel" "$py" -m pip install --quiet --only-binary=:all: --no-index "$wheel"
where="$("$py" -c 'import jwtgate._jwtgate as m; print(m.__file__)')"
[[ "$where" == "$WORK/venv/"* ]] || fail "jwtgate imported from $where"
ok "pip install: $(basename "$wheel") into a new virtualenv"

app="$WORK/app"
mkdir -p "$app"
README_BLOCK 'Python (FastAPI, Starlette, Flask)' python 0 >"$app/app.py"
cp "$WORK/policy.json" "$app/policy.json"
port="$(free_port)"
(cd "$app" && exec "$WORK/venv/bin/uvicorn" app:app --host 127.0.0.1 --port "$port" --log-level warning) &
PIDS+=($!)
wait_port "$port" "${PIDS[-1]}"
base="http://127.0.0.1:$port"
reader="$(token '"scope":"orders:read"')"
admin="$(token '"roles":["admin"]')"
expect 200 '{"user":"ada"}' -H "Authorization: Bearer $reader" "$base/orders"
expect 401 missing_token "$base/orders"
expect 403 '' -H "Authorization: Bearer $admin" "$base/orders"
expect 200 '{"deleted":5}' -X DELETE -H "Authorization: Bearer $admin" "$base/orders/5"
expect 403 '' -X DELETE -H "Authorization: Bearer $reader" "$base/orders/5"
expect 200 '' "$base/docs"
ok "the README's FastAPI app under uvicorn: 200 with the scope or role, 401 without a token, 403 without the scope or role"
