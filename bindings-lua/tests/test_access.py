"""lua-resty-jwtgate's access_by_lua entry through a real nginx: every
reject code with its answer, forwarded-header stripping (spoofed copies in
every spelling), claims that must never reach a header, the query token,
per-location routes, claims in ngx.ctx, errors with their codes, and that
decisions are freed (ffi.gc).
"""
import base64
import http.client
import json
import os
import sys
import time
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402
from jwtgate_testsupport.nginx import TIMEOUT  # noqa: E402
from jwtgate_testsupport.paths import LIB, read  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.servers import echoed_all  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

ISS = "https://idp.example.com/"
EC_ISS = "https://ec.example.com/"
DOWN_ISS = "https://down.example.com/"
HS_ISS = "https://hs.example.com/"
MTLS_ISS = "https://mtls.example.com/"
HS_SECRET = b"\x07" * 32
FORWARDED = ["X-User", "X-Org", "X-JWT-Payload"]
SPOOFED = [("X-User", "admin"), ("x-user", "root"), ("X_User", "admin"), ("x_jwt-payload", "forged"),
           ("X-Org", "evil"), ("X_ORG", "evil")]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def policy(ec_jwks):
    return {
        "issuers": [
            {"issuer": ISS, "audiences": ["api://orders"], "algorithms": ["RS256"], "keys": {"pem_file": "rsa.pub.pem"},
             "claims": {"dept": {"one_of": ["IT", "HR"]}},
             "forward": {"claims_to_headers": {"sub": "X-User", "/org/name": "X-Org"},
                         "payload_header": "X-JWT-Payload"}},
            {"issuer": EC_ISS, "algorithms": ["ES256"], "keys": {"jwks": ec_jwks}},
            {"issuer": DOWN_ISS, "algorithms": ["ES256"],
             "keys": {"jwks_uri": f"http://127.0.0.1:{free_port()}/jwks.json", "timeout_ms": 300,
                      "allow_http": True, "initial_wait_ms": 0}},
            {"issuer": HS_ISS, "algorithms": ["HS256"], "require": ["sub"],
             "keys": {"hmac_secret": b64(HS_SECRET)}},
            {"issuer": MTLS_ISS, "algorithms": ["HS256"], "mtls_binding": "allowed",
             "keys": {"hmac_secret": b64(HS_SECRET)}},
        ],
        "token_sources": [{"header": "Authorization", "scheme": "Bearer"}, {"cookie": "access_token"},
                          {"query": "access_token"}],
        "max_token_bytes": 2048,
    }


# Routes built once per worker (init_worker) and kept in a module.
INIT = """
            local routes = {}
            routes.orders = assert(gate:route('{"scopes": ["orders:read"]}'))
            routes.nested = assert(gate:route('{"claims_to_headers": {"tier": "X-Tier"}}', routes.orders))
            package.loaded.test_routes = routes
            local bad, err = jwtgate.new('{"issuers": [], "surprise": 1}', { library = %s })
            package.loaded.test_bad_policy = { bad = bad, err = err }
"""

CTX = """
            content_by_lua_block {
                local d = ngx.ctx.jwtgate
                ngx.header["Content-Type"] = "application/json"
                ngx.print('{"sub":', string.format("%q", tostring(d:claim("sub"))),
                          ',"name":', string.format("%q", tostring(d:claim("name"))),
                          ',"issuer":', string.format("%q", tostring(d:issuer())),
                          ',"claims":', d:claims_json() or "null", '}')
            }"""


