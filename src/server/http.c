/* http.c - the transport (http.h): libmicrohttpd daemon start/stop, body collection
 * (bounded by max_body -> 413, or streamed to a blob route's callbacks), the DNS-rebinding
 * Host guard and CORS origin policy (ollama-compat.md §3.1), the route table (405 for a
 * known path with another method, 404 otherwise), JSON/text/error answers and streamed
 * responses whose bytes come from the stream's pull callback.
 *
 * Invariants: one thread per connection, so a handler or a pull callback may block; a
 * pull waits at most HTTP_POLL_MS and is followed by a hang-up check, so a client that
 * goes away is noticed within one poll. An http_req lives from the first access-handler
 * call to MHD's completion callback; a stream lives as long as its MHD response. Nothing
 * here calls application code except through the route table and the stream ops.
 *
 * Slow clients (deadlines, the pending limit, the watchdog) live in http_conn.c. */
#include "http_internal.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>


bool http_buf_append(http_buf *b, const void *data, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        while (nc < b->n + n + 1) nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) return false;
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    b->p[b->n] = 0;
    return true;
}

/* ---- origins and hosts ---- */

static const char *const DEFAULT_ORIGINS[] = {
    "http://localhost",   "https://localhost",   "http://localhost:*",   "https://localhost:*",
    "http://127.0.0.1",   "https://127.0.0.1",   "http://127.0.0.1:*",   "https://127.0.0.1:*",
    "http://0.0.0.0",     "https://0.0.0.0",     "http://0.0.0.0:*",     "https://0.0.0.0:*",
    "app://*",            "file://*",            "tauri://*",            "vscode-webview://*",
    "vscode-file://*",
};

static bool origin_allowed(const char *extra, const char *origin) {
    for (size_t i = 0; i < sizeof DEFAULT_ORIGINS / sizeof DEFAULT_ORIGINS[0]; i++)
        if (!fnmatch(DEFAULT_ORIGINS[i], origin, 0)) return true;
    const char *p = extra ? extra : "";
    while (*p) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        char pat[512];
        while (n && *p == ' ') p++, n--;
        while (n && p[n - 1] == ' ') n--;
        if (n && n < sizeof pat) {
            memcpy(pat, p, n);
            pat[n] = 0;
            if (!strcmp(pat, "*") || !fnmatch(pat, origin, 0)) return true;
        }
        if (!c) break;
        p = c + 1;
    }
    return false;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

/* Host header check for a loopback listener (DNS rebinding). */
static bool host_allowed(const char *host) {
    if (!host || !*host) return true;
    char h[256];
    snprintf(h, sizeof h, "%s", host);
    if (h[0] == '[') { /* [v6]:port */
        char *close = strchr(h, ']');
        if (!close) return false;
        *close = 0;
        memmove(h, h + 1, strlen(h + 1) + 1);
    } else {
        char *colon = strrchr(h, ':');
        if (colon && strchr(h, ':') == colon) *colon = 0;
    }
    if (!strcasecmp(h, "localhost") || ends_with(h, ".localhost") || ends_with(h, ".local") ||
        ends_with(h, ".internal"))
        return true;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, h, &a4) == 1) {
        uint32_t ip = ntohl(a4.s_addr);
        return (ip >> 24) == 127 || (ip >> 24) == 10 || (ip >> 20) == 0xAC1 || (ip >> 16) == 0xC0A8 || ip == 0 ||
               (ip >> 16) == 0xA9FE;
    }
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || IN6_IS_ADDR_UNSPECIFIED(&a6) || IN6_IS_ADDR_LINKLOCAL(&a6) ||
               (a6.s6_addr[0] & 0xfe) == 0xfc;
    char me[256];
    if (gethostname(me, sizeof me) == 0) {
        me[sizeof me - 1] = 0;
        if (!strcasecmp(h, me)) return true;
    }
    return false;
}

static bool bound_to_loopback(const http_server *h) {
    const char *host = h->host;
    return !strcmp(host, "localhost") || !strncmp(host, "127.", 4) || !strcmp(host, "::1");
}

/* ---- answers ---- */

static enum MHD_Result queue(http_req *r, unsigned status, struct MHD_Response *resp) {
    if (!resp) return MHD_NO;
    if (r->origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->origin);
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    enum MHD_Result ret = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->responded = true;
    return ret;
}

