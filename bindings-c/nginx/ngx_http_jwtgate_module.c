/*
 * ngx_http_jwtgate_module: verifies JSON Web Tokens with libjwtgate.
 *
 *   load_module modules/ngx_http_jwtgate_module.so;
 *   http {
 *       jwtgate_policy /etc/jwtgate/policy.json;      # http, server, location
 *       jwtgate_claim_set $jwt_sub sub;               # http: claim to variable
 *       server {
 *           location /api/ {
 *               jwtgate on;                           # on | off
 *               jwtgate_token header=Authorization:Bearer cookie=at query=access_token;
 *               jwtgate_claim_header sub X-User;       # claim to upstream header
 *               jwtgate_payload_header X-JWT-Payload;  # whole payload (base64url)
 *               jwtgate_claim_rule subscriptions '{"contains_all": ["orders"], "required": true}';
 *               proxy_pass http://backend;
 *           }
 *       }
 *   }
 *
 * All token logic (where the token is, verification, rules, header values)
 * is in libjwtgate: the module converts nginx requests and configuration to
 * its C ABI and its results to responses, headers and variables.
 *
 * Failures answer 401 (403 for a failed claim rule, 503 when keys cannot be
 * fetched) with a WWW-Authenticate header; $jwtgate_code holds the code
 * ("ok", "missing_token", "expired", ...). Verifiers are made in each worker
 * after fork (init_process) and again on every reload; the master only
 * checks that each policy loads, so `nginx -t` reports a bad policy.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jwtgate.h"

/* One verifier configuration: a policy file plus the additions of one
 * place (token sources, rules, forwarded headers) as an overlay object.
 * Locations that add nothing share their parent's gate, so they share
 * its verifier and cache. */
typedef struct {
    ngx_str_t          policy;
    ngx_str_t          overlay;     /* JSON object, empty for none */
    jwtgate_verifier  *verifier;    /* per worker */
} ngx_http_jwtgate_gate_t;

typedef struct {
    ngx_array_t        gates;       /* of ngx_http_jwtgate_gate_t *, every gate */
} ngx_http_jwtgate_main_conf_t;

typedef struct {
    ngx_flag_t                enable;
    ngx_str_t                 policy;
    ngx_array_t              *tokens;        /* of ngx_str_t, directive arguments */
    ngx_array_t              *claim_headers; /* of ngx_keyval_t: claim, header */
    ngx_array_t              *claim_rules;   /* of ngx_keyval_t: claim, rule JSON */
    ngx_str_t                 payload_header;
    ngx_flag_t                own;           /* set anything a gate depends on */
    ngx_http_jwtgate_gate_t  *gate;
} ngx_http_jwtgate_loc_conf_t;

typedef struct {
    ngx_str_t          code;
    ngx_int_t          status;      /* the handler's answer, for a second run */
    jwtgate_verified  *verified;
} ngx_http_jwtgate_ctx_t;

