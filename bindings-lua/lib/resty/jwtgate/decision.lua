-- A request decision: the `jwtgate_decision *` libjwtgate made, with
-- methods (an FFI metatype, so no Lua table is made per request) and freed
-- by the garbage collector (`ffi.gc`) once nothing refers to it, e.g. when
-- the request that kept it in `ngx.ctx` is over.
--
-- Every string is copied out of the decision when read (`ffi.string` with
-- the length the library gives), so values stay valid after it is freed.
local ffi = require "ffi"
local jffi = require "resty.jwtgate.ffi"

local ffi_string = ffi.string
local ffi_gc = ffi.gc
local tonumber = tonumber

local lib = jffi.load()

-- Out-parameters shared by every read: reads never yield, so one pair per
-- worker is enough and nothing is allocated per call.
local name_out = ffi.new("jwtgate_str[1]")
local value_out = ffi.new("jwtgate_str[1]")

local function str(s)
    if s.data == nil then
        return nil
    end
    return ffi_string(s.data, s.len)
end

-- (name, value) pairs from one of the decision's indexed header lists.
local function pairs_of(d, len, at)
    local out = {}
    for i = 0, tonumber(len(d)) - 1 do
        if at(d, i, name_out, value_out) == 0 then
            out[#out + 1] = { str(name_out[0]), str(value_out[0]) }
        end
    end
    return out
end

local Decision = {}

--- Whether the request goes on upstream.
function Decision:allow()
    return lib.jwtgate_decision_allow(self)
end

--- 200 when allowed, else the status to answer (400, 401, 403, 503).
function Decision:status()
    return tonumber(lib.jwtgate_decision_status(self))
end

--- The stable code of the rejection (in report_only, of the rejection it
-- would have been), or nil when nothing failed.
function Decision:code()
    return str(lib.jwtgate_decision_code(self))
end

--- The JSON body of a rejection; nil when allowed.
function Decision:body()
    return str(lib.jwtgate_decision_body(self))
end

--- Headers to set on the request passed upstream: { {name, value}, ... }.
function Decision:set_headers()
    return pairs_of(self, lib.jwtgate_decision_set_headers_len, lib.jwtgate_decision_set_header)
end

--- Header names (lower case) removed from the request on every path.
function Decision:remove_headers()
    local out = {}
    for i = 0, tonumber(lib.jwtgate_decision_remove_headers_len(self)) - 1 do
        out[#out + 1] = str(lib.jwtgate_decision_remove_header(self, i))
    end
    return out
end

--- Whether request header `name` must be removed: a forwarded name,
-- ignoring case and with `_` and `-` alike.
function Decision:removes_header(name)
    return lib.jwtgate_decision_removes_header(self, name, #name)
end

--- Headers of the rejection response (WWW-Authenticate, Content-Type,
-- Cache-Control, Retry-After, ...): { {name, value}, ... }; empty when allowed.
function Decision:response_headers()
    return pairs_of(self, lib.jwtgate_decision_response_headers_len, lib.jwtgate_decision_response_header)
end

--- The request target to pass upstream (a query token cut), or nil to
-- keep the original.
function Decision:upstream_url()
    return str(lib.jwtgate_decision_upstream_url(self))
end

--- Whether the token came from the query string.
function Decision:token_in_query()
    return lib.jwtgate_decision_token_in_query(self)
end

--- Whether the decision waits on a key fetch in flight (made with no_wait).
function Decision:pending()
    return lib.jwtgate_decision_pending(self)
end

--- While pending: how long (ms) the caller may keep deciding again.
function Decision:pending_wait_ms()
    return tonumber(lib.jwtgate_decision_pending_wait_ms(self))
end

--- The verified claims as compact ASCII-only JSON, or nil without identity.
function Decision:claims_json()
    return str(lib.jwtgate_decision_claims_json(self))
end

local json_decode
do
    local ok, cjson = pcall(require, "cjson.safe")
    if ok then
        json_decode = cjson.decode
    end
end

--- The verified claims as a Lua table (needs lua-cjson, which OpenResty,
-- Kong and APISIX bundle), or nil without identity.
function Decision:claims()
    local text = self:claims_json()
    if text == nil then
        return nil
    end
    if not json_decode then
        error("resty.jwtgate: decision:claims() needs lua-cjson; use decision:claims_json()", 2)
    end
    return json_decode(text)
end

--- The issuer of the policy entry that accepted the token, or nil.
function Decision:issuer()
    return str(lib.jwtgate_decision_issuer(self))
end

--- One claim (a name, or a JSON Pointer starting with `/`) in header form:
-- a string as it is, any other value as compact JSON; nil when absent,
-- null, or not header-safe (controls, non-ASCII).
function Decision:claim(name)
    return str(lib.jwtgate_decision_claim_value(self, name, #name))
end

--- "ok" with an identity, the code when something failed, else nil: what
-- the Nginx module's $jwtgate_code holds.
function Decision:log_code()
    local code = lib.jwtgate_decision_code(self)
    if code.data ~= nil then
        return ffi_string(code.data, code.len)
    end
    if lib.jwtgate_decision_claims_json(self).data ~= nil then
        return "ok"
    end
    return nil
end

ffi.metatype("struct jwtgate_decision", { __index = Decision })

local _M = { Decision = Decision }

--- Takes ownership of a decision the library returned: it is freed when
-- collected.
function _M.own(ptr)
    return ffi_gc(ptr, lib.jwtgate_decision_free)
end

return _M
