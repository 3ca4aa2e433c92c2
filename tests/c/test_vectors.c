/* Runs the shared vectors (every JSON file in tests/vectors) through the C ABI. The
 * vectors come in the line format written by vectors_to_lines.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtgate.h"

#define MAX_CLAIMS 64
#define MAX_HEADERS 16

typedef struct {
    char *name, *policy, *token, *expect, *claim, *issuer, *payload_hex;
    int has_now, check_claim, claim_none, check_issuer, issuer_none, check_headers;
    unsigned status;  /* the rejection's HTTP status when the vector names it; 0: by code */
    double now;
    int n_claims, n_headers;
    char *claim_names[MAX_CLAIMS], *claim_json[MAX_CLAIMS];
    char *header_names[MAX_HEADERS], *header_values[MAX_HEADERS];
} vector;

static int str_eq(jwtgate_str s, const char *c) {
    return s.data != NULL && s.len == strlen(c) && memcmp(s.data, c, s.len) == 0;
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = '\0';
    fclose(f);
    return buf;
}

static int hex_equals(const char *hex, jwtgate_str s) {
    if (strlen(hex) != 2 * s.len) return 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned int byte;
        if (sscanf(hex + 2 * i, "%2x", &byte) != 1 || (unsigned char)s.data[i] != byte) return 0;
    }
    return 1;
}

