/*
 * ngx_http_jwtgate_module: verifies JSON Web Tokens with libjwtgate.
 *
 *   load_module modules/ngx_http_jwtgate_module.so;
 *   http {
 *       jwtgate_policy /etc/jwtgate/policy.json;      # http, server, location
 *       jwtgate_claim_set $jwt_sub sub;               # http: claim to variable
 *       jwtgate_replay_zone jwtgate_dpop:10m;         # http: DPoP proofs seen by any worker
 *       jwtgate_claim_rule roles '{"contains_any": ["user"]}';   # every level adds
 *       jwtgate_claim_any_of '[{"roles": {"contains_any": ["admin"]}},
 *                              {"scope": {"contains_any": ["orders:write"]}}]';  # one must hold
 *       server {
 *           location /api/ {
 *               jwtgate on;                           # on | off, or jwtgate_mode
 *               jwtgate_token header=Authorization:Bearer cookie=at query=access_token;
 *               jwtgate_claim_header sub X-User;       # claim to upstream header
 *               jwtgate_payload_header X-JWT-Payload;  # whole payload (base64url)
 *               jwtgate_claim_rule subscriptions '{"contains_all": ["orders"], "required": true}';
 *               jwtgate_scope orders:read;
 *               proxy_pass http://backend;
 *           }
 *       }
 *   }
 *
 * Every decision is libjwtgate's (jwtgate_verifier_decide): where the token
 * is, what a missing or bad token answers, which request headers are
 * removed and set, what the upstream URL is, how the levels of the
 * configuration add up. The module turns the nginx request into a
 * jwtgate_request, the directives into a jwtgate_route (one per level,
 * merged outermost first), and applies the decision as it is: on allow it
 * removes every forwarded header name from the request, sets the forwarded
 * headers and rewrites the query; on reject it answers the decision's
 * status, headers and JSON body. The module builds no JSON and escapes
 * nothing itself.
 *
 * Decisions never block the event loop: requests are decided with
 * `no_wait`, and while the keys of an issuer are being fetched the request
 * waits on a timer (jwtgate_key_wait) and is decided again. Each worker
 * starts fetching remote keys as soon as it starts.
 *
 * Verifiers are made in each worker after fork (init_process) and again on
 * every reload; the master loads each policy once while it reads the
 * configuration, to compile the routes and so that `nginx -t` reports a
 * bad policy or directive. The master also makes the DPoP nonce secret
 * every worker's verifiers share (ngx_http_jwtgate_nonce.c).
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jwtgate.h"
#include "ngx_http_jwtgate_nonce.h"
#include "ngx_http_jwtgate_replay.h"

/* jwtgate on: the policy's own mode (a value outside jwtgate_mode). */
#define NGX_HTTP_JWTGATE_ON         100
/* Poll step while the keys of an issuer are being fetched. */
#define NGX_HTTP_JWTGATE_STEP_MS    25

/* One policy file and its verifier. Every block naming the same file
 * shares it (and its token cache and JWKS cache). */
typedef struct {
    ngx_str_t          policy;
    jwtgate_verifier  *verifier;    /* master: while reading the configuration; then per worker */
    ngx_uint_t         reads_cert;  /* an issuer binds tokens to TLS client certificates */
} ngx_http_jwtgate_gate_t;

typedef struct {
    ngx_array_t        gates;       /* of ngx_http_jwtgate_gate_t * */
    ngx_shm_zone_t    *replay_zone; /* jwtgate_replay_zone, or NULL */
    /* The DPoP nonce secret when there is no zone to keep one: made in the
     * master with this configuration, so every worker has the same. */
    u_char             nonce_secret[NGX_HTTP_JWTGATE_NONCE_SECRET_LEN];
} ngx_http_jwtgate_main_conf_t;

/* One directive argument set, with where it was written (for errors found
 * when the levels are merged). */
typedef struct {
    ngx_str_t          key;         /* claim, header, scope or token source name */
    ngx_str_t          value;       /* rule JSON, header, or scheme (data NULL: none) */
    ngx_uint_t         kind;        /* jwtgate_source_kind for a token source */
    ngx_str_t         *file;
    ngx_uint_t         line;
} ngx_http_jwtgate_item_t;

typedef struct ngx_http_jwtgate_loc_conf_s  ngx_http_jwtgate_loc_conf_t;

struct ngx_http_jwtgate_loc_conf_s {
    ngx_uint_t                 mode;            /* jwtgate_mode, NGX_HTTP_JWTGATE_ON, or unset */
    ngx_flag_t                 keep_query_token;
    ngx_msec_t                 key_wait;
    ngx_str_t                  policy;

    /* What this level itself adds (NULL: nothing). */
    ngx_array_t               *rules;           /* of item: claim, rule JSON; or any_of JSON, no value */
    ngx_array_t               *scopes;          /* of item: scope */
    ngx_array_t               *headers;         /* of item: claim, header */
    ngx_array_t               *tokens;          /* of item: name, scheme, kind */
    ngx_http_jwtgate_item_t   *payload;         /* key: header */

    /* After merging: every level that adds something, outermost first
     * (this one included), the policy and the compiled route. */
    ngx_array_t               *levels;          /* of ngx_http_jwtgate_loc_conf_t * */
    ngx_http_jwtgate_gate_t   *gate;
    jwtgate_route             *route;
};

enum {
    NGX_HTTP_JWTGATE_NEW = 0,
    NGX_HTTP_JWTGATE_WAITING,
    NGX_HTTP_JWTGATE_DECIDED
};

typedef struct {
    ngx_http_request_t   *request;
    jwtgate_decision     *decision;
    ngx_str_t             code;         /* $jwtgate_code */
    ngx_int_t             status;       /* the handler's answer once decided */
    ngx_uint_t            state;
    ngx_msec_t            waiting_since; /* the first decision; keys are waited for from here */
    ngx_event_t           wake;
    ngx_http_event_handler_pt  read_handler;  /* restored after waiting */
    jwtgate_request       req;
} ngx_http_jwtgate_ctx_t;

