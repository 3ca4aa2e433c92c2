/*
 * DPoP server nonces (RFC 9449 section 8) are stateless in libjwtgate: an
 * HMAC of the time window under a secret. A policy with `"nonce": true`
 * names no secret, and each worker compiles the policy on its own, so each
 * would make its own random secret: a nonce handed out by one worker would
 * be refused by the next, and a client could be asked for a new nonce on
 * every request. The module makes one secret in the master instead, while
 * it reads the configuration (or when it creates jwtgate_replay_zone,
 * which then keeps the secret across reloads), and every worker inherits
 * it through fork and hands it to its verifiers.
 */
#include "ngx_http_jwtgate_nonce.h"

ngx_int_t
ngx_http_jwtgate_nonce_secret(u_char *secret, ngx_log_t *log)
{
    ngx_fd_t  fd;
    ssize_t   n;
    size_t    got = 0;

    fd = ngx_open_file("/dev/urandom", NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_log_error(NGX_LOG_EMERG, log, ngx_errno, "jwtgate: cannot open /dev/urandom for the DPoP nonce secret");
        return NGX_ERROR;
    }
    while (got < NGX_HTTP_JWTGATE_NONCE_SECRET_LEN) {
        n = ngx_read_fd(fd, secret + got, NGX_HTTP_JWTGATE_NONCE_SECRET_LEN - got);
        if (n <= 0) {
            if (n == -1 && ngx_errno == NGX_EINTR) {
                continue;
            }
            ngx_log_error(NGX_LOG_EMERG, log, ngx_errno, "jwtgate: cannot read /dev/urandom for the DPoP nonce secret");
            (void) ngx_close_file(fd);
            return NGX_ERROR;
        }
        got += n;
    }
    (void) ngx_close_file(fd);
    return NGX_OK;
}

void
ngx_http_jwtgate_nonce_use(const u_char *secret, jwtgate_verifier *verifier, ngx_log_t *log)
{
    jwtgate_code  rc;

    if (verifier == NULL) {
        return;
    }
    rc = jwtgate_verifier_set_nonce_secret(verifier, secret, NGX_HTTP_JWTGATE_NONCE_SECRET_LEN);
    if (rc != JWTGATE_OK) {
        /* Only NULL arguments or a short secret fail: a bug here. The
         * verifier keeps its own secret: nonces still work per worker. */
        ngx_log_error(NGX_LOG_ALERT, log, 0, "jwtgate: the DPoP nonce secret was refused (code %ui)",
                      (ngx_uint_t) rc);
    }
}
