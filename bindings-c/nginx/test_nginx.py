#!/usr/bin/env python3
"""Tests ngx_http_jwtgate_module in a real nginx on 127.0.0.1.

Starts Debian's nginx with the module (own prefix and config in a temp
folder, unprivileged ports) in front of an upstream that echoes the request
headers it got, then checks: accepted tokens, every reject code with its
status and WWW-Authenticate, exempt locations, claims forwarded as headers and
variables, cookie and query token sources, per-location claim rules, a policy
reload with `nginx -s reload`, and that `nginx -t` refuses a broken policy.
Tokens are signed through libjwtgate's C ABI (ctypes).
"""
import base64
import ctypes
import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("JWTGATE_TARGET_DIR") or os.environ.get("CARGO_TARGET_DIR") or os.path.join(ROOT, "target")
MODULE = os.path.join(TARGET, "nginx-module", "ngx_http_jwtgate_module.so")
LIB = os.path.join(TARGET, "release", "libjwtgate.so")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
ISS = "https://idp.example.com/"
EC_ISS = "https://ec.example.com/"
DOWN_ISS = "https://down.example.com/"
TIMEOUT = 10


class Signer:
    """Signs tokens with libjwtgate (jwtgate_signer_from_pem / _from_secret)."""

    lib = ctypes.CDLL(LIB)

    def __init__(self, alg, pem=None, secret=None, kid=None):
        lib = self.lib
        self.handle = ctypes.c_void_p()
        a = alg.encode()
        k = kid.encode() if kid else None
        if pem is not None:
            rc = lib.jwtgate_signer_from_pem(a, len(a), pem.encode(), len(pem.encode()), k, len(k or b""),
                                             ctypes.byref(self.handle), None)
        else:
            rc = lib.jwtgate_signer_from_secret(a, len(a), secret, len(secret), k, len(k or b""),
                                                ctypes.byref(self.handle), None)
        assert rc == 0, f"signer: code {rc}"

    def sign(self, claims, lifetime=600):
        text = json.dumps(claims).encode()
        token = ctypes.c_void_p()
        self.lib.jwtgate_signer_sign.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_bool, ctypes.c_uint64, ctypes.c_bool,
            ctypes.c_double, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p, ctypes.c_void_p]
        rc = self.lib.jwtgate_signer_sign(self.handle, text, len(text), lifetime is not None, lifetime or 0,
                                          False, 0.0, ctypes.byref(token), None, None)
        assert rc == 0, f"sign: code {rc}"
        value = ctypes.string_at(token.value).decode()
        self.lib.jwtgate_string_free(token)
        return value


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request with the headers it received, as JSON pairs."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