static ngx_int_t ngx_http_jwtgate_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_jwtgate_init(ngx_conf_t *cf);
static void *ngx_http_jwtgate_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_jwtgate_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jwtgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static char *ngx_http_jwtgate_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_pair(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_payload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static char *ngx_http_jwtgate_claim_set(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_jwtgate_init_process(ngx_cycle_t *cycle);
static void ngx_http_jwtgate_exit_process(ngx_cycle_t *cycle);

static ngx_command_t ngx_http_jwtgate_commands[] = {

    { ngx_string("jwtgate"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_loc_conf_t, enable),
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
      ngx_http_jwtgate_pair,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_loc_conf_t, claim_headers),
      NULL },

    { ngx_string("jwtgate_claim_rule"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_jwtgate_pair,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jwtgate_loc_conf_t, claim_rules),
      NULL },

    { ngx_string("jwtgate_payload_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jwtgate_payload,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jwtgate_claim_set"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_jwtgate_claim_set,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
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
    conf->enable = NGX_CONF_UNSET;
    conf->tokens = NGX_CONF_UNSET_PTR;
    conf->claim_headers = NGX_CONF_UNSET_PTR;
    conf->claim_rules = NGX_CONF_UNSET_PTR;
    return conf;
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

static char *
ngx_http_jwtgate_token(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts, *arg;
    ngx_uint_t                    i;

    if (lcf->tokens != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }
    lcf->tokens = ngx_array_create(cf->pool, cf->args->nelts - 1, sizeof(ngx_str_t));
    if (lcf->tokens == NULL) {
        return NGX_CONF_ERROR;
    }
    for (i = 1; i < cf->args->nelts; i++) {
        if (!(value[i].len > 7 && ngx_strncmp(value[i].data, "header=", 7) == 0)
            && !(value[i].len > 7 && ngx_strncmp(value[i].data, "cookie=", 7) == 0)
            && !(value[i].len > 6 && ngx_strncmp(value[i].data, "query=", 6) == 0))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid token source \"%V\": use header=NAME[:SCHEME], "
                               "cookie=NAME or query=NAME", &value[i]);
            return NGX_CONF_ERROR;
        }
        arg = ngx_array_push(lcf->tokens);
        if (arg == NULL) {
            return NGX_CONF_ERROR;
        }
        *arg = value[i];
    }
    return NGX_CONF_OK;
}

/* jwtgate_claim_header CLAIM HEADER; jwtgate_claim_rule CLAIM RULE_JSON; */
static char *
ngx_http_jwtgate_pair(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_array_t  **list = (ngx_array_t **) ((char *) conf + cmd->offset);
    ngx_str_t     *value = cf->args->elts;
    ngx_keyval_t  *kv;

    if (*list == NGX_CONF_UNSET_PTR) {
        *list = ngx_array_create(cf->pool, 4, sizeof(ngx_keyval_t));
        if (*list == NULL) {
            return NGX_CONF_ERROR;
        }
    }
    kv = ngx_array_push(*list);
    if (kv == NULL) {
        return NGX_CONF_ERROR;
    }
    kv->key = value[1];
    kv->value = value[2];
    return NGX_CONF_OK;
}

static char *
ngx_http_jwtgate_payload(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jwtgate_loc_conf_t  *lcf = conf;
    ngx_str_t                    *value = cf->args->elts;

    if (lcf->payload_header.data != NULL) {
        return "is duplicate";
    }
    lcf->payload_header = value[1];
    return NGX_CONF_OK;
}

/* A growing byte buffer for the overlay JSON. */
typedef struct {
    ngx_pool_t  *pool;
    u_char      *data;
    size_t       len, cap;
    ngx_int_t    failed;
} ngx_http_jwtgate_buf_t;

static void
ngx_http_jwtgate_put(ngx_http_jwtgate_buf_t *b, const u_char *s, size_t n)
{
    u_char  *grown;
    size_t   cap;

    if (b->failed) {
        return;
    }
    if (b->len + n > b->cap) {
        cap = ngx_max(2 * b->cap, b->len + n + 256);
        grown = ngx_pnalloc(b->pool, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        if (b->len) {
            ngx_memcpy(grown, b->data, b->len);
        }
        b->data = grown;
        b->cap = cap;
    }
    ngx_memcpy(b->data + b->len, s, n);
    b->len += n;
}

#define ngx_http_jwtgate_lit(b, s) ngx_http_jwtgate_put(b, (const u_char *) s, sizeof(s) - 1)

/* A JSON string literal: escapes quotes, backslashes and control bytes. */
static void
ngx_http_jwtgate_json_string(ngx_http_jwtgate_buf_t *b, const u_char *s, size_t n)
{
    u_char  esc[8];
    size_t  i;

    ngx_http_jwtgate_lit(b, "\"");
    for (i = 0; i < n; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            esc[0] = '\\';
            esc[1] = s[i];
            ngx_http_jwtgate_put(b, esc, 2);
        } else if (s[i] < 0x20) {
            ngx_snprintf(esc, sizeof(esc), "\\u%04xd", (ngx_uint_t) s[i]);
            ngx_http_jwtgate_put(b, esc, 6);
        } else {
            ngx_http_jwtgate_put(b, &s[i], 1);
        }
    }
    ngx_http_jwtgate_lit(b, "\"");
}

/* The overlay object libjwtgate merges into the policy file. */
static ngx_int_t
ngx_http_jwtgate_overlay(ngx_conf_t *cf, ngx_http_jwtgate_loc_conf_t *conf, ngx_str_t *out)
{
    ngx_http_jwtgate_buf_t   b = { cf->pool, NULL, 0, 0, 0 };
    ngx_str_t               *src;
    ngx_keyval_t            *kv;
    ngx_uint_t               i;
    u_char                  *colon;
    int                      first = 1;

    ngx_http_jwtgate_lit(&b, "{");
    if (conf->tokens != NULL) {
        ngx_http_jwtgate_lit(&b, "\"token_sources\":[");
        src = conf->tokens->elts;
        for (i = 0; i < conf->tokens->nelts; i++) {
            if (i) {
                ngx_http_jwtgate_lit(&b, ",");
            }
            if (ngx_strncmp(src[i].data, "header=", 7) == 0) {
                colon = ngx_strlchr(src[i].data + 7, src[i].data + src[i].len, ':');
                ngx_http_jwtgate_lit(&b, "{\"header\":");
                ngx_http_jwtgate_json_string(&b, src[i].data + 7,
                                             (colon ? colon : src[i].data + src[i].len) - src[i].data - 7);
                if (colon) {
                    ngx_http_jwtgate_lit(&b, ",\"scheme\":");
                    ngx_http_jwtgate_json_string(&b, colon + 1, src[i].data + src[i].len - colon - 1);
                }
            } else if (ngx_strncmp(src[i].data, "cookie=", 7) == 0) {
                ngx_http_jwtgate_lit(&b, "{\"cookie\":");
                ngx_http_jwtgate_json_string(&b, src[i].data + 7, src[i].len - 7);
            } else {
                ngx_http_jwtgate_lit(&b, "{\"query\":");
                ngx_http_jwtgate_json_string(&b, src[i].data + 6, src[i].len - 6);
            }
            ngx_http_jwtgate_lit(&b, "}");
        }
        ngx_http_jwtgate_lit(&b, "]");
        first = 0;
    }
    if (conf->claim_rules != NULL) {
        ngx_http_jwtgate_put(&b, (u_char *) ",\"claims\":{" + first, sizeof(",\"claims\":{") - 1 - first);
        kv = conf->claim_rules->elts;
        for (i = 0; i < conf->claim_rules->nelts; i++) {
            if (i) {
                ngx_http_jwtgate_lit(&b, ",");
            }
            ngx_http_jwtgate_json_string(&b, kv[i].key.data, kv[i].key.len);
            ngx_http_jwtgate_lit(&b, ":");
            ngx_http_jwtgate_put(&b, kv[i].value.data, kv[i].value.len);  /* JSON checked by libjwtgate */
        }
        ngx_http_jwtgate_lit(&b, "}");
        first = 0;
    }
    if (conf->claim_headers != NULL) {
        ngx_http_jwtgate_put(&b, (u_char *) ",\"claims_to_headers\":{" + first,
                             sizeof(",\"claims_to_headers\":{") - 1 - first);
        kv = conf->claim_headers->elts;
        for (i = 0; i < conf->claim_headers->nelts; i++) {
            if (i) {
                ngx_http_jwtgate_lit(&b, ",");
            }
            ngx_http_jwtgate_json_string(&b, kv[i].key.data, kv[i].key.len);
            ngx_http_jwtgate_lit(&b, ":");
            ngx_http_jwtgate_json_string(&b, kv[i].value.data, kv[i].value.len);
        }
        ngx_http_jwtgate_lit(&b, "}");
        first = 0;
    }
    if (conf->payload_header.data != NULL) {
        ngx_http_jwtgate_put(&b, (u_char *) ",\"payload_header\":" + first,
                             sizeof(",\"payload_header\":") - 1 - first);
        ngx_http_jwtgate_json_string(&b, conf->payload_header.data, conf->payload_header.len);
        first = 0;
    }
    ngx_http_jwtgate_lit(&b, "}");
    if (b.failed) {
        return NGX_ERROR;
    }
    if (first) {
        ngx_str_null(out);  /* nothing to add to the policy file */
    } else {
        out->data = b.data;
        out->len = b.len;
    }
    return NGX_OK;
}

static char *
ngx_http_jwtgate_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_jwtgate_loc_conf_t   *prev = parent, *conf = child;
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **slot;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);

    conf->own = conf->policy.data != NULL || conf->tokens != NGX_CONF_UNSET_PTR
                || conf->claim_headers != NGX_CONF_UNSET_PTR
                || conf->claim_rules != NGX_CONF_UNSET_PTR || conf->payload_header.data != NULL;

    ngx_conf_merge_str_value(conf->policy, prev->policy, "");
    ngx_conf_merge_ptr_value(conf->tokens, prev->tokens, NULL);
    ngx_conf_merge_ptr_value(conf->claim_headers, prev->claim_headers, NULL);
    ngx_conf_merge_ptr_value(conf->claim_rules, prev->claim_rules, NULL);
    ngx_conf_merge_str_value(conf->payload_header, prev->payload_header, "");
    if (conf->payload_header.len == 0) {
        ngx_str_null(&conf->payload_header);
    }

    if (!conf->own) {
        conf->gate = prev->gate;
    }
    if (conf->gate != NULL || conf->policy.len == 0) {
        /* "jwtgate on" without a policy here may get one in a nested
         * block; where it does not, requests fail closed (500). */
        return NGX_CONF_OK;
    }

    conf->gate = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_gate_t));
    if (conf->gate == NULL) {
        return NGX_CONF_ERROR;
    }
    conf->gate->policy = conf->policy;
    if (ngx_http_jwtgate_overlay(cf, conf, &conf->gate->overlay) != NGX_OK) {
        return NGX_CONF_ERROR;
    }
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtgate_module);
    slot = ngx_array_push(&mcf->gates);
    if (slot == NULL) {
        return NGX_CONF_ERROR;
    }
    *slot = conf->gate;
    return NGX_CONF_OK;
}

