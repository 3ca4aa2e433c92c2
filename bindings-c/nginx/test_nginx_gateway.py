#!/usr/bin/env python3
"""The gateway layer through a real nginx: every shared gateway vector
(tests/gateway/*.json) and the attacks on forwarded headers and variables.

Each vector's `routes` (route documents, outermost first) become nginx
directives: the last level goes into the `location`, the one before into
the `server`, a third into `http` (cases with a different `http` level get
their own nginx). Every case has its own `server` (chosen by `Host`) in
front of an upstream that echoes the request target and headers it got; the
answer must match the vector: status, `$jwtgate_code`, `WWW-Authenticate`,
and for allowed requests the upstream's headers and URL.

A route field nginx has no directive for maps to its nginx equivalent:
`exclude` (path prefixes checked in mode off) becomes `jwtgate off`
locations for the prefix, segment-wise (`location = /p` and `/p/`).

`test_nginx.py` imports the classes below, so `bindings-c/test.sh` runs them
with its suite, also under valgrind (`JWTGATE_NGINX_VALGRIND=1`).
"""
import base64
import http.client
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

# The shared test support (tests/support/python), for a direct run too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))

from jwtgate_testsupport.nginx import TIMEOUT, VALGRIND, Nginx, run_tests  # noqa: E402
from jwtgate_testsupport.paths import ROOT, read  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.servers import HangingIdP, JwksServer, echoed_all  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

GATEWAY = os.path.join(ROOT, "tests", "gateway")
SECRET = b"gateway-vectors-secret-32-bytes!"  # core/examples/gen_gateway_vectors.rs
ISS = "https://idp.gateway.test/"


