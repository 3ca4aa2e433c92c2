#!/usr/bin/env bash
# npm packages the napi-rs way, into dist/:
#   jwtgate-linux-x64-gnu-<version>.tgz  @jwtgate/linux-x64-gnu, the addon
#                                        linked against glibc $GLIBC_FLOOR (zig)
#   jwtgate-<version>.tgz                jwtgate: the JavaScript, the types, the
#                                        Rust sources under rust/ for a source build
#                                        where no platform package fits, and
#                                        optionalDependencies on every platform
#                                        package built into dist/
# JWTGATE_NPM_TARGETS (napi-rs triple suffixes, default linux-x64-gnu) names
# the platform packages to build; each needs its Rust target installed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
node_dir="$ROOT/bindings-node"
stage="$STAGE/npm"
rm -rf "$stage"
mkdir -p "$stage" "$DIST"

# napi-rs triple suffix -> Rust target (zig-linked glibc targets carry the floor).
rust_target() {
    case "$1" in
        linux-x64-gnu) echo "$ZIG_TARGET" ;;
        linux-arm64-gnu) echo "aarch64-unknown-linux-gnu.$GLIBC_FLOOR" ;;
        linux-x64-musl) echo x86_64-unknown-linux-musl ;;
        linux-arm64-musl) echo aarch64-unknown-linux-musl ;;
        darwin-x64) echo x86_64-apple-darwin ;;
        darwin-arm64) echo aarch64-apple-darwin ;;
        win32-x64-msvc) echo x86_64-pc-windows-msvc ;;
        *) echo "unknown npm platform $1" >&2; return 1 ;;
    esac
}
library_file() {
    case "$1" in
        darwin-*) echo libjwtgate_node.dylib ;;
        win32-*) echo jwtgate_node.dll ;;
        *) echo libjwtgate_node.so ;;
    esac
}

for platform in ${JWTGATE_NPM_TARGETS:-linux-x64-gnu}; do
    target="$(rust_target "$platform")"
    triple="$(sed -E 's/\.[0-9]+\.[0-9]+$//' <<<"$target")"   # without the glibc suffix
    case "$target" in
        *-apple-*|*-windows-*) step "cargo build --release --target $target -p jwtgate-node"
            cargo build --quiet --release --target "$target" -p jwtgate-node ;;
        *) step "cargo zigbuild --release --target $target -p jwtgate-node"
            cargo zigbuild --quiet --release --target "$target" -p jwtgate-node ;;
    esac
    pkg="$stage/$platform"
    mkdir -p "$pkg"
    cp "$node_dir/npm/$platform/package.json" "$node_dir/npm/$platform/README.md" "$ROOT"/LICENSE-* "$pkg/"
    cp "$TARGET_DIR/$triple/release/$(library_file "$platform")" "$pkg/jwtgate.$platform.node"
    node - "$pkg/package.json" "$VERSION" <<'JS'
const fs = require('node:fs')
const [file, version] = process.argv.slice(2)
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
if (pkg.version !== version) throw new Error(`${file}: version ${pkg.version}, the workspace is ${version}`)
JS
    (cd "$DIST" && npm pack --silent "$pkg" >/dev/null)
    echo "dist/$(cd "$pkg" && node -p 'const p = require("./package.json"); p.name.replace("@", "").replace("/", "-") + "-" + p.version')".tgz
done

step "jwtgate main package"
main="$stage/jwtgate"
mkdir -p "$main"
# The files package.json lists, as a checkout has them (no local .node build).
node - "$node_dir" "$main" <<'JS'
const fs = require('node:fs')
const path = require('node:path')
const [from, to] = process.argv.slice(2)
const pkg = JSON.parse(fs.readFileSync(path.join(from, 'package.json'), 'utf8'))
for (const entry of pkg.files) {
  if (entry.includes('*') || entry === 'rust/' || entry.startsWith('LICENSE')) continue
  fs.mkdirSync(path.dirname(path.join(to, entry)), { recursive: true })
  fs.cpSync(path.join(from, entry), path.join(to, entry), { recursive: true })
}
JS
cp "$node_dir/package.json" "$node_dir/README.md" "$ROOT"/LICENSE-* "$main/"
# The Rust sources a source build needs: the core and the addon in a
# two-member workspace with the checkout's lock file.
mkdir -p "$main/rust/bindings-node"
cp -r "$ROOT/core" "$main/rust/core"
cp -r "$node_dir/Cargo.toml" "$node_dir/build.rs" "$node_dir/src" "$main/rust/bindings-node/"
cp "$ROOT/Cargo.lock" "$main/rust/"
python3 - "$ROOT/Cargo.toml" "$main/rust/Cargo.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
text = re.sub(r'(?m)^members = \[.*\]$', 'members = ["core", "bindings-node"]', text)
text = re.sub(r'(?ms)^# The Node and Python.*?^default-members = \[.*?\]\n', '', text)
open(sys.argv[2], "w").write("# The sources of jwtgate's Node addon, for a build where no prebuilt package fits.\n" + text)
PY
# optionalDependencies: every platform package in dist/ of this version.
node - "$main/package.json" "$VERSION" "$DIST" <<'JS'
const fs = require('node:fs')
const path = require('node:path')
const [file, version, dist] = process.argv.slice(2)
const pkg = JSON.parse(fs.readFileSync(file, 'utf8'))
const platforms = fs.readdirSync(dist)
  .map((name) => name.match(/^jwtgate-([a-z0-9]+-[a-z0-9]+(?:-[a-z]+)?)-(\d+\.\d+\.\d+.*)\.tgz$/))
  .filter((m) => m && m[2] === version)
  .map((m) => m[1])
  .sort()
