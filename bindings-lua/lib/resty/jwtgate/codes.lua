-- The stable error codes, as every runtime reports them, and the error
-- value this binding returns.
--
-- NUMBERS mirrors `enum jwtgate_code` of include/jwtgate.h (the C numbers
-- are never reused); tests/check_ffi.lua fails when the two differ and
-- when libjwtgate's own `jwtgate_code_name` disagrees with a name here.
local ffi = require "ffi"

local _M = {}

-- name -> C number. 1-21 are the codes of docs/policy.md; 1000 and up are
-- the C binding's own (misuse of the API, which this binding should never
-- cause: seeing one is a bug worth reporting).
_M.NUMBERS = {
    ok = 0,
    malformed = 1,
    too_large = 2,
    header = 3,
    algorithm = 4,
    key_not_found = 5,
    signature = 6,
    expired = 7,
    not_yet_valid = 8,
    issuer = 9,
    audience = 10,
    claim = 11,
    jwks_unavailable = 12,
    policy = 13,
    missing_token = 14,
    missing_claim = 15,
    invalid_request = 16,
    invalid_dpop_proof = 17,
    use_dpop_nonce = 18,
    dpop_binding = 19,
    mtls_binding = 20,
    replay_store_unavailable = 21,
    key = 22,
    invalid_argument = 23,
    serialization = 24,
    null_parameter = 1000,
    invalid_utf8 = 1001,
    buffer_too_small = 1002,
    not_found = 1003,
    invalid_parameter = 1004,
    unknown_error = 1005,
    panic = 1099,
}

-- The codes of docs/policy.md in C enum order (what Node's CODES lists).
_M.CODES = {
    "malformed", "too_large", "header", "algorithm", "key_not_found", "signature", "expired",
    "not_yet_valid", "issuer", "audience", "claim", "jwks_unavailable", "policy", "missing_token",
    "missing_claim", "invalid_request", "invalid_dpop_proof", "use_dpop_nonce", "dpop_binding",
    "mtls_binding", "replay_store_unavailable", "key", "invalid_argument", "serialization",
}

local NAMES = {}
for name, number in pairs(_M.NUMBERS) do
    NAMES[number] = name
end

--- The name of a C code number ("unknown_error" for a number this list
-- does not know, which a newer library may return).
function _M.name(number)
    return NAMES[tonumber(number)] or "unknown_error"
end

local Error = {}
Error.__index = Error
Error.__tostring = function(e)
    return "jwtgate: " .. e.code .. ": " .. e.message
end
_M.Error = Error

--- An error value: `code` (a stable name above), `message` (for people:
-- match on the code), `claim` (or nil), `status` (the HTTP status a
-- gateway answers, or nil for `policy`, `key`, `invalid_argument`, `serialization` and misuse). tostring() gives
-- "jwtgate: code: message", which ngx.log prints as it is.
function _M.new(code, message, claim, status)
    return setmetatable({ code = code, message = message, claim = claim, status = status }, Error)
end

--- Whether `value` is an error made by `new`.
function _M.is_error(value)
    return getmetatable(value) == Error
end

--- An error value from a `jwtgate_error *` the library returned (freed
-- here), or from a bare code when the library gave no error object.
function _M.from_c(lib, rc, err)
    if err == nil then
        return _M.new(_M.name(rc), "libjwtgate returned " .. _M.name(rc))
    end
    local code = _M.name(lib.jwtgate_error_code(err))
    local m = lib.jwtgate_error_message(err)
    local c = lib.jwtgate_error_claim(err)
    local status = lib.jwtgate_error_http_status(err)
    local e = _M.new(code, m.data ~= nil and ffi.string(m.data, m.len) or code,
                     c.data ~= nil and ffi.string(c.data, c.len) or nil,
                     status ~= 0 and tonumber(status) or nil)
    lib.jwtgate_error_free(err)
    return e
end

return _M
