-- LuaRocks package of lua-resty-jwtgate: pure Lua over libjwtgate (LuaJIT
-- FFI), which is built separately (`cargo build --release -p jwtgate-c`)
-- and found through lua_package_cpath, $JWTGATE_LIBRARY or the system's
-- library path (see README.md).
package = "lua-resty-jwtgate"
version = "0.1.0-1"
source = {
   url = "git+https://github.com/jwtgate/jwtgate.git",
   tag = "v0.1.0",
}
description = {
   summary = "JSON Web Token checks for OpenResty, Kong and APISIX over libjwtgate",
   detailed = [[
Verifies JWTs in access_by_lua with libjwtgate's C ABI through LuaJIT's FFI:
one verifier per worker, per-location routes (claims, scopes, forwarded
headers), JWKS fetching and caching that never blocks the worker, and the
same decisions as jwtgate's Nginx module, Node and Python bindings.
]],
   homepage = "https://github.com/jwtgate/jwtgate",
   license = "MIT OR Apache-2.0",
}
dependencies = {
   "lua >= 5.1",
}
supported_platforms = { "linux" }
build = {
   type = "builtin",
   modules = {
      ["resty.jwtgate"] = "bindings-lua/lib/resty/jwtgate.lua",
      ["resty.jwtgate.apply"] = "bindings-lua/lib/resty/jwtgate/apply.lua",
      ["resty.jwtgate.codes"] = "bindings-lua/lib/resty/jwtgate/codes.lua",
      ["resty.jwtgate.decision"] = "bindings-lua/lib/resty/jwtgate/decision.lua",
      ["resty.jwtgate.ffi"] = "bindings-lua/lib/resty/jwtgate/ffi.lua",
      ["resty.jwtgate.request"] = "bindings-lua/lib/resty/jwtgate/request.lua",
   },
}
