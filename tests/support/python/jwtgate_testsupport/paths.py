"""Where things are: the repository, the build outputs the tests run, and
reading repository files."""
import glob
import os
import shutil

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
# The cargo target directory the binaries were built into (test.sh exports it).
TARGET = os.environ.get("JWTGATE_TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
LIB = os.path.join(TARGET, "release", "libjwtgate.so")
CLI = os.path.join(TARGET, "release", "jwtgate")
MODULE = os.path.join(TARGET, "nginx-module", "ngx_http_jwtgate_module.so")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
FAKETIME_LIB = next(iter(sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))), "libfaketime.so.1")
KEYS = os.path.join(ROOT, "tests", "keys")
VECTORS = os.path.join(ROOT, "tests", "vectors")


def read(path):
    """The text of `path`, relative to the repository root."""
    return read_policy(os.path.join(ROOT, path))


def read_policy(path):
    """The text of the file at `path` (absolute or relative to the current folder)."""
    with open(path, encoding="utf-8") as f:
        return f.read()


def key_text(name):
    """The text of tests/keys/`name`."""
    return read_policy(os.path.join(KEYS, name))