def servers(ng):
    up = ng.upstream_url

    def loc(path, access, rest=None):
        return f"""
        location {path} {{
            access_by_lua_block {{ {access} }}
            {rest or f"proxy_pass {up};"}
        }}"""

    access = 'require("resty.jwtgate").access({})'
    return f"""
    server {{
        listen 127.0.0.1:{ng.port};
        underscores_in_headers on;
        large_client_header_buffers 4 16k;
        {loc("/", access.format(""))}
        {loc("/orders/", access.format('require("test_routes").orders'))}
        {loc("/nested/", access.format('require("test_routes").nested'))}
        {loc("/text/", access.format(lua_string('{"claims": {"name": {"equals": "Ada"}}}')))}
        {loc("/keep/", access.format(lua_string('{"keep_query_token": true}')))}
        {loc("/optional/", access.format(lua_string('{"mode": "optional"}')))}
        {loc("/report/", access.format(lua_string('{"mode": "report_only"}')))}
        {loc("/off/", access.format(lua_string('{"mode": "off"}')))}
        {loc("/bad-route/", access.format(lua_string('{"scopes": ["orders:read"], "colour": "red"}')))}
        {loc("/ctx/", access.format(""), CTX)}
        location /bad-policy {{
            content_by_lua_block {{
                local b = require("test_bad_policy")
                ngx.say(tostring(b.bad), " ", b.err.code, " ", tostring(b.err.status), " ", b.err.message)
            }}
        }}
        location /memory {{
            content_by_lua_block {{
                -- Decisions are freed by the garbage collector: many of them
                -- leave the worker's memory where it was.
                local gate = require("resty.jwtgate").gate()
                local function rss()
                    local f = io.open("/proc/self/statm")
                    local pages = tonumber(f:read("*a"):match("%d+%s+(%d+)"))
                    f:close()
                    return pages * 4096
                end
                local function round()
                    for i = 1, 20000 do
                        assert(gate:decide(require("test_routes").orders))
                        if i % 500 == 0 then collectgarbage() end
                    end
                    collectgarbage()
                    collectgarbage()
                    return rss()
                end
                local first = round()
                local second = round()
                local third = round()
                ngx.say(second - first, " ", third - second)
            }}
        }}
    }}"""


