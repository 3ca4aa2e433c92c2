-- lua-resty-jwtgate: JSON Web Token checks for OpenResty, Kong and APISIX
-- over libjwtgate's C ABI (LuaJIT FFI; no C of its own).
--
--   init_worker_by_lua_block {
--       require("resty.jwtgate").init_worker("/etc/jwtgate/policy.json")
--   }
--   location /orders/ {
--       access_by_lua_block {
--           require("resty.jwtgate").access('{"scopes": ["orders:read"]}')
--       }
--       proxy_pass http://backend;
--   }
--
-- Every decision is libjwtgate's (`jwtgate_verifier_decide`): where the
-- token is, what a missing or bad token answers, which headers are removed
-- and set, what the upstream query is. This module turns the nginx request
-- into a `jwtgate_request` (resty.jwtgate.request) and applies the decision
-- as it is (resty.jwtgate.apply).
--
-- A verifier belongs to one worker: make it in init_worker_by_lua*, after
-- nginx forked the worker, so its key fetches run on the worker's threads.
-- Decisions never block the worker: a request whose keys are being fetched
-- waits with ngx.sleep and is decided again, up to the issuer's
-- initial_wait_ms (or `key_wait_ms`), then gets the decision's 503.
local ffi = require "ffi"
local jffi = require "resty.jwtgate.ffi"
local codes = require "resty.jwtgate.codes"

local ngx = ngx
local type = type
local tonumber = tonumber
local setmetatable = setmetatable
local ffi_gc = ffi.gc
local ffi_string = ffi.string
local ffi_istype = ffi.istype

local _M = {
    _VERSION = "0.1.0",
    CODES = codes.CODES,
    -- Poll step (ms) while keys are being fetched; the Nginx module's too.
    KEY_WAIT_STEP_MS = 25,
}

local lib -- libjwtgate, loaded by `new` (or `load`)
local decision, request, apply -- loaded with the library (they need it)

--- Loads libjwtgate from `path` (optional; see resty.jwtgate.ffi for
-- where it is looked for otherwise). Returns the library version.
function _M.load(path)
    if not lib then
        lib = jffi.load(path)
        decision = require "resty.jwtgate.decision"
        request = require "resty.jwtgate.request"
        apply = require "resty.jwtgate.apply"
    end
    return ffi_string(lib.jwtgate_version())
end

local verifier_out = ffi.new("jwtgate_verifier *[1]")
local route_out = ffi.new("jwtgate_route *[1]")
local decision_out = ffi.new("jwtgate_decision *[1]")
local error_out = ffi.new("jwtgate_error *[1]")
local route_type = ffi.typeof("jwtgate_route *")

local json_encode
do
    local ok, cjson = pcall(require, "cjson.safe")
    if ok then
        json_encode = cjson.encode
    end
end

-- JSON text for a policy or route given as a table.
local function to_json(value, what)
    if type(value) ~= "table" then
        return value
    end
    if not json_encode then
        return nil, codes.new("policy", what .. " given as a table needs lua-cjson: pass JSON text")
    end
    local text, err = json_encode(value)
    if not text then
        return nil, codes.new("policy", what .. ": " .. tostring(err))
    end
    return text
end

-- The last error of a call as an error value (nil on success).
local function failed(rc)
    if rc == 0 then
        return nil
    end
    local err = error_out[0]
    error_out[0] = nil
    return codes.from_c(lib, rc, err)
end

local Gate = {}
Gate.__index = Gate
_M.Gate = Gate

