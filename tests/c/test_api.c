/* The C ABI beyond the vectors: ownership, misuse (NULLs, bad UTF-8, small
 * buffers, double frees of nothing), a verifier used twice and by 8 threads,
 * the signer, token lookup in requests and policy files with overlays.
 * Run from the repository root (reads tests/keys). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwtgate.h"

static int failures = 0, checks = 0;
#define CHECK(cond)                                                           \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            printf("not ok - %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
        }                                                                     \
    } while (0)
#define S(literal) literal, strlen(literal)

static int str_eq(jwtgate_str s, const char *c) {
    return s.data != NULL && s.len == strlen(c) && memcmp(s.data, c, s.len) == 0;
}

/* 32 bytes of 0x07, base64url: the HS256 secret of the policy below. */
static const unsigned char SECRET[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                                         7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
static const char *POLICY =
    "{\"issuers\":[{\"issuer\":\"https://idp.example.com/\",\"audiences\":[\"api://orders\"],"
    "\"algorithms\":[\"HS256\"],\"keys\":{\"hmac_secret\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\"},"
    "\"claims\":{\"dept\":{\"equals\":\"IT\"}},"
    "\"forward\":{\"claims_to_headers\":{\"sub\":\"X-User\",\"/org/name\":\"X-Org\"}}}],"
    "\"token_sources\":[{\"header\":\"Authorization\",\"scheme\":\"Bearer\"},{\"cookie\":\"at\"},{\"query\":\"access_token\"}]}";
#define NOW 1700000000.0

static jwtgate_signer *hs256(void) {
    jwtgate_signer *signer = NULL;
    jwtgate_code rc = jwtgate_signer_from_secret(S("HS256"), SECRET, sizeof SECRET, S("k1"), &signer, NULL);
    CHECK(rc == JWTGATE_OK && signer != NULL);
    return signer;
}

static char *sign(const jwtgate_signer *signer, const char *claims) {
    char *token = NULL;
    size_t len = 0;
    jwtgate_code rc = jwtgate_signer_sign(signer, claims, strlen(claims), true, 600, true, NOW, &token, &len, NULL);
    CHECK(rc == JWTGATE_OK && token != NULL && strlen(token) == len);
    return token;
}

static void test_nulls_and_frees(void) {
    jwtgate_verifier_free(NULL);
    jwtgate_verified_free(NULL);
    jwtgate_error_free(NULL);
    jwtgate_signer_free(NULL);
    jwtgate_string_free(NULL);

    jwtgate_verifier *v = (jwtgate_verifier *)0x1; /* must stay untouched */
    jwtgate_error *e = NULL;
    CHECK(jwtgate_verifier_new(NULL, 10, &v, &e) == JWTGATE_NULL_PARAMETER);
    CHECK(v == (jwtgate_verifier *)0x1);
    CHECK(jwtgate_error_code(e) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_error_http_status(e) == 0);
    CHECK(jwtgate_error_www_authenticate(e).data == NULL);
    CHECK(jwtgate_error_message(e).len > 0);
    jwtgate_error_free(e);
    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), NULL, NULL) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_verifier_from_file(NULL, 0, &v, NULL) == JWTGATE_NULL_PARAMETER);

    jwtgate_verified *out = NULL;
    e = NULL;
    CHECK(jwtgate_verifier_verify(NULL, "a.b.c", 5, false, 0, &out, &e) == JWTGATE_NULL_PARAMETER);
    CHECK(out == NULL && jwtgate_error_code(e) == JWTGATE_NULL_PARAMETER);
    jwtgate_error_free(e);

    CHECK(jwtgate_error_code(NULL) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_error_message(NULL).data == NULL);
    CHECK(jwtgate_error_claim(NULL).data == NULL);
    CHECK(jwtgate_error_http_status(NULL) == 0);
    CHECK(jwtgate_verified_claims_json(NULL).data == NULL);
    CHECK(jwtgate_verified_issuer(NULL).data == NULL);
    CHECK(jwtgate_verified_header_count(NULL) == 0);
    CHECK(jwtgate_verifier_cached_tokens(NULL) == 0);
    jwtgate_verifier_clear_cache(NULL);
    jwtgate_str name, value;
    CHECK(jwtgate_verified_header_at(NULL, 0, &name, &value) == JWTGATE_NULL_PARAMETER);
    size_t n = 0;
    CHECK(jwtgate_verified_claim(NULL, S("sub"), JWTGATE_CLAIM_JSON, NULL, 0, &n) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_signer_sign(NULL, S("{}"), false, 0, false, 0, NULL, NULL, NULL) == JWTGATE_NULL_PARAMETER);
}

