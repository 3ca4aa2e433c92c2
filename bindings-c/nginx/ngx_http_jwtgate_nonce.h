/*
 * The DPoP nonce secret every worker of ngx_http_jwtgate_module shares.
 */
#ifndef NGX_HTTP_JWTGATE_NONCE_H
#define NGX_HTTP_JWTGATE_NONCE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "jwtgate.h"

#define NGX_HTTP_JWTGATE_NONCE_SECRET_LEN  32

/* Fills `secret` (NGX_HTTP_JWTGATE_NONCE_SECRET_LEN bytes) from
 * /dev/urandom. NGX_ERROR, logged, when it cannot. */
ngx_int_t ngx_http_jwtgate_nonce_secret(u_char *secret, ngx_log_t *log);

/* Hands `secret` to `verifier` (NULL: nothing to do) for the issuers whose
 * policy asks for DPoP nonces without naming a secret. */
void ngx_http_jwtgate_nonce_use(const u_char *secret, jwtgate_verifier *verifier, ngx_log_t *log);

#endif
