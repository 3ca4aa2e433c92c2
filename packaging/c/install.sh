#!/bin/sh
# Installs the jwtgate C library from this folder into a prefix:
#   ./install.sh [--prefix DIR] [--destdir DIR]     (prefix defaults to /usr/local)
# PREFIX/lib: libjwtgate.so.X.Y.Z with its SONAME link and the development
# link, libjwtgate.a, pkgconfig/jwtgate.pc; PREFIX/include/jwtgate.h.
# --destdir stages the files under DIR as packagers do; the .pc still names PREFIX.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
prefix=/usr/local
destdir=
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="$2"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --destdir) destdir="$2"; shift 2 ;;
        --destdir=*) destdir="${1#--destdir=}"; shift ;;
        *) echo "install.sh: unknown argument $1 (use --prefix DIR, --destdir DIR)" >&2; exit 2 ;;
    esac
done
case "$prefix" in
    /*) ;;
    *) echo "install.sh: --prefix must be an absolute path, not $prefix" >&2; exit 2 ;;
esac
lib="$destdir$prefix/lib"
mkdir -p "$lib/pkgconfig" "$destdir$prefix/include"
for f in "$here"/lib/libjwtgate.so.*.*.*; do
    install -m 0755 "$f" "$lib/"
done
# Symbolic links as they are in lib/: the SONAME and the development name.
for link in "$here"/lib/libjwtgate.so "$here"/lib/libjwtgate.so.*; do
    [ -L "$link" ] && ln -sfn "$(readlink "$link")" "$lib/$(basename "$link")"
done
install -m 0644 "$here/lib/libjwtgate.a" "$lib/"
install -m 0644 "$here/include/jwtgate.h" "$destdir$prefix/include/"
sed "s|@PREFIX@|$prefix|" "$here/lib/pkgconfig/jwtgate.pc.in" >"$lib/pkgconfig/jwtgate.pc"
chmod 0644 "$lib/pkgconfig/jwtgate.pc"
echo "installed jwtgate into $destdir$prefix"
case "$prefix" in
    /usr|/usr/local) [ -z "$destdir" ] && command -v ldconfig >/dev/null && ldconfig 2>/dev/null || true ;;
    *) echo "$prefix/lib is not on the loader's path: add it to /etc/ld.so.conf.d, set LD_LIBRARY_PATH, or link with -Wl,-rpath,$prefix/lib" ;;
esac
