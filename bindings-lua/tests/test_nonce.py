"""DPoP server nonces across OpenResty workers: a secret made once in
init_by_lua (the master, before fork) and handed to every worker's gate
with `nonce_secret`, so a DPoP-Nonce one worker hands out is accepted by
the other; kept in a lua_shared_dict, it outlives `nginx -s reload`.
Connections are pinned to workers as in the C module's test
(bindings-c/nginx/test_nginx_dpop.py, whose helpers this reuses).
"""
import json
import unittest

from luanginx import LIB, LUA_LIB, LuaNginx, close_checked, lua_string  # first: puts the C harness on the path

from test_nginx_dpop import NonceAcrossWorkers, Prover  # noqa: E402


class SharedNonceSecret(NonceAcrossWorkers, unittest.TestCase):
    def start(self, init, gate_opts):
        """Two workers with one gate each for a `"nonce": true` policy;
        `init` is the init_by_lua code, `gate_opts` Lua for the gate's
        options besides `library`."""
        self.ng = LuaNginx()
        self.prover = Prover(self.ng.dir)
        path = self.ng.write("policy.json", json.dumps({"issuers": [self.prover.issuer(nonce=True)]}))
        try:
            self.ng.start(self.ng.preamble(workers=2) + f"""
    access_log off;
    lua_package_path "{LUA_LIB}/?.lua;;";
    lua_shared_dict jwtgate 64k;
    init_by_lua_block {{
{init}
    }}
    init_worker_by_lua_block {{
        require("resty.jwtgate").init_worker({lua_string(path)}, {{ library = {lua_string(LIB)}, {gate_opts} }})
    }}
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
        self.start('        NONCE_SECRET = assert(require("resty.jwtgate").nonce_secret(ngx.shared.jwtgate))',
                   "nonce_secret = NONCE_SECRET")
        nonce = self.assert_nonces_cross_workers("/a")
        self.ng.reload()
        for conn in self.pinned():
            status, code, _, body, _ = self.use_nonce(conn, "/b", nonce)
            self.assertEqual((status, code), (200, "ok"), body[:300])

    def test_without_a_shared_secret_each_worker_asks_for_its_own_nonce(self):
        # What nonce_secret fixes: each worker's random secret.
        self.start("", "prefetch = true")
        first, second = self.pinned()
        nonce, _ = self.ask_nonce(first, "/a")
        status, code, _, body, _ = self.use_nonce(second, "/a", nonce)
        self.assertEqual((status, code), (401, "use_dpop_nonce"), body[:300])

    def test_a_short_secret_is_refused_with_its_code(self):
        self.start("", 'nonce_secret = "short"')
        status, code, _, _ = self.send(self.pinned()[0], "/a", self.prover.headers(self.prover.proof("/a")))
        self.assertEqual(status, 500, "no gate: fail closed")
        self.assertIn("invalid_argument: nonce_secret: at least 32 bytes, not 5", self.ng.error_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