static void test_codes_and_version(void) {
    CHECK(strlen(jwtgate_version()) > 0);
    CHECK(str_eq(jwtgate_code_name(JWTGATE_OK), "ok"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_MALFORMED), "malformed"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_KEY_NOT_FOUND), "key_not_found"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_NOT_YET_VALID), "not_yet_valid"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_JWKS_UNAVAILABLE), "jwks_unavailable"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_POLICY), "policy"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_PANIC), "panic"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_MISSING_TOKEN), "missing_token"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_MISSING_CLAIM), "missing_claim"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_INVALID_REQUEST), "invalid_request"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_INVALID_DPOP_PROOF), "invalid_dpop_proof"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_REPLAY_STORE_UNAVAILABLE), "replay_store_unavailable"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_KEY), "key"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_INVALID_ARGUMENT), "invalid_argument"));
    CHECK(str_eq(jwtgate_code_name(JWTGATE_SERIALIZATION), "serialization"));
    CHECK(jwtgate_code_name(25).data == NULL);
    CHECK(JWTGATE_MALFORMED == 1 && JWTGATE_POLICY == 13 && JWTGATE_INVALID_REQUEST == 16 && JWTGATE_NULL_PARAMETER == 1000);
    CHECK(JWTGATE_KEY == 22 && JWTGATE_INVALID_ARGUMENT == 23 && JWTGATE_SERIALIZATION == 24);
}

static void test_policy_errors(void) {
    jwtgate_verifier *v = NULL;
    jwtgate_error *e = NULL;
    const char *typo = "{\"issuers\":[{\"algorithms\":[\"HS256\"],\"leway_s\":5,\"keys\":{\"hmac_secret\":\"AAAA\"}}]}";
    CHECK(jwtgate_verifier_new(typo, strlen(typo), &v, &e) == JWTGATE_POLICY);
    jwtgate_str msg = jwtgate_error_message(e);
    CHECK(v == NULL && msg.data && memmem(msg.data, msg.len, "leway_s", 7) != NULL);
    CHECK(jwtgate_error_http_status(e) == 0);
    jwtgate_error_free(e);

    const char bad_utf8[] = "{\"issuers\":\xff}";
    e = NULL;
    CHECK(jwtgate_verifier_new(bad_utf8, sizeof bad_utf8 - 1, &v, &e) == JWTGATE_INVALID_UTF8);
    CHECK(jwtgate_error_code(e) == JWTGATE_INVALID_UTF8);
    jwtgate_error_free(e);

    /* A length that cannot be a real object. */
    CHECK(jwtgate_verifier_new(POLICY, (size_t)-1, &v, NULL) == JWTGATE_INVALID_PARAMETER);
    CHECK(jwtgate_verifier_from_file(S("/nonexistent/policy.json"), &v, NULL) == JWTGATE_POLICY);
    /* No error out-parameter: just the code. */
    CHECK(jwtgate_verifier_new(S("[]"), &v, NULL) == JWTGATE_POLICY);
}

/* Policy and route documents are read by the one rule of every runtime:
 * strict JSON, a member name given twice is refused. */
static void test_documents_are_strict_json(void) {
    jwtgate_verifier *v = NULL;
    jwtgate_error *e = NULL;
    char twice[1024];
    snprintf(twice, sizeof twice, "%.*s,\"max_token_bytes\":100,\"max_token_bytes\":200}", (int)strlen(POLICY) - 1,
             POLICY);
    CHECK(jwtgate_verifier_new(twice, strlen(twice), &v, &e) == JWTGATE_POLICY && v == NULL);
    jwtgate_str msg = jwtgate_error_message(e);
    CHECK(msg.data && memmem(msg.data, msg.len, "duplicate", 9) != NULL);
    jwtgate_error_free(e);

    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), &v, NULL) == JWTGATE_OK);
    jwtgate_route *route = NULL;
    e = NULL;
    const char *route_twice = "{\"mode\":\"off\",\"mode\":\"required\"}";
    CHECK(jwtgate_route_from_json(v, route_twice, strlen(route_twice), &route, &e) == JWTGATE_POLICY);
    CHECK(route == NULL);
    msg = jwtgate_error_message(e);
    CHECK(msg.data && memmem(msg.data, msg.len, "duplicate", 9) != NULL);
    jwtgate_error_free(e);
    const char *route_once = "{\"mode\":\"off\"}";
    CHECK(jwtgate_route_from_json(v, route_once, strlen(route_once), &route, NULL) == JWTGATE_OK);
    jwtgate_route_free(route);
    jwtgate_verifier_free(v);
}

