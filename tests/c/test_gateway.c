/* The shared gateway vectors through jwtgate_verifier_decide: status, code,
 * challenge, and the headers and target the upstream sees once the decision
 * is applied. Input: the lines of tests/c/gateway_to_lines.py. Run under
 * valgrind by bindings-c/test.sh. */
#include <jwtgate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADERS 32
#define MAX_ROUTES 8
#define MAX_EXPECT 16

struct pair { char *name; char *value; };

struct kase {
    char *name, *method, *url, *code, *www, *upstream_url;
    char *routes[MAX_ROUTES]; int n_routes;
    struct pair headers[MAX_HEADERS]; int n_headers;
    struct pair upstream[MAX_EXPECT]; int n_upstream;
    int status;
};

static int failures, cases;

static void fail(const struct kase *k, const char *what) {
    printf("not ok - %s: %s\n", k->name, what);
    failures++;
}

static int str_is(jwtgate_str s, const char *want) {
    if (strcmp(want, "-") == 0) return s.data == NULL;
    return s.data != NULL && s.len == strlen(want) && memcmp(s.data, want, s.len) == 0;
}

static int str_eq_ci(jwtgate_str s, const char *name) {
    return s.len == strlen(name) && strncasecmp(s.data, name, s.len) == 0;
}

/* What the upstream sees for header `name`: NULL when absent. Counts
 * occurrences so a duplicate shows up as a failure. */
static const char *upstream_value(const struct kase *k, const jwtgate_decision *d, const char *name,
                                  size_t *value_len, int *count) {
    const char *found = NULL;
    *count = 0;
    for (int i = 0; i < k->n_headers; i++) {
        if (strcasecmp(k->headers[i].name, name) != 0) continue;
        if (!jwtgate_decision_removes_header(d, k->headers[i].name, strlen(k->headers[i].name))) { found = k->headers[i].value; *value_len = strlen(found); (*count)++; }
    }
    for (size_t i = 0; i < jwtgate_decision_set_headers_len(d); i++) {
        jwtgate_str n, v;
        if (jwtgate_decision_set_header(d, i, &n, &v) != JWTGATE_OK) return NULL;
        if (str_eq_ci(n, name)) { found = v.data; *value_len = v.len; (*count)++; }
    }
    return found;
}

static void run(const jwtgate_verifier *verifier, struct kase *k) {
    cases++;
    jwtgate_route *route = NULL;
    if (jwtgate_route_new(&route) != JWTGATE_OK) { fail(k, "route_new"); return; }
    for (int i = 0; i < k->n_routes; i++) {
        jwtgate_route *level = NULL, *merged = NULL;
        jwtgate_error *error = NULL;
        if (jwtgate_route_from_json(verifier, k->routes[i], strlen(k->routes[i]), &level, &error) != JWTGATE_OK
            || jwtgate_route_merge(route, level, &merged, &error) != JWTGATE_OK) {
            fail(k, "route does not compile");
            jwtgate_error_free(error);
            jwtgate_route_free(level);
            jwtgate_route_free(route);
            return;
        }
        jwtgate_route_free(level);
        jwtgate_route_free(route);
        route = merged;
    }
    jwtgate_header headers[MAX_HEADERS];
    for (int i = 0; i < k->n_headers; i++) {
        headers[i] = (jwtgate_header){k->headers[i].name, strlen(k->headers[i].name),
                                      k->headers[i].value, strlen(k->headers[i].value)};
    }
    jwtgate_request req = {0};
    req.method = k->method; req.method_len = strlen(k->method);
    req.url = k->url; req.url_len = strlen(k->url);
    req.headers = headers; req.headers_len = (size_t)k->n_headers;
    jwtgate_decision *d = NULL;
    if (jwtgate_verifier_decide(verifier, &req, route, &d, NULL) != JWTGATE_OK) {
        fail(k, "decide failed");
        jwtgate_route_free(route);
        return;
    }
    int allow = k->status == 200;
    if (jwtgate_decision_allow(d) != allow) fail(k, "allow");
    if (jwtgate_decision_status(d) != k->status) fail(k, "status");
    if (!str_is(jwtgate_decision_code(d), k->code)) fail(k, "code");
    jwtgate_str www = {NULL, 0};
    for (size_t i = 0; i < jwtgate_decision_response_headers_len(d); i++) {
        jwtgate_str n, v;
        if (jwtgate_decision_response_header(d, i, &n, &v) == JWTGATE_OK && str_eq_ci(n, "WWW-Authenticate")) www = v;
    }
    if (!str_is(www, k->www)) fail(k, "WWW-Authenticate");
    if (!allow && jwtgate_decision_body(d).data == NULL) fail(k, "no body");
    if (allow) {
        for (int i = 0; i < k->n_upstream; i++) {
            size_t len = 0; int count = 0;
            const char *seen = upstream_value(k, d, k->upstream[i].name, &len, &count);
            const char *want = k->upstream[i].value;
            int ok = strcmp(want, "-") == 0 ? seen == NULL
                   : count == 1 && len == strlen(want) && memcmp(seen, want, len) == 0;
            if (!ok) fail(k, k->upstream[i].name);
        }
        jwtgate_str url = jwtgate_decision_upstream_url(d);
        const char *target = url.data ? NULL : k->url;
        int ok = target ? strcmp(target, k->upstream_url) == 0
                        : url.len == strlen(k->upstream_url) && memcmp(url.data, k->upstream_url, url.len) == 0;
        if (!ok) fail(k, "upstream URL");
        jwtgate_str into = {"unchanged", 9};
        bool has = jwtgate_decision_upstream_url_into(d, &into);
        if (has != (url.data != NULL) || (has ? into.data != url.data || into.len != url.len
                                              : into.data[0] != 'u' || into.len != 9))
            fail(k, "upstream URL through the out-parameter");
        jwtgate_str claims = jwtgate_decision_claims_json(d);
        for (size_t i = 0; i < claims.len; i++)
            if ((unsigned char)claims.data[i] < 0x20 || (unsigned char)claims.data[i] > 0x7e) { fail(k, "claims JSON not ASCII"); break; }
        jwtgate_str name = jwtgate_decision_claim_value(d, "name", 4);
        for (size_t i = 0; i < name.len; i++)
            if ((unsigned char)name.data[i] < 0x20 || (unsigned char)name.data[i] > 0x7e) { fail(k, "claim value not header-safe"); break; }
    }
    jwtgate_decision_free(d);
    jwtgate_route_free(route);
}

