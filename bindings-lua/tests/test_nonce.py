"""DPoP server nonces across OpenResty workers: a secret made once in
init_by_lua (the master, before fork) and handed to every worker's gate
with `nonce_secret`, so a DPoP-Nonce one worker hands out is accepted by
the other; kept in a lua_shared_dict, it outlives `nginx -s reload`. The
configuration is the READMEs' snippet, as written but for the policy path
and the library. Connections are pinned to workers as in the C module's
test (bindings-c/nginx/test_nginx_dpop.py, whose helpers this reuses).
"""
import json
import os
import sys
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked, lua_string  # noqa: E402
from jwtgate_testsupport.nginx_conf import LUA_LIB  # noqa: E402
from jwtgate_testsupport.paths import LIB, ROOT  # noqa: E402

from test_nginx_dpop import NonceAcrossWorkers, Prover  # noqa: E402
from test_readme import snippet  # noqa: E402

LUA_ROOT = os.path.join(ROOT, "bindings-lua")
SNIPPET_POLICY = '"/etc/jwtgate/policy.json"'


def readme_snippet():
    """The nonce secret snippet, the same in both READMEs."""
    text = snippet(os.path.join(LUA_ROOT, "README.md"), "## DPoP proofs and several workers")
    if text != snippet(os.path.join(ROOT, "README.md"), "DPoP server nonces with"):
        raise AssertionError("README.md and bindings-lua/README.md show different nonce secret snippets")
    return text


class SharedNonceSecret(NonceAcrossWorkers, unittest.TestCase):
    def start(self, http_lua):
        """Two workers with a gate each for a `"nonce": true` policy, made
        by `http_lua` (init_by_lua / init_worker_by_lua, with
        SNIPPET_POLICY where the policy path goes)."""
        self.ng = LuaNginx()
        self.prover = Prover(self.ng.dir)
        path = self.ng.write("policy.json", json.dumps({"issuers": [self.prover.issuer(nonce=True)]}))
        self.assertIn(SNIPPET_POLICY, http_lua)
        http_lua = http_lua.replace(SNIPPET_POLICY, lua_string(path))
        try:
            self.ng.start(self.ng.preamble(workers=2) + f"""
    access_log off;
    lua_package_path "{LUA_LIB}/?.lua;;";
    lua_package_cpath "{os.path.dirname(LIB)}/lib?.so;;";
{http_lua}
    header_filter_by_lua_block {{
        local d = ngx.ctx.jwtgate
        if d then ngx.header["X-Jwtgate-Code"] = d:log_code() end
    }}
    add_header X-Worker $pid always;
    server {{
        listen 127.0.0.1:{self.ng.port} reuseport;
        location = /pid {{ return 204; }}
        location / {{
            access_by_lua_block {{ require("resty.jwtgate").access() }}
            proxy_pass {self.ng.upstream_url};
        }}
    }}
}}
""")
        except BaseException:
            self.ng.cleanup()
            raise
        self.addCleanup(close_checked, self.ng)

    def test_a_secret_made_before_fork_is_every_workers_and_a_shared_dict_keeps_it(self):
        self.start(readme_snippet())
        nonce = self.assert_nonces_cross_workers("/a")
        self.ng.reload()
        for conn in self.pinned():
            status, code, _, body, _ = self.use_nonce(conn, "/b", nonce)
            self.assertEqual((status, code), (200, "ok"), body[:300])

    @staticmethod
    def gate(opts):
        return f"""init_worker_by_lua_block {{
    require("resty.jwtgate").init_worker({SNIPPET_POLICY}, {{ {opts} }})
}}"""

    def test_without_a_shared_secret_each_worker_asks_for_its_own_nonce(self):
        # What nonce_secret fixes: each worker's random secret.
        self.start(self.gate("prefetch = true"))
        first, second = self.pinned()
        nonce, _ = self.ask_nonce(first, "/a")
        status, code, _, body, _ = self.use_nonce(second, "/a", nonce)
        self.assertEqual((status, code), (401, "use_dpop_nonce"), body[:300])

    def test_a_short_secret_is_refused_with_its_code(self):
        self.start(self.gate('nonce_secret = "short"'))
        status, code, _, _ = self.send(self.pinned()[0], "/a", self.prover.headers(self.prover.proof("/a")))
        self.assertEqual(status, 500, "no gate: fail closed")
        self.assertIn("invalid_argument: nonce_secret: at least 32 bytes, not 5", self.ng.error_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
