#!/usr/bin/env python3
"""Tests ngx_http_jwtgate_module in a real nginx on 127.0.0.1.

Starts Debian's nginx with the module (own prefix and config in a temp
folder, unprivileged ports) in front of an upstream that echoes the request
headers it got, then checks: accepted tokens, every reject code with its
status and WWW-Authenticate, exempt locations, claims forwarded as headers and
variables, cookie and query token sources, per-location claim rules, a policy
reload with `nginx -s reload`, and that `nginx -t` refuses a broken policy.
Tokens are signed through libjwtgate's C ABI (ctypes). The gateway suite
(test_nginx_gateway.py) and the DPoP suite (test_nginx_dpop.py) run with it.
"""
import base64
import json
import os
import sys
import time
import unittest

# The shared test support (tests/support/python), for a direct run too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))

from jwtgate_testsupport.nginx import TIMEOUT, Nginx as NginxProcess, run_tests  # noqa: E402
from jwtgate_testsupport.paths import MODULE, read, read_policy  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.servers import echoed_all  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

ISS = "https://idp.example.com/"
EC_ISS = "https://ec.example.com/"
DOWN_ISS = "https://down.example.com/"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Nginx(NginxProcess):
    """The suite's nginx: three issuers, one of them with an unreachable
    JWKS endpoint, and a location per feature under test."""

    def __init__(self):
        super().__init__()
        try:
            self.policy_path = os.path.join(self.dir, "policy.json")
            self.write("rsa.pub.pem", read("tests/keys/rsa.pub.pem"))
            gateway = json.loads(read("tests/vectors/attacks.json"))["policies"]["gateway"]
            self.ec_jwks = next(i for i in gateway["issuers"] if i["issuer"] == EC_ISS)["keys"]["jwks"]
            self.write_policy(["IT", "HR"])
            # A policy the master (root) reads but the workers (nginx's user) cannot.
            self.write("unreadable.json", read_policy(self.policy_path), mode=0o600)
            self.start(self.config(self.policy_path))
        except BaseException:
            self.stop()
            self.cleanup()
            raise

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
        self.write("policy.json", json.dumps(policy))

    def config(self, policy):
        up = self.upstream_url
        d = self.dir
        return self.preamble(workers=2) + f"""
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


NGINX_UNDER_TEST = None


def setUpModule():
    global NGINX_UNDER_TEST
    NGINX_UNDER_TEST = Nginx()


def tearDownModule():
    if NGINX_UNDER_TEST:
        problems = NGINX_UNDER_TEST.close()
        if problems:
            raise AssertionError("nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


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
                if code == "jwks_unavailable":  # a server-side failure blames no token
                    self.assertEqual(challenge, "Bearer")
                else:
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
        conf = self.ng.write(name, text.replace(f"pid {self.ng.dir}/nginx.pid", f"pid {self.ng.dir}/{name}.pid"))
        return self.ng.run("-t", "-c", conf)

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


class ValgrindFilterTest(unittest.TestCase):
    """The filter that tells nginx's own leaks from the module's."""

    NGINX_OWN = """==7== 16 bytes in 1 blocks are definitely lost in loss record 3 of 31
==7==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==7==    by 0x154CFE: ngx_alloc (in /usr/sbin/nginx)
==7==    by 0x12E404: ngx_set_environment (in /usr/sbin/nginx)
==7==    by 0x12D3AD: main (in /usr/sbin/nginx)
==7== 
"""
    OURS = """==8== 170 (80 direct, 90 indirect) bytes in 1 blocks are definitely lost in loss record 16 of 30
==8==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)
==8==    by 0x5613BC8: jwtgate_verifier_verify (in /tmp/t/nginx-module/ngx_http_jwtgate_module.so)
==8==    by 0x560E860: ngx_http_jwtgate_handler (ngx_http_jwtgate_module.c:824)
==8==    by 0x12D3AD: main (in /usr/sbin/nginx)
==8== 
"""
    READ = """==9== Invalid read of size 4
==9==    at 0x154CFE: ngx_palloc (in /usr/sbin/nginx)
==9==    by 0x12D3AD: main (in /usr/sbin/nginx)
"""

    def problems(self, text):
        ng = NginxProcess()
        try:
            ng.write("valgrind/1.log", text)
            ng.stop()
            return ng.valgrind_reports()
        finally:
            ng.cleanup()

    def test_leaks_only_through_nginx_are_nginx_own(self):
        self.assertEqual(self.problems(self.NGINX_OWN), [])

    def test_a_leak_with_a_module_frame_and_any_other_error_count(self):
        self.assertEqual(len(self.problems(self.NGINX_OWN + self.OURS + self.READ)), 2)


# The gateway suite (every gateway vector, the attacks on forwarded headers
# and variables, key fetches that never block) runs with this one, so
# bindings-c/test.sh runs it too, also under valgrind.
from test_nginx_gateway import (  # noqa: E402,F401
    Attacks, GatewayVectorsThroughNginx, KeyFetchNeverBlocks, RemoteKeys)
# The sender-constrained vectors (DPoP, the RFC 9728 metadata, the replay
# zone and nonces every worker shares) likewise.
from test_nginx_dpop import (  # noqa: E402,F401
    CertificateBoundTokens, DpopVectors, SharedNonceSecret, SharedReplayZone)


if __name__ == "__main__":
    run_tests()
