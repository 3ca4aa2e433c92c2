#!/usr/bin/env bash
# The Nginx module as a Debian package for this distribution's nginx, laid
# out like Debian's own libnginx-mod-* packages, into
# dist/libnginx-mod-http-jwtgate_<version>-1_<arch>.deb:
#   /usr/lib/nginx/modules/ngx_http_jwtgate_module.so   (libjwtgate linked in)
#   /usr/share/nginx/modules-available/mod-http-jwtgate.conf  (the load_module line)
#   /etc/nginx/modules-enabled/50-mod-http-jwtgate.conf  made by postinst, as dh_nginx does
# Depends on the exact nginx ABI (nginx-abi-*) the module was built against.
# Builds on the machine whose nginx it is for (apt-get install nginx nginx-dev).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
command -v dpkg-deb >/dev/null || { echo "SKIPPED: dpkg-deb not found (a Debian or Ubuntu machine builds the .deb)"; exit 0; }
abi="$(dpkg-query -W -f='${Provides}\n' nginx nginx-core nginx-light nginx-full nginx-extras 2>/dev/null \
    | tr ',' '\n' | grep -o 'nginx-abi-[^ ]*' | head -1 || true)"
[[ -n "$abi" ]] || { echo "FAILED: no installed nginx package provides nginx-abi-*: apt-get install nginx nginx-dev" >&2; exit 1; }

step "ngx_http_jwtgate_module.so against $(dpkg-query -W -f='nginx ${Version}' nginx) ($abi)"
JWTGATE_TARGET_DIR="$TARGET_DIR" "$ROOT/bindings-c/nginx/build.sh"
module="$TARGET_DIR/nginx-module/ngx_http_jwtgate_module.so"

arch="$(dpkg --print-architecture)"
pkg=libnginx-mod-http-jwtgate
deb_version="$VERSION-1"
root="$STAGE/deb/$pkg"
rm -rf "$STAGE/deb"
mkdir -p "$root/DEBIAN" "$root/usr/lib/nginx/modules" "$root/usr/share/nginx/modules-available" \
    "$root/usr/share/doc/$pkg"
install -m 0644 "$module" "$root/usr/lib/nginx/modules/"
strip --strip-unneeded "$root/usr/lib/nginx/modules/ngx_http_jwtgate_module.so"
install -m 0644 "$ROOT/packaging/deb/mod-http-jwtgate.conf" "$root/usr/share/nginx/modules-available/"
install -m 0755 "$ROOT/packaging/deb/postinst" "$ROOT/packaging/deb/prerm" "$ROOT/packaging/deb/postrm" "$root/DEBIAN/"
{
    echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
    echo "Upstream-Name: jwtgate"
    echo "Source: https://github.com/jwtgate/jwtgate"
    echo
    echo "Files: *"
    echo "Copyright: 2026 The jwtgate contributors"
    echo "License: MIT or Apache-2.0"
    echo " On Debian systems the Apache License 2.0 is in /usr/share/common-licenses/Apache-2.0."
    echo " The MIT license:"
    sed -e 's/^$/./' -e 's/^/ /' "$ROOT/LICENSE-MIT"
} >"$root/usr/share/doc/$pkg/copyright"
# The highest glibc symbol version the module needs.
glibc="$(objdump -T "$module" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)"
size_kib="$(du -sk --exclude=DEBIAN "$root" | cut -f1)"
cat >"$root/DEBIAN/control" <<CONTROL
Package: $pkg
Source: jwtgate
Version: $deb_version
Architecture: $arch
Maintainer: The jwtgate contributors <jwtgate@users.noreply.github.com>
Installed-Size: $size_kib
Depends: $abi, libc6 (>= $glibc)
Recommends: nginx
Section: httpd
Priority: optional
Homepage: https://github.com/jwtgate/jwtgate
Description: JSON Web Token verification module for Nginx (jwtgate)
 ngx_http_jwtgate_module checks the JSON Web Token of every request against
 a jwtgate policy (issuers, keys or JWKS endpoints, algorithms, claim rules)
 and answers 400/401/403/503 with an RFC 6750 challenge, or forwards claims
 to the upstream as headers. Directives: jwtgate, jwtgate_policy,
 jwtgate_claim_header, jwtgate_claim_rule and more.
CONTROL
(cd "$root" && find usr -type f -exec md5sum {} + >DEBIAN/md5sums)
mkdir -p "$DIST"
deb="$DIST/${pkg}_${deb_version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends):'
echo "dist/$(basename "$deb")"