/* Makes the gate's verifier; logs the policy error and returns NULL. */
static jwtgate_verifier *
ngx_http_jwtgate_load(ngx_log_t *log, ngx_http_jwtgate_gate_t *gate)
{
    jwtgate_verifier  *verifier = NULL;
    jwtgate_error     *error = NULL;
    jwtgate_str        msg;

    if (jwtgate_verifier_from_file_with((const char *) gate->policy.data, gate->policy.len,
                                        gate->overlay.len ? (const char *) gate->overlay.data : NULL,
                                        gate->overlay.len, &verifier, &error)
        != JWTGATE_OK)
    {
        msg = jwtgate_error_message(error);
        ngx_log_error(NGX_LOG_EMERG, log, 0, "jwtgate: policy \"%V\": %*s", &gate->policy,
                      msg.len, msg.data ? msg.data : "unknown error");
        jwtgate_error_free(error);
        return NULL;
    }
    return verifier;
}

/* ---- variables -------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtgate_code_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);

    if (ctx == NULL || ctx->code.len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = ctx->code.data;
    v->len = ctx->code.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

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

/* data: 0 for $jwtgate_claims, 1 for $jwtgate_issuer */
static ngx_int_t
ngx_http_jwtgate_result_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);

    if (ctx == NULL || ctx->verified == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    return ngx_http_jwtgate_set_str(v, data ? jwtgate_verified_issuer(ctx->verified)
                                            : jwtgate_verified_claims_json(ctx->verified));
}

