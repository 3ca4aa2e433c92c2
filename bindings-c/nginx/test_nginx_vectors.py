#!/usr/bin/env python3
"""Runs every shared vector (tests/vectors/*.json) through the Nginx module.

The vectors pin the verifier's clock (`now`), so there is one nginx per
distinct `now`, its wall clock frozen there with libfaketime. Each policy a
vector names gets a location with its own `jwtgate_policy`; each vector is
one request with its token as the Bearer credential. The answer must carry
the vector's decision: status and `$jwtgate_code`, and for accepted tokens
the issuer, the claims (through `$jwtgate_claims`) and the headers the
policy forwards. Vectors whose policy must fail to load go through
`nginx -t`, which must refuse the config.

Under `JWTGATE_NGINX_VALGRIND=1` every nginx process runs under valgrind and
the suite fails on any error or definite leak that is not nginx's own.
"""
import json
import os
import sys
import unittest

# The shared test support (tests/support/python), for a direct run too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))

from jwtgate_testsupport.nginx import Nginx, run_tests  # noqa: E402
from jwtgate_testsupport.paths import ROOT  # noqa: E402
from jwtgate_testsupport.servers import echoed_all  # noqa: E402

VECTORS = os.path.join(ROOT, "tests", "vectors")


def load_vectors():
    """(file, vector, policy document, location) for every vector."""
    cases = []
    for name in sorted(os.listdir(VECTORS)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
            doc = json.load(f)
        stem = name[:-len(".json")]
        for vector in doc["vectors"]:
            if isinstance(vector["policy"], str):
                policy, location = doc["policies"][vector["policy"]], f"{stem}.{vector['policy']}"
            else:
                policy, location = vector["policy"], f"{stem}.{vector['name']}"
            cases.append((stem, vector, policy, location))
    return cases


def config(ng, locations):
    d = ng.dir
    blocks = "\n".join(
        f"        location /{loc}/ {{ jwtgate_policy {d}/{loc}.json; proxy_pass {ng.upstream_url}; }}"
        for loc in locations)
    return ng.preamble(workers=1) + f"""
    access_log off;
    large_client_header_buffers 4 64k;  # the oversized-token vectors must reach the module
    server {{
        listen 127.0.0.1:{ng.port};
        jwtgate on;
        add_header X-Jwtgate-Code $jwtgate_code always;
        proxy_set_header X-Vector-Claims $jwtgate_claims;
        proxy_set_header X-Vector-Issuer $jwtgate_issuer;
{blocks}
    }}
}}
"""


def forwarded_names(policy):
    """Every header name (lower case) a policy's issuers forward."""
    names = set()
    for issuer in policy.get("issuers", []):
        forward = issuer.get("forward", {})
        names |= {h.lower() for h in forward.get("claims_to_headers", {}).values()}
        if forward.get("payload_header"):
            names.add(forward["payload_header"].lower())
    return names


def latin1_to_text(value):
    """http.server reads header bytes as Latin-1; the module sends UTF-8."""
    return value.encode("latin-1").decode("utf-8")


class VectorsThroughNginx(unittest.TestCase):
    def run_vectors(self, now, cases):
        ng = Nginx(now=now)
        try:
            locations = sorted({loc for _, _, _, loc in cases})
            policies = {loc: policy for _, _, policy, loc in cases}
            for loc in locations:
                ng.write(f"{loc}.json", json.dumps(policies[loc]))
            ng.start(config(ng, locations))
            for stem, vector, policy, loc in cases:
                with self.subTest(vector=f"{stem}/{vector['name']}"):
                    self.check(ng, vector, loc, forwarded_names(policy))
        finally:
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))

    def check(self, ng, vector, loc, forwarded):
        expect = vector["expect"]
        status, headers, echoed = ng.get(f"/{loc}/x", {"Authorization": f"Bearer {vector['token']}"})
        if expect["valid"]:
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (200, "ok"))
            issuer = echoed_all(echoed, "X-Vector-Issuer")
            if "issuer" in expect:
                self.assertEqual(issuer, [expect["issuer"]] if expect["issuer"] is not None else [])
            claims = json.loads(latin1_to_text(echoed_all(echoed, "X-Vector-Claims")[0]))
            for name, value in expect.get("claims", {}).items():
                # As JSON text, so types count (True is not 1, 4.0 is not 4).
                self.assertEqual(json.dumps(claims.get(name), sort_keys=True), json.dumps(value, sort_keys=True), name)
            for name, value in expect.get("headers", {}).items():
                self.assertEqual([latin1_to_text(v) for v in echoed_all(echoed, name)], [value], name)
            if "headers" in expect:
                # A forwarded claim the vector does not list (absent, null,
                # not header-safe) leaves its header absent.
                wanted = {name.lower() for name in expect["headers"]}
                for name in forwarded - wanted:
                    self.assertEqual(echoed_all(echoed, name), [], name)
        else:
            # Over HTTP an empty credential is no credential: every
            # runtime's middleware answers "Bearer " with missing_token.
            code = expect["code"] if vector["token"] else "missing_token"
            wanted = expect.get("status", {"claim": 403, "jwks_unavailable": 503}.get(code, 401))
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (wanted, code))
            challenge = headers.get("WWW-Authenticate", "")
            if code == "missing_token":
                self.assertEqual(challenge, "Bearer")  # RFC 6750 3.1: no error without credentials
            else:
                self.assertTrue(challenge.startswith("Bearer error="), challenge)

    def test_every_vector(self):
        cases = [c for c in load_vectors() if c[1]["expect"].get("code") != "policy"]
        # Tokens a client cannot put in an HTTP header at all are for the
        # other runtimes only; today there are none.
        sendable = [c for c in cases if not any(ch in c[1]["token"] for ch in "\r\n\0")]
        self.assertEqual(len(sendable), len(cases))
        self.assertGreater(len(cases), 150)
        by_now = {}
        for case in cases:
            by_now.setdefault(case[1]["now"], []).append(case)
        for now, group in sorted(by_now.items()):
            with self.subTest(now=now):
                self.run_vectors(now, group)

    def test_policies_that_must_not_load_fail_nginx_t(self):
        cases = [c for c in load_vectors() if c[1]["expect"].get("code") == "policy"]
        self.assertGreater(len(cases), 0)
        ng = Nginx()
        try:
            for stem, vector, policy, loc in cases:
                with self.subTest(vector=f"{stem}/{vector['name']}"):
                    ng.write(f"{loc}.json", json.dumps(policy))
                    conf = ng.write(f"{loc}.conf", config(ng, [loc]))
                    done = ng.run("-t", "-c", conf)
                    self.assertNotEqual(done.returncode, 0, done.stderr)
                    self.assertIn(f"{loc}.json", done.stderr)
        finally:
            problems = ng.close()
        self.assertEqual(problems, [], "nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


if __name__ == "__main__":
    run_tests()
