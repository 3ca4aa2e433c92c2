#!/usr/bin/env python3
"""Instructions per request of nginx with no authentication, the C module
and the Lua binding (lua-resty-jwtgate), counted by callgrind: exact and
unaffected by whatever else runs on the machine, unlike requests/s.

nginx runs as one process (master_process off) under callgrind, serving a
small static file; one run per location answers N and then 2N keep-alive
requests with the same ES256 token (verified-token cache on), and the
difference of the two totals over N is the cost of one request, start-up
excluded. With `--query` every request carries `?page=2`.

Usage: benches/nginx/instructions.py [N, default 2000] [--query]
(bindings-c/nginx/build.sh must have built the module; bindings-lua/test.sh
installs nginx's Lua module; valgrind must be installed.)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support", "python"))
from jwtgate_testsupport.nginx_conf import LUA_LIB, LUA_MODULES, preamble, static_site  # noqa: E402
from jwtgate_testsupport.paths import LIB, MODULE, NGINX, read  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

import callgrind  # noqa: E402

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 2000
QUERY = "?page=2" if "--query" in sys.argv else ""
LOCATIONS = {"no authentication": "/none/", "C module": "/c/", "Lua binding": "/lua/"}


def policy():
    gateway = json.loads(read("tests/vectors/attacks.json"))["policies"]["gateway"]
    ec = next(i for i in gateway["issuers"] if i["issuer"] == "https://ec.example.com/")
    jwks = ec["keys"]["jwks"]
    doc = {"issuers": [{"issuer": ec["issuer"], "algorithms": ["ES256"], "keys": {"jwks": jwks}}],
           "cache": {"max_entries": 10000}}
    return doc, jwks["keys"][0].get("kid")


def total(path, requests, token):
    """Callgrind's instruction total for nginx answering `requests` GETs of `path`."""
    d = tempfile.mkdtemp(prefix="jwtgate-instructions-")
    try:
        os.chmod(d, 0o755)
        static_site(d)
        with open(os.path.join(d, "policy.json"), "w") as f:
            json.dump(policy()[0], f)
        port = free_port()
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(preamble(d, (MODULE, *LUA_MODULES), log_level="warn", connections=64,
                             main="master_process off; daemon off;\n") + f"""
    access_log off; keepalive_requests 1000000;
    lua_package_path "{LUA_LIB}/?.lua;;";
    init_worker_by_lua_block {{ require("resty.jwtgate").init_worker("{d}/policy.json", {{ library = "{LIB}" }}) }}
    server {{
        listen 127.0.0.1:{port};
        location /none/ {{ alias {d}/www/; }}
        location /c/ {{ jwtgate on; jwtgate_policy {d}/policy.json; alias {d}/www/; }}
        location /lua/ {{ access_by_lua_block {{ require("resty.jwtgate").access() }} alias {d}/www/; }}
    }}
}}
""")
        out = os.path.join(d, "callgrind.out")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--smc-check=all-non-file",
                                 f"--callgrind-out-file={out}", NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            callgrind.send(proc, port, path + "ok.txt" + QUERY, {"Authorization": f"Bearer {token}"}, requests)
        finally:
            callgrind.stop(proc, port)
        return callgrind.total(out)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    token = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid=policy()[1]).sign(
        {"iss": "https://ec.example.com/", "sub": "ada"}, lifetime=10 * 365 * 86400)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = {(name, n): pool.submit(total, path, n, token)
                for name, path in LOCATIONS.items() for n in (N, 2 * N)}
        per_request = {name: (runs[(name, 2 * N)].result() - runs[(name, N)].result()) / N for name in LOCATIONS}
    base, c = per_request["no authentication"], per_request["C module"]
    print(f"Instructions per request (callgrind, {N} and {2 * N} requests{', with ' + QUERY if QUERY else ''}):\n")
    print("| location | instructions | added to no authentication | C module / Lua |")
    print("|---|---:|---:|---:|")
    for name, value in per_request.items():
        ratio = f"{c / value:.1%}" if name == "Lua binding" else ""
        print(f"| {name} | {value:,.0f} | {value - base:,.0f} | {ratio} |")


if __name__ == "__main__":
    main()