static ngx_int_t ngx_http_jwtgate_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_jwtgate_init(ngx_conf_t *cf);
static void *ngx_http_jwtgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_jwtgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jwtgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *ngx_http_jwtgate_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_payload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_claim_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_jwtgate_init_process(ngx_cycle_t *cycle);
static void ngx_http_jwtgate_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_jwtgate_commands[] = {

    { ngx_string("jwtgate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_http_jwtgate_enable,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_jwtgate_token,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_claim_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_jwtgate_claim_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_claim_rule"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_jwtgate_rule,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_claim_any_of"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_rule,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_scope"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_jwtgate_scope,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_payload_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_payload,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_keep_query_token"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_loc_conf_t, keep_query_token),
      NULL },

    { ngx_string("jwtgate_key_wait"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_loc_conf_t, key_wait),
      NULL },

    { ngx_string("jwtgate_claim_set"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_jwtgate_claim_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_replay_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_replay_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_main_conf_t, replay_zone),
      NULL },

      ngx_null_command
};

static ngx_http_module_t ngx_http_jwtgate_module_ctx = {
    ngx_http_jwtgate_add_variables,     /* preconfiguration */
    ngx_http_jwtgate_init,              /* postconfiguration */
    ngx_http_jwtgate_create_main_conf,  /* create main configuration */
    NULL,                               /* init main configuration */
    NULL,                               /* create server configuration */
    NULL,                               /* merge server configuration */
    ngx_http_jwtgate_create_loc_conf,   /* create location configuration */
    ngx_http_jwtgate_merge_loc_conf     /* merge location configuration */
};

ngx_module_t ngx_http_jwtgate_module = {
    NGX_MODULE_V1,
    &ngx_http_jwtgate_module_ctx,       /* module context */
    ngx_http_jwtgate_commands,          /* module directives */
    NGX_HTTP_MODULE,                    /* module type */
    NULL,                               /* init master */
    NULL,                               /* init module */
    ngx_http_jwtgate_init_process,      /* init process */
    NULL,                               /* init thread */
    NULL,                               /* exit thread */
    ngx_http_jwtgate_exit_process,      /* exit process */
    NULL,                               /* exit master */
    NGX_MODULE_V1_PADDING
};

/* ---- configuration ---------------------------------------------------- */

static void *
ngx_http_jwtgate_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_jwtgate_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }
    if (ngx_array_init(&mcf->gates, cf->pool, 4, sizeof(ngx_http_jwtgate_gate_t *)) != NGX_OK) {
        return NULL;
    }
    return mcf;
}

static void *
ngx_http_jwtgate_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_jwtgate_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->mode = NGX_CONF_UNSET_UINT;
    conf->keep_query_token = NGX_CONF_UNSET;
    conf->key_wait = NGX_CONF_UNSET_MSEC;
    return conf;
}

/* Logs a libjwtgate error for the directive being read and frees it. */
static char *
ngx_http_jwtgate_conf_error(ngx_conf_t *cf, jwtgate_error *error)
{
    jwtgate_str  msg = jwtgate_error_message(error);

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%*s", msg.len, msg.data ? msg.data : "invalid value");
    jwtgate_error_free(error);
    return NGX_CONF_ERROR;
}

static char *
ngx_http_jwtgate_enable(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;

    if (lcf->mode != NGX_CONF_UNSET_UINT) {
        return "is duplicate (jwtgate and jwtgate_mode set the same thing)";
    }
    if (ngx_strcasecmp(value[1].data, (u_char *) "on") == 0) {
        lcf->mode = NGX_HTTP_JWTGATE_ON;
    } else if (ngx_strcasecmp(value[1].data, (u_char *) "off") == 0) {
        lcf->mode = JWTGATE_MODE_OFF;
    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid value \"%V\" in \"jwtgate\": use on or off", &value[1]);
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtgate_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    static const struct { const char *name; ngx_uint_t mode; } modes[] = {
        { "required", JWTGATE_MODE_REQUIRED },
        { "optional", JWTGATE_MODE_OPTIONAL },
        { "report_only", JWTGATE_MODE_REPORT_ONLY },
        { "off", JWTGATE_MODE_OFF },
    };
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;
    ngx_uint_t                    i;

    if (lcf->mode != NGX_CONF_UNSET_UINT) {
        return "is duplicate (jwtgate and jwtgate_mode set the same thing)";
    }
    for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (ngx_strcmp(value[1].data, modes[i].name) == 0) {
            lcf->mode = modes[i].mode;
            return NGX_CONF_OK;
        }
    }
    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid mode \"%V\": use required, optional, report_only or off", &value[1]);
    return NGX_CONF_ERROR;
}

static char *
ngx_http_jwtgate_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;

    if (lcf->policy.data != NULL) {
        return "is duplicate";
    }
    if (value[1].len == 0) {
        return "needs a file name";
    }
    lcf->policy = value[1];
    if (ngx_conf_full_name(cf->cycle, &lcf->policy, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    return NGX_CONF_OK;
}

/* Appends an item to one of this level's lists, noting where it was written. */
static ngx_http_jwtgate_item_t *
ngx_http_jwtgate_push(ngx_conf_t *cf, ngx_array_t **list)
{
    ngx_http_jwtgate_item_t  *item;

    if (*list == NULL) {
        *list = ngx_array_create(cf->pool, 4, sizeof(ngx_http_jwtgate_item_t));
        if (*list == NULL) {
            return NULL;
        }
    }
    item = ngx_array_push(*list);
    if (item == NULL) {
        return NULL;
    }
    ngx_memzero(item, sizeof(ngx_http_jwtgate_item_t));
    item->file = &cf->conf_file->file.name;
    item->line = cf->conf_file->line;
    return item;
}

/* jwtgate_token header=NAME[:SCHEME] | cookie=NAME | query=NAME ... */
static char *
ngx_http_jwtgate_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;
    ngx_http_jwtgate_item_t      *item;
    jwtgate_route                *check = NULL;
    jwtgate_error                *error = NULL;
    ngx_uint_t                    i, kind, skip;
    u_char                       *colon, *end;

    for (i = 1; i < cf->args->nelts; i++) {
        if (value[i].len > 7 && ngx_strncmp(value[i].data, "header=", 7) == 0) {
            kind = JWTGATE_SOURCE_HEADER;
            skip = 7;
        } else if (value[i].len > 7 && ngx_strncmp(value[i].data, "cookie=", 7) == 0) {
            kind = JWTGATE_SOURCE_COOKIE;
            skip = 7;
        } else if (value[i].len > 6 && ngx_strncmp(value[i].data, "query=", 6) == 0) {
            kind = JWTGATE_SOURCE_QUERY;
            skip = 6;
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid token source \"%V\": use header=NAME[:SCHEME], "
                               "cookie=NAME or query=NAME", &value[i]);
            return NGX_CONF_ERROR;
        }
        item = ngx_http_jwtgate_push(cf, &lcf->tokens);
        if (item == NULL) {
            return NGX_CONF_ERROR;
        }
        item->kind = kind;
        item->key.data = value[i].data + skip;
        end = value[i].data + value[i].len;
        colon = kind == JWTGATE_SOURCE_HEADER ? ngx_strlchr(item->key.data, end, ':') : NULL;
        item->key.len = (colon ? colon : end) - item->key.data;
        if (colon) {
            item->value.data = colon + 1;
            item->value.len = end - colon - 1;
        }
        /* The core checks the source now, so nginx -t names this line. */
        if (jwtgate_route_new(&check) != JWTGATE_OK) {
            return NGX_CONF_ERROR;
        }
        if (jwtgate_route_add_token_source(check, kind, (const char *) item->key.data, item->key.len,
                                           (const char *) item->value.data, item->value.len, &error)
            != JWTGATE_OK)
        {
            jwtgate_route_free(check);
            return ngx_http_jwtgate_conf_error(cf, error);
        }
        jwtgate_route_free(check);
    }
    return NGX_CONF_OK;
}

/* Adds a rule item to a route: a claim rule (key: claim, value: rule JSON)
 * or, when the item has no value, a group of any_of alternatives (key:
 * the list's JSON). */
