#!/usr/bin/env bash
# Short fuzz run for the test command: builds the stable mutation harness in
# release mode and runs every target over the checked-in seed corpus
# (fuzz/corpus/) for a bounded time on 2 threads. Fails on any panic, broken
# invariant, slow or hanging call; failing inputs are saved in fuzz/crashes/.
#
#   FUZZ_SECONDS  total wall time of the mutation run (default 60)
#   FUZZ_SEED     replay a run's mutations (the seed is printed)
#
# Deeper runs: see SECURITY.md ("Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
seed_args=()
if [[ -n "${FUZZ_SEED:-}" ]]; then
  seed_args=(--seed "$FUZZ_SEED")
fi

cargo build --release --quiet -p jwtgate-fuzz --bin mutate
# Unit tests of the mutators themselves.
if ! out="$(cargo test --quiet -p jwtgate-fuzz --lib 2>&1)"; then
  echo "$out"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
grep -E "^test result" <<<"$out" || true

# Where cargo put it (CARGO_TARGET_DIR may move the target directory).
target="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
exec "$target/release/mutate" --seconds "$seconds" --threads 2 "${seed_args[@]}"
