/*
 * The DPoP replay store of ngx_http_jwtgate_module in shared memory, so
 * that every worker sees every proof (jwtgate_replay_zone).
 */
#ifndef NGX_HTTP_JWTGATE_REPLAY_H
#define NGX_HTTP_JWTGATE_REPLAY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jwtgate.h"
#include "ngx_http_jwtgate_nonce.h"

/* jwtgate_replay_zone name:size; the zone goes in the ngx_shm_zone_t *
 * at cmd->offset of the main configuration. */
char *ngx_http_jwtgate_replay_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);

/* The DPoP nonce secret kept in the zone (NGX_HTTP_JWTGATE_NONCE_SECRET_LEN
 * bytes): made when the zone is created, kept while a reload keeps the
 * zone (same name and size). */
const u_char *ngx_http_jwtgate_replay_nonce_secret(ngx_shm_zone_t *zone);

/* Gives `verifier` the zone as its replay store when it would otherwise
 * remember proofs in this worker alone. Does nothing without a zone. */
void ngx_http_jwtgate_replay_use(ngx_shm_zone_t *zone, jwtgate_verifier *verifier);

#endif