class Nginx:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="jwtgate-nginx-")
        os.chmod(self.dir, 0o755)  # workers run as an unprivileged user and read the policy
        self.port = free_port()
        self.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
        self.policy_path = os.path.join(self.dir, "policy.json")
        shutil.copy(os.path.join(ROOT, "tests/keys/rsa.pub.pem"), os.path.join(self.dir, "rsa.pub.pem"))
        gateway = json.loads(read("tests/vectors/attacks.json"))["policies"]["gateway"]
        self.ec_jwks = next(i for i in gateway["issuers"] if i["issuer"] == EC_ISS)["keys"]["jwks"]
        self.write_policy(["IT", "HR"])
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(self.config(self.policy_path))
        for name in os.listdir(self.dir):
            os.chmod(os.path.join(self.dir, name), 0o644)
        # A policy the master (root) reads but the workers (nginx's user) cannot.
        shutil.copy(self.policy_path, os.path.join(self.dir, "unreadable.json"))
        os.chmod(os.path.join(self.dir, "unreadable.json"), 0o600)
        self.log = open(os.path.join(self.dir, "stderr.log"), "w")
        self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    errors = self.errors()
                    self.stop()
                    raise RuntimeError("nginx did not start:\n" + errors)
                time.sleep(0.05)

    def write_policy(self, departments):
        dead_port = free_port()
        policy = {
            "issuers": [
                {"issuer": ISS, "audiences": ["api://orders"], "algorithms": ["RS256"],
                 "keys": {"pem_file": "rsa.pub.pem"},
                 "claims": {"dept": {"one_of": departments}},
                 "forward": {"claims_to_headers": {"sub": "X-User"}}},
                {"issuer": EC_ISS, "algorithms": ["ES256"], "keys": {"jwks": self.ec_jwks}},
                {"issuer": DOWN_ISS, "algorithms": ["ES256"],
                 "keys": {"jwks_uri": f"http://127.0.0.1:{dead_port}/jwks.json", "timeout_ms": 500, "allow_http": True}},
            ],
            "max_token_bytes": 2048,
        }
        tmp = self.policy_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(policy, f)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.policy_path)

    def config(self, policy):
        up = f"http://127.0.0.1:{self.upstream.server_address[1]}"
        d = self.dir
        return f"""
load_module {MODULE};
worker_processes 2;
error_log {d}/error.log info;
pid {d}/nginx.pid;
events {{ worker_connections 128; }}
http {{
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    log_format jwt '$request_uri $status code=$jwtgate_code sub=$jwt_sub';
    access_log {d}/access.log jwt;
    jwtgate_policy {policy};
    jwtgate_claim_set $jwt_sub sub;
    jwtgate_claim_set $jwt_org /org/name;
    server {{
        listen 127.0.0.1:{self.port};
        jwtgate on;
        add_header X-Jwtgate-Code $jwtgate_code always;
        location / {{ proxy_pass {up}; }}
        location /public/ {{ jwtgate off; proxy_pass {up}; }}
        location /orders/ {{
            jwtgate_claim_rule subscriptions '{{"contains_all": ["orders"], "required": true}}';
            proxy_pass {up};
        }}
        location /unreadable/ {{ jwtgate_policy {d}/unreadable.json; proxy_pass {up}; }}
        location /cookie/ {{ jwtgate_token cookie=at; proxy_pass {up}; }}
        location /query/ {{ jwtgate_token query=access_token header=X-Token; proxy_pass {up}; }}
        location /vars/ {{
            jwtgate_claim_header dept X-Dept;
            jwtgate_claim_header 'we"ird\\\\name' X-Weird;  # nginx unescapes \\\\ to \\
            jwtgate_claim_header https://example.com/tenant X-Tenant;
            jwtgate_payload_header X-JWT-Payload;
            proxy_set_header X-Var-Sub $jwt_sub;
            proxy_set_header X-Var-Org $jwt_org;
            proxy_set_header X-Var-Code $jwtgate_code;
            proxy_set_header X-Var-Issuer $jwtgate_issuer;
            proxy_pass {up};
        }}
    }}
}}
"""

    def errors(self):
        text = ""
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f.read()[-4000:]
        return text

    def workers(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True,
                             timeout=TIMEOUT).stdout
        return {int(pid) for pid in out.split()}

    def reload(self):
        """`nginx -s reload`, then waits until every old worker is gone, so
        each later request meets a worker with the new policy."""
        old = self.workers()
        subprocess.run([NGINX, "-p", self.dir, "-c", self.conf, "-s", "reload"], check=True, timeout=TIMEOUT,
                       capture_output=True)
        deadline = time.time() + TIMEOUT
        while True:
            current = self.workers()
            if current and not (current & old):
                return
            if time.time() > deadline:
                raise AssertionError("old workers still running after reload:\n" + self.errors())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
        self.upstream.shutdown()
        self.upstream.server_close()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def get(self, path, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            echoed = json.loads(body) if resp.status == 200 and body.startswith(b"{") else None
            return resp.status, resp.headers, echoed
        finally:
            conn.close()


def echoed_all(echoed, name):
    return [v for k, v in echoed["headers"] if k.lower() == name.lower()]


NGINX_UNDER_TEST = None


def setUpModule():
    global NGINX_UNDER_TEST
    NGINX_UNDER_TEST = Nginx()


def tearDownModule():
    if NGINX_UNDER_TEST:
        NGINX_UNDER_TEST.stop()


class ModuleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ng = NGINX_UNDER_TEST
        cls.rs = Signer("RS256", pem=read("tests/keys/rsa.pem"))
        kid = cls.ng.ec_jwks["keys"][0].get("kid")
        cls.ec = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid=kid)
        cls.ec_bad_kid = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid="nope")
        cls.hs = Signer("HS256", secret=b"\x07" * 32)

    def claims(self, **extra):
        now = int(time.time())
        claims = {"iss": ISS, "aud": "api://orders", "sub": "ada", "dept": "IT", "iat": now,
                  "org": {"name": "Engines"}}
        claims.update(extra)
        return claims

    def bearer(self, token):
        return {"Authorization": f"Bearer {token}"}

    def assert_rejected(self, path, headers, code, status=401):
        got, resp_headers, _ = self.ng.get(path, headers)
        self.assertEqual(got, status, code)
        self.assertEqual(resp_headers.get("X-Jwtgate-Code"), code)
        challenge = resp_headers.get("WWW-Authenticate")
        self.assertIsNotNone(challenge)
        self.assertTrue(challenge.startswith("Bearer"), challenge)
        return challenge

    def test_accepts_and_forwards_the_policy_headers(self):
        status, headers, echoed = self.ng.get("/api/x", self.bearer(self.rs.sign(self.claims())))
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("X-Jwtgate-Code"), "ok")
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])

    def test_every_reject_code(self):
        now = int(time.time())
        token = self.rs.sign(self.claims())
        head, payload, sig = token.split(".")
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        crit = b64(b'{"alg":"RS256","crit":["exp"]}')
        cases = [
            ("malformed", "abc.def", 401),
            ("too_large", self.rs.sign(self.claims(pad="x" * 3000)), 401),
            ("header", f"{crit}.{payload}.{sig}", 401),
            ("algorithm", self.hs.sign(self.claims()), 401),
            ("key_not_found", self.ec_bad_kid.sign({"iss": EC_ISS, "sub": "ada"}), 401),
            ("signature", f"{head}.{payload}.{flipped}", 401),
            ("expired", self.rs.sign(self.claims(exp=now - 60, iat=now - 120), lifetime=None), 401),
            ("not_yet_valid", self.rs.sign(self.claims(nbf=now + 3600)), 401),
            ("issuer", self.rs.sign(self.claims(iss="https://evil.example.com/")), 401),
            ("audience", self.rs.sign(self.claims(aud="api://billing")), 401),
            ("claim", self.rs.sign(self.claims(dept="Sales")), 403),
            ("jwks_unavailable", self.ec.sign({"iss": DOWN_ISS, "sub": "ada"}), 503),
        ]
        for code, tok, status in cases:
            with self.subTest(code=code):
                challenge = self.assert_rejected("/api/x", self.bearer(tok), code, status)
                self.assertIn("insufficient_scope" if code == "claim" else "invalid_token", challenge)
        self.assertEqual(self.assert_rejected("/api/x", {}, "missing_token"), "Bearer")
        # The code is in the access log too (written just after the response).
        deadline = time.time() + TIMEOUT
        while True:
            with open(os.path.join(self.ng.dir, "access.log"), encoding="utf-8") as f:
                log = f.read()
            if "/api/x 401 code=missing_token sub=-" in log or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertIn("/api/x 403 code=claim sub=-", log)
        self.assertIn("/api/x 401 code=missing_token sub=-", log)

    def test_other_issuer_with_jwks(self):
        status, _, _ = self.ng.get("/api/x", self.bearer(self.ec.sign({"iss": EC_ISS, "sub": "grace"})))
        self.assertEqual(status, 200)

    def test_exempt_location(self):
        status, headers, echoed = self.ng.get("/public/page")
        self.assertEqual(status, 200)
        self.assertIsNone(headers.get("X-Jwtgate-Code"))
        self.assertEqual(echoed["path"], "/public/page")

    def test_claims_to_headers_and_variables(self):
        token = self.rs.sign(self.claims(**{'we"ird\\name': "yes", "https://example.com/tenant": "acme"}))
        status, _, echoed = self.ng.get("/vars/x", {**self.bearer(token), "X-User": "mallory", "X-Dept": "spoof"})
        self.assertEqual(status, 200)
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])  # the client's value is replaced
        self.assertEqual(echoed_all(echoed, "X-Dept"), ["IT"])
        self.assertEqual(echoed_all(echoed, "X-Weird"), ["yes"])
        self.assertEqual(echoed_all(echoed, "X-Tenant"), ["acme"])
        self.assertEqual(echoed_all(echoed, "X-JWT-Payload"), [token.split(".")[1]])
        self.assertEqual(echoed_all(echoed, "X-Var-Sub"), ["ada"])
        self.assertEqual(echoed_all(echoed, "X-Var-Org"), ["Engines"])
        self.assertEqual(echoed_all(echoed, "X-Var-Code"), ["ok"])
        self.assertEqual(echoed_all(echoed, "X-Var-Issuer"), [ISS])

    def test_per_location_claim_rule(self):
        ok = self.rs.sign(self.claims(subscriptions=["orders", "billing"]))
        self.assertEqual(self.ng.get("/orders/1", self.bearer(ok))[0], 200)
        other = self.rs.sign(self.claims(subscriptions=["billing"]))
        challenge = self.assert_rejected("/orders/1", self.bearer(other), "claim", 403)
        self.assertIn("insufficient_scope", challenge)
        # The same token passes where the rule does not apply.
        self.assertEqual(self.ng.get("/api/1", self.bearer(other))[0], 200)

    def test_cookie_source(self):
        token = self.rs.sign(self.claims())
        status, _, echoed = self.ng.get("/cookie/x", {"Cookie": f"theme=dark; at={token}"})
        self.assertEqual(status, 200)
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])
        # Only the cookie counts here.
        self.assert_rejected("/cookie/x", self.bearer(token), "missing_token")
        self.assert_rejected("/cookie/x", {"Cookie": "at=abc"}, "malformed")

    def test_query_source(self):
        token = self.rs.sign(self.claims())
        self.assertEqual(self.ng.get(f"/query/x?a=1&access_token={token}")[0], 200)
        self.assertEqual(self.ng.get("/query/x", {"X-Token": token})[0], 200)
        self.assert_rejected("/query/x?access_token=" + token[:-4], {}, "signature")
        self.assert_rejected("/query/x", self.bearer(token), "missing_token")

    def test_zz_reload_picks_up_a_new_policy(self):
        sales = self.rs.sign(self.claims(dept="Sales"))
        self.assertEqual(self.ng.get("/api/x", self.bearer(sales))[0], 403)
        self.ng.write_policy(["Sales"])
        try:
            self.ng.reload()
            for _ in range(4):  # whichever worker answers
                self.assertEqual(self.ng.get("/api/x", self.bearer(sales))[0], 200)
            it = self.rs.sign(self.claims(dept="IT"))
            self.assert_rejected("/api/x", self.bearer(it), "claim", 403)
        finally:
            self.ng.write_policy(["IT", "HR"])
            self.ng.reload()

    @unittest.skipUnless(os.geteuid() == 0, "workers only switch to an unprivileged user under root")
    def test_a_policy_the_workers_cannot_read_fails_closed(self):
        token = self.rs.sign(self.claims())
        status, headers, _ = self.ng.get("/unreadable/x", self.bearer(token))
        self.assertEqual(status, 500)
        self.assertEqual(self.ng.get("/public/x")[0], 200)  # the rest of the server still works
        self.assertIn("the policy failed to load in this worker", self.ng.errors())

    def nginx_t(self, name, text):
        conf = os.path.join(self.ng.dir, name)
        with open(conf, "w", encoding="utf-8") as f:
            f.write(text.replace(f"pid {self.ng.dir}/nginx.pid", f"pid {self.ng.dir}/{name}.pid"))
        return subprocess.run([NGINX, "-t", "-p", self.ng.dir, "-c", conf], capture_output=True, text=True,
                              timeout=TIMEOUT)

    def test_nginx_t_takes_on_at_http_level_with_policies_per_location(self):
        d = self.ng.dir
        done = self.nginx_t("nested.conf", f"""
load_module {MODULE};
error_log {d}/error.log;
pid {d}/nginx.pid;
events {{ }}
http {{
    jwtgate on;
    server {{
        listen 127.0.0.1:{free_port()};
        location /a/ {{ jwtgate_policy {self.ng.policy_path}; }}
        location /b/ {{ }}
    }}
}}
""")
        self.assertEqual(done.returncode, 0, done.stderr)
        done = self.nginx_t("empty.conf", self.ng.config('""'))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("jwtgate_policy", done.stderr)

    def test_nginx_t_refuses_a_broken_policy(self):
        bad = os.path.join(self.ng.dir, "bad.json")
        with open(bad, "w", encoding="utf-8") as f:
            f.write('{"issuers": [{"algorithms": ["RS256"], "leway_s": 5, "keys": {"pem_file": "rsa.pub.pem"}}]}')
        done = self.nginx_t("bad.conf", self.ng.config(bad))
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("leway_s", done.stderr)


if __name__ == "__main__":
    if not os.path.exists(MODULE):
        sys.exit(f"FAILED: {MODULE} is missing: run bindings-c/nginx/build.sh")
    unittest.main(verbosity=2)
