"""Runs Debian's nginx with the Lua module and lua-resty-jwtgate.

`nginx.Nginx` does the work: a prefix folder, an echo upstream on
127.0.0.1, start, stop and the log checks. `LuaNginx` only loads other
modules (ndk and lua instead of ngx_http_jwtgate_module) and adds what the
Lua side needs to the http block: the package path of bindings-lua/lib and
of the test's folder, and an `init_worker_by_lua_block` that makes the
worker's gate.
"""
import json
import os

from .nginx import Nginx
from .nginx_conf import LUA_LIB, LUA_MODULES
from .paths import LIB


def lua_string(text):
    """`text` as a double-quoted Lua string literal: printable ASCII as it
    is (quote and backslash escaped), every other byte as `\\ddd`, so it is
    safe inside nginx's *_by_lua_block too."""
    out = []
    for b in text.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 0x20 <= b < 0x7f:
            out.append(c)
        else:
            out.append(f"\\{b:03d}")
    return '"' + "".join(out) + '"'


class LuaNginx(Nginx):
    """An nginx whose workers run lua-resty-jwtgate. `start_lua(policy,
    body, init="")` writes the policy, then starts nginx with `body` (the
    servers) inside the http block; `init` is extra Lua run in
    init_worker_by_lua after the default gate is made (as `gate`).

    Every response carries `X-Jwtgate-Code`: the decision's code, "ok" for
    an identity, nothing when no decision was made (a header filter reads
    ngx.ctx.jwtgate, which `access` sets)."""

    modules = LUA_MODULES

    def http_lua(self, policy_path, init="", key_wait_ms=None):
        opts = f"library = {lua_string(LIB)}"
        if key_wait_ms is not None:
            opts += f", key_wait_ms = {key_wait_ms}"
        return f"""
    lua_package_path "{LUA_LIB}/?.lua;{self.dir}/?.lua;;";
    init_worker_by_lua_block {{
        local jwtgate = require "resty.jwtgate"
        local gate = jwtgate.init_worker({lua_string(policy_path)}, {{ {opts} }})
        if gate then
{init}
        end
    }}
    header_filter_by_lua_block {{
        local d = ngx.ctx.jwtgate
        if d then ngx.header["X-Jwtgate-Code"] = d:log_code() end
    }}
"""

    def start_lua(self, policy, body, init="", workers=1, key_wait_ms=None, extra=""):
        path = self.write("policy.json", policy if isinstance(policy, str) else json.dumps(policy))
        conf = self.preamble(workers) + "    access_log off;\n" + extra + self.http_lua(path, init, key_wait_ms) \
            + body + "\n}\n"
        self.start(conf)
        return path

    def gated_proxy(self):
        """A server on `port` whose every location runs the default gate's
        `access()` and proxies to the echo upstream: the `body` of
        `start_lua` for a test that needs nothing else."""
        return f"""
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            access_by_lua_block {{ require("resty.jwtgate").access() }}
            proxy_pass {self.upstream_url};
        }}
    }}"""

    def error_log(self):
        with open(os.path.join(self.dir, "error.log"), encoding="utf-8", errors="replace") as f:
            return f.read()


def close_checked(ng):
    """Stops `ng`; raises AssertionError on a crashed worker or a Lua
    error in its log."""
    log = ng.error_log() if os.path.exists(os.path.join(ng.dir, "error.log")) else ""
    problems = ng.close()
    problems += [line for line in log.splitlines()
                 if ("lua entry thread aborted" in line or "runtime error" in line) and "expected-error" not in line]
    if problems:
        raise AssertionError("nginx found problems:\n\n" + "\n\n".join(problems))
