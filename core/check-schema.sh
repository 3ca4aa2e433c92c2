#!/usr/bin/env bash
# Regenerates the JSON Schemas of the policy and route documents from the
# Rust types (examples/policy_schema.rs, feature `schema`) and fails when the
# checked-in docs/policy.schema.json or docs/route.schema.json differ. With
# --write, updates them instead.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
status=0
for doc in policy route; do
    cargo run --quiet --manifest-path "$root/Cargo.toml" -p jwtgate --features schema \
        --example policy_schema -- "$doc" >"$tmp/$doc.schema.json"
    checked_in="$root/docs/$doc.schema.json"
    if [[ "${1:-}" == "--write" ]]; then
        cp "$tmp/$doc.schema.json" "$checked_in"
        echo "wrote docs/$doc.schema.json"
    elif ! diff -u "$checked_in" "$tmp/$doc.schema.json"; then
        echo "docs/$doc.schema.json is out of date: run core/check-schema.sh --write" >&2
        status=1
    else
        echo "docs/$doc.schema.json is up to date"
    fi
done
exit "$status"
