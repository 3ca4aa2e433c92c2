#!/usr/bin/env python3
"""wrk against two builds of ngx_http_jwtgate_module side by side: an older
commit's build (A) and this one (B), each loaded into its own nginx (one
worker, same configuration, same tokens), taken in turns within one run so
that whatever else the machine does weighs on both alike. compare_builds.py
counts the same difference in instructions; this one gives requests/s and
the worker's CPU time per request.

Every round runs each case on A, then on B (the order alternates from round
to round); a case's ratio is the median over the rounds of B's figure
against A's in that round.

Usage: benches/nginx/ab_builds.py --old PATH [--new PATH] [--seconds S] [--rounds N]
(--new defaults to the module bindings-c/nginx/build.sh built; an older
build: check the commit out in a git worktree and run its build.sh there).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "support", "python"))
sys.path.insert(0, HERE)
import bench  # noqa: E402
from jwtgate_testsupport.nginx_conf import open_to_workers, preamble, static_site  # noqa: E402
from jwtgate_testsupport.paths import MODULE, NGINX  # noqa: E402
from jwtgate_testsupport.ports import free_port, wait_port  # noqa: E402


def conf(d, module, port):
    return preamble(d, [module], log_level="warn", connections=1024) + f"""
    access_log off;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location /none/ {{ alias {d}/www/; }}
        location /nocache/ {{ jwtgate on; jwtgate_policy {d}/policy-nocache.json; alias {d}/www/; }}
        location /cache/ {{ jwtgate on; jwtgate_policy {d}/policy-cache.json; alias {d}/www/; }}
    }}
}}
"""


def start(d, module):
    """(process, port, worker pid) of an nginx with `module`, prefix `d`."""
    port = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write(conf(d, module, port))
    proc = subprocess.Popen([NGINX, "-p", d, "-c", os.path.join(d, "nginx.conf"), "-g", "daemon off;"])
    if not wait_port(port, alive=lambda: proc.poll() is None):
        raise SystemExit(f"nginx with {module} did not start: see {d}/error.log")
    workers = subprocess.run(["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True,
                             check=True).stdout.split()
    if len(workers) != 1:
        raise SystemExit(f"expected one nginx worker, found {workers}")
    return proc, port, int(workers[0])


def prefix(base, name, policies):
    d = os.path.join(base, name)
    static_site(d)
    shutil.copy(os.path.join(ROOT, "tests/keys/rsa.pub.pem"), d)
    for which, doc in policies.items():
        with open(os.path.join(d, f"policy-{which}.json"), "w") as f:
            json.dump(doc, f)
    open_to_workers(d, private=())
    return d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", required=True, help="module A: the older build")
    ap.add_argument("--new", default=MODULE, help="module B (default: this checkout's build)")
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    bench.SECONDS = args.seconds
    policies, kid = {}, None
    for which, entries in (("nocache", 0), ("cache", 10000)):
        policies[which], kid = bench.policy(entries)
    tokens = bench.bench_tokens(kid)
    cases = [("no authentication", "-", "-", "/none/ok.txt", [])]
    for cache in ("cache", "nocache"):
        for alg, token in tokens.items():
            cases.append(("jwtgate", alg, "on" if cache == "cache" else "off", f"/{cache}/ok.txt",
                          [f"Authorization: Bearer {token}"]))
    base = tempfile.mkdtemp(prefix="jwtgate-ab-")
    os.chmod(base, 0o755)
    procs = []
    try:
        servers = {}
        for name, module in (("A", args.old), ("B", args.new)):
            proc, port, worker = start(prefix(base, name, policies), module)
            procs.append(proc)
            servers[name] = (port, worker)
        load_before = bench.load_average()
        rps, cpu = {}, {}
        for round_ in range(args.rounds):
            for case in cases:
                order = ("A", "B") if round_ % 2 == 0 else ("B", "A")
                for name in order:
                    port, worker = servers[name]
                    r, _, us = bench.wrk(port, case[3], case[4], worker)
                    rps.setdefault((case[:3], name), []).append(r)
                    cpu.setdefault((case[:3], name), []).append(us)
        load_after = bench.load_average()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)

    print(f"A: {args.old}\nB: {args.new}")
    print(f"wrk -t{bench.THREADS} -c{bench.CONNECTIONS} -d{args.seconds}s, {args.rounds} rounds, one worker each; "
          f"load average before {load_before}, after {load_after}")
    print("| location | alg | cache | A requests/s | B requests/s | B/A requests/s | A CPU µs/request "
          "| B CPU µs/request | A/B by CPU |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        key = case[:3]
        a_r, b_r = rps[(key, "A")], rps[(key, "B")]
        a_c, b_c = cpu[(key, "A")], cpu[(key, "B")]
        by_rps = statistics.median(b / a for a, b in zip(a_r, b_r))
        by_cpu = statistics.median(a / b for a, b in zip(a_c, b_c))
        print(f"| {key[0]} | {key[1]} | {key[2]} | {statistics.median(a_r):,.0f} | {statistics.median(b_r):,.0f} "
              f"| {by_rps:.1%} | {statistics.median(a_c):.2f} | {statistics.median(b_c):.2f} | {by_cpu:.1%} |")


if __name__ == "__main__":
    main()
