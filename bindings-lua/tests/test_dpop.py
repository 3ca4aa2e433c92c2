"""Sender-constrained tokens through lua-resty-jwtgate in a real nginx: the
DPoP request vectors (tests/dpop/gateway_dpop.json, and tests/dpop/dpop.json
with the wall clock frozen at its `now` by libfaketime), one gate per
policy, cases in order (so a proof sent twice is a replay), plus a replay
store that cannot answer (fail closed: 503 replay_store_unavailable).

The answers must be the vectors': status, code, the challenge (whole, or
its start where the vector gives only that), the DPoP-Nonce of
use_dpop_nonce, the metadata document of RFC 9728, and for allowed
requests the upstream's headers.
"""
import json
import unittest

from luanginx import LuaNginx, close_checked, free_port, lua_string  # first: puts the C harness on the path

import dpop_cases  # noqa: E402
from dpop_cases import load  # noqa: E402


def start(ng, policies):
    """One server per policy (Host `<name>.test`), each with its own gate."""
    init = ["            local gates = {}"]
    servers = []
    for name, policy in policies.items():
        path = ng.write(f"{name}.json", json.dumps(policy))
        init.append(f"            gates[{lua_string(name)}] = assert(jwtgate.new({lua_string(path)}))")
        servers.append(f"""
    server {{
        listen 127.0.0.1:{ng.port};
        server_name {name}.test;
        location / {{
            access_by_lua_block {{ require("dpop_gates")[{lua_string(name)}]:access() }}
            proxy_pass {ng.upstream_url};
        }}
    }}""")
    init.append("            package.loaded.dpop_gates = gates")
    first = next(iter(policies.values()))
    ng.start_lua(first, "".join(servers), init="\n".join(init))


class DpopVectors(unittest.TestCase):
    def check(self, ng, host, case):
        dpop_cases.check(self, ng, host, case)

    def test_gateway_dpop_vectors(self):
        doc = load("gateway_dpop.json")
        ng = LuaNginx()
        try:
            start(ng, {"gateway": doc["policy"]})
            self.assertGreater(len(doc["cases"]), 5)
            for case in doc["cases"]:
                self.assertEqual(case["routes"], [])
                with self.subTest(case=case["name"]):
                    self.check(ng, "gateway.test", case)
        finally:
            close_checked(ng)

    def test_dpop_proof_vectors_at_their_instant(self):
        doc = load("dpop.json")
        ng = LuaNginx(now=doc["now"])
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
                    self.check(ng, f"{case['policy']}.test", dict(case, prefix_only=True))
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
