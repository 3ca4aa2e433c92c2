#!/usr/bin/env python3
"""Soak of the Nginx module and the Express middleware under wrk load while
the issuer's JWKS rotates every few seconds.

A JWKS server (a thread of this script, on 127.0.0.1) rotates: every
`--period` seconds a new ES256 key is added to the set and tokens start being
signed by it at once; the previous key stays in the set for one more period
(overlap), then is removed. Keys and tokens for every period are made up front
with the repo's CLI (`jwtgate keygen`, `jwtgate sign`), so rotating only swaps
the served set and rewrites a token file. wrk runs in consecutive slices of
`--slice` seconds; its Lua script re-reads the token file every 100 requests
and counts 2xx / 4xx / 5xx per slice. Every token sent is valid when sent, so
every slice must have zero non-2xx answers.

RSS (VmRSS) of the nginx workers and of the node process is read after a
warm-up, after every slice and at the end.

Usage: benches/soak/soak.py [--seconds 60] [--target nginx|express|both]
       [--period 4] [--slice 5] [--cache off|on] [--connections 16]
       [--max-rss-growth-mib N]
Exit status: 0 when every slice is clean, 1 on any 5xx or rejected valid token
(or RSS growth beyond --max-rss-growth-mib).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))
from jwtgate_testsupport.nginx_conf import open_to_workers, preamble, static_site  # noqa: E402
from jwtgate_testsupport.paths import CLI, MODULE, NGINX, ROOT  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.ports import wait_port as port_answers  # noqa: E402
from jwtgate_testsupport.processes import stop_process  # noqa: E402
from jwtgate_testsupport.servers import JwksServer  # noqa: E402

ISS = "https://soak.jwtgate.test/"
AUD = "api://soak"
TOKENS_PER_PERIOD = 4


def log(msg):
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, **kw).stdout


def wait_port(port, proc, what, timeout=15):
    if not port_answers(port, lambda: proc.poll() is None, timeout):
        raise SystemExit(f"FAILED: {what} did not start (exit {proc.poll()})")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def children(pid):
    out = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(out)


# ---------------------------------------------------------------- setup


def ensure_tools(need_nginx, need_node):
    if not shutil.which("wrk"):
        log("installing wrk")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = sudo + ["apt-get", "install", "-y", "-q", "wrk"]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(sudo + ["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(install, env=env, check=True, capture_output=True)
    if not os.path.exists(CLI):
        log("building the jwtgate CLI")
        subprocess.run(["cargo", "build", "--quiet", "--release", "-p", "jwtgate", "--features", "cli",
                        "--manifest-path", os.path.join(ROOT, "Cargo.toml")], check=True)
    if need_nginx and not os.path.exists(MODULE):
        log("building the nginx module")
        subprocess.run([os.path.join(ROOT, "bindings-c", "nginx", "build.sh")], check=True)
    if need_node and not os.path.isdir(os.path.join(ROOT, "bindings-node", "node_modules", "express")):
        log("npm install in bindings-node")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=os.path.join(ROOT, "bindings-node"),
                       check=True)


class Rotation:
    """Keys, tokens and the served JWKS of every rotation period."""

    def __init__(self, work, periods):
        self.dir = os.path.join(work, "keys")
        os.makedirs(self.dir)
        self.token_file = os.path.join(work, "tokens.txt")
        self.keys = []  # public JWKs, one per period
        self.tokens = []  # TOKENS_PER_PERIOD tokens per period
        for i in range(periods):
            kid = f"soak-{i}"
            run([CLI, "keygen", "--alg", "ES256", "--kid", kid, "--out-dir", self.dir])
            with open(os.path.join(self.dir, f"{kid}.jwk.json")) as f:
                self.keys.append(json.load(f))
            period = []
            for j in range(TOKENS_PER_PERIOD):
                claims = json.dumps({"iss": ISS, "aud": AUD, "sub": f"user-{i}-{j}"})
                period.append(run([CLI, "sign", "--alg", "ES256", "--key", os.path.join(self.dir, f"{kid}.pem"),
                                   "--kid", kid, "--lifetime", "86400", claims]).strip())
            self.tokens.append(period)
        self.lock = threading.Lock()
        self.index = 0
        self.body = b""
        self.rotations = 0
        self.publish(0)

    def publish(self, i):
        """Serve keys i-1 and i, then hand out tokens of key i."""
        keys = [self.keys[k] for k in (i - 1, i) if k >= 0]
        body = json.dumps({"keys": keys}).encode()
        with self.lock:
            self.index, self.body = i, body
        tmp = self.token_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(self.tokens[i]) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.token_file)

    def start(self, period_s, stop):
        def loop():
            i = self.index
            while not stop.wait(period_s):
                if i + 1 >= len(self.keys):
                    log("out of pre-generated keys; rotation stops")
                    return
                i += 1
                self.publish(i)
                self.rotations += 1

        t = threading.Thread(target=loop, daemon=True)
        t.start()
        return t

    def current(self):
        with self.lock:
            return self.body

    def serve(self):
        """The JWKS endpoint (keep-alive, max-age=1) serving the current set;
        its `hits` are the gateways' fetches (the latency probe's requests
        to /probe are not counted)."""
        return JwksServer(body=self.current, keep_alive=True, cache_control="max-age=1",
                          counted=lambda path: path != "/probe").start()


class JwksProbe:
    """Asks the JWKS server for the set every 0.25 s, as the gateways do, and
    keeps the answer times: a slow answer (above the policy's `timeout_ms`)
    on a busy machine explains a rejected token of a new key."""

    def __init__(self, port):
        self.url = f"http://127.0.0.1:{port}/probe"
        self.lock = threading.Lock()
        self.slice_max = 0.0
        self.all = []

    def start(self, stop):
        def loop():
            while not stop.wait(0.25):
                t0 = time.monotonic()
                try:
                    urllib.request.urlopen(self.url, timeout=30).read()
                except (OSError, urllib.error.URLError):
                    pass
                ms = (time.monotonic() - t0) * 1000
                with self.lock:
                    self.all.append(ms)
                    self.slice_max = max(self.slice_max, ms)

        threading.Thread(target=loop, daemon=True).start()

    def take_slice_max(self):
        with self.lock:
            m, self.slice_max = self.slice_max, 0.0
        return round(m)

    def summary(self):
        with self.lock:
            ms = sorted(self.all)
        if not ms:
            return {}
        return {"p50_ms": round(ms[len(ms) // 2]), "p99_ms": round(ms[int(len(ms) * 0.99)]), "max_ms": round(ms[-1]),
                "over_timeout": sum(1 for m in ms if m > JWKS_TIMEOUT_MS)}


JWKS_TIMEOUT_MS = 2000


def policy(jwks_port, cache):
    return {
        "issuers": [{
            "issuer": ISS,
            "audiences": [AUD],
            "algorithms": ["ES256"],
            "require": ["exp", "sub"],
            "keys": {"jwks_uri": f"http://127.0.0.1:{jwks_port}/jwks.json", "allow_http": True,
                     "min_ttl_s": 1, "max_ttl_s": 2, "refetch_cooldown_s": 1, "timeout_ms": JWKS_TIMEOUT_MS},
        }],
        "cache": {"max_entries": 10000 if cache == "on" else 0},
    }


LUA = r"""
local path = "__TOKENS__"
local tokens = {}
local n, i = 0, 0
c2, c4, c5, cother = 0, 0, 0, 0
local function load()
  local f = io.open(path, "r")
  if f then
    local t = {}
    for line in f:lines() do if #line > 0 then t[#t + 1] = line end end
    f:close()
    if #t > 0 then tokens = t end
  end
end
function init(args) load() end
function request()
  n = n + 1
  if n % 100 == 0 then load() end
  i = i % #tokens + 1
  return wrk.format("GET", "__PATH__", {["Authorization"] = "Bearer " .. tokens[i]})
end
function response(status, headers, body)
  if status >= 200 and status < 300 then c2 = c2 + 1
  elseif status >= 500 then c5 = c5 + 1
  elseif status >= 400 then c4 = c4 + 1
  else cother = cother + 1 end
end
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local a, b, c, d = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("c2"); b = b + t:get("c4"); c = c + t:get("c5"); d = d + t:get("cother")
  end
  io.write(string.format("SOAK 2xx=%d 4xx=%d 5xx=%d other=%d\n", a, b, c, d))
end
"""


def wrk_slice(script, url, seconds, threads, connections):
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "-s", script, url],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    m = re.search(r"SOAK 2xx=(\d+) 4xx=(\d+) 5xx=(\d+) other=(\d+)", out)
    if not m:
        raise SystemExit(f"FAILED: unexpected wrk output:\n{out}")
    ok, c4, c5, other = map(int, m.groups())
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(map(int, sock.groups())) if sock else 0
    return {"ok": ok, "4xx": c4, "5xx": c5, "other": other, "rps": rps, "socket_errors": errors}


def sanity(url, token):
    """The gateway really checks tokens: a valid one passes, a tampered one and none are 401."""
    head, payload, sig = token.split(".")
    tampered = ".".join([head, payload, ("A" if sig[0] != "A" else "B") + sig[1:]])
    for tok, want in ((token, 200), (tampered, 401), (None, 401)):
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer {tok}"} if tok else {})
        try:
            status = urllib.request.urlopen(req, timeout=10).status
        except urllib.error.HTTPError as e:
            status = e.code
        if status != want:
            raise SystemExit(f"FAILED: sanity check: {'valid' if tok == token else 'tampered' if tok else 'no'} "
                             f"token answered {status}, expected {want}")


# ---------------------------------------------------------------- targets


def start_nginx(work, policy_path, _node_async=None):
    port = free_port()
    www = static_site(work)
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(preamble(work, [MODULE], workers=2, log_level="warn", connections=1024) + f"""
    map $status $rejected {{ ~^2 0; default 1; }}
    log_format soak '$status code=$jwtgate_code';
    access_log {work}/rejected.log soak if=$rejected;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        location /api/ {{ jwtgate on; jwtgate_policy {policy_path}; alias {www}/; }}
    }}
}}
""")
    open_to_workers(work)
    proc = subprocess.Popen([NGINX, "-p", work, "-c", conf, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "stderr.log"), "w"))
    wait_port(port, proc, "nginx")
    time.sleep(0.3)  # let the workers come up
    return proc, f"http://127.0.0.1:{port}/api/ok.txt", lambda: children(proc.pid), \
        lambda: os.path.join(work, "rejected.log")


EXPRESS = r"""
const path = require('path')
const fs = require('fs')
const root = process.argv[2]
const express = require(path.join(root, 'bindings-node', 'node_modules', 'express'))
const jwtgate = require(path.join(root, 'bindings-node', 'express.js'))
const policy = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))
const rejected = fs.createWriteStream(process.argv[5], { flags: 'a' })
const app = express()
app.set('etag', false)
const mode = process.argv[6]
app.use(jwtgate(policy, mode === 'auto' ? {} : { async: mode === 'on' }))
app.get('/api/ok.txt', (req, res) => res.type('text').send('ok ' + req.auth.sub + '\n'))
app.use((err, req, res, next) => {
  rejected.write(`500 ${err && err.stack}\n`)
  res.status(500).end()
})
const server = app.listen(Number(process.argv[4]), '127.0.0.1')
server.keepAliveTimeout = 60000
process.on('SIGTERM', () => { rejected.end(); process.exit(0) })
// Log the status and challenge of every answer that is not 2xx.
server.on('request', (req, res) => {
  res.on('finish', () => {
    if (res.statusCode < 200 || res.statusCode >= 300) {
      rejected.write(`${res.statusCode} ${res.getHeader('www-authenticate') || ''}\n`)
    }
  })
})
"""


def start_express(work, policy_path, node_async):
    port = free_port()
    script = os.path.join(work, "server.js")
    with open(script, "w") as f:
        f.write(EXPRESS)
    rejected = os.path.join(work, "rejected.log")
    proc = subprocess.Popen(["node", script, ROOT, policy_path, str(port), rejected, node_async],
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "stderr.log"), "w"))
    wait_port(port, proc, "node")
    return proc, f"http://127.0.0.1:{port}/api/ok.txt", lambda: [proc.pid], lambda: rejected


def soak(target, args):
    work = tempfile.mkdtemp(prefix=f"jwtgate-soak-{target}-")
    os.chmod(work, 0o755)
    periods = int((args.seconds + args.warmup) / args.period) + 4
    log(f"{target}: making {periods} keys and {periods * TOKENS_PER_PERIOD} tokens")
    rotation = Rotation(work, periods)
    jwks = rotation.serve()
    policy_path = os.path.join(work, "policy.json")
    with open(policy_path, "w") as f:
        json.dump(policy(jwks.port, args.cache), f)
    script = os.path.join(work, "soak.lua")
    with open(script, "w") as f:
        f.write(LUA.replace("__TOKENS__", rotation.token_file).replace("__PATH__", "/api/ok.txt"))
    start = start_nginx if target == "nginx" else start_express
    proc, url, pids, rejected_log = start(work, policy_path, args.node_async)
    stop = threading.Event()
    result = {"target": target, "cache": args.cache, "slices": [],
              "node_async": args.node_async if target == "express" else None}
    try:
        sanity(url, rotation.tokens[0][0])
        time.sleep(0.2)
        if os.path.exists(rejected_log()):
            os.truncate(rejected_log(), 0)  # the sanity check's two expected 401s
        rotation.start(args.period, stop)
        probe = JwksProbe(jwks.port)
        probe.start(stop)
        log(f"{target}: warm-up {args.warmup}s")
        warm = wrk_slice(script, url, args.warmup, args.threads, args.connections)
        rss_start = {p: rss_kib(p) for p in pids()}
        log(f"{target}: RSS after warm-up (KiB) {rss_start}; warm-up {warm}")
        t0 = time.time()
        while time.time() - t0 < args.seconds - 0.5:
            left = args.seconds - (time.time() - t0)
            s = wrk_slice(script, url, max(1, min(args.slice, round(left))), args.threads, args.connections)
            s["rss_kib"] = sum(rss_kib(p) or 0 for p in pids())
            s["key"] = rotation.index
            s["jwks_max_ms"] = probe.take_slice_max()
            result["slices"].append(s)
            bad = " <-- FAIL" if s["4xx"] or s["5xx"] or s["other"] else ""
            log(f"{target}: slice {len(result['slices'])}: {s['ok']} ok, {s['4xx']} 4xx, {s['5xx']} 5xx, "
                f"{s['other']} other, {s['rps']:.0f} req/s, socket errors {s['socket_errors']}, "
                f"key {s['key']}, RSS {s['rss_kib']} KiB, slowest JWKS answer {s['jwks_max_ms']} ms{bad}")
        elapsed = time.time() - t0
        rss_end = {p: rss_kib(p) for p in pids()}
        alive = proc.poll() is None
    finally:
        stop.set()
        stop_process(proc)
        jwks.close()
    sl = result["slices"]
    total = sum(s["ok"] + s["4xx"] + s["5xx"] + s["other"] for s in sl)
    reasons = {}
    try:
        with open(rejected_log()) as f:
            for line in f:
                reasons[line.strip()] = reasons.get(line.strip(), 0) + 1
    except OSError:
        pass
    result.update({
        "seconds": round(elapsed, 1), "requests": total, "rps": round(total / elapsed) if elapsed else 0,
        "non_2xx": sum(s["4xx"] + s["5xx"] + s["other"] for s in sl), "5xx": sum(s["5xx"] for s in sl),
        "socket_errors": sum(s["socket_errors"] for s in sl),
        "rotations": rotation.rotations, "jwks_fetches": jwks.hits,
        "rss_start_kib": rss_start, "rss_end_kib": rss_end,
        "rss_start_total_kib": sum(v or 0 for v in rss_start.values()),
        "rss_end_total_kib": sum(v or 0 for v in rss_end.values()),
        "rss_max_total_kib": max([s["rss_kib"] for s in sl] or [0]),
        "rejection_reasons": dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:10]),
        "process_alive_at_end": alive,
        "jwks_answer_times": probe.summary(),
    })
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"{target}: work folder kept: {work}")
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60, help="soak length per target, after warm-up")
    ap.add_argument("--target", choices=["nginx", "express", "both"], default="both")
    ap.add_argument("--period", type=float, default=4, help="JWKS rotation period in seconds")
    ap.add_argument("--slice", type=int, default=5, help="length of one wrk run in seconds")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--cache", choices=["off", "on"], default="off", help="the verified-token cache")
    ap.add_argument("--node-async", choices=["auto", "on", "off"], default="auto",
                    help="the Express middleware's async option (auto: its default, on for jwks_uri)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--max-rss-growth-mib", type=float,
                    help="also fail when a target's RSS grows by more than this from warm-up to end")
    ap.add_argument("--json", help="write the results here as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (logs, config)")
    args = ap.parse_args()
    targets = ["nginx", "express"] if args.target == "both" else [args.target]
    ensure_tools("nginx" in targets, "express" in targets)
    results = [soak(t, args) for t in targets]
    failed = False
    for r in results:
        growth = r["rss_end_total_kib"] - r["rss_start_total_kib"]
        mode = f", async {r['node_async']}" if r["node_async"] else ""
        print(f"{r['target']} (cache {r['cache']}{mode}): {r['requests']} requests in {r['seconds']} s = {r['rps']} req/s; "
              f"non-2xx {r['non_2xx']} (5xx {r['5xx']}); socket errors {r['socket_errors']}; "
              f"{r['rotations']} rotations, {r['jwks_fetches']} JWKS fetches; "
              f"RSS {r['rss_start_total_kib']} -> {r['rss_end_total_kib']} KiB ({growth:+d}), "
              f"max {r['rss_max_total_kib']} KiB")
        if r["rejection_reasons"]:
            print(f"  non-2xx answers: {r['rejection_reasons']}")
        if r["jwks_answer_times"]:
            print(f"  JWKS answer times (probe every 0.25 s): {r['jwks_answer_times']}")
        if r["non_2xx"] or r["5xx"] or not r["process_alive_at_end"] or not r["slices"]:
            failed = True
        if args.max_rss_growth_mib is not None and growth > args.max_rss_growth_mib * 1024:
            print(f"  RSS grew by {growth} KiB, more than --max-rss-growth-mib {args.max_rss_growth_mib}")
            failed = True
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print("FAILED: a 5xx, a rejected valid token or memory growth" if failed
          else "OK: every slice answered 2xx to every token")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
