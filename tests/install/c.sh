#!/usr/bin/env bash
# The C library from dist/ installed into a fresh prefix with its install.sh,
# then the README's C quick start, as written (wrapped in main), compiled
# with `pkg-config --cflags --libs jwtgate` against that prefix: linked to
# the SONAME with no rpath, it verifies a good token and rejects a bad one;
# the same program linked with libjwtgate.a needs no library at run time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
name="jwtgate-c-$VERSION-x86_64-linux-gnu"
need "$DIST/$name.tar.gz"
for tool in cc pkg-config readelf; do command -v "$tool" >/dev/null || fail "$tool is needed (apt-get install build-essential pkg-config)"; done

tar -xzf "$DIST/$name.tar.gz" -C "$WORK"
prefix="$WORK/prefix"
timed "install.sh --prefix" "$WORK/$name/install.sh" --prefix "$prefix"
pc() { PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config "$@"; }
[[ "$(pc --modversion jwtgate)" == "$VERSION" ]] || fail "pkg-config --modversion jwtgate is not $VERSION"
[[ "$(pc --variable=prefix jwtgate)" == "$prefix" ]] || fail "jwtgate.pc does not name the prefix"

# The README block: its #include lines at the top, the rest as main's body.
block="$(README_BLOCK C c 0)"
{
    echo '#include <stdio.h>'
    echo '#include <string.h>'
    grep '^#include' <<<"$block"
    echo 'int main(int argc, char **argv) {'
    echo '    (void)argc; const char *path = argv[1]; const char *token = argv[2]; size_t token_len = strlen(token);'
    grep -v '^#include' <<<"$block"
    echo '    return 0;'
    echo '}'
} >"$WORK/app.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$WORK/app" "$WORK/app.c" $(pc --cflags --libs jwtgate)
dynamic="$(readelf -d "$WORK/app")"
grep -q "Shared library: \[libjwtgate.so.${VERSION%.*}\]" <<<"$dynamic" || fail "app does not need libjwtgate.so.${VERSION%.*}: $dynamic"
grep -qE 'R(UN)?PATH' <<<"$dynamic" && fail "app carries an rpath: $dynamic"
good="$(token '"scope":"orders:read"')"
forged="${good%?????}AAAAA"
out="$(LD_LIBRARY_PATH="$prefix/lib" "$WORK/app" "$WORK/policy.json" "$good")"
[[ "$out" == *'"sub":"ada"'* ]] || fail "the README's C example printed $out for a good token"
out="$(LD_LIBRARY_PATH="$prefix/lib" "$WORK/app" "$WORK/policy.json" "$forged")"
[[ "$out" == 'Bearer error="invalid_token"'* ]] || fail "the README's C example printed $out for a forged token"
ok "the README's C example against the installed prefix (pkg-config, SONAME, no rpath): claims for a good token, a challenge for a forged one"

# The README's second block (a whole request), as main's body after a
# verifier is made; jwtgate_decision_free is wrapped to print the decision
# it frees, so the test sees what the block decided.
decide_block="$(README_BLOCK C c 1)"
{
    echo '#include <stdio.h>'
    echo '#include <string.h>'
    echo '#include <jwtgate.h>'
    echo '#define jwtgate_decision_free(d) (printf("%d %u\n", jwtgate_decision_allow(d), (unsigned) jwtgate_decision_status(d)), jwtgate_decision_free(d))'
    echo 'int main(int argc, char **argv) {'
    echo '    (void)argc; const char *path = argv[1]; char auth[8192]; const char *url = "/api/orders";'
    echo '    snprintf(auth, sizeof auth, "Bearer %s", argv[2]);'
    echo '    jwtgate_verifier *verifier = NULL; const jwtgate_route *route = NULL;'
    echo '    if (jwtgate_verifier_from_file(path, strlen(path), &verifier, NULL) != JWTGATE_OK) return 2;'
    echo "$decide_block"
    echo '    jwtgate_verifier_free(verifier);'
    echo '    return 0;'
    echo '}'
} >"$WORK/decide.c"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror -o "$WORK/decide" "$WORK/decide.c" $(pc --cflags --libs jwtgate)
out="$(LD_LIBRARY_PATH="$prefix/lib" "$WORK/decide" "$WORK/policy.json" "$good")"
[[ "$out" == "1 200" ]] || fail "the README's C decide example printed '$out' for a good token"
out="$(LD_LIBRARY_PATH="$prefix/lib" "$WORK/decide" "$WORK/policy.json" "$forged")"
[[ "$out" == "0 401" ]] || fail "the README's C decide example printed '$out' for a forged token"
ok "the README's C decide example: allowed (200) with a good token, 401 with a forged one"

cc -std=c11 -o "$WORK/app-static" "$WORK/app.c" $(pc --cflags jwtgate) "$prefix/lib/libjwtgate.a" -lpthread -ldl -lm
readelf -d "$WORK/app-static" | grep -q libjwtgate && fail "app-static still needs libjwtgate.so"
out="$("$WORK/app-static" "$WORK/policy.json" "$good")"
[[ "$out" == *'"sub":"ada"'* ]] || fail "the statically linked example printed $out"
ok "the same example linked with the installed libjwtgate.a"
