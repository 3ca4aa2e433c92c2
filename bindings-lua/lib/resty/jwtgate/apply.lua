-- Applies a whole decision to the current nginx request, as the Nginx
-- module does (bindings-c/nginx/ngx_http_jwtgate_module.c):
--
-- 1. on every path, every request header the decision names as forwarded
--    is removed (also `X_User` for `X-User`: FastCGI, uwsgi and SCGI pass
--    both as HTTP_X_USER), so a client's own copy never reaches upstream;
-- 2. a rejection answers the decision's status, response headers
--    (WWW-Authenticate, Retry-After, ...) and JSON body, and ends the
--    request (so does the metadata document the decision answers itself);
-- 3. an allowed request gets the forwarded headers set and, when the token
--    came in the query, the query the decision gives (token cut).
--
-- Nothing here builds JSON or escapes anything: every byte comes from the
-- decision.
local ffi = require "ffi"
local jffi = require "resty.jwtgate.ffi"

local ngx = ngx
local ngx_req = ngx.req
local ffi_string = ffi.string
local tonumber = tonumber
local find = string.find
local sub = string.sub

local lib = jffi.load()

local name_out = ffi.new("jwtgate_str[1]")
local value_out = ffi.new("jwtgate_str[1]")

local _M = {}

-- Names of headers to clear, gathered before any is cleared (clearing
-- moves nginx's header entries under the buffer being read).
local doomed = {}

--- Removes every request header the decision forwards. `headers`/`n`:
-- the request's headers as they were given to the decision.
function _M.remove_headers(d, headers, n)
    if lib.jwtgate_decision_remove_headers_len(d) == 0 then
        return
    end
    local count = 0
    for i = 0, n - 1 do
        local h = headers[i]
        if lib.jwtgate_decision_removes_header(d, h.name, h.name_len) then
            count = count + 1
            doomed[count] = ffi_string(h.name, h.name_len)
        end
    end
    for i = 1, count do
        ngx_req.clear_header(doomed[i])
        doomed[i] = nil
    end
end

--- Answers a decision that does not go upstream and ends the request: a
-- rejection, or the gateway's own answer (the RFC 9728 metadata document,
-- 200, which is applied the same way).
function _M.reject(d)
    local status = tonumber(lib.jwtgate_decision_status(d))
    if status < 200 or status > 599 then
        ngx.log(ngx.ERR, "jwtgate: a decision to answer with status ", status)
        return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
    end
    ngx_req.discard_body()
    ngx.status = status
    local header = ngx.header
    for i = 0, tonumber(lib.jwtgate_decision_response_headers_len(d)) - 1 do
        if lib.jwtgate_decision_response_header(d, i, name_out, value_out) ~= 0 then
            return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
        end
        local name, value = name_out[0], value_out[0]
        header[ffi_string(name.data, name.len)] = ffi_string(value.data, value.len)
    end
    local body = lib.jwtgate_decision_body(d)
    header["Content-Length"] = tonumber(body.len)
    if body.len > 0 then
        ngx.print(ffi_string(body.data, body.len))
    end
    return ngx.exit(ngx.HTTP_OK)
end

--- Sets the forwarded headers and the query of an allowed request.
function _M.forward(d)
    for i = 0, tonumber(lib.jwtgate_decision_set_headers_len(d)) - 1 do
        if lib.jwtgate_decision_set_header(d, i, name_out, value_out) ~= 0 then
            return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR)
        end
        local name, value = name_out[0], value_out[0]
        ngx_req.set_header(ffi_string(name.data, name.len), ffi_string(value.data, value.len))
    end
    -- The out-parameter form: LuaJIT compiles no call that returns a
    -- struct by value (jwtgate_decision_upstream_url), and would leave every
    -- request with a query to its interpreter.
    if lib.jwtgate_decision_upstream_url_into(d, value_out) then
        -- Only the query changes (a query token is cut): the path stays
        -- the one nginx routed on.
        local url = value_out[0]
        local target = ffi_string(url.data, url.len)
        local q = find(target, "?", 1, true)
        ngx_req.set_uri_args(q and sub(target, q + 1) or "")
    end
end

--- The whole decision: removes, then rejects or forwards.
function _M.apply(d, headers, n)
    _M.remove_headers(d, headers, n)
    if not lib.jwtgate_decision_allow(d) then
        return _M.reject(d)
    end
    _M.forward(d)
end

return _M
