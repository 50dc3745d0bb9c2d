/* store_registry.c - the registry HTTP client that `pull` drives (ollama-compat.md §4.4),
 * on libcurl: the process-wide curl initialisation, the common handle options (https only
 * unless --insecure, user agent, timeouts), small bounded GETs (manifest, token) that keep
 * the WWW-Authenticate header, the anonymous bearer-token exchange a 401 asks for, and
 * resolving a blob's download URL (same-host redirects followed, a cross-host redirect, the
 * CDN, is the answer). The ranged multi-part download itself is in store_pull.c. */
#include "store.h"
#include "store_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

/* Set by store_global_init; store_pull asserts it. Written before any thread starts. */
static bool store_net_ready;

pp_status store_global_init(pp_err *err) {
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK) return pp_err_set(err, PP_ERR_IO, "curl: global init failed: %s", curl_easy_strerror(rc));
    store_net_ready = true;
    return PP_OK;
}

bool store_global_ready(void) { return store_net_ready; }

void store_set_protocols(pull_ctx *c, CURL *h) {
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, c->p.insecure ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, c->p.insecure ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "pippa/" PIPPA_VERSION);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 30L);
}

/* ---- small GETs (manifest, token) --------------------------------------------------- */

static size_t mem_write(char *ptr, size_t sz, size_t nm, void *ud) {
    membuf *m = ud;
    size_t n = sz * nm;
    if (m->b.len + n > m->max) {
        m->too_big = true;
        return 0;
    }
    store_buf_add(&m->b, ptr, n);
    return m->b.oom ? 0 : n;
}

static size_t hdr_write(char *ptr, size_t sz, size_t nm, void *ud) {
    membuf *m = ud;
    size_t n = sz * nm;
    static const char H[] = "www-authenticate:";
    if (n > sizeof H && !strncasecmp(ptr, H, sizeof H - 1)) {
        size_t l = n - (sizeof H - 1);
        if (l >= sizeof m->www_auth) l = sizeof m->www_auth - 1;
        memcpy(m->www_auth, ptr + sizeof H - 1, l);
        m->www_auth[l] = 0;
        char *e = m->www_auth + strlen(m->www_auth);
        while (e > m->www_auth && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' ')) *--e = 0;
    }
    return n;
}

