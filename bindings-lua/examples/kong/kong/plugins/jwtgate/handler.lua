-- A Kong plugin around lua-resty-jwtgate (an example: it is not tested
-- against Kong here). Put this folder on Kong's lua_package_path, add
-- "jwtgate" to `plugins` in kong.conf, and make libjwtgate findable
-- (lua_package_cpath, or `nginx_main_env = JWTGATE_LIBRARY` with the
-- variable set). Then, per service or route:
--
--   plugins:
--   - name: jwtgate
--     config:
--       policy_file: /etc/jwtgate/policy.json
--       route: '{"scopes": ["orders:read"]}'
--
-- The decision is applied through Kong's PDK, so Kong's other plugins see
-- the answer and the upstream request as usual.
local jwtgate = require "resty.jwtgate"

local JwtgateHandler = {
    PRIORITY = 1450, -- with Kong's own authentication plugins
    VERSION = jwtgate._VERSION,
}

-- One gate per policy file and worker, made on first use (after the
-- worker forked); routes compiled once per plugin configuration.
local gates = {}
local routes = setmetatable({}, { __mode = "k" })

local function gate_for(conf)
    local gate = gates[conf.policy_file]
    if not gate then
        local err
        gate, err = jwtgate.new(conf.policy_file)
        if not gate then
            return nil, err
        end
        gates[conf.policy_file] = gate
    end
    if conf.route and routes[conf] == nil then
        local route, err = gate:route(conf.route)
        if not route then
            return nil, err
        end
        routes[conf] = route
    end
    return gate, nil, routes[conf]
end

function JwtgateHandler:access(conf)
    local gate, err, route = gate_for(conf)
    if not gate then
        kong.log.err(tostring(err)) -- "jwtgate: policy: ..." names the bad field
        return kong.response.exit(500, { message = "An unexpected error occurred" })
    end
    local d
    d, err = gate:decide(route) -- waits with ngx.sleep while keys are being fetched
    if not d then
        kong.log.err(tostring(err))
        return kong.response.exit(500, { message = "An unexpected error occurred" })
    end
    -- Forwarded header names go on every path, in every spelling: all the
    -- request's headers (0: no limit; a limit would let a spoofed copy past).
    for name in pairs(ngx.req.get_headers(0, true)) do
        if d:removes_header(name) then
            kong.service.request.clear_header(name)
        end
    end
    if not d:allow() then
        local headers = {}
        for _, h in ipairs(d:response_headers()) do
            headers[h[1]] = h[2]
        end
        return kong.response.exit(d:status(), d:body(), headers)
    end
    for _, h in ipairs(d:set_headers()) do
        kong.service.request.set_header(h[1], h[2])
    end
    local url = d:upstream_url() -- a query token cut from the URL
    if url then
        kong.service.request.set_raw_query(url:match("%?(.*)$") or "")
    end
    kong.ctx.shared.jwtgate = d -- d:claims(), d:claim("sub"), d:issuer()
end

return JwtgateHandler