static jwtgate_code
ngx_http_jwtgate_add_rule(jwtgate_route *route, ngx_http_jwtgate_item_t *item, jwtgate_error **error)
{
    if (item->value.data == NULL) {
        return jwtgate_route_add_any_of(route, (const char *) item->key.data, item->key.len, error);
    }
    return jwtgate_route_add_claim_rule(route, (const char *) item->key.data, item->key.len,
                                        (const char *) item->value.data, item->value.len, error);
}

/* jwtgate_claim_rule CLAIM RULE_JSON; and jwtgate_claim_any_of
 * ALTERNATIVES_JSON; (a list of claim maps of which one must hold in
 * full). Both go into the level's rules, in order, and are checked by the
 * core right away, so nginx -t names the line. */
static char *
ngx_http_jwtgate_rule(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;
    ngx_http_jwtgate_item_t      *item;
    jwtgate_route                *check = NULL;
    jwtgate_error                *error = NULL;
    jwtgate_code                  rc;

    item = ngx_http_jwtgate_push(cf, &lcf->rules);
    if (item == NULL) {
        return NGX_CONF_ERROR;
    }
    item->key = value[1];
    if (cf->args->nelts == 3) {
        item->value = value[2];
    }
    if (jwtgate_route_new(&check) != JWTGATE_OK) {
        return NGX_CONF_ERROR;
    }
    rc = ngx_http_jwtgate_add_rule(check, item, &error);
    jwtgate_route_free(check);
    return rc == JWTGATE_OK ? NGX_CONF_OK : ngx_http_jwtgate_conf_error(cf, error);
}

/* jwtgate_scope SCOPE ...; every scope is required. */
static char *
ngx_http_jwtgate_scope(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;
    ngx_http_jwtgate_item_t      *item;
    jwtgate_route                *check = NULL;
    jwtgate_error                *error = NULL;
    ngx_uint_t                    i;

    for (i = 1; i < cf->args->nelts; i++) {
        if (jwtgate_route_new(&check) != JWTGATE_OK) {
            return NGX_CONF_ERROR;
        }
        if (jwtgate_route_add_scope(check, (const char *) value[i].data, value[i].len, &error) != JWTGATE_OK) {
            jwtgate_route_free(check);
            return ngx_http_jwtgate_conf_error(cf, error);
        }
        jwtgate_route_free(check);
        item = ngx_http_jwtgate_push(cf, &lcf->scopes);
        if (item == NULL) {
            return NGX_CONF_ERROR;
        }
        item->key = value[i];
    }
    return NGX_CONF_OK;
}

/* jwtgate_claim_header CLAIM HEADER: checked against the policy when the
 * levels are merged (a header the policy forwards is an error). */
static char *
ngx_http_jwtgate_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;
    ngx_http_jwtgate_item_t      *item;

    item = ngx_http_jwtgate_push(cf, &lcf->headers);
    if (item == NULL) {
        return NGX_CONF_ERROR;
    }
    item->key = value[1];
    item->value = value[2];
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtgate_payload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;

    if (lcf->payload != NULL) {
        return "is duplicate";
    }
    lcf->payload = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_item_t));
    if (lcf->payload == NULL) {
        return NGX_CONF_ERROR;
    }
    lcf->payload->key = value[1];
    lcf->payload->file = &cf->conf_file->file.name;
    lcf->payload->line = cf->conf_file->line;
    return NGX_CONF_OK;
}

static void
ngx_http_jwtgate_free_route(void *data)
{
    jwtgate_route  **route = data;

    jwtgate_route_free(*route);
    *route = NULL;
}

static void
ngx_http_jwtgate_free_gate(void *data)
{
    ngx_http_jwtgate_gate_t  *gate = data;

    jwtgate_verifier_free(gate->verifier);
    gate->verifier = NULL;
}

/* Makes the gate's verifier; logs the policy error and returns NULL. */
static jwtgate_verifier *
ngx_http_jwtgate_load(ngx_log_t *log, ngx_http_jwtgate_gate_t *gate)
{
    jwtgate_verifier  *verifier = NULL;
    jwtgate_error     *error = NULL;
    jwtgate_str        msg;

    if (jwtgate_verifier_from_file((const char *) gate->policy.data, gate->policy.len, &verifier, &error)
        != JWTGATE_OK)
    {
        msg = jwtgate_error_message(error);
        ngx_log_error(NGX_LOG_EMERG, log, 0, "jwtgate: policy \"%V\": %*s", &gate->policy,
                      msg.len, msg.data ? msg.data : "unknown error");
        jwtgate_error_free(error);
        return NULL;
    }
    gate->reads_cert = jwtgate_verifier_reads_client_cert(verifier);
    return verifier;
}

/* The gate of a policy file: one per file, loaded (in the master) the
 * first time a block names it. */
static ngx_http_jwtgate_gate_t *
ngx_http_jwtgate_gate(ngx_conf_t *cf, ngx_str_t *policy)
{
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates, *gate, **slot;
    ngx_pool_cleanup_t            *cln;
    ngx_uint_t                     i;

    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtgate_module);
    gates = mcf->gates.elts;
    for (i = 0; i < mcf->gates.nelts; i++) {
        if (gates[i]->policy.len == policy->len
            && ngx_strncmp(gates[i]->policy.data, policy->data, policy->len) == 0)
        {
            return gates[i];
        }
    }
    gate = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_gate_t));
    slot = ngx_array_push(&mcf->gates);
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (gate == NULL || slot == NULL || cln == NULL) {
        return NULL;
    }
    gate->policy = *policy;
    *slot = gate;
    cln->handler = ngx_http_jwtgate_free_gate;
    cln->data = gate;
    gate->verifier = ngx_http_jwtgate_load(cf->log, gate);
    return gate->verifier ? gate : NULL;
}

static ngx_uint_t
ngx_http_jwtgate_adds(ngx_http_jwtgate_loc_conf_t *conf)
{
    return conf->rules || conf->scopes || conf->headers || conf->tokens || conf->payload;
}

/* Logs an error found while compiling a level's directive and frees it. */
static char *
ngx_http_jwtgate_item_error(ngx_conf_t *cf, const char *directive, ngx_http_jwtgate_item_t *item,
                            jwtgate_error *error)
{
    jwtgate_str  msg = jwtgate_error_message(error);

    if (item == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%s: %*s", directive, msg.len,
                      msg.data ? msg.data : "invalid value");
    } else {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "%s: %*s in %V:%ui", directive, msg.len,
                      msg.data ? msg.data : "invalid value", item->file, item->line);
    }
    jwtgate_error_free(error);
    return NGX_CONF_ERROR;
}