static void test_verify_and_accessors(void) {
    jwtgate_verifier *verifier = NULL;
    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), &verifier, NULL) == JWTGATE_OK);
    jwtgate_signer *signer = hs256();
    char *token = sign(signer, "{\"iss\":\"https://idp.example.com/\",\"aud\":\"api://orders\",\"sub\":\"ada\","
                               "\"dept\":\"IT\",\"org\":{\"name\":\"Engines\"},\"n\":4}");

    /* The same verifier, twice, with and without the cache warm. */
    for (int round = 0; round < 2; round++) {
        jwtgate_verified *ok = NULL;
        jwtgate_error *e = NULL;
        CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW + 1, &ok, &e) == JWTGATE_OK);
        CHECK(ok != NULL && e == NULL);
        CHECK(str_eq(jwtgate_verified_issuer(ok), "https://idp.example.com/"));
        CHECK(jwtgate_verified_header_count(ok) == 2);
        jwtgate_str name, value;
        CHECK(jwtgate_verified_header_at(ok, 0, &name, &value) == JWTGATE_OK);
        CHECK(str_eq(name, "X-Org") && str_eq(value, "Engines"));
        CHECK(jwtgate_verified_header_at(ok, 1, &name, &value) == JWTGATE_OK);
        CHECK(str_eq(name, "X-User") && str_eq(value, "ada"));
        CHECK(jwtgate_verified_header_at(ok, 2, &name, &value) == JWTGATE_INVALID_PARAMETER);
        CHECK(jwtgate_verified_header_at(ok, 0, NULL, &value) == JWTGATE_NULL_PARAMETER);
        jwtgate_str header = jwtgate_verified_header_json(ok);
        CHECK(header.data && memmem(header.data, header.len, "\"k1\"", 4) != NULL);

        char buf[64];
        size_t n = 0;
        CHECK(jwtgate_verified_claim(ok, S("sub"), JWTGATE_CLAIM_JSON, buf, sizeof buf, &n) == JWTGATE_OK);
        CHECK(n == 5 && strcmp(buf, "\"ada\"") == 0);
        CHECK(jwtgate_verified_claim(ok, S("sub"), JWTGATE_CLAIM_TEXT, buf, sizeof buf, &n) == JWTGATE_OK);
        CHECK(n == 3 && strcmp(buf, "ada") == 0);
        CHECK(jwtgate_verified_claim(ok, S("/org/name"), JWTGATE_CLAIM_TEXT, buf, sizeof buf, &n) == JWTGATE_OK);
        CHECK(strcmp(buf, "Engines") == 0);
        CHECK(jwtgate_verified_claim(ok, S("org"), JWTGATE_CLAIM_TEXT, buf, sizeof buf, &n) == JWTGATE_OK);
        CHECK(strcmp(buf, "{\"name\":\"Engines\"}") == 0);
        CHECK(jwtgate_verified_claim(ok, S("n"), JWTGATE_CLAIM_JSON, buf, sizeof buf, &n) == JWTGATE_OK);
        CHECK(strcmp(buf, "4") == 0);
        CHECK(jwtgate_verified_claim(ok, S("missing"), JWTGATE_CLAIM_JSON, buf, sizeof buf, &n) == JWTGATE_NOT_FOUND);
        CHECK(jwtgate_verified_claim(ok, S("sub"), 7, buf, sizeof buf, &n) == JWTGATE_INVALID_PARAMETER);
        CHECK(jwtgate_verified_claim(ok, S("sub"), JWTGATE_CLAIM_JSON, buf, sizeof buf, NULL) == JWTGATE_NULL_PARAMETER);
        /* Too small: the size needed comes back, the buffer is not overrun. */
        char small[5] = {'x', 'x', 'x', 'x', 'x'};
        n = 0;
        CHECK(jwtgate_verified_claim(ok, S("sub"), JWTGATE_CLAIM_JSON, small, 4, &n) == JWTGATE_BUFFER_TOO_SMALL);
        CHECK(n == 5 && small[4] == 'x');
        CHECK(jwtgate_verified_claim(ok, S("sub"), JWTGATE_CLAIM_JSON, NULL, 0, &n) == JWTGATE_BUFFER_TOO_SMALL);
        CHECK(n == 5);
        const char bad_name[] = "s\xffub";
        CHECK(jwtgate_verified_claim(ok, bad_name, 4, JWTGATE_CLAIM_JSON, buf, sizeof buf, &n) == JWTGATE_INVALID_UTF8);
        /* The result outlives its verifier's other results. */
        jwtgate_verified_free(ok);
    }
    CHECK(jwtgate_verifier_cached_tokens(verifier) == 1);
    jwtgate_verifier_clear_cache(verifier);
    CHECK(jwtgate_verifier_cached_tokens(verifier) == 0);
    {
        jwtgate_verified *again = NULL;
        CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &again, NULL) == JWTGATE_OK);
        jwtgate_verified_free(again);
    }
    CHECK(jwtgate_verifier_cached_tokens(verifier) == 1);

    /* Rejections carry code, claim, status and challenge. */
    jwtgate_verified *out = NULL;
    jwtgate_error *e = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW + 601, &out, &e) == JWTGATE_EXPIRED);
    CHECK(out == NULL && str_eq(jwtgate_error_claim(e), "exp") && jwtgate_error_http_status(e) == 401);
    jwtgate_str www = jwtgate_error_www_authenticate(e);
    CHECK(www.data && memmem(www.data, www.len, "error=\"invalid_token\"", 21) != NULL);
    jwtgate_error_free(e);

    char *wrong_dept = sign(signer, "{\"iss\":\"https://idp.example.com/\",\"aud\":\"api://orders\",\"dept\":\"HR\"}");
    e = NULL;
    CHECK(jwtgate_verifier_verify(verifier, wrong_dept, strlen(wrong_dept), true, NOW, &out, &e) == JWTGATE_CLAIM);
    CHECK(str_eq(jwtgate_error_claim(e), "dept") && jwtgate_error_http_status(e) == 403);
    www = jwtgate_error_www_authenticate(e);
    CHECK(www.data && memmem(www.data, www.len, "insufficient_scope", 18) != NULL);
    jwtgate_error_free(e);

    /* A flipped signature byte; a token cut short; bytes that are not UTF-8. */
    char *tampered = strdup(token);
    size_t len = strlen(tampered);
    tampered[len - 2] = tampered[len - 2] == 'A' ? 'B' : 'A';
    CHECK(jwtgate_verifier_verify(verifier, tampered, len, true, NOW, &out, NULL) == JWTGATE_SIGNATURE);
    CHECK(jwtgate_verifier_verify(verifier, token, 20, true, NOW, &out, NULL) == JWTGATE_MALFORMED);
    CHECK(jwtgate_verifier_verify(verifier, "\xff\xfe.\xff.\xff", 6, true, NOW, &out, NULL) == JWTGATE_MALFORMED);
    CHECK(jwtgate_verifier_verify(verifier, "", 0, true, NOW, &out, NULL) == JWTGATE_MALFORMED);
    CHECK(jwtgate_verifier_verify(verifier, NULL, 0, true, NOW, &out, NULL) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, NULL, NULL) == JWTGATE_NULL_PARAMETER);
    CHECK(out == NULL);
    free(tampered);

    /* Signer misuse. */
    jwtgate_signer *bad = NULL;
    CHECK(jwtgate_signer_from_secret(S("HS999"), SECRET, 32, NULL, 0, &bad, NULL) == JWTGATE_INVALID_PARAMETER);
    e = NULL;
    CHECK(jwtgate_signer_from_secret(S("HS256"), SECRET, 8, NULL, 0, &bad, &e) == JWTGATE_KEY);
    CHECK(bad == NULL && jwtgate_error_message(e).len > 0 && jwtgate_error_http_status(e) == 0);
    jwtgate_error_free(e);
    CHECK(jwtgate_signer_from_pem(S("RS256"), S("not a pem"), NULL, 0, &bad, NULL) == JWTGATE_KEY);
    char *t2 = NULL;
    CHECK(jwtgate_signer_sign(signer, S("[1,2]"), false, 0, false, 0, &t2, NULL, NULL) == JWTGATE_MALFORMED);
    CHECK(jwtgate_signer_sign(signer, S("{\"a\":"), false, 0, false, 0, &t2, NULL, NULL) == JWTGATE_MALFORMED);
    CHECK(t2 == NULL);

    jwtgate_string_free(wrong_dept);
    jwtgate_string_free(token);
    jwtgate_signer_free(signer);
    jwtgate_verifier_free(verifier);
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* A request: header pairs and a query string. */
typedef struct {
    const char *names[4];
    const char *values[4];
} request;

