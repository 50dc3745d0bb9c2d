/* cmd_ps.c - `pippa ps` (loaded models, Ollama's table: NAME ID SIZE PROCESSOR CONTEXT
 * UNTIL, ollama-compat.md §1.5) and `pippa stop NAME` (unload: POST /api/generate with an
 * empty prompt and keep_alive 0, as `ollama stop` does). Both talk to the running server
 * named by PIPPA_HOST/OLLAMA_HOST over HTTP with libcurl. */
#include "cli.h"
#include "cli_flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../server/server.h"

#define PS_MAX_REPLY (8u << 20)

typedef struct reply {
    char *p;
    size_t n;
    bool too_big;
} reply;

static size_t on_body(char *data, size_t sz, size_t nm, void *ud) {
    reply *r = ud;
    size_t n = sz * nm;
    if (r->n + n > PS_MAX_REPLY) {
        r->too_big = true;
        return 0;
    }
    char *np = realloc(r->p, r->n + n + 1);
    if (!np) return 0;
    memcpy(np + r->n, data, n);
    r->p = np;
    r->n += n;
    r->p[r->n] = 0;
    return n;
}

/* Where the server listens: PIPPA_HOST, else OLLAMA_HOST, else 127.0.0.1:11434 (read by
 * the commands' parse step); an address that listens on all interfaces means this machine. */
typedef struct server_addr {
    char host[API_HOST_MAX];
    uint16_t port;
} server_addr;

static int server_addr_from_env(const char *cmd, server_addr *a) {
    pp_err err = {0};
    const char *env = getenv("PIPPA_HOST") ? getenv("PIPPA_HOST") : getenv("OLLAMA_HOST");
    a->port = API_DEFAULT_PORT;
    snprintf(a->host, sizeof a->host, "127.0.0.1");
    if (env && *env && api_host_parse(env, a->host, sizeof a->host, &a->port, &err)) {
        cli_error("%s: %s", cmd, err.msg);
        return 1;
    }
    if (!strcmp(a->host, "0.0.0.0") || !strcmp(a->host, "::")) snprintf(a->host, sizeof a->host, "127.0.0.1");
    return 0;
}

/* One request; returns the HTTP status (0 on a transport error, message printed). */
static long http_call(const char *cmd, const server_addr *a, const char *method, const char *path, const char *body,
                      reply *out) {
    char url[API_HOST_MAX + 64];
    snprintf(url, sizeof url, strchr(a->host, ':') ? "http://[%s]:%u%s" : "http://%s:%u%s", a->host, a->port, path);
    CURL *c = curl_easy_init();
    if (!c) {
        cli_error("%s: cannot initialise libcurl", cmd);
        return 0;
    }
    struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    if (rc != CURLE_OK) cli_error("%s: %s: %s (is 'pippa serve' running?)", cmd, url, curl_easy_strerror(rc));
    else curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    return status;
}

static void print_error(const char *cmd, long status, const reply *r) {
    json_t *j = r->p ? json_loads(r->p, 0, NULL) : NULL;
    json_t *e = j ? json_object_get(j, "error") : NULL;
    if (json_is_string(e)) cli_error("%s: %s", cmd, json_string_value(e));
    else cli_error("%s: server answered HTTP %ld", cmd, status);
    json_decref(j);
}

/* "4 minutes from now", "Forever", "Stopping..." from an RFC 3339 UTC time. */
static void fmt_until(const char *ts, char *buf, size_t cap) {
    struct tm tm = {0};
    if (!ts || !strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(buf, cap, "?");
        return;
    }
    double d = difftime(timegm(&tm), time(NULL));
    if (d > 20.0 * 365 * 86400) snprintf(buf, cap, "Forever");
    else if (d <= 0) snprintf(buf, cap, "Stopping...");
    else if (d < 60) snprintf(buf, cap, "%d seconds from now", (int)d);
    else if (d < 120) snprintf(buf, cap, "About a minute from now");
    else if (d < 3600) snprintf(buf, cap, "%d minutes from now", (int)(d / 60));
    else if (d < 7200) snprintf(buf, cap, "About an hour from now");
    else if (d < 86400 * 2) snprintf(buf, cap, "%d hours from now", (int)(d / 3600));
    else snprintf(buf, cap, "%d days from now", (int)(d / 86400));
}

int cli_cmd_ps(int argc, char **argv) {
    cli_args a = {.cmd = "ps", .usage = "usage: pippa ps", .too_many = "ps: takes no arguments\n%.0susage: pippa ps",
                  .dash = CLI_DASH_NONE, .no_help = true};
    int rc = cli_flags_parse(&a, argc, argv);
    if (rc) return rc;
    server_addr addr;
    if (server_addr_from_env("ps", &addr)) return 1;
    reply r = {0};
    long st = http_call("ps", &addr, "GET", "/api/ps", NULL, &r);
    if (st != 200) {
        if (st) print_error("ps", st, &r);
        free(r.p);
        return 1;
    }
    json_t *j = json_loads(r.p ? r.p : "", 0, NULL);
    free(r.p);
    json_t *models = json_object_get(j, "models");
    if (!json_is_array(models)) {
        cli_error("ps: unexpected reply from the server");
        json_decref(j);
        return 1;
    }
    printf("%-24s    %-12s    %-10s    %-9s    %-7s    %s\n", "NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL");
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m) {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *digest = json_string_value(json_object_get(m, "digest"));
        char size[32], until[64];
        cli_fmt_size((uint64_t)json_integer_value(json_object_get(m, "size")), size, sizeof size);
        fmt_until(json_string_value(json_object_get(m, "expires_at")), until, sizeof until);
        printf("%-24s    %-12.12s    %-10s    %-9s    %-7lld    %s\n", name ? name : "?", digest ? digest : "", size,
               "100% CPU", (long long)json_integer_value(json_object_get(m, "context_length")), until);
    }
    json_decref(j);
    return 0;
}

#define STOP_USAGE "stop: expected one MODEL\nusage: pippa stop MODEL"

int cli_cmd_stop(int argc, char **argv) {
    const char *name = NULL;
    cli_args a = {.cmd = "stop", .usage = STOP_USAGE, .pos = &name, .max_pos = 1, .too_many = STOP_USAGE,
                  .dash = CLI_DASH_NONE, .no_help = true};
    int prc = cli_flags_parse(&a, argc, argv);
    if (prc) return prc;
    if (!name) {
        cli_error(STOP_USAGE);
        return 2;
    }
    server_addr addr;
    if (server_addr_from_env("stop", &addr)) return 1;
    json_t *req = json_object();
    json_object_set_new(req, "model", json_string(name));
    json_object_set_new(req, "prompt", json_string(""));
    json_object_set_new(req, "keep_alive", json_integer(0));
    json_object_set_new(req, "stream", json_false());
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    reply r = {0};
    long st = body ? http_call("stop", &addr, "POST", "/api/generate", body, &r) : 0;
    free(body);
    int rc = 0;
    if (st != 200) {
        if (st) print_error("stop", st, &r);
        rc = 1;
    }
    free(r.p);
    return rc;
}
