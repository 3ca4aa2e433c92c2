-- An Apache APISIX plugin around lua-resty-jwtgate (an example: it is not
-- tested against APISIX here). Copy it to apisix/plugins/ (or an
-- `extra_lua_path` folder), list "jwtgate" under `plugins` in config.yaml,
-- make libjwtgate findable (`extra_lua_cpath`, or JWTGATE_LIBRARY listed
-- under nginx_config.envs), then on a route:
--
--   "plugins": {"jwtgate": {"policy_file": "/etc/jwtgate/policy.json",
--                           "route": {"scopes": ["orders:read"]}}}
--
-- APISIX answers what `access` returns (status, body); headers go through
-- its core helpers.
local core = require("apisix.core")
local jwtgate = require("resty.jwtgate")

local schema = {
    type = "object",
    properties = {
        policy_file = { type = "string", minLength = 1 },
        route = { type = "object" }, -- a route document (docs/policy.md)
    },
    required = { "policy_file" },
}

local _M = {
    version = 0.1,
    priority = 2515, -- just before APISIX's jwt-auth (2510)
    name = "jwtgate",
    schema = schema,
}

function _M.check_schema(conf)
    return core.schema.check(schema, conf)
end

-- One gate per policy file and worker; one route per plugin configuration.
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
        local route, err = gate:route(core.json.encode(conf.route))
        if not route then
            return nil, err
        end
        routes[conf] = route
    end
    return gate, nil, routes[conf]
end

function _M.access(conf, ctx)
    local gate, err, route = gate_for(conf)
    if not gate then
        core.log.error(tostring(err)) -- "jwtgate: policy: ..." names the bad field
        return 500
    end
    local d
    d, err = gate:decide(route) -- waits with ngx.sleep while keys are being fetched
    if not d then
        core.log.error(tostring(err))
        return 500
    end
    -- Forwarded header names go on every path, in every spelling: all the
    -- request's headers (0: no limit; a limit would let a spoofed copy past).
    for name in pairs(ngx.req.get_headers(0, true)) do
        if d:removes_header(name) then
            core.request.set_header(ctx, name, nil)
        end
    end
    if not d:allow() then
        for _, h in ipairs(d:response_headers()) do
            core.response.set_header(h[1], h[2])
        end
        return d:status(), d:body()
    end
    for _, h in ipairs(d:set_headers()) do
        core.request.set_header(ctx, h[1], h[2])
    end
    local url = d:upstream_url() -- a query token cut from the URL
    if url then
        ngx.req.set_uri_args(url:match("%?(.*)$") or "")
    end
    ctx.jwtgate = d -- d:claims(), d:claim("sub"), d:issuer()
end

return _M