--- A gate: one verifier for one policy. `policy` is a file path, JSON text
-- (starting with `{`) or a table (with lua-cjson). `opts`:
--   library      path of libjwtgate (first use only);
--   key_wait_ms  how long a request waits for keys being fetched; defaults
--                to the issuer's initial_wait_ms (what the decision says);
--   prefetch     start fetching remote keys now (default true);
--   nonce_secret the DPoP nonce secret (a string of at least 32 bytes)
--                every worker's gate shares: see `nonce_secret` below.
--                Issuers with `"nonce": true` (or no `nonce.secret`) issue
--                and accept nonces under it; a policy's own secret wins.
-- Returns the gate, or nil and an error value (code `policy` names what is
-- wrong in the policy, `invalid_argument` a bad option).
function _M.new(policy, opts)
    opts = opts or {}
    _M.load(opts.library)
    if type(policy) ~= "string" and type(policy) ~= "table" then
        return nil, codes.new("policy", "policy: expected a file path, JSON text or a table")
    end
    local text, err = to_json(policy, "policy")
    if not text then
        return nil, err
    end
    local rc
    if type(policy) == "table" or text:find("^%s*{") then
        rc = lib.jwtgate_verifier_new(text, #text, verifier_out, error_out)
    else
        rc = lib.jwtgate_verifier_from_file(text, #text, verifier_out, error_out)
    end
    err = failed(rc)
    if err then
        return nil, err
    end
    local v = ffi_gc(verifier_out[0], lib.jwtgate_verifier_free)
    verifier_out[0] = nil
    if opts.nonce_secret ~= nil then
        local secret = opts.nonce_secret
        if type(secret) ~= "string" then
            return nil, codes.new("invalid_argument", "nonce_secret: expected a string of at least 32 bytes")
        end
        rc = lib.jwtgate_verifier_set_nonce_secret(v, secret, #secret)
        if rc ~= 0 then
            return nil, codes.new(codes.name(rc), "nonce_secret: at least 32 bytes, not " .. #secret)
        end
    end
    if opts.prefetch ~= false then
        lib.jwtgate_verifier_prefetch(v)
    end
    -- The peer's address is read from nginx (ngx.var) only where the policy
    -- can use it (`trusted_proxies`).
    local reads_peer = lib.jwtgate_verifier_reads_peer(v)
    return setmetatable({ verifier = v, key_wait_ms = opts.key_wait_ms, routes = {}, route_count = 0,
                          reads_peer = reads_peer }, Gate)
end

--- A route (what one location adds to the policy: claims, scopes,
-- forwarded headers, token sources, mode, exclude, keep_query_token; see
-- docs/policy.md) from JSON text or a table, on top of `parent` (a route
-- of this gate, or nil): the levels concatenate as nested nginx blocks do.
-- Build routes once (init_worker) and reuse them. Returns the route, or nil
-- and an error value (code `policy`, naming the bad field).
function Gate:route(doc, parent)
    local text, err = to_json(doc, "route")
    if not text then
        return nil, err
    end
    if type(text) ~= "string" then
        return nil, codes.new("policy", "route: expected JSON text or a table")
    end
    err = failed(lib.jwtgate_route_from_json(self.verifier, text, #text, route_out, error_out))
    if err then
        return nil, err
    end
    local child = ffi_gc(route_out[0], lib.jwtgate_route_free)
    route_out[0] = nil
    if parent == nil then
        return child
    end
    if not ffi_istype(route_type, parent) then
        return nil, codes.new("policy", "route: the parent is not a route")
    end
    err = failed(lib.jwtgate_route_merge(parent, child, route_out, error_out))
    if err then
        return nil, err
    end
    local merged = ffi_gc(route_out[0], lib.jwtgate_route_free)
    route_out[0] = nil
    return merged
end

-- Most route texts a gate keeps compiled. Route text is meant to be
-- written in nginx.conf; text built per request would otherwise grow the
-- cache without end (beyond this it is compiled for each request).
local MAX_ROUTE_TEXTS = 1024

-- A route object for `access`/`decide`: nil (none), a route, or JSON text
-- compiled once and kept by its text (Lua strings are interned, so the
-- lookup is one hash probe). A bad document is kept as its error.
local function resolve(self, route)
    if route == nil or ffi_istype(route_type, route) then
        return route
    end
    if type(route) == "string" then
        local cached = self.routes[route]
        if cached == nil then
            local r, err = self:route(route)
            cached = r or err
            if self.route_count < MAX_ROUTE_TEXTS then
                self.route_count = self.route_count + 1
                self.routes[route] = cached
            end
        end
        if codes.is_error(cached) then
            return nil, cached
        end
        return cached
    end
    return nil, codes.new("policy", "route: expected a route, JSON text or nil (build tables once with gate:route)")
end

-- One decision for the current request; the header buffer it was made
-- from comes back with it for `apply`. (nil, err) when the library made
-- none (bad arguments: a bug here, reported with its code).
local function decide_once(self, route, no_wait)
    local req, headers, n = request.build(no_wait, self.reads_peer)
    local err = failed(lib.jwtgate_verifier_decide(self.verifier, req, route, decision_out, error_out))
    if err then
        return nil, err
    end
    local d = decision.own(decision_out[0])
    decision_out[0] = nil
    return d, headers, n
end

-- Decides, waiting (ngx.sleep) while keys are being fetched.
local function decide_waiting(self, route, wait)
    local d, headers, n = decide_once(self, route, true)
    if not d or not wait or not lib.jwtgate_decision_pending(d) then
        return d, headers, n
    end
    ngx.update_time()
    local deadline = ngx.now() * 1000 + (self.key_wait_ms or d:pending_wait_ms())
    while d:pending() do
        local left = deadline - ngx.now() * 1000
        if left <= 0 then
            break
        end
        ngx.sleep((left < _M.KEY_WAIT_STEP_MS and left or _M.KEY_WAIT_STEP_MS) / 1000)
        d, headers, n = decide_once(self, route, true)
        if not d then
            return d, headers, n
        end
    end
    return d, headers, n
end

--- The decision for the current request with `route` (a route, JSON text,
-- or nil), without applying it. `opts.wait = false` never sleeps: a
-- decision that would wait for keys comes back pending (d:pending()), its
-- 503 ready to answer; use it where ngx.sleep is not allowed. Returns the
-- decision (resty.jwtgate.decision), or nil and an error value.
function Gate:decide(route, opts)
    local r, err = resolve(self, route)
    if err then
        return nil, err
    end
    local d
    d, err = decide_waiting(self, r, not (opts and opts.wait == false))
    if not d then
        return nil, err
    end
    return d
end

--- access_by_lua*: decides the request and applies the whole decision.
-- A rejection ends the request with the decision's answer; an allowed
-- request continues, its forwarded headers set, with the decision in
-- `ngx.ctx.jwtgate` (d:claims(), d:claim("sub"), d:issuer(), ...). A bad
-- route or a library failure answers 500 and logs the error's code.
function Gate:access(route)
    local r, err = resolve(self, route)
    if err then
        ngx.log(ngx.ERR, tostring(err))
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
    local d, headers, n = decide_waiting(self, r, true)
    if not d then
        ngx.log(ngx.ERR, tostring(headers)) -- (nil, err) when no decision was made
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
    ngx.ctx.jwtgate = d
    apply.apply(d, headers, n)
end

--- Starts fetching every remote key set that has no keys yet (done by
-- `new` unless prefetch = false).
function Gate:prefetch()
    lib.jwtgate_verifier_prefetch(self.verifier)
end

--- Empties the verified-token cache (after revoking a key out of band).
function Gate:clear_cache()
    lib.jwtgate_verifier_clear_cache(self.verifier)
end

--- Number of tokens in the verified-token cache.
function Gate:cached_tokens()
    return tonumber(lib.jwtgate_verifier_cached_tokens(self.verifier))
end

local NONCE_SECRET_KEY = "jwtgate:nonce_secret"

--- A DPoP nonce secret for every worker's gate (opts.nonce_secret): 32
-- random bytes from /dev/urandom. Each worker compiles its own policy, so
-- with `"nonce": true` each would otherwise make its own secret, and a
-- nonce one worker hands out would be refused by the others. Call it in
-- init_by_lua* (the master, before it forks the workers, which inherit the
-- value) and pass the value to `new`/`init_worker` in every worker.
-- With `dict` (a lua_shared_dict), the secret is kept there under
-- "jwtgate:nonce_secret" and reused when present: a shared dict keeps its
-- contents across `nginx -s reload`, so nonces handed out before a reload
-- stay valid after it; without one a reload makes a new secret (a client
-- holding an older nonce is asked once for the new one). Returns the
-- secret, or nil and an error value.
function _M.nonce_secret(dict)
    if dict then
        local kept = dict:get(NONCE_SECRET_KEY)
        if kept ~= nil then
            -- Only what this function stored: 32 bytes. Anything else (another
            -- writer's value) is refused rather than used as a secret.
            if type(kept) ~= "string" or #kept ~= 32 then
                return nil, codes.new("invalid_argument",
                    "nonce secret: the shared dict holds something else under " .. NONCE_SECRET_KEY)
            end
            return kept
        end
    end
    local f, err = io.open("/dev/urandom", "rb")
    if not f then
        return nil, codes.new("invalid_argument", "nonce secret: " .. tostring(err))
    end
    local secret = f:read(32)
    f:close()
    if not secret or #secret ~= 32 then
        return nil, codes.new("invalid_argument", "nonce secret: /dev/urandom gave too few bytes")
    end
    if not dict then
        return secret
    end
    -- Whoever adds first wins: every worker calling this at once agrees.
    local ok, add_err = dict:safe_add(NONCE_SECRET_KEY, secret)
    if not ok and add_err ~= "exists" then
        return nil, codes.new("invalid_argument", "nonce secret: shared dict: " .. tostring(add_err))
    end
    local kept = dict:get(NONCE_SECRET_KEY)
    if type(kept) ~= "string" or #kept ~= 32 then
        return nil, codes.new("invalid_argument", "nonce secret: the shared dict lost or changed it (use a dedicated dict)")
    end
    return kept
end

-- The worker's default gate (init_worker), or the error that kept it from
-- loading.
local default, default_err

--- init_worker_by_lua*: makes this worker's default gate. A policy that
-- does not load is logged with its code, and every request to a location
-- using the default gate then answers 500 (fail closed). Returns the gate,
-- or nil and the error.
function _M.init_worker(policy, opts)
    default, default_err = _M.new(policy, opts)
    if not default then
        ngx.log(ngx.ERR, tostring(default_err))
    end
    return default, default_err
end

--- The worker's default gate, or nil and the error that kept it from loading.
function _M.gate()
    if default then
        return default
    end
    return nil, default_err or codes.new("policy", "no gate: call resty.jwtgate.init_worker in init_worker_by_lua")
end

--- access_by_lua*: Gate:access on the default gate.
function _M.access(route)
    if not default then
        local _, err = _M.gate()
        ngx.log(ngx.ERR, tostring(err))
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
    return default:access(route)
end

--- Gate:route on the default gate.
function _M.route(doc, parent)
    local g, err = _M.gate()
    if not g then
        return nil, err
    end
    return g:route(doc, parent)
end

--- The decision applied to this request by `access`, or nil.
function _M.decision()
    return ngx.ctx.jwtgate
end

return _M
