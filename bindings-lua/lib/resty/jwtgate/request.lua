-- The current nginx request as a `jwtgate_request`: method, target, every
-- header in arrival order (repeated ones included) and the peer address,
-- the same request the Nginx module hands libjwtgate.
--
-- Headers are read without copying: lua-resty-core's own FFI calls
-- (`ngx_http_lua_ffi_req_get_headers`, what `ngx.req.get_headers` uses)
-- give pointers into the request's memory, which stay valid while the
-- request lives and nothing edits its headers. Without lua-resty-core the
-- slower `ngx.req.get_headers(0, true)` is used; it keeps the order of
-- repeated headers but not the order between different names, which no
-- decision depends on.
--
-- One request struct and one header buffer serve every request of a
-- worker: `build` fills them right before `jwtgate_verifier_decide`, and
-- nothing yields in between, so requests cannot see each other's data.
local ffi = require "ffi"

local ngx = ngx
local ngx_var = ngx.var
local ffi_new = ffi.new
local byte = string.byte
local find = string.find
local sub = string.sub

local _M = {}

local req = ffi_new("jwtgate_request[1]")
local headers_cap = 64
local headers = ffi_new("jwtgate_header[?]", headers_cap)

-- resty.core's header reader, when present.
local C = ffi.C
local get_request, elts, elts_cap, truncated
do
    local ok, base = pcall(require, "resty.core.base")
    if ok and pcall(require, "resty.core.request") then
        local has = pcall(function()
            return C.ngx_http_lua_ffi_req_get_headers_count and C.ngx_http_lua_ffi_req_get_headers
        end)
        if has then
            get_request = base.get_request
            elts_cap = 64
            elts = ffi_new("ngx_http_lua_ffi_table_elt_t[?]", elts_cap)
            truncated = ffi_new("int[1]")
        end
    end
end
_M.zero_copy = get_request ~= nil

local function grow(n)
    if n > headers_cap then
        headers_cap = n * 2
        headers = ffi_new("jwtgate_header[?]", headers_cap)
    end
end

-- Fills `headers` from resty.core's reader; returns the count.
local function read_headers_ffi()
    local r = get_request()
    local n = C.ngx_http_lua_ffi_req_get_headers_count(r, -1, truncated)
    if n <= 0 then
        return 0
    end
    if n > elts_cap then
        elts_cap = n * 2
        elts = ffi_new("ngx_http_lua_ffi_table_elt_t[?]", elts_cap)
    end
    if C.ngx_http_lua_ffi_req_get_headers(r, elts, n, 1) ~= 0 then
        error("resty.jwtgate: cannot read the request headers")
    end
    grow(n)
    for i = 0, n - 1 do
        local e, h = elts[i], headers[i]
        h.name = e.key.data
        h.name_len = e.key.len
        h.value = e.value.data
        h.value_len = e.value.len
    end
    return n
end

-- Fills `headers` from ngx.req.get_headers; `keep` holds the strings
-- until the decision is made. Returns the count.
local function read_headers_plain(keep)
    local n = 0
    for name, value in pairs(ngx.req.get_headers(0, true)) do
        if type(value) == "table" then
            for _, v in ipairs(value) do
                n = n + 1
                keep[#keep + 1] = { name, v }
            end
        else
            n = n + 1
            keep[#keep + 1] = { name, value }
        end
    end
    grow(n)
    for i = 1, n do
        local h = headers[i - 1]
        local name, value = keep[i][1], keep[i][2]
        h.name, h.name_len, h.value, h.value_len = name, #name, value, #value
    end
    return n
end

-- The target as nginx passes it on: the request line's path with the
-- current query (a rewrite of the arguments counts; the original query
-- when nothing changed it).
local function target()
    local uri = ngx_var.request_uri
    local q = find(uri, "?", 1, true)
    local args = ngx_var.args
    if q then
        if args and sub(uri, q + 1) == args then
            return uri
        end
        uri = sub(uri, 1, q - 1)
    end
    if args and args ~= "" then
        return uri .. "?" .. args
    end
    return uri
end

-- The peer's address for an IP connection (not a unix socket).
local function peer()
    local addr = ngx_var.remote_addr
    if addr == nil or byte(addr, 1) == 117 then -- "unix:"
        return nil
    end
    return addr
end

-- Keeps the strings the shared request points at referenced until the
-- next request replaces them (a cdata pointer does not keep a string alive).
local anchor = {}

--- Fills the shared request for the current nginx request and returns it
-- with the header buffer and the header count. `no_wait` asks for a
-- pending decision instead of waiting for keys; `with_peer` reads the
-- peer's address (only a policy with `trusted_proxies` uses it). Call the library right
-- after: the next `build` reuses the same memory.
function _M.build(no_wait, with_peer)
    local n
    if get_request then
        n = read_headers_ffi()
    else
        local keep = {}
        anchor[4] = keep
        n = read_headers_plain(keep)
    end
    local method = ngx.req.get_method()
    local url = target()
    local addr = with_peer and peer() or nil
    anchor[1], anchor[2], anchor[3] = method, url, addr
    local r = req[0]
    r.method, r.method_len = method, #method
    r.url, r.url_len = url, #url
    r.headers, r.headers_len = headers, n
    if addr then
        r.peer, r.peer_len = addr, #addr
    else
        r.peer, r.peer_len = nil, 0
    end
    r.client_cert, r.client_cert_len = nil, 0
    r.pin_now = false
    r.no_wait = no_wait and true or false
    return req, headers, n
end

return _M
