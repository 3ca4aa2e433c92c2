#!/usr/bin/env bash
# Coverage-guided fuzzing with AFL++ on the stable toolchain (cargo-afl).
#
#   fuzz/afl.sh [SECONDS] [TARGET...]     default: 600 s each, every target
#
# Installs cargo-afl and builds AFL++ under fuzz/.tools/ on first use, builds
# fuzz/afl/ with AFL instrumentation, then runs afl-fuzz on each target from
# its seed corpus (fuzz/corpus/<target>/) with findings in
# fuzz/afl/out/<target>/. Exits non-zero when any crash or hang was saved;
# replay one with target/release/mutate --replay --target T FILE.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
seconds="${1:-600}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=(token claims jwks policy unverified sources)
fi

export PATH="$here/.tools/bin:$PATH"
export XDG_DATA_HOME="$here/.tools/share"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
export AFL_SKIP_CRASHES=1

if ! command -v cargo-afl >/dev/null; then
  cargo install --locked --root "$here/.tools" cargo-afl
fi
if ! compgen -G "$XDG_DATA_HOME/afl.rs/rustc-*/afl.rs-*/afl/bin/afl-fuzz" >/dev/null; then
  cargo afl config --build
fi
(cd "$here/afl" && cargo afl build --release)

status=0
for target in "${targets[@]}"; do
  out="$here/afl/out/$target"
  mkdir -p "$out"
  input="$here/corpus/$target"
  # Resume an earlier run of this target where it stopped.
  if [[ -d "$out/default/queue" ]]; then input="-"; fi
  echo "afl: $target for ${seconds}s"
  cargo afl fuzz -i "$input" -o "$out" -V "$seconds" -- "$here/afl/target/release/jwtgate-afl" "$target" \
    >"$out/afl.log" 2>&1 || { echo "afl: afl-fuzz failed for $target, see $out/afl.log"; status=1; continue; }
  stats="$out/default/fuzzer_stats"
  crashes=$(awk -F: '/^saved_crashes/ {gsub(/ /, "", $2); print $2}' "$stats")
  hangs=$(awk -F: '/^saved_hangs/ {gsub(/ /, "", $2); print $2}' "$stats")
  execs=$(awk -F: '/^execs_done/ {gsub(/ /, "", $2); print $2}' "$stats")
  cvg=$(awk -F: '/^bitmap_cvg/ {gsub(/ /, "", $2); print $2}' "$stats")
  echo "afl: $target: $execs execs, coverage $cvg, $crashes crashes, $hangs hangs"
  if [[ "$crashes" != 0 || "$hangs" != 0 ]]; then
    echo "afl: inputs in $out/default/crashes and $out/default/hangs"
    status=1
  fi
done
exit $status