/* GET url into m; *code = HTTP status. Follows redirects. */
pp_status store_http_get(pull_ctx *c, const char *url, const char *accept, membuf *m, long *code, pp_err *err) {
    CURL *h = curl_easy_init();
    if (!h) return pp_err_set(err, PP_ERR_NOMEM, "curl: out of memory");
    struct curl_slist *hdrs = NULL;
    char ah[256];
    if (accept) {
        snprintf(ah, sizeof ah, "Accept: %s", accept);
        hdrs = curl_slist_append(hdrs, ah);
    }
    if (c->auth[0]) hdrs = curl_slist_append(hdrs, c->auth);
    store_set_protocols(c, h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, mem_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, m);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, hdr_write);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, m);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    CURLcode rc = curl_easy_perform(h);
    pp_status st = PP_OK;
    if (rc != CURLE_OK) {
        if (m->too_big) st = pp_err_set(err, PP_ERR_FORMAT, "%s: response larger than %zu bytes", c->n.host, m->max);
        else if (rc == CURLE_UNSUPPORTED_PROTOCOL)
            st = pp_err_set(err, PP_ERR_ARG, "%s: refusing a plain http:// URL without --insecure", c->n.host);
        else st = pp_err_set(err, PP_ERR_IO, "cannot reach %s: %s", c->n.host, curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return st;
}

/* `Bearer realm="...",service="...",scope="..."` -> value of key, "" if absent. */
static void auth_param(const char *h, const char *key, char *out, size_t cap) {
    out[0] = 0;
    size_t kl = strlen(key);
    for (const char *p = h; (p = strstr(p, key)); p++) {
        if ((p == h || p[-1] == ' ' || p[-1] == ',') && p[kl] == '=' && p[kl + 1] == '"') {
            const char *v = p + kl + 2, *e = strchr(v, '"');
            if (!e) return;
            size_t l = (size_t)(e - v);
            if (l >= cap) l = cap - 1;
            memcpy(out, v, l);
            out[l] = 0;
            return;
        }
    }
}

/* Anonymous token from the realm named by a 401 (public repositories). */
pp_status store_fetch_token(pull_ctx *c, const char *www, pp_err *err) {
    char realm[512], service[256], scope[512];
    auth_param(www, "realm", realm, sizeof realm);
    auth_param(www, "service", service, sizeof service);
    auth_param(www, "scope", scope, sizeof scope);
    if (strncasecmp(www, "Bearer", 6) != 0 || !realm[0])
        return pp_err_set(err, PP_ERR_UNSUPPORTED, "%s requires authentication, which pippa does not support yet", c->n.host);
    CURL *h = curl_easy_init();
    if (!h) return pp_err_set(err, PP_ERR_NOMEM, "curl: out of memory");
    char *es = curl_easy_escape(h, service, 0), *ec = curl_easy_escape(h, scope, 0);
    char url[2048];
    snprintf(url, sizeof url, "%s?service=%s&scope=%s", realm, es ? es : "", ec ? ec : "");
    curl_free(es);
    curl_free(ec);
    curl_easy_cleanup(h);
    membuf m = {.max = 1 << 20};
    long code = 0;
    c->auth[0] = 0;
    pp_status st = store_http_get(c, url, NULL, &m, &code, err);
    if (st == PP_OK && code != 200)
        st = pp_err_set(err, PP_ERR_IO, "%s requires authentication (token request: HTTP %ld)", c->n.host, code);
    if (st == PP_OK) {
        json_error_t je;
        json_t *o = json_loadb(m.b.p ? m.b.p : "", m.b.len, 0, &je);
        const char *tok = json_string_value(json_object_get(o, "token"));
        if (!tok) tok = json_string_value(json_object_get(o, "access_token"));
        if (!tok || strlen(tok) > sizeof c->auth - 32) st = pp_err_set(err, PP_ERR_FORMAT, "%s: token response without a token", c->n.host);
        else snprintf(c->auth, sizeof c->auth, "Authorization: Bearer %s", tok);
        json_decref(o);
    }
    store_buf_free(&m.b);
    return st;
}

/* ---- blobs -------------------------------------------------------------------------- */

static size_t discard(char *p, size_t s, size_t n, void *ud) {
    (void)p;
    (void)ud;
    return s * n;
}

/* Resolves the blob URL: same-host redirects followed, a cross-host redirect is the answer. */
pp_status store_resolve_blob_url(pull_ctx *c, const char *digest, char *url, size_t cap, pp_err *err) {
    snprintf(url, cap, "%s/v2/%s/%s/blobs/%s", c->base, c->n.ns, c->n.model, digest);
    for (int hop = 0; hop <= 10; hop++) {
        CURL *h = curl_easy_init();
        if (!h) return pp_err_set(err, PP_ERR_NOMEM, "curl: out of memory");
        struct curl_slist *hdrs = NULL;
        if (c->auth[0]) hdrs = curl_slist_append(hdrs, c->auth);
        store_set_protocols(c, h);
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_RANGE, "0-0");
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
        CURLcode rc = curl_easy_perform(h);
        long code = 0;
        char *loc = NULL;
        char *host_now = NULL, *host_loc = NULL;
        pp_status st = PP_OK;
        bool done = true;
        if (rc != CURLE_OK) {
            st = rc == CURLE_UNSUPPORTED_PROTOCOL
                     ? pp_err_set(err, PP_ERR_ARG, "%s: refusing a plain http:// URL without --insecure", c->n.host)
                     : pp_err_set(err, PP_ERR_IO, "cannot reach %s: %s", c->n.host, curl_easy_strerror(rc));
        } else {
            curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
            if (code >= 300 && code < 400) {
                curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &loc);
                if (!loc) {
                    st = pp_err_set(err, PP_ERR_FORMAT, "%s: redirect without a Location for %s", c->n.host, digest);
                } else {
                    CURLU *u1 = curl_url(), *u2 = curl_url();
                    if (u1 && u2 && !curl_url_set(u1, CURLUPART_URL, url, 0) && !curl_url_set(u2, CURLUPART_URL, loc, 0)) {
                        curl_url_get(u1, CURLUPART_HOST, &host_now, 0);
                        curl_url_get(u2, CURLUPART_HOST, &host_loc, 0);
                    }
                    curl_url_cleanup(u1);
                    curl_url_cleanup(u2);
                    if (strlen(loc) >= cap) st = pp_err_set(err, PP_ERR_FORMAT, "%s: redirect URL too long", c->n.host);
                    else if (!c->p.insecure && strncasecmp(loc, "https://", 8) != 0)
                        st = pp_err_set(err, PP_ERR_ARG, "%s: redirect to a plain http:// URL refused (use --insecure)", c->n.host);
                    else {
                        bool same = host_now && host_loc && !strcasecmp(host_now, host_loc);
                        snprintf(url, cap, "%s", loc);
                        if (same) done = false; /* follow on the registry host */
                    }
                }
            } else if (code == 404) {
                st = pp_err_set(err, PP_ERR_NOT_FOUND, "%s: blob %s not found (HTTP 404)", c->n.host, digest);
            } else if (code != 200 && code != 206) {
                st = pp_err_set(err, PP_ERR_IO, "%s: blob %s: HTTP %ld", c->n.host, digest, code);
            }
        }
        curl_free(host_now);
        curl_free(host_loc);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        if (st != PP_OK || done) return st;
    }
    return pp_err_set(err, PP_ERR_IO, "%s: too many redirects for %s", c->n.host, digest);
}