/* One level's additions as a route, for the policy of `verifier`. */
static char *
ngx_http_jwtgate_level_route(ngx_conf_t *cf, ngx_http_jwtgate_loc_conf_t *level, const jwtgate_verifier *v,
                             jwtgate_route **out)
{
    ngx_http_jwtgate_item_t  *item;
    jwtgate_route            *route = NULL;
    jwtgate_error            *error = NULL;
    ngx_uint_t                i;

    if (jwtgate_route_new(&route) != JWTGATE_OK) {
        return NGX_CONF_ERROR;
    }
    *out = route;  /* the caller frees it, also on failure */
    item = level->rules ? level->rules->elts : NULL;
    for (i = 0; level->rules && i < level->rules->nelts; i++) {
        if (ngx_http_jwtgate_add_rule(route, &item[i], &error) != JWTGATE_OK) {
            return ngx_http_jwtgate_item_error(cf, item[i].value.data ? "jwtgate_claim_rule" : "jwtgate_claim_any_of",
                                               &item[i], error);
        }
    }
    item = level->scopes ? level->scopes->elts : NULL;
    for (i = 0; level->scopes && i < level->scopes->nelts; i++) {
        if (jwtgate_route_add_scope(route, (const char *) item[i].key.data, item[i].key.len, &error)
            != JWTGATE_OK)
        {
            return ngx_http_jwtgate_item_error(cf, "jwtgate_scope", &item[i], error);
        }
    }
    item = level->headers ? level->headers->elts : NULL;
    for (i = 0; level->headers && i < level->headers->nelts; i++) {
        if (jwtgate_route_add_claim_header(route, v, (const char *) item[i].key.data, item[i].key.len,
                                           (const char *) item[i].value.data, item[i].value.len, &error)
            != JWTGATE_OK)
        {
            return ngx_http_jwtgate_item_error(cf, "jwtgate_claim_header", &item[i], error);
        }
    }
    item = level->tokens ? level->tokens->elts : NULL;
    for (i = 0; level->tokens && i < level->tokens->nelts; i++) {
        if (jwtgate_route_add_token_source(route, item[i].kind, (const char *) item[i].key.data,
                                           item[i].key.len, (const char *) item[i].value.data,
                                           item[i].value.len, &error)
            != JWTGATE_OK)
        {
            return ngx_http_jwtgate_item_error(cf, "jwtgate_token", &item[i], error);
        }
    }
    if (level->payload != NULL
        && jwtgate_route_set_payload_header(route, v, (const char *) level->payload->key.data,
                                            level->payload->key.len, &error)
           != JWTGATE_OK)
    {
        return ngx_http_jwtgate_item_error(cf, "jwtgate_payload_header", level->payload, error);
    }
    return NGX_CONF_OK;
}

/* The route of a block: every level's additions merged outermost first
 * (jwtgate_route_merge: rules, scopes and forwarded headers concatenate;
 * the innermost level's token sources replace the outer ones', as for
 * nginx's own array directives), then the mode and the query-token
 * setting that apply here. */
static char *
ngx_http_jwtgate_build_route(ngx_conf_t *cf, ngx_http_jwtgate_loc_conf_t *conf)
{
    ngx_http_jwtgate_loc_conf_t  **levels = conf->levels->elts;
    ngx_http_jwtgate_item_t       *item;
    const jwtgate_verifier        *v = conf->gate->verifier;
    jwtgate_route                 *route = NULL, *level = NULL, *merged = NULL;
    jwtgate_error                 *error = NULL;
    ngx_pool_cleanup_t            *cln;
    ngx_uint_t                     i;
    char                          *rv;

    if (jwtgate_route_new(&route) != JWTGATE_OK) {
        return NGX_CONF_ERROR;
    }
    for (i = 0; i < conf->levels->nelts; i++) {
        rv = ngx_http_jwtgate_level_route(cf, levels[i], v, &level);
        if (rv == NGX_CONF_OK && jwtgate_route_merge(route, level, &merged, &error) != JWTGATE_OK) {
            /* Only forwarded headers can clash between levels. */
            item = levels[i]->headers ? levels[i]->headers->elts : levels[i]->payload;
            rv = ngx_http_jwtgate_item_error(cf, levels[i]->headers ? "jwtgate_claim_header"
                                                                    : "jwtgate_payload_header", item, error);
        }
        jwtgate_route_free(level);
        level = NULL;
        if (rv != NGX_CONF_OK) {
            jwtgate_route_free(route);
            return rv;
        }
        jwtgate_route_free(route);
        route = merged;
        merged = NULL;
    }
    /* Never set anywhere: the module only removes the forwarded header
     * names (mode off). "jwtgate on": the policy's mode. */
    if (conf->mode == NGX_CONF_UNSET_UINT) {
        jwtgate_route_set_mode(route, JWTGATE_MODE_OFF);
    } else if (conf->mode != NGX_HTTP_JWTGATE_ON) {
        jwtgate_route_set_mode(route, (uint32_t) conf->mode);
    }
    if (conf->keep_query_token != NGX_CONF_UNSET) {
        jwtgate_route_set_keep_query_token(route, conf->keep_query_token ? true : false);
    }
    conf->route = route;
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        jwtgate_route_free(route);
        conf->route = NULL;
        return NGX_CONF_ERROR;
    }
    cln->handler = ngx_http_jwtgate_free_route;
    cln->data = &conf->route;
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_jwtgate_loc_conf_t   *prev = parent, *conf = child, **slot, **from;
    ngx_uint_t                     own_settings, i, n;

    own_settings = conf->mode != NGX_CONF_UNSET_UINT || conf->keep_query_token != NGX_CONF_UNSET
                   || conf->policy.data != NULL;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_CONF_UNSET_UINT);
    ngx_conf_merge_value(conf->keep_query_token, prev->keep_query_token, NGX_CONF_UNSET);
    /* Unset: the issuer's initial_wait_ms, which a pending decision carries. */
    ngx_conf_merge_msec_value(conf->key_wait, prev->key_wait, NGX_CONF_UNSET_MSEC);
    ngx_conf_merge_str_value(conf->policy, prev->policy, "");

    /* The levels above, then this one: the http level's conf is never
     * merged itself, so its levels are its own additions. */
    n = prev->levels ? prev->levels->nelts : (ngx_http_jwtgate_adds(prev) ? 1 : 0);
    conf->levels = ngx_array_create(cf->pool, n + 1, sizeof(ngx_http_jwtgate_loc_conf_t *));
    if (conf->levels == NULL) {
        return NGX_CONF_ERROR;
    }
    from = prev->levels ? prev->levels->elts : &prev;
    for (i = 0; i < n; i++) {
        slot = ngx_array_push(conf->levels);
        *slot = from[i];
    }
    if (ngx_http_jwtgate_adds(conf)) {
        slot = ngx_array_push(conf->levels);
        *slot = conf;
    }

    if (conf->policy.len == 0) {
        /* "jwtgate on" without a policy here may get one in a nested
         * block; where it does not, requests fail closed (500). */
        return NGX_CONF_OK;
    }
    if (prev->route != NULL && !own_settings && !ngx_http_jwtgate_adds(conf)) {
        conf->gate = prev->gate;
        conf->route = prev->route;  /* adds nothing: share the parent's */
        return NGX_CONF_OK;
    }
    conf->gate = ngx_http_jwtgate_gate(cf, &conf->policy);
    if (conf->gate == NULL) {
        return NGX_CONF_ERROR;
    }
    return ngx_http_jwtgate_build_route(cf, conf);
}

