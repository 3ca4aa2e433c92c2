/*
 * jwtgate_replay_zone: the DPoP replay store shared by every worker, in a
 * shared memory zone (slab allocator, red-black tree keyed by the proof's
 * key, mutex), the way ngx_http_limit_req_module keeps its states.
 *
 * libjwtgate calls ngx_http_jwtgate_replay_insert (its replay store
 * callback, jwtgate_verifier_set_replay_store) once per DPoP proof that
 * passed every other check; the answer says whether the proof was seen
 * before. An entry lives while its proof could still be accepted
 * (now <= `expires_at`, given by the core). Expired entries are reclaimed: a
 * few on each insert, from the oldest, and all of them when the zone has
 * no room. Live entries are never evicted: a zone full of them refuses new
 * proofs (JWTGATE_REPLAY_FULL: 503 replay_store_unavailable), since
 * forgetting one would let its proof be replayed.
 *
 * Across `nginx -s reload` nginx keeps a zone whose name and size are
 * unchanged, with its entries; a new size starts an empty zone.
 *
 * The zone also holds the DPoP nonce secret (ngx_http_jwtgate_nonce.c),
 * made with the zone, so that nonces handed out before a reload stay
 * valid after it.
 */
#include "ngx_http_jwtgate_replay.h"

extern ngx_module_t  ngx_http_jwtgate_module;

/* Expired entries reclaimed, at most, on an insert that has room. */
#define NGX_HTTP_JWTGATE_REPLAY_EXPIRE  2

typedef struct {
    ngx_rbtree_t        rbtree;
    ngx_rbtree_node_t   sentinel;
    ngx_queue_t         queue;      /* newest first */
    ngx_uint_t          entries;
    double              earliest;   /* no entry expires before: nothing to reclaim until after */
    u_char              nonce_secret[NGX_HTTP_JWTGATE_NONCE_SECRET_LEN];
} ngx_http_jwtgate_replay_sh_t;

typedef struct {
    ngx_http_jwtgate_replay_sh_t  *sh;
    ngx_slab_pool_t               *shpool;
} ngx_http_jwtgate_replay_ctx_t;

/* One key; sn.str.data points at data. Pointers stay valid in every
 * worker: the zone is mapped once, in the master, before fork. */
typedef struct {
    ngx_str_node_t      sn;
    ngx_queue_t         queue;
    double              expires;
    u_char              data[1];
} ngx_http_jwtgate_replay_node_t;

static ngx_int_t
ngx_http_jwtgate_replay_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_jwtgate_replay_ctx_t  *octx = data;
    ngx_http_jwtgate_replay_ctx_t  *ctx = shm_zone->data;
    size_t                          len;

    if (octx != NULL) {
        /* A reload with the same name and size: keep the entries. */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        return NGX_OK;
    }
    ctx->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    if (shm_zone->shm.exists) {
        ctx->sh = ctx->shpool->data;
        return NGX_OK;
    }
    ctx->sh = ngx_slab_alloc(ctx->shpool, sizeof(ngx_http_jwtgate_replay_sh_t));
    if (ctx->sh == NULL) {
        return NGX_ERROR;
    }
    ctx->shpool->data = ctx->sh;
    /* nginx's own insert function: its address is the same in every
     * process and after a reload, unlike one of this dynamic module. */
    ngx_rbtree_init(&ctx->sh->rbtree, &ctx->sh->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&ctx->sh->queue);
    ctx->sh->entries = 0;
    ctx->sh->earliest = 0;
    if (ngx_http_jwtgate_nonce_secret(ctx->sh->nonce_secret, shm_zone->shm.log) != NGX_OK) {
        return NGX_ERROR;
    }
    len = sizeof(" in jwtgate_replay_zone \"\"") + shm_zone->shm.name.len;
    ctx->shpool->log_ctx = ngx_slab_alloc(ctx->shpool, len);
    if (ctx->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }
    ngx_sprintf(ctx->shpool->log_ctx, " in jwtgate_replay_zone \"%V\"%Z", &shm_zone->shm.name);
    /* A full zone is an answer (503), not an error to log per request. */
    ctx->shpool->log_nomem = 0;
    return NGX_OK;
}

char *
ngx_http_jwtgate_replay_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_shm_zone_t                **slot = (ngx_shm_zone_t **) ((char *) conf + cmd->offset);
    ngx_http_jwtgate_replay_ctx_t  *ctx;
    ngx_str_t                      *value = cf->args->elts, name, s;
    u_char                         *colon;
    ssize_t                         size;

    if (*slot != NULL) {
        return "is duplicate";
    }
    colon = ngx_strlchr(value[1].data, value[1].data + value[1].len, ':');
    if (colon == NULL || colon == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone \"%V\": use name:size", &value[1]);
        return NGX_CONF_ERROR;
    }
    name.data = value[1].data;
    name.len = colon - value[1].data;
    s.data = colon + 1;
    s.len = value[1].data + value[1].len - s.data;
    size = ngx_parse_size(&s);
    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }
    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "zone \"%V\" is too small: at least %uzk", &value[1],
                           8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }
    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_jwtgate_replay_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }
    *slot = ngx_shared_memory_add(cf, &name, size, &ngx_http_jwtgate_module);
    if (*slot == NULL) {
        return NGX_CONF_ERROR;
    }
    if ((*slot)->data != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "zone \"%V\" is already used", &name);
        return NGX_CONF_ERROR;
    }
    (*slot)->init = ngx_http_jwtgate_replay_init_zone;
    (*slot)->data = ctx;
    return NGX_CONF_OK;
}

