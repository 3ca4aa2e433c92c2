"""Sender-constrained tokens through ngx_http_jwtgate_module in a real
nginx: the DPoP request vectors (tests/dpop/gateway_dpop.json, and
tests/dpop/dpop.json with the wall clock frozen at its `now` by
libfaketime), one server per policy, cases in order (so a proof sent twice
is a replay), the protected resource metadata (RFC 9728) answered by the
module itself, and a replay store that cannot answer (fail closed: 503
replay_store_unavailable). Each answer is checked by `dpop_cases.check`,
the same check the Lua binding's tests make.
"""
import json
import unittest

import dpop_cases
from harness import Nginx, free_port


def start(ng, policies):
    """One server per policy (Host `<name>.test`), each with its own policy."""
    servers = []
    for name, policy in policies.items():
        path = ng.write(f"{name}.json", json.dumps(policy))
        servers.append(f"""
    server {{
        listen 127.0.0.1:{ng.port};
        server_name {name}.test;
        jwtgate on;
        jwtgate_policy {path};
        location / {{ proxy_pass {ng.upstream_url}; }}
    }}""")
    ng.start(ng.preamble(workers=1) + """
    access_log off;
    add_header X-Jwtgate-Code $jwtgate_code always;
""" + "".join(servers) + "\n}\n")


def close_checked(ng):
    problems = ng.close()
    if problems:
        raise AssertionError("nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


class DpopVectors(unittest.TestCase):
    def test_gateway_dpop_vectors(self):
        doc = dpop_cases.load("gateway_dpop.json")
        ng = Nginx()
        try:
            start(ng, {"gateway": doc["policy"]})
            self.assertGreater(len(doc["cases"]), 5)
            names = set()
            for case in doc["cases"]:
                self.assertEqual(case["routes"], [])
                with self.subTest(case=case["name"]):
                    dpop_cases.check(self, ng, "gateway.test", case)
                    names.add(case["name"].split(" ")[0])
            self.assertIn("protected", names)  # the metadata document is one of them
        finally:
            close_checked(ng)

    def test_dpop_proof_vectors_at_their_instant(self):
        doc = dpop_cases.load("dpop.json")
        ng = Nginx(now=doc["now"])
        try:
            policies = dict(doc["policies"])
            # The same policy with a replay store that cannot answer.
            policies["redis_down"] = dict(policies["allowed"], replay_store={
                "redis": f"redis://127.0.0.1:{free_port()}/0", "timeout_ms": 200})
            start(ng, policies)
            self.assertGreater(len(doc["cases"]), 30)
            codes = set()
            for case in doc["cases"]:
                self.assertEqual(case["request"]["now"], doc["now"])
                with self.subTest(case=case["name"]):
                    dpop_cases.check(self, ng, f"{case['policy']}.test", dict(case, prefix_only=True))
                    codes.add(case["expect"]["code"])
            self.assertTrue({"invalid_dpop_proof", "use_dpop_nonce", "dpop_binding"} <= codes, codes)
            first = doc["cases"][0]
            self.assertEqual(first["expect"]["status"], 200)
            status, headers, body, _ = ng.request(first["request"]["url"], first["request"]["headers"],
                                                  host="redis_down.test")
            self.assertEqual((status, headers.get("X-Jwtgate-Code")), (503, "replay_store_unavailable"), body)
            self.assertEqual(headers.get("Retry-After"), "1")
            self.assertEqual(json.loads(body)["error"], "replay_store_unavailable")
        finally:
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