/* jwtgate_claim_set: data points at the claim name (ngx_str_t). Strings
 * come bare, other values as compact JSON. */
static ngx_int_t
ngx_http_jwtgate_claim_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_jwtgate_ctx_t  *ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);
    ngx_str_t               *claim = (ngx_str_t *) data;
    size_t                   n = 0;
    u_char                  *buf;

    v->not_found = 1;
    if (ctx == NULL || ctx->verified == NULL) {
        return NGX_OK;
    }
    if (jwtgate_verified_claim(ctx->verified, (const char *) claim->data, claim->len, JWTGATE_CLAIM_TEXT,
                               NULL, 0, &n)
        != JWTGATE_BUFFER_TOO_SMALL)
    {
        return NGX_OK;
    }
    buf = ngx_pnalloc(r->pool, n + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }
    if (jwtgate_verified_claim(ctx->verified, (const char *) claim->data, claim->len, JWTGATE_CLAIM_TEXT,
                               (char *) buf, n + 1, &n)
        != JWTGATE_OK)
    {
        return NGX_OK;
    }
    v->data = buf;
    v->len = n;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
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

/* jwtgate_header_lookup over the request headers (case-insensitive). */
static bool
ngx_http_jwtgate_lookup(void *userdata, const char *name, size_t name_len, jwtgate_str *out_value)
{
    ngx_http_request_t  *r = userdata;
    ngx_list_part_t     *part = &r->headers_in.headers.part;
    ngx_table_elt_t     *h = part->elts;
    ngx_uint_t           i;

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                return false;
            }
            part = part->next;
            h = part->elts;
            i = 0;
            if (part->nelts == 0) {
                continue;
            }
        }
        if (h[i].key.len == name_len && ngx_strncasecmp(h[i].key.data, (u_char *) name, name_len) == 0) {
            out_value->data = (const char *) h[i].value.data;
            out_value->len = h[i].value.len;
            return true;
        }
    }
}