/* With the mutex held. */
static void
ngx_http_jwtgate_replay_remove(ngx_http_jwtgate_replay_ctx_t *ctx, ngx_http_jwtgate_replay_node_t *node)
{
    ngx_queue_remove(&node->queue);
    ngx_rbtree_delete(&ctx->sh->rbtree, &node->sn.node);
    ngx_slab_free_locked(ctx->shpool, node);
    ctx->sh->entries--;
}

/* Removes expired entries from the oldest: with `all`, every one (and
 * finds the earliest expiry of those left); else up to a few, stopping at
 * the first live one. With the mutex held. */
static void
ngx_http_jwtgate_replay_expire(ngx_http_jwtgate_replay_ctx_t *ctx, double now, ngx_uint_t all)
{
    ngx_http_jwtgate_replay_node_t  *node;
    ngx_queue_t                     *q, *prev;
    ngx_uint_t                       n = NGX_HTTP_JWTGATE_REPLAY_EXPIRE;
    double                           earliest = -1;

    for (q = ngx_queue_last(&ctx->sh->queue); q != ngx_queue_sentinel(&ctx->sh->queue); q = prev) {
        prev = ngx_queue_prev(q);
        node = ngx_queue_data(q, ngx_http_jwtgate_replay_node_t, queue);
        if (node->expires >= now) {
            if (!all) {
                return;
            }
            if (earliest < 0 || node->expires < earliest) {
                earliest = node->expires;
            }
            continue;
        }
        ngx_http_jwtgate_replay_remove(ctx, node);
        if (!all && --n == 0) {
            return;
        }
    }
    if (all) {
        ctx->sh->earliest = earliest;
    }
}

/* The replay store callback (jwtgate_replay_insert_once). Runs in the
 * worker's own thread, during jwtgate_verifier_decide. */
static uint32_t
ngx_http_jwtgate_replay_insert(void *data, const char *key, size_t key_len, double expires_at, double now)
{
    ngx_http_jwtgate_replay_ctx_t   *ctx = data;
    ngx_http_jwtgate_replay_node_t  *node;
    ngx_str_t                        k;
    uint32_t                         hash;

    k.data = (u_char *) key;
    k.len = key_len;
    hash = ngx_crc32_short(k.data, k.len);

    ngx_shmtx_lock(&ctx->shpool->mutex);
    ngx_http_jwtgate_replay_expire(ctx, now, 0);
    node = (ngx_http_jwtgate_replay_node_t *) ngx_str_rbtree_lookup(&ctx->sh->rbtree, &k, hash);
    if (node != NULL) {
        if (node->expires >= now) {
            ngx_shmtx_unlock(&ctx->shpool->mutex);
            return JWTGATE_REPLAY_SEEN;
        }
        ngx_http_jwtgate_replay_remove(ctx, node);
    }
    node = ngx_slab_alloc_locked(ctx->shpool, offsetof(ngx_http_jwtgate_replay_node_t, data) + key_len);
    if (node == NULL && now > ctx->sh->earliest) {
        ngx_http_jwtgate_replay_expire(ctx, now, 1);
        node = ngx_slab_alloc_locked(ctx->shpool, offsetof(ngx_http_jwtgate_replay_node_t, data) + key_len);
    }
    if (node == NULL) {
        ngx_shmtx_unlock(&ctx->shpool->mutex);
        return JWTGATE_REPLAY_FULL;
    }
    node->sn.node.key = hash;
    node->sn.str.len = key_len;
    node->sn.str.data = node->data;
    ngx_memcpy(node->data, key, key_len);
    node->expires = expires_at;
    ngx_rbtree_insert(&ctx->sh->rbtree, &node->sn.node);
    ngx_queue_insert_head(&ctx->sh->queue, &node->queue);
    if (ctx->sh->entries == 0 || expires_at < ctx->sh->earliest) {
        ctx->sh->earliest = expires_at;
    }
    ctx->sh->entries++;
    ngx_shmtx_unlock(&ctx->shpool->mutex);
    return JWTGATE_REPLAY_FRESH;
}

const u_char *
ngx_http_jwtgate_replay_nonce_secret(ngx_shm_zone_t *zone)
{
    return ((ngx_http_jwtgate_replay_ctx_t *) zone->data)->sh->nonce_secret;
}

void
ngx_http_jwtgate_replay_use(ngx_shm_zone_t *zone, jwtgate_verifier *verifier)
{
    if (zone == NULL || verifier == NULL || !jwtgate_verifier_replay_store_in_process(verifier)) {
        return;
    }
    /* The context is the zone's, which lives as long as the cycle: nothing
     * to free. Only fails on NULL arguments, excluded above. */
    (void) jwtgate_verifier_set_replay_store(verifier, ngx_http_jwtgate_replay_insert, zone->data, NULL);
}
