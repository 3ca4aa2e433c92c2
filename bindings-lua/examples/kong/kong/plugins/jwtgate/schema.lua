-- The configuration of the example Kong plugin (see handler.lua).
local typedefs = require "kong.db.schema.typedefs"

return {
    name = "jwtgate",
    fields = {
        { consumer = typedefs.no_consumer },
        { protocols = typedefs.protocols_http },
        { config = {
            type = "record",
            fields = {
                -- The jwtgate policy (docs/policy.md), read by every worker.
                { policy_file = { type = "string", required = true } },
                -- A route document: what this service or route adds.
                { route = { type = "string", required = false } },
            },
        } },
    },
}