static bool lookup(void *userdata, const char *name, size_t name_len, jwtgate_str *out_value) {
    const request *r = userdata;
    for (int i = 0; i < 4 && r->names[i]; i++) {
        if (strlen(r->names[i]) == name_len && strncasecmp(r->names[i], name, name_len) == 0) {
            out_value->data = r->values[i];
            out_value->len = strlen(r->values[i]);
            return true;
        }
    }
    return false;
}

static void test_cache_off(void) {
    const char *policy =
        "{\"issuers\":[{\"algorithms\":[\"HS256\"],"
        "\"keys\":{\"hmac_secret\":\"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\"}}],"
        "\"cache\":{\"max_entries\":0}}";
    jwtgate_verifier *verifier = NULL;
    CHECK(jwtgate_verifier_new(policy, strlen(policy), &verifier, NULL) == JWTGATE_OK);
    jwtgate_signer *signer = hs256();
    char *token = sign(signer, "{\"sub\":\"ada\"}");
    for (int round = 0; round < 2; round++) {
        jwtgate_verified *ok = NULL;
        CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW + 1, &ok, NULL) == JWTGATE_OK);
        jwtgate_verified_free(ok);
        CHECK(jwtgate_verifier_cached_tokens(verifier) == 0);
        jwtgate_verifier_clear_cache(verifier); /* nothing to clear: does nothing */
    }
    jwtgate_string_free(token);
    jwtgate_signer_free(signer);
    jwtgate_verifier_free(verifier);
}