/* ---- variables -------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtgate_set_str(ngx_http_variable_value_t *v, jwtgate_str s)
{
    if (s.data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = (u_char *) s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

static ngx_http_jwtgate_ctx_t *
ngx_http_jwtgate_decided(ngx_http_request_t *r)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);

    return ctx != NULL && ctx->state == NGX_HTTP_JWTGATE_DECIDED && ctx->decision != NULL ? ctx : NULL;
}

static ngx_int_t
ngx_http_jwtgate_code_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);
    jwtgate_str              s = { NULL, 0 };

    if (ctx != NULL && ctx->code.len) {
        s.data = (const char *) ctx->code.data;
        s.len = ctx->code.len;
    }
    return ngx_http_jwtgate_set_str(v, s);
}

/* data: 0 for $jwtgate_claims, 1 for $jwtgate_issuer. Both are
 * header-safe (ASCII, no controls) as libjwtgate returns them. */
static ngx_int_t
ngx_http_jwtgate_result_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_jwtgate_decided(r);
    jwtgate_str              none = { NULL, 0 };

    if (ctx == NULL) {
        return ngx_http_jwtgate_set_str(v, none);
    }
    return ngx_http_jwtgate_set_str(v, data ? jwtgate_decision_issuer(ctx->decision)
                                            : jwtgate_decision_claims_json(ctx->decision));
}

/* jwtgate_claim_set: data points at the claim name (ngx_str_t). The value
 * is libjwtgate's header form (a string as it is, other values as compact
 * JSON) or empty when it is absent or not header-safe. */
static ngx_int_t
ngx_http_jwtgate_claim_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_jwtgate_decided(r);
    ngx_str_t               *claim = (ngx_str_t *) data;
    jwtgate_str              none = { NULL, 0 };

    if (ctx == NULL) {
        return ngx_http_jwtgate_set_str(v, none);
    }
    return ngx_http_jwtgate_set_str(v, jwtgate_decision_claim_value(ctx->decision, (const char *) claim->data,
                                                                    claim->len));
}

static ngx_http_variable_t ngx_http_jwtgate_vars[] = {
    { ngx_string("jwtgate_code"), NULL, ngx_http_jwtgate_code_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("jwtgate_claims"), NULL, ngx_http_jwtgate_result_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    { ngx_string("jwtgate_issuer"), NULL, ngx_http_jwtgate_result_variable, 1, NGX_HTTP_VAR_NOCACHEABLE, 0 },
    ngx_http_null_variable
};

static ngx_int_t
ngx_http_jwtgate_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_jwtgate_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }
        var->get_handler = v->get_handler;
        var->data = v->data;
    }
    return NGX_OK;
}

static char *
ngx_http_jwtgate_claim_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t            *value = cf->args->elts, name, *claim;
    ngx_http_variable_t  *var;

    name = value[1];
    if (name.len < 2 || name.data[0] != '$') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid variable name \"%V\"", &name);
        return NGX_CONF_ERROR;
    }
    name.data++;
    name.len--;
    claim = ngx_palloc(cf->pool, sizeof(ngx_str_t));
    if (claim == NULL) {
        return NGX_CONF_ERROR;
    }
    *claim = value[2];
    var = ngx_http_add_variable(cf, &name, NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_CONF_ERROR;
    }
    var->get_handler = ngx_http_jwtgate_claim_variable;
    var->data = (uintptr_t) claim;
    return NGX_CONF_OK;
}

/* ---- requests --------------------------------------------------------- */

static ngx_table_elt_t *
ngx_http_jwtgate_next_header(ngx_list_part_t **part, ngx_uint_t *i)
{
    ngx_table_elt_t  *h;

    while (*i >= (*part)->nelts) {
        if ((*part)->next == NULL) {
            return NULL;
        }
        *part = (*part)->next;
        *i = 0;
    }
    h = (*part)->elts;
    return &h[(*i)++];
}

/* The request as libjwtgate sees it: method, target, every header in
 * arrival order (repeated ones included), peer address. The target is the
 * one nginx passes on: the raw path of the request line while it is
 * unchanged, else nginx's current URI (escaped), with the current query. */
static ngx_int_t
ngx_http_jwtgate_build_request(ngx_http_request_t *r, jwtgate_request *req, ngx_uint_t verifier_reads_cert)
{
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;
    jwtgate_header   *out;
    ngx_uint_t        i, n;
    u_char           *p, *url, *q;
    size_t            path_len, escape;

    ngx_memzero(req, sizeof(jwtgate_request));
    req->method = (const char *) r->method_name.data;
    req->method_len = r->method_name.len;

    if (r->valid_unparsed_uri) {
        q = ngx_strlchr(r->unparsed_uri.data, r->unparsed_uri.data + r->unparsed_uri.len, '?');
        path_len = (q ? q : r->unparsed_uri.data + r->unparsed_uri.len) - r->unparsed_uri.data;
        escape = 0;
        if (q ? r->args.len && r->args.data == q + 1 && r->args.len == r->unparsed_uri.len - path_len - 1
              : r->args.len == 0)
        {
            /* Nothing rewrote the query: the request line's target is the
             * one nginx passes on, used as it is. */
            req->url = (const char *) r->unparsed_uri.data;
            req->url_len = r->unparsed_uri.len;
            goto headers;
        }
    } else {
        path_len = r->uri.len;
        escape = 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len, NGX_ESCAPE_URI);
    }
    url = ngx_pnalloc(r->pool, path_len + escape + 1 + r->args.len);
    if (url == NULL) {
        return NGX_ERROR;
    }
    if (r->valid_unparsed_uri) {
        p = ngx_cpymem(url, r->unparsed_uri.data, path_len);
    } else if (escape) {
        p = (u_char *) ngx_escape_uri(url, r->uri.data, r->uri.len, NGX_ESCAPE_URI);
    } else {
        p = ngx_cpymem(url, r->uri.data, r->uri.len);
    }
    if (r->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }
    req->url = (const char *) url;
    req->url_len = p - url;

headers:
    n = 0;
    part = &r->headers_in.headers.part;
    i = 0;
    while (ngx_http_jwtgate_next_header(&part, &i) != NULL) {
        n++;
    }
    if (n) {
        out = ngx_palloc(r->pool, n * sizeof(jwtgate_header));
        if (out == NULL) {
            return NGX_ERROR;
        }
        part = &r->headers_in.headers.part;
        i = 0;
        n = 0;
        while ((h = ngx_http_jwtgate_next_header(&part, &i)) != NULL) {
            out[n].name = (const char *) h->key.data;
            out[n].name_len = h->key.len;
            out[n].value = (const char *) h->value.data;
            out[n].value_len = h->value.len;
            n++;
        }
        req->headers = out;
        req->headers_len = n;
    }
    /* The peer as text, for an IP connection only (not "unix:"). */
    if (r->connection->addr_text.len
        && (r->connection->sockaddr->sa_family == AF_INET
#if (NGX_HAVE_INET6)
            || r->connection->sockaddr->sa_family == AF_INET6
#endif
           ))
    {
        req->peer = (const char *) r->connection->addr_text.data;
        req->peer_len = r->connection->addr_text.len;
    }
