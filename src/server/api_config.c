/* api_config.c - server parameters from the environment: OLLAMA_HOST forms, Go durations
 * for keep_alive, queue/model limits (ollama-compat.md §4.8). Values may be quoted; quotes
 * and surrounding spaces are trimmed as Ollama does. */
#include "server.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

api_server_params api_server_default_params(void) {
    api_server_params p;
    memset(&p, 0, sizeof p);
    snprintf(p.host, sizeof p.host, "127.0.0.1");
    p.port = API_DEFAULT_PORT;
    p.keep_alive_ns = 5LL * 60 * 1000000000LL;
    p.max_queue = 512;
    p.max_loaded = 3;
    return p;
}

/* Copies an env value with quotes and spaces trimmed; false when unset or empty. */
static bool env_get(const char *name, char *buf, size_t cap) {
    const char *v = getenv(name);
    if (!v) return false;
    while (*v == ' ' || *v == '"' || *v == '\'') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '"' || v[n - 1] == '\'')) n--;
    if (!n || n >= cap) return false;
    memcpy(buf, v, n);
    buf[n] = 0;
    return true;
}

static bool parse_port(const char *s, uint16_t *port) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < 0 || v > 65535) return false;
    *port = (uint16_t)v;
    return true;
}

pp_status api_host_parse(const char *text, char *host, size_t cap, uint16_t *port, pp_err *err) {
    char buf[API_HOST_MAX];
    const char *s = text;
    while (*s == ' ' || *s == '"' || *s == '\'') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '"' || s[n - 1] == '\'')) n--;
    if (n >= sizeof buf) return pp_err_set(err, PP_ERR_ARG, "host '%s': too long", text);
    memcpy(buf, s, n);
    buf[n] = 0;
    uint16_t dport = API_DEFAULT_PORT;
    char *h = buf;
    char *sep = strstr(h, "://");
    if (sep) {
        *sep = 0;
        if (!strcmp(h, "http")) dport = 80;
        else if (!strcmp(h, "https")) dport = 443;
        h = sep + 3;
    }
    char *slash = strchr(h, '/');
    if (slash) *slash = 0; /* a path is accepted and ignored */
    char *pstr = NULL;
    if (*h == '[') {
        char *close = strchr(h, ']');
        if (!close) return pp_err_set(err, PP_ERR_ARG, "host '%s': missing ']'", text);
        *close = 0;
        h++;
        if (close[1] == ':') pstr = close + 2;
        else if (close[1]) return pp_err_set(err, PP_ERR_ARG, "host '%s': junk after ']'", text);
    } else {
        char *colon = strrchr(h, ':');
        if (colon && strchr(h, ':') == colon) { /* one colon: host:port (more: bare IPv6) */
            *colon = 0;
            pstr = colon + 1;
        }
    }
    uint16_t pv = dport;
    if (pstr && !parse_port(pstr, &pv)) return pp_err_set(err, PP_ERR_ARG, "host '%s': bad port '%s'", text, pstr);
    if (!*h) h = "127.0.0.1";
    if (strlen(h) >= cap) return pp_err_set(err, PP_ERR_ARG, "host '%s': too long", text);
    snprintf(host, cap, "%s", h);
    *port = pv;
    return PP_OK;
}

pp_status api_duration_parse(const char *text, int64_t *ns, pp_err *err) {
    const char *s = text;
    char *end;
    errno = 0;
    double plain = strtod(s, &end);
    if (*s && !*end && !errno) { /* a bare number: seconds */
        if (plain > 9e9 || plain < -9e9) plain = plain < 0 ? -9e9 : 9e9;
        *ns = (int64_t)(plain * 1e9);
        return PP_OK;
    }
    bool neg = false;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!*s) return pp_err_set(err, PP_ERR_ARG, "bad duration '%s'", text);
    double total = 0;
    while (*s) {
        if (!isdigit((unsigned char)*s) && *s != '.') return pp_err_set(err, PP_ERR_ARG, "bad duration '%s'", text);
        double v = strtod(s, &end);
        if (end == s) return pp_err_set(err, PP_ERR_ARG, "bad duration '%s'", text);
        s = end;
        double unit;
        if (!strncmp(s, "ns", 2)) unit = 1, s += 2;
        else if (!strncmp(s, "us", 2)) unit = 1e3, s += 2;
        else if (!strncmp(s, "\xc2\xb5s", 3)) unit = 1e3, s += 3;
        else if (!strncmp(s, "ms", 2)) unit = 1e6, s += 2;
        else if (*s == 's') unit = 1e9, s += 1;
        else if (*s == 'm') unit = 60e9, s += 1;
        else if (*s == 'h') unit = 3600e9, s += 1;
        else return pp_err_set(err, PP_ERR_ARG, "bad duration '%s': missing unit", text);
        total += v * unit;
    }
    if (total > 9e18) total = 9e18;
    *ns = (int64_t)(neg ? -total : total);
    return PP_OK;
}

/* Prefixes err's message with the variable name. */
static pp_status env_fail(const char *var, pp_status st, pp_err *err) {
    char msg[PP_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    return pp_err_set(err, st, "%s: %s", var, msg);
}

static pp_status env_uint(const char *name, uint32_t *out, pp_err *err) {
    char buf[64];
    if (!env_get(name, buf, sizeof buf)) return PP_OK;
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno || v < 0 || v > UINT32_MAX)
        return pp_err_set(err, PP_ERR_ARG, "%s: expected a non-negative integer, got '%s'", name, buf);
    *out = (uint32_t)v;
    return PP_OK;
}

pp_status api_server_params_from_env(api_server_params *p, pp_err *err) {
    char buf[4096];
    pp_status st;
    const char *hv = getenv("PIPPA_HOST") ? "PIPPA_HOST" : "OLLAMA_HOST";
    if (env_get(hv, buf, sizeof buf)) {
        if ((st = api_host_parse(buf, p->host, sizeof p->host, &p->port, err)))
            return env_fail(hv, st, err);
    }
    const char *kv = getenv("PIPPA_KEEP_ALIVE") ? "PIPPA_KEEP_ALIVE" : "OLLAMA_KEEP_ALIVE";
    if (env_get(kv, buf, sizeof buf)) {
        if ((st = api_duration_parse(buf, &p->keep_alive_ns, err))) return env_fail(kv, st, err);
    }
    if ((st = env_uint("OLLAMA_MAX_QUEUE", &p->max_queue, err))) return st;
    if ((st = env_uint("OLLAMA_MAX_LOADED_MODELS", &p->max_loaded, err))) return st;
    if (p->max_loaded == 0) p->max_loaded = 3; /* Ollama: 0 = 3 per GPU, 3 on CPU */
    if ((st = env_uint("OLLAMA_CONTEXT_LENGTH", &p->num_ctx, err))) return st;
    if (env_get(getenv("PIPPA_ORIGINS") ? "PIPPA_ORIGINS" : "OLLAMA_ORIGINS", buf, sizeof buf))
        snprintf(p->origins, sizeof p->origins, "%s", buf);
    if (env_get("PIPPA_GGUF_DIR", buf, sizeof buf)) snprintf(p->gguf_dir, sizeof p->gguf_dir, "%s", buf);
    const char *np = getenv("PIPPA_NOPRUNE"); /* any non-empty value, as `pippa rm` reads it */
    if (np && *np) p->no_prune = true;
    return PP_OK;
}