static void test_pem_signer_and_policy_file(void) {
    const char *pem = read_file("tests/keys/ecp256.pem");
    CHECK(pem != NULL);
    if (!pem) return;
    jwtgate_signer *signer = NULL;
    jwtgate_error *e = NULL;
    CHECK(jwtgate_signer_from_pem(S("ES256"), pem, strlen(pem), NULL, 0, &signer, &e) == JWTGATE_OK);
    jwtgate_error_free(e);
    char *token = NULL;
    CHECK(jwtgate_signer_sign(signer, S("{\"sub\":\"ada\",\"scope\":\"orders:read\"}"), true, 60, true, NOW, &token,
                              NULL, NULL) == JWTGATE_OK);

    char dir[] = "/tmp/jwtgate-c-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], key[256], cmd[600];
    snprintf(key, sizeof key, "%s/key.pem", dir);
    snprintf(cmd, sizeof cmd, "cp tests/keys/ecp256.pub.pem %s", key);
    CHECK(system(cmd) == 0);
    snprintf(path, sizeof path, "%s/policy.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"issuers\":[{\"algorithms\":[\"ES256\"],\"keys\":{\"pem_file\":\"key.pem\"}}]}", f);
    fclose(f);

    jwtgate_verifier *verifier = NULL;
    CHECK(jwtgate_verifier_from_file(path, strlen(path), &verifier, NULL) == JWTGATE_OK);
    jwtgate_verified *ok = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &ok, NULL) == JWTGATE_OK);
    jwtgate_verified_free(ok);
    jwtgate_verifier_free(verifier);

    /* An overlay adds a per-location rule and a forwarded header. */
    const char *need_write = "{\"claims\":{\"scope\":{\"contains_all\":[\"orders:write\"],\"required\":true}}}";
    verifier = NULL;
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), need_write, strlen(need_write), &verifier, NULL) ==
          JWTGATE_OK);
    e = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &ok, &e) == JWTGATE_CLAIM);
    CHECK(str_eq(jwtgate_error_claim(e), "scope") && jwtgate_error_http_status(e) == 403);
    jwtgate_error_free(e);
    jwtgate_verifier_free(verifier);

    const char *need_read = "{\"claims\":{\"scope\":{\"contains_any\":[\"orders:read\"]}},"
                            "\"claims_to_headers\":{\"sub\":\"X-Sub\"},\"payload_header\":\"X-Payload\"}";
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), need_read, strlen(need_read), &verifier, NULL) ==
          JWTGATE_OK);
    ok = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &ok, NULL) == JWTGATE_OK);
    jwtgate_str name, value;
    CHECK(jwtgate_verified_header_count(ok) == 2);
    CHECK(jwtgate_verified_header_at(ok, 0, &name, &value) == JWTGATE_OK && str_eq(name, "X-Sub") &&
          str_eq(value, "ada"));
    CHECK(jwtgate_verified_header_at(ok, 1, &name, &value) == JWTGATE_OK && str_eq(name, "X-Payload"));
    jwtgate_verified_free(ok);
    jwtgate_verifier_free(verifier);

    /* Alternatives and a per-rule status: the first alternative fails, the
     * second holds; then neither holds and the first one's 401 answers. */
    jwtgate_str msg;
    const char *either = "{\"any_of\":[{\"scope\":{\"contains_any\":[\"orders:admin\"]}},"
                         "{\"sub\":{\"equals\":\"ada\"}}]}";
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), either, strlen(either), &verifier, NULL) == JWTGATE_OK);
    ok = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &ok, NULL) == JWTGATE_OK);
    jwtgate_verified_free(ok);
    jwtgate_verifier_free(verifier);
    const char *step_up = "{\"any_of\":[{\"acr\":{\"equals\":\"mfa\",\"status\":401}},"
                          "{\"sub\":{\"equals\":\"bob\"}}]}";
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), step_up, strlen(step_up), &verifier, NULL) ==
          JWTGATE_OK);
    e = NULL;
    CHECK(jwtgate_verifier_verify(verifier, token, strlen(token), true, NOW, &ok, &e) == JWTGATE_CLAIM);
    CHECK(str_eq(jwtgate_error_claim(e), "acr") && jwtgate_error_http_status(e) == 401);
    jwtgate_str www = jwtgate_error_www_authenticate(e);
    CHECK(www.data && memmem(www.data, www.len, "invalid_token", 13) != NULL);
    jwtgate_error_free(e);
    jwtgate_verifier_free(verifier);

    /* jwtgate_route_add_any_of: the Nginx directive's path; errors name the alternative. */
    jwtgate_route *route = NULL;
    CHECK(jwtgate_route_new(&route) == JWTGATE_OK);
    CHECK(jwtgate_route_add_any_of(route, S("[{\"roles\":{\"contains_any\":[\"admin\"]}}]"), NULL) == JWTGATE_OK);
    e = NULL;
    CHECK(jwtgate_route_add_any_of(route, S("[{\"a\":{\"equals\":1}},{}]"), &e) == JWTGATE_POLICY);
    msg = jwtgate_error_message(e);
    CHECK(msg.data && memmem(msg.data, msg.len, "any_of[1]", 9) != NULL);
    jwtgate_error_free(e);
    CHECK(jwtgate_route_add_any_of(NULL, S("[]"), NULL) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_route_add_any_of(route, NULL, 2, NULL) == JWTGATE_NULL_PARAMETER);
    jwtgate_route_free(route);

    e = NULL;
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), S("{\"claimz\":{}}"), &verifier, &e) == JWTGATE_POLICY);
    msg = jwtgate_error_message(e);
    CHECK(msg.data && memmem(msg.data, msg.len, "claimz", 6) != NULL);
    jwtgate_error_free(e);

    /* An overlay cannot weaken a rule the policy file has: an empty rule is refused. */
    f = fopen(path, "w");
    fputs("{\"issuers\":[{\"algorithms\":[\"ES256\"],\"keys\":{\"pem_file\":\"key.pem\"},"
          "\"claims\":{\"scope\":{\"contains_all\":[\"orders:read\"]}}}]}", f);
    fclose(f);
    const char *weaker = "{\"claims\":{\"scope\":{}}}";
    e = NULL;
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), weaker, strlen(weaker), &verifier, &e) ==
          JWTGATE_POLICY);
    msg = jwtgate_error_message(e);
    CHECK(msg.data && memmem(msg.data, msg.len, "scope", 5) != NULL);
    jwtgate_error_free(e);

    /* An overlay's token sources replace the policy's. */
    const char *cookie_only = "{\"token_sources\":[{\"cookie\":\"c\"}]}";
    verifier = NULL;
    CHECK(jwtgate_verifier_from_file_with(path, strlen(path), cookie_only, strlen(cookie_only), &verifier, NULL) ==
          JWTGATE_OK);
    char buf[64];
    size_t n = 0;
    request bearer = {{"Authorization"}, {"Bearer a.b.c"}};
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &bearer, NULL, 0, buf, sizeof buf, &n) == JWTGATE_NOT_FOUND);
    request cookie = {{"Cookie"}, {"c=x.y.z"}};
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &cookie, NULL, 0, buf, sizeof buf, &n) == JWTGATE_OK);
    CHECK(strcmp(buf, "x.y.z") == 0);
    jwtgate_verifier_free(verifier);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    jwtgate_string_free(token);
    jwtgate_signer_free(signer);
}

