"""Every shared token vector (tests/vectors/*.json) through a real nginx with
lua-resty-jwtgate: the C module's vector test (bindings-c/nginx/
test_nginx_vectors.py, same cases, same checks) with one gate per policy
made by jwtgate.new in init_worker and applied by Gate:access.

As there, one nginx per distinct `now`, its clock frozen with libfaketime.
The claims and issuer reach the upstream as X-Vector-Claims and
X-Vector-Issuer, set from the decision; a policy that must not load makes
jwtgate.new fail.
"""
import http.client
import json
import os
import sys
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# vector checks (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402
from jwtgate_testsupport.paths import LIB  # noqa: E402

import test_nginx_vectors as c_vectors  # noqa: E402


def gates_module(policies):
    """Lua source of a module returning location -> gate."""
    lines = ['local jwtgate = require("resty.jwtgate")', "local gates = {}"]
    for loc, policy in sorted(policies.items()):
        lines.append(f"gates[{lua_string(loc)}] = assert(jwtgate.new({lua_string(json.dumps(policy))}, "
                     f"{{ library = {lua_string(LIB)} }}))")
    lines.append("return gates")
    return "\n".join(lines) + "\n"


def location_block(ng, loc):
    return f"""
        location /{loc}/ {{
            access_by_lua_block {{
                require("vector_gates")[{lua_string(loc)}]:access()
                local d = require("resty.jwtgate").decision()
                if d and d:allow() then
                    ngx.req.set_header("X-Vector-Claims", d:claims_json())
                    ngx.req.set_header("X-Vector-Issuer", d:issuer())
                end
            }}
            proxy_pass {ng.upstream_url};
        }}"""


class VectorsThroughLua(c_vectors.VectorsThroughNginx):
    def run_vectors(self, now, cases):
        ng = LuaNginx(now=now)
        try:
            policies = {loc: policy for _, _, policy, loc in cases}
            ng.write("vector_gates.lua", gates_module(policies))
            locations = "".join(location_block(ng, loc) for loc in sorted(policies))
            first = next(iter(policies.values()))
            ng.start_lua(first, f"""
    large_client_header_buffers 4 64k;
    server {{
        listen 127.0.0.1:{ng.port};
{locations}
    }}""", init='            require("vector_gates")')
            for stem, vector, policy, loc in cases:
                with self.subTest(vector=f"{stem}/{vector['name']}"):
                    self.check(ng, vector, loc, c_vectors.forwarded_names(policy))
        finally:
            close_checked(ng)

    def test_policies_that_must_not_load_fail_nginx_t(self):
        """The same policies refused by jwtgate.new (with code `policy`)
        inside a worker: one POST per policy to a content handler."""
        cases = [c for c in c_vectors.load_vectors() if c[1]["expect"].get("code") == "policy"]
        self.assertGreater(len(cases), 0)
        ng = LuaNginx()
        try:
            ng.start_lua({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": "A" * 43}}]}, f"""
    server {{
        listen 127.0.0.1:{ng.port};
        location /load {{
            content_by_lua_block {{
                ngx.req.read_body()
                local gate, err = require("resty.jwtgate").new(ngx.req.get_body_data(), {{ library = {lua_string(LIB)} }})
                ngx.print(gate and "loaded" or ("refused " .. tostring(err.code)))
            }}
        }}
    }}""", extra="    client_body_buffer_size 1m;\n")
            for stem, vector, policy, _ in cases:
                with self.subTest(vector=f"{stem}/{vector['name']}"):
                    conn = http.client.HTTPConnection("127.0.0.1", ng.port, timeout=30)
                    try:
                        conn.request("POST", "/load", body=json.dumps(policy).encode())
                        resp = conn.getresponse()
                        self.assertEqual((resp.status, resp.read()), (200, b"refused policy"))
                    finally:
                        conn.close()
        finally:
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