#if (NGX_HTTP_SSL)
    /* The client's certificate from the TLS handshake (ssl_verify_client
     * on, optional or optional_no_ca), which proved possession of its key:
     * what a certificate-bound token is checked against (RFC 8705). Copied
     * only where an issuer binds tokens to certificates. */
    if (r->connection->ssl && verifier_reads_cert) {
        X509  *cert = SSL_get_peer_certificate(r->connection->ssl->connection);
        int    len;
        u_char *der, *end;

        if (cert != NULL) {
            len = i2d_X509(cert, NULL);
            der = len > 0 ? ngx_pnalloc(r->pool, len) : NULL;
            end = der;
            if (der != NULL && i2d_X509(cert, &end) == len) {
                req->client_cert = der;
                req->client_cert_len = len;
            }
            X509_free(cert);
        }
    }
#endif
    req->no_wait = true;
    return NGX_OK;
}

static u_char *
ngx_http_jwtgate_copy(ngx_pool_t *pool, jwtgate_str s)
{
    u_char  *p = ngx_pnalloc(pool, s.len + 1);

    if (p != NULL) {
        ngx_memcpy(p, s.data, s.len);
        p[s.len] = '\0';
    }
    return p;
}

/* Whether request header `key` is `name` (lower case), with '_' and '-'
 * alike: FastCGI, uwsgi and SCGI pass both X-User and X_User (which nginx
 * accepts with `underscores_in_headers on`) as HTTP_X_USER. */
static ngx_uint_t
ngx_http_jwtgate_same_name(ngx_str_t *key, jwtgate_str name)
{
    size_t  i;
    u_char  a, b;

    if (key->len != name.len) {
        return 0;
    }
    for (i = 0; i < name.len; i++) {
        a = ngx_tolower(key->data[i]);
        b = (u_char) name.data[i];
        if (a != b && !((a == '_' || a == '-') && (b == '_' || b == '-'))) {
            return 0;
        }
    }
    return 1;
}

/* Removes every header the decision names (lower case) from the request:
 * the list is rebuilt without them. */
static ngx_int_t
ngx_http_jwtgate_remove_headers(ngx_http_request_t *r, const jwtgate_decision *d)
{
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;
    ngx_list_t        old;
    ngx_uint_t        i, j, n, total, matched;
    jwtgate_str       name;

    n = jwtgate_decision_remove_headers_len(d);
    if (n == 0) {
        return NGX_OK;
    }
    total = matched = 0;
    part = &r->headers_in.headers.part;
    i = 0;
    while ((h = ngx_http_jwtgate_next_header(&part, &i)) != NULL) {
        total++;
        for (j = 0; j < n; j++) {
            name = jwtgate_decision_remove_header(d, j);
            if (ngx_http_jwtgate_same_name(&h->key, name)) {
                h->hash = 0;  /* marks it for the copy below */
                matched++;
                break;
            }
        }
    }
    if (matched == 0) {
        return NGX_OK;
    }
    /* The old parts stay in the pool: pointers such as headers_in.host
     * still find their element there. */
    old = r->headers_in.headers;
    if (ngx_list_init(&r->headers_in.headers, r->pool, total - matched + 4, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }
    part = &old.part;
    i = 0;
    while ((h = ngx_http_jwtgate_next_header(&part, &i)) != NULL) {
        if (h->hash == 0) {
            continue;
        }
        copy = ngx_list_push(&r->headers_in.headers);
        if (copy == NULL) {
            return NGX_ERROR;
        }
        *copy = *h;
    }
    return NGX_OK;
}

/* Adds a request header for the upstream (every copy the client sent was
 * removed before). */
static ngx_int_t
ngx_http_jwtgate_add_header(ngx_http_request_t *r, jwtgate_str name, jwtgate_str value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    h->key.data = ngx_http_jwtgate_copy(r->pool, name);
    h->value.data = ngx_http_jwtgate_copy(r->pool, value);
    h->lowcase_key = ngx_pnalloc(r->pool, name.len + 1);
    if (h->key.data == NULL || h->value.data == NULL || h->lowcase_key == NULL) {
        return NGX_ERROR;
    }
    h->key.len = name.len;
    h->value.len = value.len;
    ngx_strlow(h->lowcase_key, h->key.data, name.len);
    h->lowcase_key[name.len] = '\0';
    h->hash = ngx_hash_key(h->lowcase_key, name.len);
#if defined(nginx_version) && nginx_version >= 1023000
    h->next = NULL;
#endif
    return NGX_OK;
}

/* The request target without the query token: the query becomes the
 * decision's, and so does $request_uri while the request line's target
 * is what nginx passes on. */
static ngx_int_t
ngx_http_jwtgate_rewrite_target(ngx_http_request_t *r, jwtgate_str url)
{
    u_char  *copy, *q;

    copy = ngx_http_jwtgate_copy(r->pool, url);
    if (copy == NULL) {
        return NGX_ERROR;
    }
    q = ngx_strlchr(copy, copy + url.len, '?');
    if (q != NULL) {
        r->args.data = q + 1;
        r->args.len = copy + url.len - q - 1;
    } else {
        ngx_str_null(&r->args);
    }
    if (r->valid_unparsed_uri) {
        r->unparsed_uri.data = copy;
        r->unparsed_uri.len = url.len;
    }
    return NGX_OK;
}

static ngx_table_elt_t *
ngx_http_jwtgate_out_header(ngx_http_request_t *r, jwtgate_str name, jwtgate_str value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NULL;
    }
    h->hash = 1;
    h->key.data = ngx_http_jwtgate_copy(r->pool, name);
    h->value.data = ngx_http_jwtgate_copy(r->pool, value);
    if (h->key.data == NULL || h->value.data == NULL) {
        return NULL;
    }
    h->key.len = name.len;
    h->value.len = value.len;
    h->lowcase_key = NULL;
#if defined(nginx_version) && nginx_version >= 1023000
    h->next = NULL;
#endif
    if (name.len == sizeof("WWW-Authenticate") - 1
        && ngx_strncasecmp((u_char *) name.data, (u_char *) "WWW-Authenticate", name.len) == 0)
    {
        r->headers_out.www_authenticate = h;
    }
    return h;
}

static ngx_uint_t
ngx_http_jwtgate_is(jwtgate_str name, const char *literal)
{
    size_t  n = ngx_strlen(literal);

    return name.len == n && ngx_strncasecmp((u_char *) name.data, (u_char *) literal, n) == 0;
}

/* Whether nginx should answer the rejection itself: `satisfy any` (another
 * access module may still allow) or an error_page for the status. Then
 * only the challenge (and Retry-After) go with nginx's answer. */
