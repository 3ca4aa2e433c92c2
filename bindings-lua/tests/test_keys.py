"""Remote keys through lua-resty-jwtgate in a real nginx: a JWKS endpoint
on 127.0.0.1 whose keys rotate, and an IdP that hangs, whose requests wait
with ngx.sleep (never blocking the worker) and then get the decision's 503.
"""
import base64
import os
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402
from jwtgate_testsupport.servers import HangingIdP, JwksServer  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

ISS = "https://rotating.test/"
SLOW_ISS = "https://slow.test/"
LOCAL_ISS = "https://local.test/"
SECRETS = {"k1": b"first-rotation-secret-32-bytes!!", "k2": b"second-rotation-secret-32-bytes!"}
LOCAL_SECRET = b"local-issuer-secret-of-32-bytes!"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwks(*kids):
    return {"keys": [{"kty": "oct", "kid": kid, "alg": "HS256", "k": b64(SECRETS[kid])} for kid in kids]}


class Rotation(unittest.TestCase):
    def test_keys_rotate_at_the_jwks_endpoint(self):
        idp = JwksServer(jwks("k1")).start()
        ng = LuaNginx()
        try:
            url = idp.url
            ng.start_lua({"issuers": [{
                "issuer": ISS, "algorithms": ["HS256"],
                "keys": {"jwks_uri": url, "allow_http": True, "refetch_cooldown_s": 1, "timeout_ms": 2000}}],
                "cache": {"max_entries": 0}}, ng.gated_proxy())
            # The worker fetches its keys as it starts (prefetch).
            deadline = time.time() + 5
            while idp.hits < 1 and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(idp.hits, 1, "the worker did not fetch its keys at start")
            k1 = Signer("HS256", secret=SECRETS["k1"], kid="k1").sign({"iss": ISS, "sub": "ada"})
            k2 = Signer("HS256", secret=SECRETS["k2"], kid="k2").sign({"iss": ISS, "sub": "ada"})

            def answer(token):
                status, headers, _, _ = ng.request("/x", [("Authorization", f"Bearer {token}")])
                return status, headers.get("X-Jwtgate-Code")

            self.assertEqual(answer(k1), (200, "ok"))
            self.assertEqual(idp.hits, 1)  # a known kid never fetches
            self.assertEqual(answer(k2), (401, "key_not_found"))  # refetched: still unknown
            self.assertEqual(idp.hits, 2)
            # The IdP rotates: k2 in, k1 out. The unknown kid refetches the set
            # (once per refetch_cooldown_s: a decision polled while a fetch
            # runs does not start another).
            idp.jwks = jwks("k2")
            time.sleep(1.05)  # refetch_cooldown_s
            self.assertEqual(answer(k2), (200, "ok"))
            self.assertEqual(idp.hits, 3)
            self.assertEqual(answer(k1), (401, "key_not_found"))
        finally:
            idp.close()
            close_checked(ng)


class PendingKeys(unittest.TestCase):
    """While an issuer's keys are being fetched, its requests sleep
    (ngx.sleep) and decide again, up to initial_wait_ms, then answer the
    decision's 503 with Retry-After; everything else on the same worker is
    answered at once."""

    WAIT_MS = 800

    def test_a_hanging_idp_holds_up_only_its_own_requests(self):
        idp = HangingIdP()
        ng = LuaNginx()
        try:
            ng.start_lua({"issuers": [
                {"issuer": SLOW_ISS, "algorithms": ["HS256"],
                 "keys": {"jwks_uri": f"http://127.0.0.1:{idp.port}/jwks.json", "allow_http": True,
                          "timeout_ms": 20000, "initial_wait_ms": self.WAIT_MS}},
                {"issuer": LOCAL_ISS, "algorithms": ["HS256"], "keys": {"hmac_secret": b64(LOCAL_SECRET)}}]},
                f"""
    server {{
        listen 127.0.0.1:{ng.port};
        location / {{
            access_by_lua_block {{ require("resty.jwtgate").access() }}
            proxy_pass {ng.upstream_url};
        }}
        location /short/ {{
            access_by_lua_block {{ require("short_gate"):access() }}
            proxy_pass {ng.upstream_url};
        }}
        location /nowait {{
            content_by_lua_block {{
                ngx.update_time()
                local start = ngx.now()
                local d = require("resty.jwtgate").gate():decide(nil, {{ wait = false }})
                ngx.update_time()
                ngx.say(tostring(d:pending()), " ", d:status(), " ", d:code(), " ",
                        d:pending_wait_ms(), " ", math.floor((ngx.now() - start) * 1000))
            }}
        }}
        location /health {{ return 200 "ok\\n"; }}
    }}""", init="""
            local short = assert(jwtgate.new(%s, { key_wait_ms = 300, prefetch = false }))
            package.loaded.short_gate = short
""" % lua_string(os.path.join(ng.dir, "policy.json")))
            slow = Signer("HS256", secret=b"k" * 32, kid="k1").sign({"iss": SLOW_ISS, "sub": "ada"})
            local = Signer("HS256", secret=LOCAL_SECRET).sign({"iss": LOCAL_ISS, "sub": "ada"})

            def timed(path, token):
                start = time.monotonic()
                status, headers, _, _ = ng.request(path, [("Authorization", f"Bearer {token}")])
                return status, headers, (time.monotonic() - start) * 1000

            others = []
            with ThreadPoolExecutor(max_workers=8) as pool:
                waiting = [pool.submit(timed, "/api/x", slow) for _ in range(4)]
                short = pool.submit(timed, "/short/x", slow)
                time.sleep(0.1)
                while not all(f.done() for f in waiting):
                    for path, token in (("/health", None), ("/api/x", local)):
                        sent = [("Authorization", f"Bearer {token}")] if token else []
                        start = time.monotonic()
                        status = ng.request(path, sent)[0]
                        others.append((path, status, (time.monotonic() - start) * 1000))
                    time.sleep(0.05)
                results = [f.result() for f in waiting]
                short_status, short_headers, short_ms = short.result()
            slack = 700
            for status, headers, ms in results:
                self.assertEqual((status, headers.get("X-Jwtgate-Code")), (503, "jwks_unavailable"))
                self.assertGreaterEqual(int(headers.get("Retry-After")), 1)
                self.assertGreater(ms, self.WAIT_MS - 100)
                self.assertLess(ms, self.WAIT_MS + slack)
            # key_wait_ms overrides the issuer's initial_wait_ms.
            self.assertEqual(short_status, 503)
            self.assertIsNotNone(short_headers.get("Retry-After"))
            self.assertGreater(short_ms, 200)
            self.assertLess(short_ms, 300 + slack)
            # The worker kept answering: other paths and other issuers at once.
            self.assertGreater(len(others), 6, others)
            self.assertTrue(all(status == 200 for _, status, _ in others), others)
            self.assertLess(max(ms for _, _, ms in others), 200, others)
            # Without waiting, the decision comes back pending at once.
            status, _, body, _ = ng.request("/nowait", [("Authorization", f"Bearer {slow}")])
            pending, st, code, wait_ms, elapsed = body.decode().split()
            self.assertEqual((status, pending, st, code, wait_ms), (200, "true", "503", "jwks_unavailable",
                                                                    str(self.WAIT_MS)))
            self.assertLess(int(elapsed), 100)
        finally:
            idp.close()
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