class Access(unittest.TestCase):
    ng = None

    @classmethod
    def setUpClass(cls):
        gateway = json.loads(read("tests/vectors/attacks.json"))["policies"]["gateway"]
        ec_jwks = next(i for i in gateway["issuers"] if i["issuer"] == EC_ISS)["keys"]["jwks"]
        ng = LuaNginx()
        try:
            ng.write("rsa.pub.pem", read("tests/keys/rsa.pub.pem"))
            ng.start_lua(policy(ec_jwks), servers(ng), init=INIT % lua_string(LIB))
        except BaseException:
            ng.stop()
            ng.cleanup()
            raise
        cls.ng = ng
        cls.rs = Signer("RS256", pem=read("tests/keys/rsa.pem"))
        cls.ec_bad_kid = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid="nope")
        cls.ec = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid=ec_jwks["keys"][0].get("kid"))
        cls.hs = Signer("HS256", secret=HS_SECRET)

    @classmethod
    def tearDownClass(cls):
        close_checked(cls.ng)

    def claims(self, **extra):
        claims = {"iss": ISS, "aud": "api://orders", "sub": "ada", "dept": "IT", "name": "Ada",
                  "org": {"name": "Engines"}, "scope": "orders:read"}
        for k, v in extra.items():
            if v is ...:
                claims.pop(k, None)
            else:
                claims[k] = v
        return claims

    def token(self, **extra):
        return self.rs.sign(self.claims(**extra))

    def get(self, path, token=None, headers=(), method="GET"):
        sent = list(headers)
        if token is not None:
            sent.insert(0, ("Authorization", f"Bearer {token}"))
        return self.ng.request(path, sent, method=method)

    def assert_rejected(self, path, code, status, token=None, headers=()):
        got, resp, body, echoed = self.get(path, token, headers)
        self.assertEqual((got, resp.get("X-Jwtgate-Code")), (status, code), body[:300])
        self.assertIsNone(echoed)
        self.assertEqual(resp.get("Content-Type"), "application/json")
        self.assertEqual(resp.get("Cache-Control"), "no-store")
        self.assertEqual(resp.get("Content-Length"), str(len(body)))
        self.assertEqual(json.loads(body)["error"], code)
        challenges = resp.get_all("WWW-Authenticate")
        self.assertEqual(len(challenges), 1, challenges)
        return challenges[0], resp

    def test_every_reject_code(self):
        now = int(time.time())
        head, payload, sig = self.token().split(".")
        flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
        crit = b64(b'{"alg":"RS256","crit":["exp"]}')
        cases = [
            ("malformed", "abc.def", 401),
            ("too_large", self.token(pad="x" * 3000), 401),
            ("header", f"{crit}.{payload}.{sig}", 401),
            ("algorithm", self.hs.sign(self.claims()), 401),
            ("key_not_found", self.ec_bad_kid.sign({"iss": EC_ISS, "sub": "ada"}), 401),
            ("signature", f"{head}.{payload}.{flipped}", 401),
            ("expired", self.rs.sign(self.claims(exp=now - 60, iat=now - 120), lifetime=None), 401),
            ("not_yet_valid", self.token(nbf=now + 3600), 401),
            ("issuer", self.token(iss="https://evil.example.com/"), 401),
            ("audience", self.token(aud="api://billing"), 401),
            ("missing_claim", self.hs.sign({"iss": HS_ISS}), 401),
            ("claim", self.token(dept="Sales"), 403),
            ("mtls_binding", self.hs.sign({"iss": MTLS_ISS, "sub": "ada", "cnf": {"x5t#S256": "x" * 43}}), 401),
            ("jwks_unavailable", self.ec.sign({"iss": DOWN_ISS, "sub": "ada"}), 503),
        ]
        for code, token, status in cases:
            with self.subTest(code=code):
                challenge, resp = self.assert_rejected("/api/x", code, status, token, SPOOFED)
                if code == "jwks_unavailable":  # a server-side failure blames no token
                    self.assertEqual(challenge, "Bearer")
                    self.assertGreaterEqual(int(resp.get("Retry-After")), 1)
                else:
                    kind = "insufficient_scope" if code == "claim" else "invalid_token"
                    self.assertTrue(challenge.startswith(f'Bearer error="{kind}", error_description="'), challenge)
        challenge, _ = self.assert_rejected("/api/x", "missing_token", 401)
        self.assertEqual(challenge, "Bearer")  # RFC 6750 3.1: no error without credentials
        challenge, _ = self.assert_rejected("/api/x", "invalid_request", 400, None,
                                            [("Cookie", "access_token=a"), ("Cookie", "access_token=b")])
        self.assertTrue(challenge.startswith('Bearer error="invalid_request"'), challenge)
        # The route's scopes: 403 naming the scope.
        challenge, _ = self.assert_rejected("/orders/x", "claim", 403, self.token(scope="profile"))
        self.assertIn('scope="orders:read"', challenge)

    def test_accepted_requests_get_the_forwarded_headers_and_no_spoofed_copy(self):
        token = self.token()
        status, resp, _, echoed = self.get("/api/x", token, SPOOFED + [("X_Other", "kept")])
        self.assertEqual((status, resp.get("X-Jwtgate-Code")), (200, "ok"))
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])
        self.assertEqual(echoed_all(echoed, "X-Org"), ["Engines"])
        self.assertEqual(echoed_all(echoed, "X-JWT-Payload"), [token.split(".")[1]])
        names = [k.lower() for k, _ in echoed["headers"]]
        for spelling in ("x_user", "x_jwt-payload", "x_org"):
            self.assertNotIn(spelling, names)
        self.assertEqual(echoed_all(echoed, "X_Other"), ["kept"])  # only forwarded names go
        self.assertEqual(len(echoed_all(echoed, "Authorization")), 1)  # the token itself passes

    def test_spoofed_copies_are_removed_on_every_path(self):
        for path, token, code in (("/optional/x", None, None), ("/report/x", "abc.def.ghi", "malformed"),
                                  ("/off/x", None, None), ("/nested/x", self.token(tier=...), "ok")):
            with self.subTest(path=path):
                status, resp, _, echoed = self.get(path, token, SPOOFED + [("X-Tier", "platinum")])
                self.assertEqual((status, resp.get("X-Jwtgate-Code")), (200, code))
                for name in FORWARDED if code != "ok" else ["X-Tier"]:
                    self.assertEqual(echoed_all(echoed, name), [], name)
                names = [k.lower() for k, _ in echoed["headers"]]
                self.assertNotIn("x_user", names)

    def test_claims_with_controls_or_non_ascii_never_reach_a_header(self):
        for changes in ({"sub": "ada\r\nX-Admin: yes", "org": {"name": "a\nX-Admin: yes"}},
                        {"sub": "ada\u0000root", "org": {"name": "tab\there"}},
                        {"sub": "Jos\u00e9", "org": {"name": "\u00dcn\u00efcode"}}):
            with self.subTest(changes=changes):
                status, resp, _, echoed = self.get("/api/x", self.token(**changes), SPOOFED)
                self.assertEqual(status, 200)
                names = [k.lower() for k, _ in echoed["headers"]]
                self.assertNotIn("x-admin", names)
                self.assertNotIn("X-Admin", resp)
                self.assertEqual(echoed_all(echoed, "X-User"), [])
                self.assertEqual(echoed_all(echoed, "X-Org"), [])
                # In ngx.ctx the claims are ASCII-only JSON with the real values.
                status, _, body, _ = self.get("/ctx/x", self.token(**changes))
                self.assertEqual(status, 200)
                got = json.loads(body)
                self.assertEqual(got["sub"], "nil")  # not header-safe: no header form
                self.assertTrue(all(0x20 <= b < 0x7f for b in body), body)
                self.assertEqual(got["claims"]["sub"], changes["sub"])

    def test_claims_in_ngx_ctx(self):
        status, _, body, _ = self.get("/ctx/x", self.token())
        self.assertEqual(status, 200)
        got = json.loads(body)
        self.assertEqual((got["sub"], got["name"], got["issuer"]), ("ada", "Ada", ISS))
        self.assertEqual(got["claims"]["org"], {"name": "Engines"})

    def test_query_token_leaves_the_upstream_url_unless_kept(self):
        token = self.token()
        status, _, _, echoed = self.get(f"/api/x?a=1&access_token={token}&b=2")
        self.assertEqual((status, echoed["path"]), (200, "/api/x?a=1&b=2"))
        status, _, _, echoed = self.get(f"/api/x?access_token={token}")
        self.assertEqual((status, echoed["path"]), (200, "/api/x"))
        status, _, _, echoed = self.get(f"/keep/x?access_token={token}")
        self.assertEqual((status, echoed["path"]), (200, f"/keep/x?access_token={token}"))
        status, _, _, echoed = self.get("/api/x?a=1", token)
        self.assertEqual((status, echoed["path"]), (200, "/api/x?a=1"))

    def test_routes_given_as_text_are_compiled_once(self):
        self.assertEqual(self.get("/text/x", self.token())[0], 200)
        challenge, _ = self.assert_rejected("/text/x", "claim", 403, self.token(name="Bob"))
        self.assertIn("claim name must equal 'Ada'", challenge)
        # A nested route keeps its parent's requirement and adds its header.
        self.assert_rejected("/nested/x", "claim", 403, self.token(scope="profile"))
        status, _, _, echoed = self.get("/nested/x", self.token(tier="gold"))
        self.assertEqual((status, echoed_all(echoed, "X-Tier")), (200, ["gold"]))

    def test_a_bad_route_answers_500_and_logs_its_code(self):
        for _ in range(2):  # compiled once, its error kept
            status, _, _, echoed = self.get("/bad-route/x", self.token())
            self.assertEqual((status, echoed), (500, None))
        log = self.ng.error_log()
        self.assertIn("jwtgate: policy: ", log)
        self.assertIn("colour", log)

    def test_a_bad_policy_is_an_error_value_with_its_code(self):
        status, _, body, _ = self.get("/bad-policy")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"nil policy nil "), body)
        self.assertIn(b"surprise", body)

    def test_rejections_read_the_body_and_keep_the_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.ng.port, timeout=TIMEOUT)
        try:
            sockets = set()
            for _ in range(3):
                conn.request("POST", "/api/x", body=b"x" * 100000, headers={"Content-Type": "text/plain"})
                sockets.add(id(conn.sock))
                resp = conn.getresponse()
                self.assertEqual((resp.status, json.loads(resp.read())["error"]), (401, "missing_token"))
            conn.request("GET", "/api/x", headers={"Authorization": f"Bearer {self.token()}"})
            sockets.add(id(conn.sock))
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
            self.assertEqual(len(sockets), 1, "the connection was not kept")
        finally:
            conn.close()
        status, resp, body, _ = self.get("/api/x", method="HEAD")
        self.assertEqual((status, body, resp.get("X-Jwtgate-Code")), (401, b"", "missing_token"))

    def test_decisions_are_freed(self):
        status, _, body, _ = self.get("/memory", self.token())
        self.assertEqual(status, 200, body)
        growth = [int(x) for x in body.split()]
        # 20000 decisions held without being freed would take tens of MiB.
        self.assertLess(max(growth), 2 * 1024 * 1024, growth)


class FailClosed(unittest.TestCase):
    """A policy that does not load in init_worker: every request to the
    default gate answers 500 and the log names the code."""

    def test_a_policy_that_does_not_load_fails_closed(self):
        ng = LuaNginx()
        try:
            ng.start_lua({"issuers": [{"issuer": ISS, "algorithms": ["none"], "keys": {}}]}, ng.gated_proxy())
            status, _, _, echoed = ng.request("/x", [("Authorization", "Bearer a.b.c")])
            self.assertEqual((status, echoed), (500, None))
            log = ng.error_log()
            self.assertIn("jwtgate: policy: ", log)
        finally:
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