static void test_find_token(void) {
    jwtgate_verifier *verifier = NULL;
    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), &verifier, NULL) == JWTGATE_OK);
    char buf[64];
    size_t n = 0;
    request bearer = {{"Authorization"}, {"Bearer abc.def.ghi"}};
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &bearer, NULL, 0, buf, sizeof buf, &n) == JWTGATE_OK);
    CHECK(n == 11 && strcmp(buf, "abc.def.ghi") == 0);
    request cookie = {{"authorization", "Cookie"}, {"Basic xyz", "a=1; at=c.o.k"}};
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &cookie, NULL, 0, buf, sizeof buf, &n) == JWTGATE_OK);
    CHECK(strcmp(buf, "c.o.k") == 0);
    request none = {{NULL}, {NULL}};
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &none, S("x=1&access_token=q%2Eq.q"), buf, sizeof buf, &n) ==
          JWTGATE_OK);
    CHECK(strcmp(buf, "q.q.q") == 0);
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &none, S("x=1"), buf, sizeof buf, &n) == JWTGATE_NOT_FOUND);
    CHECK(jwtgate_verifier_find_token(verifier, lookup, &bearer, NULL, 0, buf, 5, &n) == JWTGATE_BUFFER_TOO_SMALL);
    CHECK(n == 11);
    CHECK(jwtgate_verifier_find_token(verifier, NULL, &bearer, NULL, 0, buf, sizeof buf, &n) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_verifier_find_token(NULL, lookup, &bearer, NULL, 0, buf, sizeof buf, &n) == JWTGATE_NULL_PARAMETER);
    jwtgate_verifier_free(verifier);
}

