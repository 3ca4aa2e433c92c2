#!/usr/bin/env python3
"""Instructions per request that builds of ngx_http_jwtgate_module add to
nginx, side by side (an older commit's build against this one), counted by
callgrind: a measure that other work on a shared machine does not disturb
(wrk's requests/s in bench.py do move with it). instructions.py compares
the C module with the Lua binding; this one compares builds.

One nginx process (master_process off) under callgrind serves K keep-alive
requests of a typical client (7 headers, an RS256 token with a few claims)
to a static file, once where nothing checks the token and once through
jwtgate (cache on: the gateway's steady state). A run with one request is
subtracted from each, so startup cancels out. With several `--module`
paths, every build is measured on the same inputs in the same run.

Usage: benches/nginx/compare_builds.py [--requests K] [--module PATH ...] [--keep DIR]
(default: the module bindings-c/nginx/build.sh built). Needs valgrind.
User-space instructions only: the kernel's share of a request (accept,
read, write) is not in them, so they bound the module's cost, they do not
give requests/s. `--keep DIR` keeps each run's callgrind profile there
(`callgrind_annotate DIR/<n>-jwtgate.cg` shows where the instructions go).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support", "python"))
from jwtgate_testsupport.nginx_conf import open_to_workers, preamble, static_site  # noqa: E402
from jwtgate_testsupport.paths import MODULE, NGINX, read  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

import callgrind  # noqa: E402

HEADERS = {"User-Agent": "bench/1.0", "Accept": "*/*", "Accept-Encoding": "gzip, deflate",
           "X-Request-Id": "3f2a9c1e-5b7d-4e8a-9c0f-1a2b3c4d5e6f", "Cookie": "theme=dark; lang=en"}


def conf(d, module, port):
    return preamble(d, [module], log_level="warn", connections=64) + f"""
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location /none/ {{ alias {d}/www/; }}
        location /jwtgate/ {{ jwtgate on; jwtgate_policy {d}/policy.json; alias {d}/www/; }}
    }}
}}
"""


def total_ir(d, module, path, headers, k, out):
    """Instructions callgrind counts for nginx's start, k requests and exit."""
    port = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf(d, module, port))
    proc = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", NGINX, "-p", d,
                             "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off; master_process off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        callgrind.send(proc, port, path, headers, k)
    finally:
        callgrind.stop(proc, port)
    return callgrind.total(out)


def per_request(d, module, path, headers, k, keep):
    one = total_ir(d, module, path, headers, 1, os.path.join(d, "one.cg"))
    many = total_ir(d, module, path, headers, k + 1, keep or os.path.join(d, "many.cg"))
    return (many - one) / k


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--module", action="append", help="a module build to measure (repeatable)")
    ap.add_argument("--keep", help="a folder to keep the callgrind profiles in")
    args = ap.parse_args()
    if not shutil.which("valgrind"):
        raise SystemExit("valgrind is not installed")
    modules = args.module or [MODULE]
    d = tempfile.mkdtemp(prefix="jwtgate-instructions-")
    os.chmod(d, 0o755)
    try:
        static_site(d)
        shutil.copy(os.path.join(ROOT, "tests/keys/rsa.pub.pem"), d)
        with open(os.path.join(d, "policy.json"), "w") as f:
            json.dump({"issuers": [{"issuer": "https://rs.example.com/", "algorithms": ["RS256"],
                                    "keys": {"pem_file": "rsa.pub.pem"}}],
                       "cache": {"max_entries": 10000}}, f)
        open_to_workers(d, private=())
        token = Signer("RS256", pem=read("tests/keys/rsa.pem")).sign(
            {"iss": "https://rs.example.com/", "sub": "ada", "name": "Ada Lovelace", "roles": ["reader", "writer"]},
            lifetime=10 * 365 * 86400)
        authed = dict(HEADERS, Authorization=f"Bearer {token}")
        print(f"{args.requests} keep-alive requests per run, 7 headers, RS256, cache on")
        print("| module | nginx alone (Ir/request) | with jwtgate (Ir/request) | jwtgate adds |")
        print("|---|---:|---:|---:|")
        if args.keep:
            os.makedirs(args.keep, exist_ok=True)
        for n, module in enumerate(modules):
            keep = (lambda what: os.path.join(args.keep, f"{n}-{what}.cg")) if args.keep else (lambda what: None)
            # The same request both times: nginx's own parsing of the
            # Authorization header is no cost of the module.
            none = per_request(d, module, "/none/ok.txt", authed, args.requests, keep("none"))
            gate = per_request(d, module, "/jwtgate/ok.txt", authed, args.requests, keep("jwtgate"))
            print(f"| {module} | {none:,.0f} | {gate:,.0f} | {gate - none:,.0f} ({gate / none:.2f}x) |", flush=True)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
