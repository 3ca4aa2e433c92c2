#!/usr/bin/env bash
# Tests of the Node binding: installs what it needs (node and npm from apt
# when absent, the npm dev dependencies, the addon built by the install
# script with cargo), then runs node's test runner over test/*.test.js.
# Idempotent; runs from any directory; exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing node and npm with apt" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
command -v cargo >/dev/null || { echo "cargo is needed to build the addon (https://rustup.rs)" >&2; exit 1; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # npm ci runs the package's install script, which builds the addon.
  npm ci --no-audit --no-fund
fi
# Rebuild when the Rust sources changed since the last install (cargo makes
# this a no-op otherwise).
node scripts/build.js

# One test file at a time where node supports it: the event-loop test
# measures timing and should not share the CPU with the other files.
concurrency=()
if node --test-concurrency=1 -e '' 2>/dev/null; then concurrency=(--test-concurrency=1); fi
exec node --test "${concurrency[@]}" --test-timeout=120000 test/*.test.js