static void clear(struct kase *k) {
    free(k->name); free(k->method); free(k->url); free(k->code); free(k->www); free(k->upstream_url);
    for (int i = 0; i < k->n_routes; i++) free(k->routes[i]);
    for (int i = 0; i < k->n_headers; i++) { free(k->headers[i].name); free(k->headers[i].value); }
    for (int i = 0; i < k->n_upstream; i++) { free(k->upstream[i].name); free(k->upstream[i].value); }
    memset(k, 0, sizeof *k);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s LINES\n", argv[0]); return 2; }
    jwtgate_str none = {"kept", 4};
    if (jwtgate_decision_upstream_url_into(NULL, &none) || none.len != 4
        || jwtgate_decision_upstream_url_into(NULL, NULL)) {
        fprintf(stderr, "FAIL: jwtgate_decision_upstream_url_into with NULL\n");
        return 1;
    }
    FILE *in = fopen(argv[1], "r");
    if (!in) { perror(argv[1]); return 2; }
    char *line = NULL; size_t cap = 0; ssize_t n;
    jwtgate_verifier *verifier = NULL;
    struct kase k = {0};
    while ((n = getline(&line, &cap, in)) > 0) {
        if (line[n - 1] == '\n') line[--n] = 0;
        char *tab = strchr(line, '\t');
        char *value = tab ? (*tab = 0, tab + 1) : line + n;
        char *second = strchr(value, '\t');
        if (second) *second++ = 0;
        if (strcmp(line, "policy") == 0) {
            jwtgate_verifier_free(verifier);
            verifier = NULL;
            if (jwtgate_verifier_new(value, strlen(value), &verifier, NULL) != JWTGATE_OK) {
                fprintf(stderr, "policy does not load\n");
                return 1;
            }
        } else if (strcmp(line, "case") == 0) k.name = strdup(value);
        else if (strcmp(line, "route") == 0 && k.n_routes < MAX_ROUTES) k.routes[k.n_routes++] = strdup(value);
        else if (strcmp(line, "method") == 0) k.method = strdup(value);
        else if (strcmp(line, "url") == 0) k.url = strdup(value);
        else if (strcmp(line, "header") == 0 && k.n_headers < MAX_HEADERS)
            k.headers[k.n_headers++] = (struct pair){strdup(value), strdup(second ? second : "")};
        else if (strcmp(line, "status") == 0) k.status = atoi(value);
        else if (strcmp(line, "code") == 0) k.code = strdup(value);
        else if (strcmp(line, "www") == 0) k.www = strdup(value);
        else if (strcmp(line, "upstream") == 0 && k.n_upstream < MAX_EXPECT)
            k.upstream[k.n_upstream++] = (struct pair){strdup(value), strdup(second ? second : "-")};
        else if (strcmp(line, "upstream_url") == 0) k.upstream_url = strdup(value);
        else if (strcmp(line, "end") == 0) {
            if (!k.upstream_url) k.upstream_url = strdup(k.url);
            run(verifier, &k);
            clear(&k);
        }
    }
    free(line);
    fclose(in);
    jwtgate_verifier_free(verifier);
    printf("%d passed, %d failed\n", cases - failures, failures);
    if (cases < 30) { fprintf(stderr, "only %d gateway cases\n", cases); return 1; }
    return failures ? 1 : 0;
}