/* 8 threads share one verifier: valid, expired and tampered tokens. */
typedef struct {
    const jwtgate_verifier *verifier;
    const char *good, *bad;
    int errors;
} shared;

static void *worker(void *arg) {
    shared *s = arg;
    int errors = 0;
    for (int i = 0; i < 200; i++) {
        jwtgate_verified *ok = NULL;
        jwtgate_error *e = NULL;
        if (jwtgate_verifier_verify(s->verifier, s->good, strlen(s->good), true, NOW, &ok, NULL) != JWTGATE_OK ||
            !str_eq(jwtgate_verified_issuer(ok), "https://idp.example.com/"))
            errors++;
        jwtgate_verified_free(ok);
        if (jwtgate_verifier_verify(s->verifier, s->good, strlen(s->good), true, NOW + 700, &ok, &e) != JWTGATE_EXPIRED)
            errors++;
        jwtgate_error_free(e);
        e = NULL;
        if (jwtgate_verifier_verify(s->verifier, s->bad, strlen(s->bad), true, NOW, &ok, &e) != JWTGATE_SIGNATURE)
            errors++;
        jwtgate_error_free(e);
    }
    __atomic_add_fetch(&s->errors, errors, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_threads(void) {
    jwtgate_verifier *verifier = NULL;
    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), &verifier, NULL) == JWTGATE_OK);
    jwtgate_signer *signer = hs256();
    char *good = sign(signer, "{\"iss\":\"https://idp.example.com/\",\"aud\":\"api://orders\",\"sub\":\"ada\"}");
    char *bad = strdup(good);
    bad[strlen(bad) - 3] ^= 1;
    shared s = {verifier, good, bad, 0};
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) CHECK(pthread_create(&threads[i], NULL, worker, &s) == 0);
    for (int i = 0; i < 8; i++) pthread_join(threads[i], NULL);
    CHECK(s.errors == 0);
    free(bad);
    jwtgate_string_free(good);
    jwtgate_signer_free(signer);
    jwtgate_verifier_free(verifier);
}