def q(text):
    """An nginx configuration string: quoted, with quotes and backslashes escaped."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def directives(level, skip_mode=False):
    """A route document as nginx directives (one line each)."""
    out = []
    for claim, rule in level.get("claims", {}).items():
        out.append(f"jwtgate_claim_rule {q(claim)} {q(json.dumps(rule))};")
    if "any_of" in level:
        out.append(f"jwtgate_claim_any_of {q(json.dumps(level['any_of']))};")
    if level.get("scopes"):
        out.append("jwtgate_scope " + " ".join(q(s) for s in level["scopes"]) + ";")
    for claim, header in level.get("claims_to_headers", {}).items():
        out.append(f"jwtgate_claim_header {q(claim)} {q(header)};")
    if level.get("payload_header"):
        out.append(f"jwtgate_payload_header {q(level['payload_header'])};")
    if level.get("token_sources"):
        sources = []
        for s in level["token_sources"]:
            if "header" in s:
                sources.append(f"header={s['header']}" + (f":{s['scheme']}" if s.get("scheme") else ""))
            elif "cookie" in s:
                sources.append(f"cookie={s['cookie']}")
            else:
                sources.append(f"query={s['query']}")
        out.append("jwtgate_token " + " ".join(q(s) for s in sources) + ";")
    if "mode" in level and not skip_mode:
        out.append(f"jwtgate_mode {level['mode']};")
    if "keep_query_token" in level:
        out.append(f"jwtgate_keep_query_token {'on' if level['keep_query_token'] else 'off'};")
    known = {"claims", "any_of", "scopes", "claims_to_headers", "payload_header", "token_sources", "mode",
             "keep_query_token", "exclude"}
    unknown = set(level) - known
    if unknown:
        raise AssertionError(f"route fields without an nginx mapping: {sorted(unknown)}")
    return out


def load_cases():
    """(file stem, policy, case) for every gateway vector."""
    cases = []
    for name in sorted(os.listdir(GATEWAY)):
        if name.endswith(".json"):
            with open(os.path.join(GATEWAY, name), encoding="utf-8") as f:
                doc = json.load(f)
            cases += [(name[:-5], doc["policy"], case) for case in doc["cases"]]
    return cases


def split_levels(routes):
    """The route levels as (http, server, location), missing ones empty."""
    if len(routes) > 3:
        raise AssertionError("more than three route levels")
    padded = [{}] * (3 - len(routes)) + list(routes)
    return padded[0], padded[1], padded[2]


def server_block(ng, host, server_level, location_level):
    up = ng.upstream_url
    lines = [f"    server {{", f"        listen 127.0.0.1:{ng.port};", f"        server_name {host};"]
    lines += [f"        {d}" for d in directives(server_level)]
    loc = "\n".join(f"            {d}" for d in directives(location_level))
    lines.append(f"        location / {{\n{loc}\n            proxy_pass {up};\n        }}")
    # exclude: the prefix and everything below it, segment-wise, in mode off.
    for level, where in ((server_level, "server"), (location_level, "location")):
        for prefix in level.get("exclude", []):
            inner = directives(location_level, skip_mode=True) if where == "location" else []
            body = "\n".join(f"            {d}" for d in inner + ["jwtgate_mode off;"])
            p = prefix.rstrip("/") or "/"
            lines.append(f"        location = {p} {{\n{body}\n            proxy_pass {up};\n        }}")
            if p != "/":
                lines.append(f"        location {p}/ {{\n{body}\n            proxy_pass {up};\n        }}")
    lines.append("    }")
    return "\n".join(lines)


def gateway_config(ng, policy_path, http_level, servers):
    mode = [] if "mode" in http_level else ["jwtgate on;"]
    http = "\n".join(f"    {d}" for d in [f"jwtgate_policy {policy_path};", *mode, *directives(http_level)])
    return ng.preamble(workers=1) + f"""
    access_log off;
    add_header X-Jwtgate-Code $jwtgate_code always;
{http}
{servers}
}}
"""


# Headers nginx (1.22) refuses to see twice: it answers 400 "client sent
# duplicate header line" before the access phase.
NGINX_UNIQUE = ("host", "authorization", "content-length", "if-modified-since", "if-unmodified-since",
                "if-match", "if-none-match", "user-agent", "referer", "content-type", "range", "if-range",
                "transfer-encoding", "te", "expect", "upgrade", "accept-encoding", "via", "x-real-ip")


class GatewayVectorsThroughNginx(unittest.TestCase):
    """Every case of tests/gateway/*.json as a request to nginx."""

    def test_every_gateway_vector(self):
        cases = load_cases()
        self.assertGreater(len(cases), 25)
        groups = {}
        for index, (stem, policy, case) in enumerate(cases):
            http_level = split_levels(case["routes"])[0]
            key = (stem, json.dumps(http_level, sort_keys=True))
            groups.setdefault(key, []).append((index, policy, case))
        for (stem, http_key), group in sorted(groups.items()):
            with self.subTest(file=stem, http_level=http_key):
                self.run_group(json.loads(http_key), group)

    def run_group(self, http_level, group):
        ng = Nginx()
        try:
            policy_path = ng.write("policy.json", json.dumps(group[0][1]))
            servers = []
            for index, _, case in group:
                _, server_level, location_level = split_levels(case["routes"])
                servers.append(server_block(ng, f"case{index}.test", server_level, location_level))
            ng.start(gateway_config(ng, policy_path, http_level, "\n".join(servers)))
            for index, _, case in group:
                with self.subTest(case=case["name"]):
                    self.check(ng, f"case{index}.test", case)
        finally:
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))

    def check(self, ng, host, case):
        req, expect = case["request"], case["expect"]
        status, headers, body, echoed = ng.request(req["url"], req["headers"], method=req["method"], host=host)
        self.assertEqual(status, expect["status"], body[:300])
        names = [name.lower() for name, _ in req["headers"]]
        if any(names.count(unique) > 1 for unique in NGINX_UNIQUE):
            # nginx refuses the request itself before any module runs.
            self.assertEqual(status, 400)
            self.assertIsNone(headers.get("X-Jwtgate-Code"))
            print(f"\n    {case['name']!r}: nginx answers 400 itself (duplicate header line)", end=" ")
            return
        code = headers.get("X-Jwtgate-Code")
        if expect["allow"]:
            if expect["code"] is None:
                self.assertIn(code, (None, "ok"))
            else:
                self.assertEqual(code, expect["code"])
            self.assertIsNotNone(echoed, "the upstream was not reached")
            self.assertEqual(echoed["path"], expect["upstream_url"])
            for name, value in expect["upstream_headers"].items():
                self.assertEqual(echoed_all(echoed, name), [] if value is None else [value], name)
            self.assertIsNone(headers.get("WWW-Authenticate"))
        else:
            self.assertEqual(code, expect["code"])
            self.assertEqual(headers.get_all("WWW-Authenticate"), [expect["www_authenticate"]])
            self.assertEqual(headers.get("Content-Type"), "application/json")
            self.assertEqual(headers.get("Cache-Control"), "no-store")
            self.assertEqual(json.loads(body)["error"], expect["code"])


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class AttackNginx(Nginx):
    """The gateway vectors' policy (forwards sub, /org/name and name, and
    the payload) with locations for the attacks below."""

    def __init__(self):
        super().__init__()
        try:
            with open(os.path.join(GATEWAY, "gateway.json"), encoding="utf-8") as f:
                self.policy = json.load(f)["policy"]
            self.policy_path = self.write("policy.json", json.dumps(self.policy))
            self.h2_port = free_port()
            self.start(self.config())
        except BaseException:
            self.stop()
            self.cleanup()
            raise

    def config(self):
        up = self.upstream_url
        return self.preamble(workers=1) + f"""
    access_log off;
    jwtgate_policy {self.policy_path};
    jwtgate_claim_set $jwt_name name;
    jwtgate_claim_set $jwt_org /org/name;
    jwtgate_claim_set $jwt_roles roles;
    add_header X-Jwtgate-Code $jwtgate_code always;
    jwtgate_claim_rule dept '{{"one_of": ["IT", "Ops"]}}';        # http level
    jwtgate_claim_header tier X-Tier;
    server {{
        listen 127.0.0.1:{self.port};
        listen unix:{self.dir}/nginx.sock;
        listen 127.0.0.1:{self.h2_port} http2;
        underscores_in_headers on;
        jwtgate on;
        jwtgate_scope orders:read;                                   # server level
        jwtgate_claim_rule roles '{{"contains_all": ["admin"]}}';
        jwtgate_claim_header /org/id X-Org-Id;
        location / {{ proxy_pass {up}; }}
        location /three/ {{
            jwtgate_claim_rule name '{{"equals": "Ada"}}';             # location level
            jwtgate_claim_header dept X-Dept;
            proxy_pass {up};
        }}
        location /scope-only/ {{
            jwtgate_claim_rule scope '{{"contains_all": ["orders:read"]}}';
            proxy_pass {up};
        }}
        location /off/ {{ jwtgate off; proxy_pass {up}; }}
        location /vars/ {{
            proxy_set_header X-Var-Name $jwt_name;
            proxy_set_header X-Var-Org $jwt_org;
            proxy_set_header X-Var-Roles $jwt_roles;
            proxy_set_header X-Var-Claims $jwtgate_claims;
            proxy_set_header X-Var-Issuer $jwtgate_issuer;
            proxy_set_header X-Var-Args $args;
            proxy_set_header X-Var-Request-Uri $request_uri;
            add_header X-Resp-Name $jwt_name always;
            add_header X-Resp-Claims $jwtgate_claims always;
            proxy_pass {up};
        }}
        location /keep/ {{ jwtgate_keep_query_token on; proxy_pass {up}; }}
        location /optional/ {{ jwtgate_mode optional; proxy_pass {up}; }}
        location /report/ {{ jwtgate_mode report_only; proxy_pass {up}; }}
        location /fallback/ {{
            error_page 401 = /off/fallback;
            proxy_pass {up};
        }}
        location /private/ {{
            jwtgate off;
            auth_request /_jwt;
            auth_request_set $auth_sub $jwt_name;
            auth_request_set $auth_code $jwtgate_code;
            proxy_set_header X-Auth-Name $auth_sub;
            proxy_set_header X-Auth-Code $auth_code;
            proxy_pass {up};
        }}
        location /any-allow/ {{ satisfy any; allow 127.0.0.1; deny all; proxy_pass {up}; }}
        location /any-deny/ {{ satisfy any; deny all; proxy_pass {up}; }}
        location = /_jwt {{
            internal;
            jwtgate_claim_rule roles '{{"contains_all": ["admin"]}}';
        }}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name tokens.test;
        jwtgate on;
        jwtgate_token header=X-Token;
        location / {{ proxy_pass {up}; }}
        location /both/ {{ jwtgate_token cookie=at; proxy_pass {up}; }}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        server_name inherit.test;
        location / {{ proxy_pass {up}; }}          # the policy only: no check, forwarded names removed
    }}
}}
"""


SPOOFED = [("X-User", "admin"), ("X-Org", "evil"), ("X-Name", "root"), ("X-JWT-Payload", "forged"),
           ("X-Tier", "platinum"), ("X-Org-Id", "0"), ("X-Dept", "spoof")]
# Forwarded by the policy, the http level and the first server's level;
# X-Dept only in /three/, so elsewhere a client's X-Dept is just a header.
FORWARDED = ["X-User", "X-Org", "X-Name", "X-JWT-Payload", "X-Tier", "X-Org-Id"]


class Attacks(unittest.TestCase):
    ng = None

    @classmethod
    def setUpClass(cls):
        cls.ng = AttackNginx()
        cls.signer = Signer("HS256", secret=SECRET)

    @classmethod
    def tearDownClass(cls):
        problems = cls.ng.close()
        if problems:
            raise AssertionError("nginx or valgrind found problems:\n\n" + "\n\n".join(problems))

    def token(self, lifetime=600, **changes):
        claims = {"iss": ISS, "sub": "ada", "aud": "api://gateway", "roles": ["user", "admin"],
                  "org": {"name": "Acme", "id": 7}, "name": "Ada", "dept": "IT", "tier": "gold",
                  "scope": "orders:read profile"}
        for k, v in changes.items():
            if v is ...:
                claims.pop(k, None)
            else:
                claims[k] = v
        return self.signer.sign(claims, lifetime=lifetime)

    def get(self, path, token=None, headers=(), host=None):
        sent = list(headers)
        if token is not None:
            sent.insert(0, ("Authorization", f"Bearer {token}"))
        return self.ng.request(path, sent, host=host)

    def assert_forwarded(self, echoed, expected, names=FORWARDED):
        """`expected`: header -> value; every other name in `names` must be
        absent."""
        for name in set(names) | set(expected):
            want = expected.get(name)
            self.assertEqual(echoed_all(echoed, name), [] if want is None else [want], name)

    def test_spoofed_headers_with_claims_present_absent_and_null(self):
        token = self.token(org={"id": 7}, name=None)  # /org/name absent, name null
        status, _, _, echoed = self.get("/api/x", token, SPOOFED)
        self.assertEqual(status, 200)
        self.assert_forwarded(echoed, {"X-User": "ada", "X-Tier": "gold", "X-Org-Id": "7",
                                       "X-JWT-Payload": token.split(".")[1], "X-Dept": "spoof"})
        token = self.token(tier=None, org=...)
        status, _, _, echoed = self.get("/api/x", token, SPOOFED)
        self.assertEqual(status, 200)
        self.assert_forwarded(echoed, {"X-User": "ada", "X-Name": "Ada", "X-JWT-Payload": token.split(".")[1],
                                       "X-Dept": "spoof"})

    def test_underscore_spellings_of_forwarded_names_are_removed(self):
        # FastCGI, uwsgi and SCGI would pass X_User as HTTP_X_USER too.
        status, _, _, echoed = self.get("/api/x", self.token(), [("X_User", "admin"), ("x_jwt-payload", "forged"),
                                                                  ("X_Other", "kept")])
        self.assertEqual(status, 200)
        self.assertEqual(echoed_all(echoed, "X_Other"), ["kept"])  # underscores_in_headers on
        names = [k.lower() for k, _ in echoed["headers"]]
        self.assertNotIn("x_user", names)
        self.assertNotIn("x_jwt-payload", names)
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])

    def test_spoofed_headers_are_removed_where_nothing_is_checked(self):
        for path, host in (("/off/x", None), ("/x", "inherit.test")):
            with self.subTest(path=path, host=host):
                status, headers, _, echoed = self.get(path, self.token(), SPOOFED, host=host)
                self.assertEqual(status, 200)
                self.assertIsNone(headers.get("X-Jwtgate-Code"))
                if host is None:
                    self.assert_forwarded(echoed, {"X-Dept": "spoof"})
                else:  # the other server forwards no X-Org-Id
                    self.assert_forwarded(echoed, {"X-Dept": "spoof", "X-Org-Id": "0"},
                                          [n for n in FORWARDED if n != "X-Org-Id"])
                self.assertEqual(len(echoed_all(echoed, "Authorization")), 1)  # the token itself passes

    def test_spoofed_headers_are_removed_on_rejection_paths(self):
        # optional without a token, report_only with a bad token, and an
        # error_page that sends a rejection to a proxied location.
        for path, token, code in (("/optional/x", None, None), ("/report/x", "abc.def.ghi", "malformed"),
                                  ("/fallback/x", None, None)):
            with self.subTest(path=path):
                status, headers, _, echoed = self.get(path, token, SPOOFED)
                self.assertEqual(status, 200)
                self.assertEqual(headers.get("X-Jwtgate-Code"), code)
                self.assert_forwarded(echoed, {"X-Dept": "spoof"})

    def test_three_levels_add_up(self):
        ok = self.token()
        status, _, _, echoed = self.get("/three/x", ok, SPOOFED)
        self.assertEqual(status, 200)
        self.assert_forwarded(echoed, {"X-User": "ada", "X-Org": "Acme", "X-Name": "Ada", "X-Tier": "gold",
                                       "X-Org-Id": "7", "X-Dept": "IT", "X-JWT-Payload": ok.split(".")[1]})
        # Each level's requirement still holds below it.
        for changes, description in (
                ({"dept": "HR"}, "claim dept is not one of the allowed values"),     # http
                ({"scope": "profile"}, "scope orders:read is required"),             # server
                ({"roles": ["user"]}, "claim roles must contain 'admin'"),           # server
                ({"name": "Bob"}, "claim name must equal 'Ada'"),                    # location
                ({"roles": ["guest"]}, "claim roles contains none")):                # policy
            with self.subTest(changes=changes):
                status, headers, body, _ = self.get("/three/x", self.token(**changes))
                self.assertEqual(status, 403, body)
                self.assertEqual(headers.get("X-Jwtgate-Code"), "claim")
                self.assertIn(description, headers.get("WWW-Authenticate"))
        # A location rule on scope does not drop the server's roles rule.
        status, headers, _, _ = self.get("/scope-only/x", self.token(roles=["user"]))
        self.assertEqual(status, 403)
        self.assertIn("claim roles must contain 'admin'", headers.get("WWW-Authenticate"))
        status, headers, _, _ = self.get("/scope-only/x", self.token(scope="profile"))
        self.assertEqual(status, 403)
        status, _, _, _ = self.get("/scope-only/x", self.token())
        self.assertEqual(status, 200)

    def test_header_injection_through_claims_and_variables(self):
        evil = {"name": "ada\r\nX-Admin: yes", "org": {"name": "a\nX-Admin: yes", "id": 7}}
        for claims in (evil, {"name": "ada\u0000root"}, {"name": "Jos\u00e9", "org": {"name": "\u00dcn\u00efcode"}},
                       {"name": "tab\there"}):
            with self.subTest(claims=claims):
                token = self.token(**claims)
                status, headers, _, echoed = self.get("/vars/x", token, SPOOFED)
                self.assertEqual(status, 200)
                names = [k.lower() for k, _ in echoed["headers"]]
                self.assertNotIn("x-admin", names)
                self.assertNotIn("X-Admin", headers)
                self.assertEqual(echoed_all(echoed, "X-Name"), [])
                self.assertEqual(echoed_all(echoed, "X-Var-Name"), [])  # empty: nginx sends no header
                self.assertIsNone(headers.get("X-Resp-Name"))
                claims_text = echoed_all(echoed, "X-Var-Claims")[0]
                self.assertTrue(all(0x20 <= ord(c) < 0x7f for c in claims_text), claims_text)
                self.assertEqual(json.loads(claims_text)["name"], claims["name"])
                self.assertEqual(json.loads(headers.get("X-Resp-Claims"))["name"], claims["name"])
        status, headers, _, echoed = self.get("/vars/x", self.token())
        self.assertEqual(echoed_all(echoed, "X-Var-Name"), ["Ada"])
        self.assertEqual(echoed_all(echoed, "X-Var-Org"), ["Acme"])
        self.assertEqual(echoed_all(echoed, "X-Var-Roles"), ['["user","admin"]'])
        self.assertEqual(echoed_all(echoed, "X-Var-Issuer"), [ISS])
        self.assertEqual(headers.get("X-Resp-Name"), "Ada")

    def test_query_token_leaves_the_upstream_url(self):
        token = self.token()
        status, _, _, echoed = self.get(f"/vars/x?a=1&access_token={token}&b=2")
        self.assertEqual(status, 200)
        self.assertEqual(echoed["path"], "/vars/x?a=1&b=2")
        self.assertEqual(echoed_all(echoed, "X-Var-Args"), ["a=1&b=2"])
        self.assertEqual(echoed_all(echoed, "X-Var-Request-Uri"), ["/vars/x?a=1&b=2"])
        status, _, _, echoed = self.get(f"/vars/x?access_token={token}")
        self.assertEqual((status, echoed["path"]), (200, "/vars/x"))
        status, _, _, echoed = self.get(f"/keep/x?access_token={token}")
        self.assertEqual((status, echoed["path"]), (200, f"/keep/x?access_token={token}"))

    def test_rejection_body_and_headers(self):
        status, headers, body, _ = self.get("/api/x", self.token(exp=1000000000, lifetime=None))
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body)["error"], "expired")
        self.assertEqual(headers.get("Content-Type"), "application/json")
        self.assertEqual(headers.get("Content-Length"), str(len(body)))
        # Two tokens where one is looked for (nginx itself refuses a second Authorization line).
        for sent in ([("Cookie", "access_token=a"), ("Cookie", "access_token=b")],
                     [("Cookie", "access_token=a; x=1; access_token=b")]):
            status, headers, body, _ = self.get("/api/x", None, sent)
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (400, "invalid_request"))
            self.assertEqual(json.loads(body)["error"], "invalid_request")
        status, headers, body, _ = self.ng.request(f"/api/x?access_token=a&access_%74oken=b", [])
        self.assertEqual((status, headers.get("X-Jwtgate-Code")), (400, "invalid_request"))
        conn_status, headers, body, _ = self.ng.request("/api/x", [], method="HEAD")
        self.assertEqual((conn_status, body), (401, b""))

    def test_the_innermost_token_sources_replace_the_outer(self):
        good, bad = self.token(), self.token(exp=1000000000, lifetime=None)
        host = "tokens.test"
        for path, sent, want in (
                ("/x", [("X-Token", good)], 200),
                ("/x", [("Authorization", f"Bearer {good}")], 401),        # the server's sources replace the policy's
                ("/x", [("Cookie", f"at={good}")], 401),
                ("/both/x", [("Cookie", f"at={good}")], 200),              # the location's replace the server's
                ("/both/x", [("X-Token", good)], 401),
                ("/both/x", [("X-Token", bad), ("Cookie", f"at={good}")], 200)):
            with self.subTest(path=path, sent=[n for n, _ in sent]):
                status, _, body, _ = self.get(path, None, sent, host=host)
                self.assertEqual(status, want, body)

    def test_satisfy_any(self):
        # Another access module may allow what jwtgate would reject ...
        status, _, _, echoed = self.get("/any-allow/x", None, SPOOFED)
        self.assertEqual(status, 200)
        self.assert_forwarded(echoed, {"X-Dept": "spoof"})
        # ... and a verified token allows what another would deny.
        self.assertEqual(self.get("/any-deny/x", self.token())[0], 200)
        status, headers, _, _ = self.get("/any-deny/x")
        self.assertEqual((status, headers.get("WWW-Authenticate")), (401, "Bearer"))
        status, headers, _, _ = self.get("/any-deny/x", self.token(roles=["guest"]))
        self.assertEqual(status, 403)

    def test_a_rejected_request_body_is_read_and_the_connection_kept(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.ng.port, timeout=TIMEOUT)
        try:
            sockets = set()
            for _ in range(3):
                conn.request("POST", "/api/x", body=b"x" * 100000, headers={"Content-Type": "text/plain"})
                sockets.add(id(conn.sock))
                resp = conn.getresponse()
                self.assertEqual((resp.status, json.loads(resp.read())["error"]), (401, "missing_token"))
                self.assertNotEqual(resp.getheader("Connection"), "close")
            conn.request("GET", "/api/x", headers={"Authorization": f"Bearer {self.token()}"})
            sockets.add(id(conn.sock))
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
            self.assertEqual(len(sockets), 1, "the connection was not kept")
        finally:
            conn.close()

    @unittest.skipUnless(shutil.which("curl"), "curl is needed for HTTP/2")
    def test_http2(self):
        url = f"http://127.0.0.1:{self.ng.h2_port}"

        def curl(*args):
            done = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-D", "-", *args], capture_output=True,
                                  text=True, timeout=TIMEOUT)
            head, _, body = done.stdout.replace("\r\n", "\n").partition("\n\n")
            return head.lower(), body

        head, body = curl("-H", f"Authorization: Bearer {self.token()}", "-H", "X-User: mallory", f"{url}/vars/x")
        self.assertTrue(head.startswith("http/2 200"), head)
        echoed = json.loads(body)
        self.assertEqual(echoed_all(echoed, "X-User"), ["ada"])
        self.assertEqual(echoed_all(echoed, "X-Var-Name"), ["Ada"])
        # (Without a request body: an early answer to a stream that is still
        # sending makes nginx reset it, and curl then often shows nothing,
        # nginx's own error pages included.)
        head, body = curl(f"{url}/api/x")
        self.assertTrue(head.startswith("http/2 401"), head)
        self.assertIn("www-authenticate: bearer", head)
        self.assertEqual(json.loads(body)["error"], "missing_token")

    def test_a_unix_socket_connection_has_no_peer_address(self):
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(TIMEOUT)
            sock.connect(os.path.join(self.ng.dir, "nginx.sock"))
            sock.sendall(f"GET /api/x HTTP/1.0\r\nAuthorization: Bearer {self.token()}\r\n\r\n".encode())
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])

    def test_auth_request_subrequests_are_checked(self):
        status, headers, _, _ = self.get("/private/x", None, SPOOFED)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        status, headers, _, _ = self.get("/private/x", self.token(roles=["user"]))
        self.assertEqual(status, 403)
        status, _, _, echoed = self.get("/private/x", self.token(), SPOOFED)
        self.assertEqual(status, 200)
        self.assertEqual(echoed_all(echoed, "X-Auth-Name"), ["Ada"])
        self.assertEqual(echoed_all(echoed, "X-Auth-Code"), ["ok"])
        # The parent (jwtgate off) removed the spoofed copies of every name forwarded there.
        self.assert_forwarded(echoed, {"X-Dept": "spoof"})

    def test_nginx_t_names_the_directive_that_clashes(self):
        d = self.ng.dir
        base = self.ng.preamble(workers=1).replace(f"pid {d}/nginx.pid", f"pid {d}/t.pid")
        for inner, message in (
                ("jwtgate_claim_header sub X-User;", "the policy already forwards X-User"),
                ("jwtgate_claim_header dept X-Tier;", "X-Tier is forwarded twice"),
                ("jwtgate_claim_rule dept '{\"equls\": 1}';", "equls"),
                ("jwtgate_claim_rule level '{\"ge\": 2, \"status\": 500}';",
                 "claims.level.status: must be 401 or 403, not 500"),
                ("jwtgate_claim_rule level '{\"gt\": \"2\"}';", "claims.level.gt: invalid type"),
                ("jwtgate_claim_any_of '[{\"roles\": {\"contains_any\": [\"admin\"]}}, {}]';",
                 "any_of[1]: an alternative without rules always holds"),
                ("jwtgate_claim_any_of '[{\"roles\": {\"regex\": \"(\"}}]';", "any_of[0].roles.regex:"),
                ("jwtgate_claim_any_of '[{\"roles\": {\"equls\": 1}}]';", "any_of[0].roles.equls: unknown field"),
                ("jwtgate_claim_any_of '[]';", "any_of: list at least one alternative"),
                ("jwtgate_claim_any_of '{\"roles\": {}}';", "any_of: invalid type"),
                ("jwtgate_scope 'two words';", "is not one scope"),
                ("jwtgate_mode sometimes;", "invalid mode"),
                ("jwtgate on; jwtgate_mode optional;", "is duplicate")):
            with self.subTest(inner=inner):
                conf = self.ng.write("t.conf", base + f"""
    jwtgate_policy {self.ng.policy_path};
    jwtgate_claim_header tier X-Tier;
    server {{
        listen 127.0.0.1:{free_port()};
        location / {{
            {inner}
        }}
    }}
}}
""")
                done = self.ng.run("-t", "-c", conf)
                self.assertNotEqual(done.returncode, 0)
                self.assertIn(message, done.stderr)
                if "forward" in message:
                    self.assertIn("t.conf:", done.stderr)  # where it was written


class KeyFetchNeverBlocks(unittest.TestCase):
    """While an issuer's keys are being fetched, requests for it wait on a
    timer (jwtgate_key_wait) and get the decision's 503, and the worker
    keeps answering everything else."""

    WAIT_MS = 1000

    def test_a_hanging_idp_holds_up_only_its_own_requests(self):
        idp = HangingIdP()
        ng = Nginx()
        try:
            policy = {"issuers": [{
                "issuer": "https://slow.test/", "algorithms": ["HS256"],
                "keys": {"jwks_uri": f"http://127.0.0.1:{idp.port}/jwks.json", "allow_http": True,
                         "timeout_ms": 20000, "initial_wait_ms": 10000}}]}
            path = ng.write("policy.json", json.dumps(policy))
            h2_port = free_port()
            ng.start(ng.preamble(workers=1) + f"""
    access_log off;
    jwtgate_policy {path};
    jwtgate_key_wait {self.WAIT_MS}ms;
    add_header X-Jwtgate-Code $jwtgate_code always;
    server {{
        listen 127.0.0.1:{ng.port};
        listen 127.0.0.1:{h2_port} http2;
        jwtgate on;
        location / {{ proxy_pass {ng.upstream_url}; }}
        location /health {{ jwtgate off; return 200 "ok\\n"; }}
        location /private/ {{ jwtgate off; auth_request /_jwt; proxy_pass {ng.upstream_url}; }}
        location = /_jwt {{ internal; }}
    }}
}}
""")
            signer = Signer("HS256", secret=b"k" * 32, kid="k1")
            token = signer.sign({"iss": "https://slow.test/", "sub": "ada"})
            slack = 4000 if VALGRIND else 700

            def slow_request(path):
                start = time.monotonic()
                status, headers, body, _ = ng.request(path, [("Authorization", f"Bearer {token}")])
                return status, headers, (time.monotonic() - start) * 1000

            # A client that leaves while its request waits.
            with socket.create_connection(("127.0.0.1", ng.port)) as s:
                s.sendall(f"GET /api/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
                time.sleep(0.1)

            def h2_request(max_time):
                start = time.monotonic()
                done = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--http2-prior-knowledge",
                                       "--max-time", str(max_time), "-H", f"Authorization: Bearer {token}",
                                       f"http://127.0.0.1:{h2_port}/api/x"], capture_output=True, text=True,
                                      timeout=TIMEOUT)
                return done.stdout, (time.monotonic() - start) * 1000

            health = []
            with ThreadPoolExecutor(max_workers=12) as pool:
                # HTTP/2 streams wait the same way; one client gives up early.
                streams = [pool.submit(h2_request, TIMEOUT), pool.submit(h2_request, 0.2)]
                waiting = [pool.submit(slow_request, "/api/x") for i in range(6)]
                # auth_request: the subrequest waits the same way; auth_request
                # answers 500 for its 503.
                subrequests = [pool.submit(slow_request, "/private/x") for i in range(2)]
                time.sleep(0.1)
                while not all(f.done() for f in waiting):
                    start = time.monotonic()
                    status = ng.request("/health")[0]
                    health.append(((time.monotonic() - start) * 1000, status))
                    time.sleep(0.05)
                results = [f.result() for f in waiting]
                status, elapsed = streams[0].result()
                self.assertEqual(status, "503")
                self.assertLess(elapsed, self.WAIT_MS + slack)
                self.assertEqual(streams[1].result()[0], "000")  # curl gave up
                for f in subrequests:
                    status, _, elapsed = f.result()
                    self.assertEqual(status, 500)
                    self.assertLess(elapsed, self.WAIT_MS + slack)
                    self.assertGreater(elapsed, self.WAIT_MS - 100)
            for status, headers, elapsed in results:
                self.assertEqual(status, 503)
                self.assertEqual(headers.get("X-Jwtgate-Code"), "jwks_unavailable")
                self.assertIsNotNone(headers.get("Retry-After"))
                self.assertLess(elapsed, self.WAIT_MS + slack)
                self.assertGreater(elapsed, self.WAIT_MS - 100)
            self.assertGreater(len(health), 3)
            self.assertTrue(all(s == 200 for _, s in health), health)
            self.assertLess(max(ms for ms, _ in health), 1000 if VALGRIND else 200, health)
        finally:
            idp.close()
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


class KeyWaitFollowsThePolicy(unittest.TestCase):
    """Without jwtgate_key_wait, a request for keys still being fetched
    waits the issuer's initial_wait_ms, then gets the 503."""

    def test_initial_wait_ms_bounds_the_wait(self):
        idp = HangingIdP()
        ng = Nginx()
        try:
            wait_ms = 600
            policy = {"issuers": [{
                "issuer": "https://slow.test/", "algorithms": ["HS256"],
                "keys": {"jwks_uri": f"http://127.0.0.1:{idp.port}/jwks.json", "allow_http": True,
                         "timeout_ms": 20000, "initial_wait_ms": wait_ms}}]}
            path = ng.write("policy.json", json.dumps(policy))
            ng.start(ng.preamble(workers=1) + f"""
    access_log off;
    jwtgate_policy {path};
    server {{
        listen 127.0.0.1:{ng.port};
        jwtgate on;
        location / {{ proxy_pass {ng.upstream_url}; }}
    }}
}}
""")
            token = Signer("HS256", secret=b"k" * 32, kid="k1").sign({"iss": "https://slow.test/", "sub": "ada"})
            slack = 4000 if VALGRIND else 700
            start = time.monotonic()
            status, headers, _, _ = ng.request("/api/x", [("Authorization", f"Bearer {token}")])
            elapsed = (time.monotonic() - start) * 1000
            self.assertEqual(status, 503)
            self.assertIsNotNone(headers.get("Retry-After"))
            self.assertGreater(elapsed, wait_ms - 100)
            self.assertLess(elapsed, wait_ms + slack)
        finally:
            idp.close()
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


class RemoteKeys(unittest.TestCase):
    """Workers fetch remote keys as they start (jwtgate_verifier_prefetch),
    and a reload during an IdP outage keeps verifying from `cache_file`."""

    def test_prefetch_then_reload_during_an_outage(self):
        with open(os.path.join(ROOT, "tests", "vectors", "attacks.json"), encoding="utf-8") as f:
            gateway = json.load(f)["policies"]["gateway"]
        jwks = next(i for i in gateway["issuers"] if i["issuer"] == "https://ec.example.com/")["keys"]["jwks"]
        idp = JwksServer(jwks).start()
        url = idp.url
        ng = Nginx()
        idp_up = True
        try:
            cache_dir = os.path.join(ng.dir, "cache")
            os.mkdir(cache_dir, 0o700)
            if os.geteuid() == 0:  # the workers (nobody) write the cache file
                os.chown(cache_dir, pwd.getpwnam("nobody").pw_uid, -1)
            cache_file = os.path.join(cache_dir, "jwks.json")
            # Under valgrind a fetch thread shares one slow core with the
            # worker: a 1 s timeout could fail every attempt.
            keys = {"jwks_uri": url, "allow_http": True, "timeout_ms": 10000 if VALGRIND else 1000, "backoff_max_s": 1}
            policy = {"issuers": [
                {"issuer": "https://cached.test/", "algorithms": ["ES256"], "keys": {**keys, "cache_file": cache_file}},
                {"issuer": "https://uncached.test/", "algorithms": ["ES256"], "keys": dict(keys)}]}
            path = ng.write("policy.json", json.dumps(policy))
            ng.start(ng.preamble(workers=1) + f"""
    access_log off;
    jwtgate_policy {path};
    jwtgate_key_wait 500ms;
    add_header X-Jwtgate-Code $jwtgate_code always;
    server {{
        listen 127.0.0.1:{ng.port};
        jwtgate on;
        location / {{ proxy_pass {ng.upstream_url}; }}
    }}
}}
""")
            # Both key sets are fetched before any request arrives.
            deadline = time.time() + TIMEOUT
            while (idp.hits < 2 or not os.path.exists(cache_file)) and time.time() < deadline:
                time.sleep(0.02)
            self.assertGreaterEqual(idp.hits, 2, "the worker did not fetch its keys at start")
            self.assertTrue(os.path.exists(cache_file), "no cache file was written")
            signer = Signer("ES256", pem=read("tests/keys/ecp256.pem"), kid=jwks["keys"][0]["kid"])
            cached = signer.sign({"iss": "https://cached.test/", "sub": "ada"})
            uncached = signer.sign({"iss": "https://uncached.test/", "sub": "ada"})
            for token in (cached, uncached):
                start = time.monotonic()
                status, headers, _, _ = ng.request("/x", [("Authorization", f"Bearer {token}")])
                self.assertEqual((status, headers.get("X-Jwtgate-Code")), (200, "ok"))
                self.assertLess(time.monotonic() - start, 2 if VALGRIND else 0.3)

            # The IdP goes down; new workers start from the cache file.
            idp.close()
            idp_up = False
            ng.reload()
            status, headers, _, _ = ng.request("/x", [("Authorization", f"Bearer {cached}")])
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (200, "ok"))
            status, headers, _, _ = ng.request("/x", [("Authorization", f"Bearer {uncached}")])
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (503, "jwks_unavailable"))
            self.assertIsNotNone(headers.get("Retry-After"))
        finally:
            if idp_up:
                idp.close()
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


if __name__ == "__main__":
    run_tests()