static enum MHD_Result send_bytes(http_req *r, unsigned status, const char *ctype, char *data, size_t n) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(n, data, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    return queue(r, status, resp);
}

enum MHD_Result http_send_json(http_req *r, unsigned status, json_t *obj) {
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s) return MHD_NO;
    return send_bytes(r, status, "application/json; charset=utf-8", s, strlen(s));
}

enum MHD_Result http_send_text(http_req *r, unsigned status, const char *ctype, const char *text) {
    char *s = strdup(text);
    if (!s) return MHD_NO;
    return send_bytes(r, status, ctype, s, strlen(s));
}

enum MHD_Result http_send_error(http_req *r, unsigned status, const char *fmt, ...) {
    char msg[PP_ERR_MSG_MAX + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pp_log(PP_LOG_INFO, "%s %s -> %u %s", r->method, r->url, status, msg);
    json_t *o;
    if (r->server->p.error_body) {
        o = r->server->p.error_body(r, status, msg);
    } else {
        o = json_object();
        json_object_set_new(o, "error", json_string(msg));
    }
    return http_send_json(r, status, o);
}

unsigned http_status_of(pp_status st) {
    switch (st) {
    case PP_OK: return 200;
    case PP_ERR_NOT_FOUND: return 404;
    case PP_ERR_ARG:
    case PP_ERR_FORMAT:
    case PP_ERR_UNSUPPORTED: return 400;
    case PP_ERR_IO: return 503;
    case PP_ERR_CANCELLED: return 499;
    default: return 500;
    }
}

static bool conn_gone(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return true;
    struct pollfd pfd = {.fd = ci->connect_fd, .events = POLLRDHUP};
    if (poll(&pfd, 1, 0) < 0) return false;
    return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool http_req_gone(const http_req *r) { return conn_gone(r->conn); }

/* ---- streaming ---- */

typedef struct http_stream {
    const http_stream_ops *ops;
    void *src;
    struct MHD_Connection *conn;
    http_buf out;                /* formatted bytes; out.p[off..n) not yet handed to MHD */
    size_t off;
    bool finished;
} http_stream;

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_stream *s = cls;
    for (;;) {
        if (s->off < s->out.n) {
            size_t n = s->out.n - s->off;
            if (n > max) n = max;
            memcpy(buf, s->out.p + s->off, n);
            s->off += n;
            return (ssize_t)n;
        }
        s->off = s->out.n = 0;
        if (s->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        http_pull p = s->ops->pull(s->src, &s->out, HTTP_POLL_MS);
        if (p == HTTP_PULL_FAIL) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (p == HTTP_PULL_END) {
            s->finished = true;
            continue;
        }
        if (conn_gone(s->conn)) {
            pp_log(PP_LOG_INFO, "streaming client went away, cancelling");
            s->ops->cancel(s->src);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls) {
    http_stream *s = cls;
    s->ops->close(s->src);
    free(s->out.p);
    free(s);
}

enum MHD_Result http_send_stream(http_req *r, const char *ctype, bool no_cache, const http_stream_ops *ops,
                                 void *src) {
    http_stream *s = calloc(1, sizeof *s);
    if (!s) {
        ops->close(src);
        return MHD_NO;
    }
    s->ops = ops;
    s->src = src;
    s->conn = r->conn;
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    if (no_cache) MHD_add_response_header(resp, "Cache-Control", "no-cache");
    return queue(r, 200, resp);
}

/* ---- JSON bodies ---- */

const char *http_json_type(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Depth of the deepest [ or { outside strings; stops early past the limit (checked before
 * jansson, whose own limit is 2048). */
static int json_depth(const char *s, size_t n) {
    int depth = 0, max = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
            continue;
        }
        if (c == '"') in_str = true;
        else if (c == '[' || c == '{') {
            if (++depth > max) max = depth;
            if (max > HTTP_MAX_DEPTH) return max;
        } else if (c == ']' || c == '}') depth--;
    }
    return max;
}

pp_status http_json_parse(const char *body, size_t n, json_t **out, pp_err *err) {
    if (!body || n == 0) return pp_err_set(err, PP_ERR_ARG, "missing request body");
    if (json_depth(body, n) > HTTP_MAX_DEPTH)
        return pp_err_set(err, PP_ERR_ARG, "request body: JSON nested deeper than %d levels", HTTP_MAX_DEPTH);
    json_error_t je;
    json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j)
        return pp_err_set(err, PP_ERR_ARG, "request body: invalid JSON at line %d column %d: %s", je.line, je.column,
                          je.text);
    if (!json_is_object(j)) {
        pp_err_set(err, PP_ERR_ARG, "request body: expected a JSON object, got %s", http_json_type(j));
        json_decref(j);
        return PP_ERR_ARG;
    }
    *out = j;
    return PP_OK;
}

/* ---- routing ---- */

static bool method_matches(const http_route *rt, const char *method) {
    return !strcmp(rt->method, method) || (!strcmp(rt->method, "GET") && !strcmp(method, "HEAD"));
}

/* The rest of url after rt's path, or NULL when rt's path does not match. */
static const char *path_matches(const http_route *rt, const char *url) {
    size_t n = strlen(rt->path);
    if (rt->match == HTTP_PATH_EXACT) return strcmp(url, rt->path) ? NULL : url + n;
    if (strncmp(url, rt->path, n)) return NULL;
    if (rt->match == HTTP_PATH_PREFIX_NONEMPTY && !url[n]) return NULL;
    return url + n;
}

static enum MHD_Result preflight(http_req *r) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                            "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, "
                            "X-Stainless-Lang, X-Stainless-Package-Version, X-Stainless-Os, X-Stainless-Arch, "
                            "X-Stainless-Retry-Count, X-Stainless-Runtime, X-Stainless-Runtime-Version, "
                            "X-Stainless-Async, X-Stainless-Helper-Method, X-Stainless-Poll-Helper, "
                            "X-Stainless-Custom-Poll-Interval, X-Stainless-Timeout");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "43200");
    return queue(r, 204, resp);
}

static enum MHD_Result call(http_req *r, const http_route *rt, const char *rest) {
    r->route = rt;
    r->rest = rest;
    if (rt->body != HTTP_BODY_JSON) return rt->fn(r, NULL);
    json_t *body = NULL;
    pp_err err = {0};
    if (http_json_parse(r->body.p, r->body.n, &body, &err)) return http_send_error(r, 400, "%s", err.msg);
    enum MHD_Result ret = rt->fn(r, body);
    json_decref(body);
    return ret;
}

static enum MHD_Result dispatch(http_req *r) {
    const http_server *h = r->server;
    if (bound_to_loopback(h) &&
        !host_allowed(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
        r->origin = NULL;
        return http_send_error(r, 403, "host not allowed");
    }
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (origin) {
        if (!origin_allowed(h->p.origins, origin)) return http_send_error(r, 403, "origin '%s' not allowed", origin);
        r->origin = origin;
    }
    if (!strcmp(r->method, "OPTIONS")) return preflight(r); /* CORS preflight, any path */
    if (r->route && r->route->body == HTTP_BODY_BLOB) /* matched by request_begin */
        return call(r, r->route, r->url + strlen(r->route->path));
    if (r->too_large) return http_send_error(r, 413, "request body too large (limit %zu bytes)", h->p.max_body);
    for (size_t i = 0; i < h->p.n_routes; i++) {
        const http_route *rt = &h->p.routes[i];
        const char *rest;
        if (rt->body != HTTP_BODY_BLOB && method_matches(rt, r->method) && (rest = path_matches(rt, r->url)))
            return call(r, rt, rest);
    }
    for (size_t i = 0; i < h->p.n_routes; i++) {
        const http_route *rt = &h->p.routes[i];
        if (rt->match == HTTP_PATH_EXACT && !rt->no_405 && !strcmp(r->url, rt->path))
            return http_send_error(r, 405, "method %s not allowed on %s", r->method, r->url);
    }
    return http_send_text(r, 404, "text/plain; charset=utf-8", "404 page not found");
}

/* First call of a request: a blob route starts its upload now, before the body arrives. */
static enum MHD_Result request_begin(http_server *h, struct MHD_Connection *conn, const char *url,
                                     const char *method, void **con_cls) {
    http_req *r = calloc(1, sizeof *r);
    if (!r) return MHD_NO;
    r->server = h;
    r->app = h->p.app;
    r->conn = conn;
    r->url = url;
    r->method = method;
    r->rest = "";
    *con_cls = r;
    atomic_fetch_add(&h->n_active, 1);
    http_conn_phase(h, conn, HTTP_PHASE_BODY);
    for (size_t i = 0; i < h->p.n_routes; i++) {
        const http_route *rt = &h->p.routes[i];
        const char *rest;
        if (rt->body == HTTP_BODY_BLOB && !strcmp(rt->method, method) && (rest = path_matches(rt, url))) {
            r->route = rt;
            r->rest = rest;
            r->upload = rt->blob->begin(r, rest);
            if (!r->upload) return MHD_NO;
            break;
        }
    }
    return MHD_YES;
}

/* A body chunk: to the blob route, or collected up to max_body (past it: drained). */
static enum MHD_Result request_body(http_req *r, const char *data, size_t n) {
    if (r->upload) {
        r->route->blob->write(r->upload, data, n);
        return MHD_YES;
    }
    if (r->too_large) return MHD_YES; /* drain and discard */
    if (r->body.n + n > r->server->p.max_body) {
        r->too_large = true;
        free(r->body.p);
        r->body = (http_buf){0};
        return MHD_YES;
    }
    return http_buf_append(&r->body, data, n) ? MHD_YES : MHD_NO;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    http_req *r = *con_cls;
    if (!r) return request_begin(cls, conn, url, method, con_cls);
    r->conn = conn;
    r->url = url;
    r->method = method;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        http_conn_body_bytes(r->server, conn, n);
        return request_body(r, upload_data, n);
    }
    if (r->responded) return MHD_YES;
    http_conn_phase(r->server, conn, HTTP_PHASE_WORK);
    return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    http_server *h = cls;
    (void)toe;
    http_conn_phase(h, conn, HTTP_PHASE_HEAD); /* kept alive: the next head's deadline starts now */
    http_req *r = *con_cls;
    if (!r) return;
    if (r->upload) r->route->blob->end(r->upload);
    free(r->body.p);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&h->n_active, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    pp_log(PP_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

/* ---- the daemon ---- */


http_server_params http_server_default_params(void) {
    return (http_server_params){.host = "127.0.0.1", .max_body = HTTP_MAX_BODY};
}

pp_status http_server_start(const http_server_params *p, http_server **out, pp_err *err) {
    const char *host = p->host ? p->host : "";
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%u", p->port);
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
    if (gai) return pp_err_set(err, PP_ERR_ARG, "listen %s:%u: %s", host, p->port, gai_strerror(gai));
    http_server *h = calloc(1, sizeof *h);
    if (!h) {
        freeaddrinfo(ai);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    h->p = *p;
    snprintf(h->host, sizeof h->host, "%s", host);
    h->p.host = h->host;
    if (!h->p.max_body) h->p.max_body = HTTP_MAX_BODY;
    if (h->p.head_ms <= 0) h->p.head_ms = HTTP_HEAD_MS;
    if (h->p.body_grace_ms <= 0) h->p.body_grace_ms = HTTP_BODY_GRACE_MS;
    if (!h->p.body_min_rate) h->p.body_min_rate = HTTP_BODY_MIN_RATE;
    if (!h->p.max_pending) h->p.max_pending = HTTP_MAX_PENDING;
    if (!h->p.max_pending_per_ip) h->p.max_pending_per_ip = HTTP_MAX_PENDING_PER_IP;
    atomic_init(&h->n_active, 0);
    if (!http_watch_start(h)) {
        freeaddrinfo(ai);
        free(h);
        return pp_err_set(err, PP_ERR_NOMEM, "cannot start the connection watchdog thread");
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->daemon = MHD_start_daemon(flags, p->port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
                                 MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_MAX_PER_IP,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, h, MHD_OPTION_NOTIFY_CONNECTION, http_conn_notify, h,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!h->daemon) {
        http_watch_join(h);
        free(h);
        return pp_err_set(err, PP_ERR_IO, "listen %s:%u: cannot bind (address in use or not permitted)", host,
                          p->port);
    }
    h->port = p->port;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    if (di) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(di->listen_fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            else if (ss.ss_family == AF_INET6) h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    *out = h;
    return PP_OK;
}

uint16_t http_server_port(const http_server *h) { return h->port; }

void http_server_quiesce(http_server *h) {
    MHD_socket ls = MHD_quiesce_daemon(h->daemon); /* no new connections */
    if (ls != MHD_INVALID_SOCKET) close(ls);
}

void http_server_stop(http_server *h, int drain_ms) {
    if (!h) return;
    for (int i = 0; i < drain_ms / 10 && atomic_load(&h->n_active) > 0; i++) usleep(10000);
    MHD_stop_daemon(h->daemon); /* joins the connection threads */
    http_watch_join(h);
    free(h);
}
