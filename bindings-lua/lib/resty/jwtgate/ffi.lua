-- The C ABI of libjwtgate as LuaJIT's FFI sees it, and the loaded library.
--
-- The declarations below are copied from include/jwtgate.h (only the ones
-- this binding calls), without comments. tests/check_ffi.lua compares each
-- of them with the header and fails on any difference, so a change of the
-- C ABI cannot silently turn into a wrong call here.
--
-- The enums of the header are `uint32_t` typedefs in C; their values live
-- in resty.jwtgate.codes (checked against the header by the same test).
--
-- LuaJIT compiles no call to a function that returns a struct by value
-- (every `jwtgate_str` accessor): such calls run in its interpreter, and
-- so does the rest of any trace through them. The per-request path uses
-- only calls that return scalars or write out-parameters
-- (`jwtgate_decision_upstream_url_into`); the `jwtgate_str` accessors
-- serve decision:code(), :body() and the like.
local ffi = require "ffi"

local _M = {}

_M.CDEF = [[
typedef uint32_t jwtgate_code;
typedef struct jwtgate_decision jwtgate_decision;
typedef struct jwtgate_error jwtgate_error;
typedef struct jwtgate_route jwtgate_route;
typedef struct jwtgate_verifier jwtgate_verifier;
typedef struct {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
} jwtgate_header;
typedef struct {
  const char *method;
  size_t method_len;
  const char *url;
  size_t url_len;
  const jwtgate_header *headers;
  size_t headers_len;
  const char *peer;
  size_t peer_len;
  const uint8_t *client_cert;
  size_t client_cert_len;
  bool pin_now;
  double now;
  bool no_wait;
} jwtgate_request;
typedef struct {
  const char *data;
  size_t len;
} jwtgate_str;
const char *jwtgate_version(void);
jwtgate_code jwtgate_verifier_decide(const jwtgate_verifier *verifier,
                                     const jwtgate_request *request,
                                     const jwtgate_route *route,
                                     jwtgate_decision **out,
                                     jwtgate_error **out_error);
bool jwtgate_decision_allow(const jwtgate_decision *decision);
uint16_t jwtgate_decision_status(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_code(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_body(const jwtgate_decision *decision);
size_t jwtgate_decision_set_headers_len(const jwtgate_decision *decision);
jwtgate_code jwtgate_decision_set_header(const jwtgate_decision *decision,
                                         size_t index,
                                         jwtgate_str *name,
                                         jwtgate_str *value);
size_t jwtgate_decision_remove_headers_len(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_remove_header(const jwtgate_decision *decision, size_t index);
bool jwtgate_decision_removes_header(const jwtgate_decision *decision,
                                     const char *name,
                                     size_t name_len);
size_t jwtgate_decision_response_headers_len(const jwtgate_decision *decision);
jwtgate_code jwtgate_decision_response_header(const jwtgate_decision *decision,
                                              size_t index,
                                              jwtgate_str *name,
                                              jwtgate_str *value);
jwtgate_str jwtgate_decision_upstream_url(const jwtgate_decision *decision);
bool jwtgate_decision_upstream_url_into(const jwtgate_decision *decision, jwtgate_str *out);
bool jwtgate_decision_token_in_query(const jwtgate_decision *decision);
bool jwtgate_decision_pending(const jwtgate_decision *decision);
uint64_t jwtgate_decision_pending_wait_ms(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_claims_json(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_issuer(const jwtgate_decision *decision);
jwtgate_str jwtgate_decision_claim_value(const jwtgate_decision *decision,
                                         const char *claim,
                                         size_t claim_len);
void jwtgate_decision_free(jwtgate_decision *decision);
jwtgate_code jwtgate_error_code(const jwtgate_error *error);
jwtgate_str jwtgate_error_message(const jwtgate_error *error);
jwtgate_str jwtgate_error_claim(const jwtgate_error *error);
uint16_t jwtgate_error_http_status(const jwtgate_error *error);
jwtgate_str jwtgate_error_www_authenticate(const jwtgate_error *error);
void jwtgate_error_free(jwtgate_error *error);
jwtgate_str jwtgate_code_name(uint32_t code);
jwtgate_code jwtgate_route_from_json(const jwtgate_verifier *verifier,
                                     const char *json,
                                     size_t json_len,
                                     jwtgate_route **out,
                                     jwtgate_error **out_error);
jwtgate_code jwtgate_route_merge(const jwtgate_route *parent,
                                 const jwtgate_route *child,
                                 jwtgate_route **out,
                                 jwtgate_error **out_error);
void jwtgate_route_free(jwtgate_route *route);
jwtgate_code jwtgate_verifier_new(const char *policy_json,
                                  size_t policy_len,
                                  jwtgate_verifier **out,
                                  jwtgate_error **out_error);
jwtgate_code jwtgate_verifier_from_file(const char *path,
                                        size_t path_len,
                                        jwtgate_verifier **out,
                                        jwtgate_error **out_error);
size_t jwtgate_verifier_cached_tokens(const jwtgate_verifier *verifier);
void jwtgate_verifier_prefetch(const jwtgate_verifier *verifier);
bool jwtgate_verifier_reads_peer(const jwtgate_verifier *verifier);
void jwtgate_verifier_clear_cache(const jwtgate_verifier *verifier);
jwtgate_code jwtgate_verifier_set_nonce_secret(const jwtgate_verifier *verifier,
                                               const uint8_t *secret,
                                               size_t secret_len);
void jwtgate_verifier_free(jwtgate_verifier *verifier);
]]

ffi.cdef(_M.CDEF)

-- Where the shared library may be, in the order tried: the `path` given to
-- `load`, $JWTGATE_LIBRARY (nginx passes it to workers only with
-- `env JWTGATE_LIBRARY;`), every `package.cpath` template with `?` as
-- `libjwtgate` or `jwtgate` (so `lua_package_cpath "/opt/jwtgate/lib?.so;;"`
-- works), then the system's search path.
local function candidates(path)
    local list = {}
    if path then
        list[#list + 1] = path
        return list
    end
    local env = os.getenv("JWTGATE_LIBRARY")
    if env and env ~= "" then
        list[#list + 1] = env
    end
    for template in string.gmatch(package.cpath, "[^;]+") do
        for _, name in ipairs({ "libjwtgate", "jwtgate" }) do
            local file = template:gsub("%?", name)
            local f = io.open(file, "rb")
            if f then
                f:close()
                list[#list + 1] = file
            end
        end
    end
    list[#list + 1] = "jwtgate"
    return list
end

local lib

--- The loaded library (loading it on first use). `path` pins the file;
-- once loaded, later paths are ignored: a process has one libjwtgate.
-- Raises an error naming every place tried when none loads.
function _M.load(path)
    if lib then
        return lib
    end
    local tried = {}
    for _, file in ipairs(candidates(path)) do
        local ok, loaded = pcall(ffi.load, file)
        if ok then
            lib = loaded
            _M.path = file
            return lib
        end
        tried[#tried + 1] = file .. " (" .. tostring(loaded) .. ")"
    end
    error("resty.jwtgate: cannot load libjwtgate; tried " .. table.concat(tried, ", ")
          .. ": build it with `cargo build --release -p jwtgate-c` and set lua_package_cpath"
          .. " or JWTGATE_LIBRARY", 2)
end

return _M