/* Sets a request header for the upstream: every header of that name the
 * client sent takes the verified value (so none can be spoofed), or a new
 * one is added. */
static ngx_int_t
ngx_http_jwtgate_set_header(ngx_http_request_t *r, jwtgate_str name, jwtgate_str value)
{
    ngx_list_part_t  *part = &r->headers_in.headers.part;
    ngx_table_elt_t  *h = part->elts;
    ngx_uint_t        i, found = 0;
    u_char           *data;

    data = ngx_pnalloc(r->pool, value.len + 1);
    if (data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(data, value.data, value.len);
    data[value.len] = '\0';

    for (i = 0; /* void */; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
            if (part->nelts == 0) {
                continue;
            }
        }
        if (h[i].key.len == name.len && ngx_strncasecmp(h[i].key.data, (u_char *) name.data, name.len) == 0) {
            h[i].value.data = data;
            h[i].value.len = value.len;
            found = 1;
        }
    }
    if (found) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    h->key.data = ngx_pnalloc(r->pool, name.len + 1);
    h->lowcase_key = ngx_pnalloc(r->pool, name.len + 1);
    if (h->key.data == NULL || h->lowcase_key == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(h->key.data, name.data, name.len);
    h->key.data[name.len] = '\0';
    h->key.len = name.len;
    ngx_strlow(h->lowcase_key, h->key.data, name.len);
    h->hash = ngx_hash_key(h->lowcase_key, name.len);
    h->value.data = data;
    h->value.len = value.len;
#if defined(nginx_version) && nginx_version >= 1023000
    h->next = NULL;
#endif
    return NGX_OK;
}

static void
ngx_http_jwtgate_cleanup(void *data)
{
    ngx_http_jwtgate_ctx_t  *ctx = data;

    jwtgate_verified_free(ctx->verified);
    ctx->verified = NULL;
}

/* Answers a failed request: status and WWW-Authenticate. */
static ngx_int_t
ngx_http_jwtgate_reject(ngx_http_request_t *r, ngx_uint_t status, jwtgate_str challenge)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = ngx_pnalloc(r->pool, challenge.len);
    if (h->value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(h->value.data, challenge.data, challenge.len);
    h->value.len = challenge.len;
#if defined(nginx_version) && nginx_version >= 1023000
    h->next = NULL;
#endif
    r->headers_out.www_authenticate = h;
    return status;
}

static ngx_int_t
ngx_http_jwtgate_handler(ngx_http_request_t *r)
{
    ngx_http_jwtgate_loc_conf_t  *lcf;
    ngx_http_jwtgate_ctx_t       *ctx;
    ngx_pool_cleanup_t           *cln;
    jwtgate_verifier             *verifier;
    jwtgate_error                *error = NULL;
    jwtgate_code                  rc;
    jwtgate_str                   name, value, challenge;
    ngx_uint_t                    status;
    size_t                        i, count, n = 0;
    char                          stack_buf[4096], *token = stack_buf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_jwtgate_module);
    if (!lcf->enable) {
        return NGX_DECLINED;
    }
    if (lcf->gate == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "jwtgate: \"jwtgate on\" without \"jwtgate_policy\"");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx = ngx_http_get_module_ctx(r, ngx_http_jwtgate_module);
    if (ctx != NULL) {
        return ctx->status;  /* already decided */
    }
    verifier = lcf->gate->verifier;
    if (verifier == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jwtgate: no verifier for this location: the policy failed to load in this worker");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jwtgate_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx->status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_http_set_ctx(r, ctx, ngx_http_jwtgate_module);

    rc = jwtgate_verifier_find_token(verifier, ngx_http_jwtgate_lookup, r,
                                     r->args.len ? (const char *) r->args.data : NULL, r->args.len,
                                     stack_buf, sizeof(stack_buf), &n);
    if (rc == JWTGATE_BUFFER_TOO_SMALL) {
        token = ngx_pnalloc(r->pool, n + 1);
        if (token == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        rc = jwtgate_verifier_find_token(verifier, ngx_http_jwtgate_lookup, r,
                                         r->args.len ? (const char *) r->args.data : NULL, r->args.len,
                                         token, n + 1, &n);
    }
    if (rc == JWTGATE_NOT_FOUND) {
        ngx_str_set(&ctx->code, "missing_token");
        challenge.data = "Bearer";
        challenge.len = sizeof("Bearer") - 1;
        ctx->status = ngx_http_jwtgate_reject(r, NGX_HTTP_UNAUTHORIZED, challenge);
        return ctx->status;
    }
    if (rc != JWTGATE_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "jwtgate: token lookup failed (%ui)", (ngx_uint_t) rc);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = jwtgate_verifier_verify(verifier, token, n, false, 0, &ctx->verified, &error);
    if (rc != JWTGATE_OK) {
        name = jwtgate_code_name(rc);
        ctx->code.data = (u_char *) name.data;
        ctx->code.len = name.len;
        value = jwtgate_error_message(error);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "jwtgate: rejected: %V: %*s", &ctx->code,
                      value.len, value.data ? value.data : "");
        status = jwtgate_error_http_status(error);
        challenge = jwtgate_error_www_authenticate(error);
        if (status == 0 || challenge.data == NULL) {
            jwtgate_error_free(error);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        ctx->status = ngx_http_jwtgate_reject(r, status, challenge);
        jwtgate_error_free(error);
        return ctx->status;
    }
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        jwtgate_verified_free(ctx->verified);
        ctx->verified = NULL;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_jwtgate_cleanup;
    cln->data = ctx;
    ngx_str_set(&ctx->code, "ok");

    count = jwtgate_verified_header_count(ctx->verified);
    for (i = 0; i < count; i++) {
        if (jwtgate_verified_header_at(ctx->verified, i, &name, &value) != JWTGATE_OK
            || ngx_http_jwtgate_set_header(r, name, value) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    ctx->status = NGX_OK;
    return NGX_OK;
}

static ngx_int_t
ngx_http_jwtgate_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt           *h;
    ngx_http_core_main_conf_t     *cmcf;
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates;
    jwtgate_verifier              *verifier;
    ngx_uint_t                     i;

    /* Check every policy now, in the master, so `nginx -t` and a reload
     * with a broken policy fail; the verifiers in use are made per worker. */
    mcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jwtgate_module);
    gates = mcf->gates.elts;
    for (i = 0; i < mcf->gates.nelts; i++) {
        verifier = ngx_http_jwtgate_load(cf->log, gates[i]);
        if (verifier == NULL) {
            return NGX_ERROR;
        }
        jwtgate_verifier_free(verifier);
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_jwtgate_handler;
    return NGX_OK;
}

/* ---- processes -------------------------------------------------------- */

static ngx_int_t
ngx_http_jwtgate_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jwtgate_main_conf_t  *mcf;
    ngx_http_jwtgate_gate_t      **gates;
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
    for (i = 0; i < mcf->gates.nelts; i++) {
        gates[i]->verifier = ngx_http_jwtgate_load(cycle->log, gates[i]);
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