/* Returns NULL when the vector passes, else a static description. */
static const char *run(const vector *v, char *why, size_t why_len) {
    jwtgate_verifier *verifier = NULL;
    jwtgate_error *error = NULL;
    jwtgate_code rc = jwtgate_verifier_new(v->policy, strlen(v->policy), &verifier, &error);
    int want_ok = strcmp(v->expect, "ok") == 0;
    if (rc != JWTGATE_OK) {
        jwtgate_str msg = jwtgate_error_message(error);
        snprintf(why, why_len, "policy failed to load (%u): %.*s", rc, (int)msg.len, msg.data);
        int pass = strcmp(v->expect, "policy") == 0 && rc == JWTGATE_POLICY && jwtgate_error_code(error) == rc;
        jwtgate_error_free(error);
        return pass ? NULL : why;
    }
    if (strcmp(v->expect, "policy") == 0) {
        jwtgate_verifier_free(verifier);
        return "policy loaded but should not have";
    }
    jwtgate_verified *verified = NULL;
    rc = jwtgate_verifier_verify(verifier, v->token, strlen(v->token), v->has_now, v->now, &verified, &error);
    const char *result = NULL;
    if (rc == JWTGATE_OK) {
        if (!want_ok) {
            snprintf(why, why_len, "verified, expected %s", v->expect);
            result = why;
        } else if (!hex_equals(v->payload_hex, jwtgate_verified_claims_json(verified))) {
            result = "claims JSON is not the token's payload";
        } else if (v->check_issuer && (v->issuer_none ? jwtgate_verified_issuer(verified).data != NULL
                                                      : !str_eq(jwtgate_verified_issuer(verified), v->issuer))) {
            result = "issuer differs";
        } else if (jwtgate_verified_header_json(verified).data == NULL) {
            result = "no header JSON";
        }
        for (int i = 0; !result && i < v->n_claims; i++) {
            char buf[4096];
            size_t n = 0;
            jwtgate_code c = jwtgate_verified_claim(verified, v->claim_names[i], strlen(v->claim_names[i]),
                                                    JWTGATE_CLAIM_JSON, buf, sizeof buf, &n);
            if (c != JWTGATE_OK || n != strlen(v->claim_json[i]) || strcmp(buf, v->claim_json[i]) != 0) {
                snprintf(why, why_len, "claim %s: got %s (%u), want %s", v->claim_names[i],
                         c == JWTGATE_OK ? buf : "-", c, v->claim_json[i]);
                result = why;
            }
        }
        if (!result && v->check_headers) {
            size_t count = jwtgate_verified_header_count(verified);
            if (count != (size_t)v->n_headers) {
                snprintf(why, why_len, "%zu headers, want %d", count, v->n_headers);
                result = why;
            }
            for (size_t i = 0; !result && i < count; i++) {
                jwtgate_str name, value;
                if (jwtgate_verified_header_at(verified, i, &name, &value) != JWTGATE_OK) {
                    result = "header_at failed";
                    break;
                }
                int found = 0;
                for (int j = 0; j < v->n_headers; j++)
                    if (str_eq(name, v->header_names[j]) && str_eq(value, v->header_values[j])) found = 1;
                if (!found) {
                    snprintf(why, why_len, "unexpected header %.*s: %.*s", (int)name.len, name.data,
                             (int)value.len, value.data);
                    result = why;
                }
            }
        }
        jwtgate_verified_free(verified);
    } else {
        jwtgate_str name = jwtgate_code_name(rc);
        jwtgate_str msg = jwtgate_error_message(error);
        jwtgate_str claim = jwtgate_error_claim(error);
        if (want_ok || !str_eq(name, v->expect) || jwtgate_error_code(error) != rc) {
            snprintf(why, why_len, "expected %s, got %.*s: %.*s", v->expect, (int)name.len, name.data,
                     (int)msg.len, msg.data);
            result = why;
        } else if (v->check_claim && (v->claim_none ? claim.data != NULL : !str_eq(claim, v->claim))) {
            snprintf(why, why_len, "expected claim %s, got %.*s", v->claim_none ? "none" : v->claim,
                     (int)claim.len, claim.data ? claim.data : "none");
            result = why;
        } else {
            unsigned status = jwtgate_error_http_status(error);
            unsigned want = v->status ? v->status
                          : rc == JWTGATE_CLAIM ? 403 : rc == JWTGATE_JWKS_UNAVAILABLE ? 503 : 401;
            jwtgate_str www = jwtgate_error_www_authenticate(error);
            if (status != want) {
                snprintf(why, why_len, "status %u, want %u", status, want);
                result = why;
            } else if (www.data == NULL || www.len < 7 || memcmp(www.data, "Bearer ", 7) != 0) {
                result = "no Bearer WWW-Authenticate";
            }
        }
        jwtgate_error_free(error);
    }
    jwtgate_verifier_free(verifier);
    return result;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s VECTOR_LINES\n", argv[0]);
        return 2;
    }
    char *text = read_file(argv[1]);
    if (!text) {
        perror(argv[1]);
        return 2;
    }
    int total = 0, failed = 0;
    vector v;
    memset(&v, 0, sizeof v);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *value = strchr(line, ' ');
        if (value) *value++ = '\0'; else value = line + strlen(line);
        if (!strcmp(line, "vector")) { memset(&v, 0, sizeof v); v.name = value; v.token = ""; }
        else if (!strcmp(line, "policy")) v.policy = value;
        else if (!strcmp(line, "token")) v.token = value;
        else if (!strcmp(line, "now")) { v.has_now = strcmp(value, "-") != 0; v.now = v.has_now ? strtod(value, NULL) : 0; }
        else if (!strcmp(line, "expect")) v.expect = value;
        else if (!strcmp(line, "claim")) { v.check_claim = 1; v.claim = value; }
        else if (!strcmp(line, "claim-none")) { v.check_claim = 1; v.claim_none = 1; }
        else if (!strcmp(line, "status")) v.status = (unsigned)strtoul(value, NULL, 10);
        else if (!strcmp(line, "issuer")) { v.check_issuer = 1; v.issuer = value; }
        else if (!strcmp(line, "issuer-none")) { v.check_issuer = 1; v.issuer_none = 1; }
        else if (!strcmp(line, "payload")) v.payload_hex = value;
        else if (!strcmp(line, "claimname") && v.n_claims < MAX_CLAIMS) v.claim_names[v.n_claims] = value;
        else if (!strcmp(line, "claimjson") && v.n_claims < MAX_CLAIMS) v.claim_json[v.n_claims++] = value;
        else if (!strcmp(line, "headers")) v.check_headers = 1;
        else if (!strcmp(line, "header") && v.n_headers < MAX_HEADERS) v.header_names[v.n_headers] = value;
        else if (!strcmp(line, "value") && v.n_headers < MAX_HEADERS) v.header_values[v.n_headers++] = value;
        else if (!strcmp(line, "end")) {
            char why[8192];
            const char *failure = v.policy && v.expect ? run(&v, why, sizeof why) : "incomplete record";
            total++;
            if (failure) {
                failed++;
                printf("not ok %d - %s: %s\n", total, v.name, failure);
            } else {
                printf("ok %d - %s\n", total, v.name);
            }
        } else {
            fprintf(stderr, "unknown line kind %s\n", line);
            free(text);
            return 2;
        }
    }
    free(text);
    printf("1..%d\n# vectors: %d passed, %d failed\n", total, total - failed, failed);
    return failed || total == 0 ? 1 : 0;
}
