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
import os
import sys
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

import dpop_cases  # noqa: E402
from dpop_cases import load  # noqa: E402
from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402


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
    def test_gateway_dpop_vectors(self):
        doc = load("gateway_dpop.json")
        ng = LuaNginx()
        try:
            start(ng, {"gateway": doc["policy"]})
            dpop_cases.gateway_vectors(self, ng, doc)
        finally:
            close_checked(ng)

    def test_dpop_proof_vectors_at_their_instant(self):
        doc = load("dpop.json")
        ng = LuaNginx(now=doc["now"])
        try:
            start(ng, dpop_cases.proof_policies(doc, free_port))
            dpop_cases.proof_vectors(self, ng, doc)
        finally:
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
