/* http.c - the libmicrohttpd side: daemon start/stop, body collection (bounded by
 * HTTP_MAX_BODY -> 413), the DNS-rebinding Host guard and CORS origin policy
 * (ollama-compat.md §3.1), routing, error bodies, and streamed responses whose reader
 * blocks on the job (see server.h "Design").
 *
 * Invariants: one thread per connection, so a handler or a content reader may block; every
 * wait is bounded by HTTP_POLL_MS and followed by a hang-up check, so a client that goes
 * away cancels its job promptly. An http_req lives from the first access-handler call to
 * MHD's completion callback; an http_stream lives as long as its MHD response. */
#include "server_internal.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- origins and hosts ---- */

static const char *const DEFAULT_ORIGINS[] = {
    "http://localhost",   "https://localhost",   "http://localhost:*",   "https://localhost:*",
    "http://127.0.0.1",   "https://127.0.0.1",   "http://127.0.0.1:*",   "https://127.0.0.1:*",
    "http://0.0.0.0",     "https://0.0.0.0",     "http://0.0.0.0:*",     "https://0.0.0.0:*",
    "app://*",            "file://*",            "tauri://*",            "vscode-webview://*",
    "vscode-file://*",
};

static bool origin_allowed(const api_server *srv, const char *origin) {
    for (size_t i = 0; i < sizeof DEFAULT_ORIGINS / sizeof DEFAULT_ORIGINS[0]; i++)
        if (!fnmatch(DEFAULT_ORIGINS[i], origin, 0)) return true;
    const char *p = srv->p.origins;
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
    char *end = h + strlen(h);
    if (h[0] == '[') { /* [v6]:port */
        char *close = strchr(h, ']');
        if (!close) return false;
        *close = 0;
        memmove(h, h + 1, strlen(h + 1) + 1);
    } else {
        char *colon = strrchr(h, ':');
        if (colon && strchr(h, ':') == colon) *colon = 0;
        (void)end;
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

static bool bound_to_loopback(const api_server *srv) {
    const char *h = srv->p.host;
    return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1");
}

/* ---- responses ---- */

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
    json_t *o = json_object();
    if (r->openai) {
        json_t *e = json_object();
        json_object_set_new(e, "message", json_string(msg));
        const char *type = status == 404 ? "not_found_error" : status < 500 ? "invalid_request_error" : "api_error";
        json_object_set_new(e, "type", json_string(type));
        json_object_set_new(e, "param", json_null());
        json_object_set_new(e, "code", json_null());
        json_object_set_new(o, "error", e);
    } else {
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

bool http_conn_gone(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return true;
    struct pollfd pfd = {.fd = ci->connect_fd, .events = POLLRDHUP};
    if (poll(&pfd, 1, 0) < 0) return false;
    return (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool http_wait_job(http_req *r, api_job *j, char **text, size_t *n_text) {
    char *all = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        char *t;
        size_t nt;
        bool done = api_job_wait(r->srv, j, HTTP_POLL_MS, &t, &nt);
        if (nt) {
            if (n + nt + 1 > cap) {
                size_t nc = cap ? cap * 2 : 1024;
                while (nc < n + nt + 1) nc *= 2;
                char *na = realloc(all, nc);
                if (!na) {
                    free(t);
                    free(all);
                    api_job_cancel(r->srv, j);
                    return false;
                }
                all = na;
                cap = nc;
            }
            memcpy(all + n, t, nt);
            n += nt;
            all[n] = 0;
        }
        free(t);
        if (done) break;
        if (http_conn_gone(r->conn)) {
            pp_log(PP_LOG_INFO, "%s %s: client went away, cancelling", r->method, r->url);
            api_job_cancel(r->srv, j);
            free(all);
            return false;
        }
    }
    *text = all;
    *n_text = n;
    return true;
}

/* ---- streaming ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    http_stream *s = cls;
    for (;;) {
        if (s->off_out < s->n_out) {
            size_t n = s->n_out - s->off_out;
            if (n > max) n = max;
            memcpy(buf, s->out + s->off_out, n);
            s->off_out += n;
            return (ssize_t)n;
        }
        s->off_out = s->n_out = 0;
        if (s->finished) return MHD_CONTENT_READER_END_OF_STREAM;
        char *t;
        size_t nt;
        bool done = api_job_wait(s->srv, s->job, HTTP_POLL_MS, &t, &nt);
        bool ok = true;
        if (nt) ok = api_stream_format(s, t, nt, false);
        free(t);
        if (done && ok) {
            ok = api_stream_format(s, NULL, 0, true);
            s->finished = true;
        }
        if (!ok) {
            api_job_cancel(s->srv, s->job);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (!done && http_conn_gone(s->conn)) {
            pp_log(PP_LOG_INFO, "streaming client went away, cancelling");
            api_job_cancel(s->srv, s->job);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
}

static void stream_free(void *cls) {
    http_stream *s = cls;
    api_job_cancel(s->srv, s->job); /* no-op when done */
    api_job_unref(s->srv, s->job);
    free(s->out);
    free(s);
}

enum MHD_Result http_send_stream(http_req *r, http_stream *s) {
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, stream_read, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    bool sse = s->kind == API_STREAM_OAI_CHAT || s->kind == API_STREAM_OAI_COMPLETION;
    MHD_add_response_header(resp, "Content-Type", sse ? "text/event-stream" : "application/x-ndjson");
    if (sse) MHD_add_response_header(resp, "Cache-Control", "no-cache");
    return queue(r, 200, resp);
}

/* ---- routing ---- */

static bool is(const http_req *r, const char *method, const char *path) {
    return !strcmp(r->method, method) && !strcmp(r->url, path);
}

static enum MHD_Result with_json(http_req *r, enum MHD_Result (*fn)(http_req *, json_t *)) {
    json_t *req = NULL;
    pp_err err = {0};
    if (api_json_parse(r->body, r->n_body, &req, &err)) return http_send_error(r, 400, "%s", err.msg);
    enum MHD_Result ret = fn(r, req);
    json_decref(req);
    return ret;
}

static enum MHD_Result route(http_req *r) {
    const char *u = r->url;
    bool head = !strcmp(r->method, "HEAD"), get = !strcmp(r->method, "GET") || head;
    r->openai = !strncmp(u, "/v1/", 4);
    if (bound_to_loopback(r->srv) &&
        !host_allowed(MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))) {
        r->origin = NULL;
        return http_send_error(r, 403, "host not allowed");
    }
    const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
    if (origin) {
        if (!origin_allowed(r->srv, origin)) return http_send_error(r, 403, "origin '%s' not allowed", origin);
        r->origin = origin;
    }
    if (!strcmp(r->method, "OPTIONS")) { /* CORS preflight */
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
    if (r->blob) return api_blob_finish(r, u + 11);
    if (r->too_large) return http_send_error(r, 413, "request body too large (limit %u bytes)", HTTP_MAX_BODY);

    if (get && !strcmp(u, "/")) return http_send_text(r, 200, "text/plain; charset=utf-8", "Ollama is running");
    if (get && !strcmp(u, "/api/version")) {
        json_t *o = json_object();
        json_object_set_new(o, "version", json_string(API_COMPAT_VERSION));
        return http_send_json(r, 200, o);
    }
    if (is(r, "POST", "/api/generate")) return with_json(r, api_handle_generate);
    if (is(r, "POST", "/api/chat")) return with_json(r, api_handle_chat);
    if (get && !strcmp(u, "/api/tags")) return api_handle_tags(r);
    if (get && !strncmp(u, "/api/blobs/", 11)) return api_blob_head(r, u + 11);
    if (is(r, "POST", "/api/show")) return with_json(r, api_handle_show);
    if (get && !strcmp(u, "/api/ps")) return api_handle_ps(r);
    if (is(r, "POST", "/api/pull")) return with_json(r, api_handle_pull);
    if (is(r, "POST", "/api/create")) return with_json(r, api_handle_create);
    if (is(r, "POST", "/api/copy")) return with_json(r, api_handle_copy);
    if (is(r, "DELETE", "/api/delete")) return with_json(r, api_handle_delete);
    if (is(r, "POST", "/v1/chat/completions")) return with_json(r, api_handle_oai_chat);
    if (is(r, "POST", "/v1/completions")) return with_json(r, api_handle_oai_completion);
    if (get && !strcmp(u, "/v1/models")) return api_handle_oai_models(r, NULL);
    if (get && !strncmp(u, "/v1/models/", 11) && u[11]) return api_handle_oai_models(r, u + 11);
    static const char *const KNOWN[] = {"/api/generate", "/api/chat", "/api/tags", "/api/show", "/api/ps",
                                        "/api/pull", "/api/create", "/api/copy", "/api/delete", "/api/version",
                                        "/v1/chat/completions", "/v1/completions", "/v1/models"};
    for (size_t i = 0; i < sizeof KNOWN / sizeof KNOWN[0]; i++)
        if (!strcmp(u, KNOWN[i])) return http_send_error(r, 405, "method %s not allowed on %s", r->method, u);
    return http_send_text(r, 404, "text/plain; charset=utf-8", "404 page not found");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    api_server *srv = cls;
    http_req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = srv;
        r->t_start = pp_time_ns();
        r->blob_fd = -1;
        *con_cls = r;
        atomic_fetch_add(&srv->n_active, 1);
        if (!strcmp(method, "POST") && !strncmp(url, "/api/blobs/", 11)) {
            r->conn = conn;
            api_blob_begin(r, url + 11);
        }
        return MHD_YES;
    }
    r->conn = conn;
    r->url = url;
    r->method = method;
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->blob) {
            api_blob_write(r, upload_data, n);
            return MHD_YES;
        }
        if (r->too_large) return MHD_YES; /* drain and discard */
        if (r->n_body + n > HTTP_MAX_BODY) {
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->n_body = r->cap_body = 0;
            return MHD_YES;
        }
        if (r->n_body + n + 1 > r->cap_body) {
            size_t nc = r->cap_body ? r->cap_body * 2 : 4096;
            while (nc < r->n_body + n + 1) nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->cap_body = nc;
        }
        memcpy(r->body + r->n_body, upload_data, n);
        r->n_body += n;
        r->body[r->n_body] = 0;
        return MHD_YES;
    }
    if (r->responded) return MHD_YES;
    return route(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    api_server *srv = cls;
    (void)conn;
    (void)toe;
    http_req *r = *con_cls;
    if (!r) return;
    api_blob_abort(r);
    free(r->body);
    free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&srv->n_active, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    pp_log(PP_LOG_DEBUG, "libmicrohttpd: %s", msg);
}

pp_status api_server_start(const api_server_params *p, api_server **out, pp_err *err) {
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char port[16];
    snprintf(port, sizeof port, "%u", p->port);
    int gai = getaddrinfo(p->host[0] ? p->host : NULL, port, &hints, &ai);
    if (gai) return pp_err_set(err, PP_ERR_ARG, "listen %s:%u: %s", p->host, p->port, gai_strerror(gai));
    api_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        freeaddrinfo(ai);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    srv->p = *p;
    atomic_init(&srv->next_id, 1);
    atomic_init(&srv->n_active, 0);
    pthread_mutex_init(&srv->mu, NULL);
    api_cond_init(&srv->cv_sched);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(flags, p->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600, MHD_OPTION_NOTIFY_COMPLETED,
                                   on_completed, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!srv->daemon) {
        pthread_cond_destroy(&srv->cv_sched);
        pthread_mutex_destroy(&srv->mu);
        free(srv);
        return pp_err_set(err, PP_ERR_IO, "listen %s:%u: cannot bind (address in use or not permitted)", p->host,
                          p->port);
    }
    srv->port = p->port;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    if (di) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(di->listen_fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) srv->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
            else if (ss.ss_family == AF_INET6) srv->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    api_sched_start(srv);
    *out = srv;
    return PP_OK;
}

uint16_t api_server_port(const api_server *s) { return s->port; }

void api_server_stop(api_server *srv) {
    if (!srv) return;
    MHD_socket ls = MHD_quiesce_daemon(srv->daemon); /* no new connections */
    if (ls != MHD_INVALID_SOCKET) close(ls);
    api_sched_cancel_all(srv);   /* wakes every waiting connection */
    /* let responses in flight end with their final line (bounded: HTTP_DRAIN_MS) */
    for (int i = 0; i < HTTP_DRAIN_MS / 10 && atomic_load(&srv->n_active) > 0; i++) usleep(10000);
    MHD_stop_daemon(srv->daemon); /* joins the connection threads */
    api_sched_stop(srv);          /* joins the workers, unloads the models */
    api_task_join_all(srv);       /* waits for pulls/creates in progress */
    pthread_cond_destroy(&srv->cv_sched);
    pthread_mutex_destroy(&srv->mu);
    free(srv);
}
