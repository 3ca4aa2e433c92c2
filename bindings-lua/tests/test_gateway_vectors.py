"""Every shared gateway vector (tests/gateway/*.json) through a real nginx
with lua-resty-jwtgate in front of an echo upstream.

Each case gets its own `server` (chosen by `Host`) whose access_by_lua
applies the case's routes (route documents, outermost first, merged with
gate:route(doc, parent) in init_worker). The answer must match the vector
exactly as for the C module: status, code, WWW-Authenticate, and for allowed
requests the upstream's URL and headers. The checks are the C module's
(`GatewayVectorsThroughNginx.check` of bindings-c/nginx/test_nginx_gateway.py).
"""
import json
import os
import sys
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

import test_nginx_gateway as c_gateway  # noqa: E402
from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402


def routes_module(cases):
    """Lua source of a module returning host -> merged route (or false)."""
    lines = ['local gate = assert(require("resty.jwtgate").gate())', "local routes = {}"]
    for host, case in cases:
        expr = "nil"
        for level in case["routes"]:
            expr = f"assert(gate:route({lua_string(json.dumps(level))}, {expr}))"
        lines.append(f"routes[{lua_string(host)}] = {expr if expr != 'nil' else 'false'}")
    lines.append("return routes")
    return "\n".join(lines) + "\n"


def server_block(ng, host):
    return f"""
    server {{
        listen 127.0.0.1:{ng.port};
        server_name {host};
        underscores_in_headers on;
        location / {{
            access_by_lua_block {{
                local route = require("gateway_routes")[{lua_string(host)}]
                require("resty.jwtgate").access(route or nil)
            }}
            proxy_pass {ng.upstream_url};
        }}
    }}"""


class GatewayVectorsThroughLua(c_gateway.GatewayVectorsThroughNginx):
    """The C module's vector test with a Lua nginx (same cases, same checks)."""

    def run_group(self, http_level, group):
        ng = LuaNginx()
        try:
            hosts = [(f"case{index}.test", case) for index, _, case in group]
            ng.write("gateway_routes.lua", routes_module(hosts))
            servers = "".join(server_block(ng, host) for host, _ in hosts)
            ng.start_lua(group[0][1], servers, init='            require("gateway_routes")')
            for host, case in hosts:
                with self.subTest(case=case["name"]):
                    self.check(ng, host, case)
        finally:
            close_checked(ng)


if __name__ == "__main__":
    unittest.main(verbosity=2)