/* A replay store of the caller's: the verifier owns its context once set,
 * releases it once when replaced or freed, and keeps nothing on failure. */
static int replay_frees[2];

static uint32_t replay_never_seen(void *ctx, const char *key, size_t key_len, double expires_at, double now) {
    (void)ctx; (void)key; (void)key_len; (void)expires_at; (void)now;
    return JWTGATE_REPLAY_FRESH;
}

static void replay_release(void *ctx) {
    ++*(int *)ctx;
}

static void test_replay_store_ownership(void) {
    const char *dpop = "{\"issuers\": [{\"issuer\": \"https://idp.example.com/\", \"algorithms\": [\"HS256\"],"
                       " \"keys\": {\"hmac_secret\": \"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\"},"
                       " \"dpop\": {\"mode\": \"allowed\", \"origin\": \"https://api.example.com\"}}]}";
    jwtgate_verifier *v = NULL, *plain = NULL;
    CHECK(jwtgate_verifier_new(dpop, strlen(dpop), &v, NULL) == JWTGATE_OK);
    CHECK(jwtgate_verifier_new(POLICY, strlen(POLICY), &plain, NULL) == JWTGATE_OK);
    CHECK(jwtgate_verifier_replay_store_in_process(v));
    CHECK(!jwtgate_verifier_replay_store_in_process(plain));  /* no DPoP: nothing to remember */
    CHECK(!jwtgate_verifier_replay_store_in_process(NULL));
    CHECK(jwtgate_verifier_set_replay_store(NULL, replay_never_seen, &replay_frees[0], replay_release)
          == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_verifier_set_replay_store(v, NULL, &replay_frees[0], replay_release) == JWTGATE_NULL_PARAMETER);
    CHECK(replay_frees[0] == 0);
    CHECK(jwtgate_verifier_set_replay_store(v, replay_never_seen, &replay_frees[0], replay_release) == JWTGATE_OK);
    CHECK(jwtgate_verifier_set_replay_store(v, replay_never_seen, &replay_frees[1], replay_release) == JWTGATE_OK);
    CHECK(replay_frees[0] == 1 && replay_frees[1] == 0);  /* the replaced store's context is released */
    CHECK(jwtgate_verifier_set_replay_store(plain, replay_never_seen, NULL, NULL) == JWTGATE_OK);
    jwtgate_verifier_free(v);
    jwtgate_verifier_free(plain);
    CHECK(replay_frees[0] == 1 && replay_frees[1] == 1);
}

static void test_nonce_secret(void) {
    const char *dpop = "{\"issuers\": [{\"issuer\": \"https://idp.example.com/\", \"algorithms\": [\"HS256\"],"
                       " \"keys\": {\"hmac_secret\": \"BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc\"},"
                       " \"dpop\": {\"nonce\": true, \"origin\": \"https://api.example.com\"}}]}";
    uint8_t secret[32];
    jwtgate_verifier *v = NULL;
    memset(secret, 9, sizeof secret);
    CHECK(jwtgate_verifier_new(dpop, strlen(dpop), &v, NULL) == JWTGATE_OK);
    CHECK(jwtgate_verifier_set_nonce_secret(v, secret, sizeof secret) == JWTGATE_OK);
    CHECK(jwtgate_verifier_set_nonce_secret(v, secret, 31) == JWTGATE_INVALID_ARGUMENT);
    CHECK(jwtgate_verifier_set_nonce_secret(v, NULL, sizeof secret) == JWTGATE_NULL_PARAMETER);
    CHECK(jwtgate_verifier_set_nonce_secret(NULL, secret, sizeof secret) == JWTGATE_NULL_PARAMETER);
    jwtgate_verifier_free(v);
}

int main(void) {
    test_nulls_and_frees();
    test_codes_and_version();
    test_policy_errors();
    test_documents_are_strict_json();
    test_verify_and_accessors();
    test_cache_off();
    test_pem_signer_and_policy_file();
    test_find_token();
    test_threads();
    test_replay_store_ownership();
    test_nonce_secret();
    printf("# api: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