static ngx_uint_t
ngx_http_jwtgate_nginx_answers(ngx_http_request_t *r, ngx_uint_t status)
{
    ngx_http_core_loc_conf_t  *clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
    ngx_http_err_page_t       *page;
    ngx_uint_t                 i;

    if (clcf->satisfy == NGX_HTTP_SATISFY_ANY) {
        return 1;
    }
    if (clcf->error_pages == NULL || r->error_page) {
        return 0;
    }
    page = clcf->error_pages->elts;
    for (i = 0; i < clcf->error_pages->nelts; i++) {
        if (page[i].status == (ngx_int_t) status) {
            return 1;
        }
    }
    return 0;
}

/* Answers a decision that does not go upstream: a rejection (the
 * decision's status, response headers and JSON body, or, see above, the
 * status with the challenge for nginx to answer) or the metadata document. */
static ngx_int_t
ngx_http_jwtgate_reject(ngx_http_request_t *r, const jwtgate_decision *d)
{
    ngx_uint_t    status = jwtgate_decision_status(d), i, n, nginx_answers;
    jwtgate_str   name, value, body;
    ngx_buf_t    *b;
    ngx_chain_t   out;
    ngx_int_t     rc;

    /* 200: the protected resource metadata (RFC 9728) the gateway answers
     * itself; 4xx and 5xx: a rejection. */
    if (status < 200 || status > 599 || (status >= 300 && status < 400)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    nginx_answers = status >= 400 && ngx_http_jwtgate_nginx_answers(r, status);
    n = jwtgate_decision_response_headers_len(d);
    for (i = 0; i < n; i++) {
        if (jwtgate_decision_response_header(d, i, &name, &value) != JWTGATE_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (ngx_http_jwtgate_is(name, "Content-Type")) {
            if (!nginx_answers) {
                r->headers_out.content_type.data = ngx_http_jwtgate_copy(r->pool, value);
                if (r->headers_out.content_type.data == NULL) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }
                r->headers_out.content_type.len = value.len;
                r->headers_out.content_type_len = value.len;
                r->headers_out.content_type_lowcase = NULL;
            }
            continue;
        }
        if (nginx_answers && !ngx_http_jwtgate_is(name, "WWW-Authenticate")
            && !ngx_http_jwtgate_is(name, "Retry-After"))
        {
            continue;
        }
        if (ngx_http_jwtgate_out_header(r, name, value) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (nginx_answers) {
        return status;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }
    body = jwtgate_decision_body(d);
    r->headers_out.status = status;
    r->headers_out.content_length_n = body.len;
    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || body.len == 0) {
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }
    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }
    b->pos = (u_char *) ngx_http_jwtgate_copy(r->pool, body);
    if (b->pos == NULL) {
        ngx_http_finalize_request(r, NGX_ERROR);
        return NGX_DONE;
    }
    b->last = b->pos + body.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    out.buf = b;
    out.next = NULL;
    ngx_http_finalize_request(r, ngx_http_output_filter(r, &out));
    return NGX_DONE;
}

/* Applies a decision to a main request: the access phase's answer. */
static ngx_int_t
ngx_http_jwtgate_apply(ngx_http_request_t *r, const jwtgate_decision *d)
{
    jwtgate_str  name, value, url;
    size_t       i, n;

    /* Forwarded names go on every path: also a rejection may reach an
     * upstream through error_page. */
    if (ngx_http_jwtgate_remove_headers(r, d) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!jwtgate_decision_allow(d)) {
        return ngx_http_jwtgate_reject(r, d);
    }
    n = jwtgate_decision_set_headers_len(d);
    for (i = 0; i < n; i++) {
        if (jwtgate_decision_set_header(d, i, &name, &value) != JWTGATE_OK
            || ngx_http_jwtgate_add_header(r, name, value) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    url = jwtgate_decision_upstream_url(d);
    if (url.data != NULL && ngx_http_jwtgate_rewrite_target(r, url) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    /* An identity: access granted (`satisfy any` needs no other module).
     * Off, optional without a token, report-only: no opinion. */
    return jwtgate_decision_verified(d) ? NGX_OK : NGX_DECLINED;
}

/* Answers an auth_request subrequest: 204 when allowed (unless the
 * location has a content handler of its own), else the status with the
 * challenge, which auth_request passes on for a 401. The shared request
 * headers are left alone: use auth_request_set with the variables. */
static ngx_int_t
ngx_http_jwtgate_apply_subrequest(ngx_http_request_t *r, const jwtgate_decision *d)
{
    ngx_http_core_loc_conf_t  *clcf;
    jwtgate_str                name, value;
    size_t                     i, n;

    if (jwtgate_decision_allow(d)) {
        clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);
        return clcf->handler ? NGX_DECLINED : NGX_HTTP_NO_CONTENT;
    }
    n = jwtgate_decision_response_headers_len(d);
    for (i = 0; i < n; i++) {
        if (jwtgate_decision_response_header(d, i, &name, &value) != JWTGATE_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        if ((ngx_http_jwtgate_is(name, "WWW-Authenticate") || ngx_http_jwtgate_is(name, "Retry-After"))
            && ngx_http_jwtgate_out_header(r, name, value) == NULL)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return jwtgate_decision_status(d);
}

static void
ngx_http_jwtgate_cleanup(void *data)
{
    ngx_http_jwtgate_ctx_t  *ctx = data;

    if (ctx->wake.timer_set) {
        ngx_del_timer(&ctx->wake);
    }
    jwtgate_decision_free(ctx->decision);
    ctx->decision = NULL;
}

/* The key-fetch timer: decide again. */
static void
ngx_http_jwtgate_wake(ngx_event_t *ev)
{
    ngx_http_jwtgate_ctx_t  *ctx = ev->data;
    ngx_http_request_t      *r = ctx->request;
    ngx_connection_t        *c = r->connection;

    ngx_http_set_log_request(c->log, r);
    if (r == r->main) {
        r->read_event_handler = ctx->read_handler;
    }
    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}

/* The decision for this request, made once (and again while it waits for
 * keys); NGX_AGAIN while waiting. */
static ngx_int_t
ngx_http_jwtgate_run(ngx_http_request_t *r, ngx_uint_t subrequest)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = ngx_http_get_module_loc_conf(r, ngx_http_jwtgate_module);
    ngx_http_jwtgate_ctx_t       *ctx;
    ngx_pool_cleanup_t           *cln;
    jwtgate_error                *error = NULL;
    jwtgate_str                   s;
    ngx_msec_int_t                left;
    ngx_msec_t                    wait;
    ngx_int_t                     rc;

    if (lcf->gate == NULL) {
        if (lcf->mode == NGX_CONF_UNSET_UINT || lcf->mode == JWTGATE_MODE_OFF) {
            return NGX_DECLINED;
        }
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "jwtgate: \"jwtgate on\" without \"jwtgate_policy\"");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (subrequest && (lcf->mode == NGX_CONF_UNSET_UINT || lcf->mode == JWTGATE_MODE_OFF)) {
        return NGX_DECLINED;  /* only where jwtgate checks */
    }
    ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);
    if (ctx != NULL && ctx->state == NGX_HTTP_JWTGATE_DECIDED) {
        return ctx->status;
    }
    if (ctx != NULL && ctx->wake.timer_set) {
        return NGX_AGAIN;  /* run before the timer: keep waiting */
    }
    if (lcf->gate->verifier == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jwtgate: no verifier for this location: the policy failed to load in this worker");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jwtgate_ctx_t));
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        cln->handler = ngx_http_jwtgate_cleanup;
        cln->data = ctx;
        ctx->request = r;
        ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
        ctx->waiting_since = ngx_current_msec;
        ctx->wake.handler = ngx_http_jwtgate_wake;
        ctx->wake.data = ctx;
        ctx->wake.log = r->connection->log;
        ngx_http_set_ctx(r, ctx, ngx_http_jwtgate_module);
        if (ngx_http_jwtgate_build_request(r, &ctx->req, lcf->gate->reads_cert) != NGX_OK) {
            ctx->state = NGX_HTTP_JWTGATE_DECIDED;
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    jwtgate_decision_free(ctx->decision);
    ctx->decision = NULL;
    if (jwtgate_verifier_decide(lcf->gate->verifier, &ctx->req, lcf->route, &ctx->decision, &error)
        != JWTGATE_OK)
    {
        s = jwtgate_error_message(error);
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "jwtgate: no decision: %*s", s.len,
                      s.data ? s.data : "unknown error");
        jwtgate_error_free(error);
        ctx->state = NGX_HTTP_JWTGATE_DECIDED;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (jwtgate_decision_pending(ctx->decision)) {
        wait = lcf->key_wait != NGX_CONF_UNSET_MSEC
                   ? lcf->key_wait
                   : (ngx_msec_t) jwtgate_decision_pending_wait_ms(ctx->decision);
        left = (ngx_msec_int_t) (ctx->waiting_since + wait - ngx_current_msec);
        if (left > 0) {
            /* The issuer's keys are being fetched: decide again soon,
             * without holding up the worker. */
            ctx->state = NGX_HTTP_JWTGATE_WAITING;
            if (r == r->main) {
                ctx->read_handler = r->read_event_handler;
                r->read_event_handler = ngx_http_test_reading;  /* notice a client that leaves */
            }
            ngx_add_timer(&ctx->wake, ngx_min(left, NGX_HTTP_JWTGATE_STEP_MS));
            return NGX_AGAIN;
        }
    }

    ctx->state = NGX_HTTP_JWTGATE_DECIDED;
    s = jwtgate_decision_code(ctx->decision);
    if (s.data != NULL) {
        ctx->code.data = (u_char *) s.data;
        ctx->code.len = s.len;
        s = jwtgate_decision_body(ctx->decision);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "jwtgate: %s: %V %*s",
                      jwtgate_decision_allow(ctx->decision) ? "would reject (report_only)" : "rejected",
                      &ctx->code, s.len, s.data ? s.data : "");
    } else if (jwtgate_decision_verified(ctx->decision)) {
        ngx_str_set(&ctx->code, "ok");
    }
    if (subrequest) {
        ctx->status = ngx_http_jwtgate_apply_subrequest(r, ctx->decision);
        return ctx->status;
    }
    ctx->status = NGX_DONE;  /* what a later run returns if apply answers itself */
    rc = ngx_http_jwtgate_apply(r, ctx->decision);
    if (rc == NGX_DONE) {
        return NGX_DONE;  /* answered and finalized: the request may be gone */
    }
    ctx->status = rc;
    return rc;
}

static ngx_int_t
ngx_http_jwtgate_access_handler(ngx_http_request_t *r)
{
    return ngx_http_jwtgate_run(r, 0);
}

/* Subrequests (auth_request) skip the access phase: they are decided
 * here, before their content. */
static ngx_int_t
ngx_http_jwtgate_precontent_handler(ngx_http_request_t *r)
{
    if (r == r->main) {
        return NGX_DECLINED;
    }
    return ngx_http_jwtgate_run(r, 1);
}

static ngx_int_t
ngx_http_jwtgate_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates;
    ngx_core_conf_t               *ccf;
    ngx_uint_t                     i;

    /* The master's verifiers were for checking the policies and compiling
     * the routes; workers make their own. */
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtgate_module);
    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx, ngx_core_module);
    gates = mcf->gates.elts;
    for (i = 0; i < mcf->gates.nelts; i++) {
        if (mcf->replay_zone == NULL && ccf->worker_processes > 1
            && jwtgate_verifier_replay_store_in_process(gates[i]->verifier))
        {
            ngx_log_error(NGX_LOG_WARN, cf->log, 0,
                          "jwtgate: policy \"%V\" accepts DPoP proofs, which each worker remembers on its "
                          "own: a proof replayed to another worker is accepted there; set "
                          "\"jwtgate_replay_zone\" (or the policy's replay_store.redis)", &gates[i]->policy);
        }
        jwtgate_verifier_free(gates[i]->verifier);
        gates[i]->verifier = NULL;
    }
    if (mcf->gates.nelts > 0 && ngx_http_jwtgate_nonce_secret(mcf->nonce_secret, cf->log) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_jwtgate_access_handler;
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_jwtgate_precontent_handler;
    return NGX_OK;
}

/* ---- processes -------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtgate_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates;
    const u_char                  *nonce_secret;
    ngx_uint_t                     i;

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module) == NULL) {
        return NGX_OK;  /* no http block */
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jwtgate_module);
    if (mcf == NULL) {
        return NGX_OK;
    }
    /* A policy the master could load but this worker cannot (typically
     * file permissions: workers run as nginx's user) leaves the gate
     * without a verifier: its locations then answer 500 (fail closed) and
     * the log says why, while the rest of the server keeps working. */
    gates = mcf->gates.elts;
    nonce_secret = mcf->replay_zone ? ngx_http_jwtgate_replay_nonce_secret(mcf->replay_zone) : mcf->nonce_secret;
    for (i = 0; i < mcf->gates.nelts; i++) {
        gates[i]->verifier = ngx_http_jwtgate_load(cycle->log, gates[i]);
        /* DPoP proofs go to the zone every worker shares. */
        ngx_http_jwtgate_replay_use(mcf->replay_zone, gates[i]->verifier);
        /* DPoP nonces from the secret every worker shares. */
        ngx_http_jwtgate_nonce_use(nonce_secret, gates[i]->verifier, cycle->log);
        /* Remote key sets start loading now, in the background, so the
         * first requests find keys instead of waiting for them. */
        jwtgate_verifier_prefetch(gates[i]->verifier);
    }
    return NGX_OK;
}

static void
ngx_http_jwtgate_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates;
    ngx_uint_t                     i;

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module) == NULL) {
        return;
    }
    mcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jwtgate_module);
    if (mcf == NULL) {
        return;
    }
    gates = mcf->gates.elts;
    for (i = 0; i < mcf->gates.nelts; i++) {
        jwtgate_verifier_free(gates[i]->verifier);
        gates[i]->verifier = NULL;
    }
}