if (pkg.version !== version) throw new Error(`bindings-node/package.json: version ${pkg.version}, the workspace is ${version}`)
pkg.optionalDependencies = Object.fromEntries(platforms.map((p) => [`@jwtgate/${p}`, version]))
delete pkg.devDependencies
fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + '\n')
console.log(`optionalDependencies: ${Object.keys(pkg.optionalDependencies).join(', ')}`)
JS
(cd "$DIST" && npm pack --silent "$main" >/dev/null)
echo "dist/jwtgate-$VERSION.tgz"

# Where no platform package fits, jwtgate builds its addon from the sources
# it carries: check that path once per distinct tarball (skipped when this
# exact tarball passed before, or with JWTGATE_SKIP_SOURCE_CHECK=1). npm
# must show cargo's progress with --foreground-scripts and the addon load.
stamp="$STAGE/npm-source-check.sha256"
sum="$(sha256sum "$DIST/jwtgate-$VERSION.tgz" | cut -d' ' -f1)"
if [[ "${JWTGATE_SKIP_SOURCE_CHECK:-}" == 1 ]]; then
    echo "source build check skipped (JWTGATE_SKIP_SOURCE_CHECK=1)"
elif [[ "$(cat "$stamp" 2>/dev/null || true)" == "$sum" ]]; then
    echo "jwtgate-$VERSION.tgz is byte for byte the one whose source build passed last time"
else
    step "jwtgate-$VERSION.tgz alone builds its addon from its Rust sources (npm rebuild --foreground-scripts)"
    # The same project directory each time, so cargo reuses the shared target
    # directory for the dependencies. npm keeps the tarball's fixed file
    # times, by which cargo would take changed sources for unchanged ones:
    # install without building, give the sources fresh times, then let npm
    # run the install script as it does for a user.
    project="$STAGE/npm-source-check"
    rm -rf "$project" "$stamp"
    mkdir -p "$project"
    echo '{"name": "source-check", "version": "1.0.0", "private": true, "allowScripts": {"jwtgate": true}}' \
        >"$project/package.json"
    (cd "$project" && JWTGATE_SKIP_BUILD=1 npm install --silent --no-audit --no-fund --omit=optional \
        "$DIST/jwtgate-$VERSION.tgz")
    find "$project/node_modules/jwtgate/rust" -type f -exec touch {} +
    (cd "$project" && CARGO_TARGET_DIR="$TARGET_DIR" npm rebuild --foreground-scripts jwtgate \
        >"$project/install.log" 2>&1) \
        || { tail -30 "$project/install.log" >&2; echo "FAILED: npm rebuild of jwtgate from its sources" >&2; exit 1; }
    grep -q 'Compiling jwtgate-node' "$project/install.log" \
        || { cat "$project/install.log" >&2; echo "FAILED: npm showed no cargo progress under --foreground-scripts" >&2; exit 1; }
    compgen -G "$project/node_modules/jwtgate/jwtgate.*.node" >/dev/null \
        || { echo "FAILED: the source build left no jwtgate.<platform>.node" >&2; exit 1; }
    (cd "$project" && node -e 'const j = require("jwtgate"); if (typeof j.Verifier !== "function") process.exit(1)') \
        || { echo "FAILED: jwtgate built from source does not load" >&2; exit 1; }
    echo "the source build shows cargo's progress and loads: $(grep -c Compiling "$project/install.log") crates compiled"
    echo "$sum" >"$stamp"
fi
