"""Test scaffolding shared by every Python test and bench of the repository.

The Python binding's pytest suite, the Nginx module's tests, the Lua
binding's tests, the soak and the Nginx benches all start the same kind of
processes on 127.0.0.1 (nginx, a JWKS endpoint, an echoing upstream) and
read the same keys and paths; they import them from here, so each piece of
scaffolding exists once. Standard library only, so it imports under the
system python3 and the binding's virtualenv alike.

Each user puts `tests/support/python` on `sys.path`: the test.sh scripts
through PYTHONPATH, bindings-python/tests/conftest.py and the bench and
soak scripts themselves. Nothing is installed.

Modules, one job each:
- `paths`: the repository, the build outputs, reading repository files.
- `ports`: free ports and waiting for a port to answer.
- `processes`: stopping a process a test started.
- `servers`: a JWKS endpoint, an echoing upstream, an IdP that hangs.
- `signer`: tokens signed through libjwtgate's C ABI (ctypes).
- `nginx_conf`: the start of an nginx config in a prefix folder.
- `nginx`: one nginx process (optionally under valgrind or libfaketime).
- `valgrind`: which valgrind reports are ours to fix.
- `lua_nginx`: nginx with lua-resty-jwtgate.
"""
