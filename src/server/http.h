/* http.h - the HTTP transport of `pippa serve` (on libmicrohttpd): a daemon that collects
 * request bodies (bounded), guards Host and Origin (ollama-compat.md §3.1), answers CORS
 * preflights, routes by a table, parses JSON bodies (bounded depth), sends JSON/text/error
 * responses and streams responses whose bytes come from a callback. It knows no
 * application code (mongoose's design: a handler per route, a stream that carries its
 * formatter as a callback); the API layer (api_*.c) gives it a route table and an app
 * pointer.
 *
 * Usage:
 *     static enum MHD_Result hello(http_req *r, json_t *body) {
 *         return http_send_text(r, 200, "text/plain", "hi");
 *     }
 *     static const http_route ROUTES[] = {{"GET", "/hello", HTTP_PATH_EXACT, HTTP_BODY_NONE, hello}};
 *     http_server_params p = http_server_default_params();
 *     p.routes = ROUTES, p.n_routes = 1, p.app = my_state;
 *     http_server *h;
 *     if (http_server_start(&p, &h, &err)) die(err.msg);
 *     ... http_server_quiesce(h); http_server_stop(h, HTTP_DRAIN_MS);
 *
 * Order of checks for a request (each answers and ends it): Host guard (loopback listener
 * only) 403, Origin 403, OPTIONS preflight 204, streamed-blob routes (no body limit), body
 * over max_body 413, the route table (first match wins; GET routes also answer HEAD), a
 * known exact path with another method 405, else 404 "404 page not found".
 *
 * Threads: one thread per connection (MHD_USE_THREAD_PER_CONNECTION), so a handler or a
 * stream's pull callback may block; every wait is bounded by the caller (HTTP_POLL_MS) and
 * followed by a hang-up check, so a client that goes away is noticed promptly. The route
 * table and params are read from every connection thread; they must stay valid and
 * unchanged until http_server_stop returns.
 *
 * Slow clients (slowloris): a connection must send its whole request head within head_ms
 * of connecting (or of its previous response's end, on a kept-alive connection), and a
 * body must average body_min_rate bytes/s once body_grace_ms have passed; a watchdog
 * thread closes those that do not. At most max_pending connections (max_pending_per_ip
 * per client address) may be waiting for their head: a newer one closes the oldest
 * waiting one, so ordinary clients, whose heads arrive at once, still get in, and the
 * connection slots above max_pending are a reserve that only connections which have sent
 * a request can take. An address holds at most HTTP_MAX_PER_IP connections in all. */
#ifndef PIPPA_HTTP_H
#define PIPPA_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../core/core.h"

#define HTTP_MAX_BODY (16u << 20)   /* request body bytes; larger -> 413 */
#define HTTP_MAX_DEPTH 64           /* JSON nesting; deeper -> 400 */
#define HTTP_MAX_CONNECTIONS 256   /* open connections in all (one thread each) */
#define HTTP_MAX_PER_IP 192         /* of them from one client address */
#define HTTP_MAX_PENDING 128        /* of them still waiting for a request head */
#define HTTP_MAX_PENDING_PER_IP 64  /* of those from one client address */
#define HTTP_HEAD_MS 10000          /* a request head must be complete this soon */
#define HTTP_BODY_GRACE_MS 10000    /* a body may be slow this long ... */
#define HTTP_BODY_MIN_RATE 16384    /* ... then it must average this many bytes/s */
#define HTTP_IDLE_S 60              /* no byte moved for this long: closed (MHD's timeout) */
#define HTTP_WATCH_MS 100           /* how often the watchdog looks at the deadlines */
#define HTTP_DRAIN_MS 3000          /* shutdown: wait this long for responses in flight */
#define HTTP_POLL_MS 50             /* hang-up check while a response waits for data */
#define HTTP_HOST_MAX 256

/* Growing byte buffer (a stream's output, a collected reply). */
typedef struct http_buf {
    char *p;
    size_t n, cap;
} http_buf;
/* Appends n bytes and keeps p NUL-terminated; false on OOM (buffer unchanged). */
bool http_buf_append(http_buf *b, const void *data, size_t n);

typedef struct http_req http_req;
typedef struct http_route http_route;

/* What a handler sees. Fields are read-only for handlers. */
struct http_req {
    void *app;                   /* http_server_params.app */
    const char *method, *url;    /* borrowed from MHD, valid during the request */
    const char *rest;            /* url after a prefix route's path ("" for exact routes) */
    const http_route *route;     /* the matched route, NULL before routing */
    void *upload;                /* HTTP_BODY_BLOB: what the route's begin returned */
    /* transport's own */
    struct http_server *server;
    struct MHD_Connection *conn;
    http_buf body;
    bool too_large, responded;
    const char *origin;          /* allowed Origin header, echoed in CORS headers, or NULL */
};

/* A handler answers the request (one of the http_send_* calls) and returns its result;
 * MHD_NO closes the connection without an answer. body: the parsed JSON object for
 * HTTP_BODY_JSON routes (borrowed, freed after the handler), else NULL. */
typedef enum MHD_Result (*http_handler)(http_req *r, json_t *body);

typedef enum http_path { HTTP_PATH_EXACT, HTTP_PATH_PREFIX, HTTP_PATH_PREFIX_NONEMPTY } http_path;
typedef enum http_body {
    HTTP_BODY_NONE,              /* body collected (bounded) but not parsed */
    HTTP_BODY_JSON,              /* body must be a JSON object; else 400 with the parse error */
    HTTP_BODY_BLOB,              /* body streams to blob_write as it arrives, no size bound */
} http_body;

/* HTTP_BODY_BLOB routes: begin on the request's first call, before any check (returns the
 * upload state, NULL = out of memory -> connection closed), write per body chunk,
 * end after the request finished whatever happened (the handler may have run or not). */
typedef struct http_blob_ops {
    void *(*begin)(http_req *r, const char *rest);
    void (*write)(void *upload, const char *data, size_t n);
    void (*end)(void *upload);
} http_blob_ops;

struct http_route {
    const char *method;          /* "GET" also matches HEAD */
    const char *path;
    http_path match;             /* PREFIX: rest may be empty; PREFIX_NONEMPTY: it may not */
    http_body body;
    http_handler fn;
    const http_blob_ops *blob;   /* HTTP_BODY_BLOB only */
    bool no_405;                 /* EXACT: other methods get 404, not 405 (Ollama's "/") */
};

/* The JSON error body for msg (steals nothing; returns a new object). */
typedef json_t *(*http_error_fn)(const http_req *r, unsigned status, const char *msg);

typedef struct http_server_params {
    const char *host;            /* bind address ("" = any); a loopback one turns on the Host guard */
    uint16_t port;               /* 0 = any free port (see http_server_port) */
    const char *origins;         /* extra allowed CORS origins, comma separated, "*" = any */
    size_t max_body;             /* HTTP_MAX_BODY */
    const http_route *routes;
    size_t n_routes;
    void *app;                   /* handed to handlers as r->app */
    http_error_fn error_body;    /* NULL: {"error": msg} */
    /* slow clients (see above; 0 = the HTTP_* default) */
    int head_ms, body_grace_ms;
    unsigned body_min_rate, max_pending, max_pending_per_ip;
} http_server_params;

http_server_params http_server_default_params(void);

typedef struct http_server http_server;
/* Binds and starts serving. Errors: "listen HOST:PORT: <reason>". */
pp_status http_server_start(const http_server_params *p, http_server **out, pp_err *err);
uint16_t http_server_port(const http_server *h);
/* Stops accepting connections (requests in flight go on). */
void http_server_quiesce(http_server *h);
/* Waits up to drain_ms for requests in flight, then closes every connection, joins the
 * connection threads and frees h. NULL-safe. */
void http_server_stop(http_server *h, int drain_ms);

/* ---- answers (each queues the response; call one per request) ---- */
/* Steals obj. */
enum MHD_Result http_send_json(http_req *r, unsigned status, json_t *obj);
enum MHD_Result http_send_text(http_req *r, unsigned status, const char *ctype, const char *text);
/* The error body from params.error_body (default {"error": msg}); logs the request. */
enum MHD_Result http_send_error(http_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Status for a pp_status: NOT_FOUND 404, ARG/FORMAT/UNSUPPORTED 400, IO 503 (busy),
 * CANCELLED 499, else 500. */
unsigned http_status_of(pp_status st);
/* True when the peer closed the connection. */
bool http_req_gone(const http_req *r);

/* ---- streamed responses ---- */
typedef enum http_pull {
    HTTP_PULL_MORE,              /* call again (out may have new bytes) */
    HTTP_PULL_END,               /* out holds the last bytes */
    HTTP_PULL_FAIL,              /* abort the response (the source cancelled itself) */
} http_pull;
/* The source of a stream: pull waits at most timeout_ms and appends formatted bytes to out;
 * cancel is called when the client went away; close when the response is gone (always, once). */
typedef struct http_stream_ops {
    http_pull (*pull)(void *src, http_buf *out, int timeout_ms);
    void (*cancel)(void *src);
    void (*close)(void *src);
} http_stream_ops;
/* Starts a 200 response of unknown length with Content-Type ctype (plus Cache-Control:
 * no-cache when no_cache). Takes src: ops->close(src) runs when the response ends, even
 * when starting it fails. */
enum MHD_Result http_send_stream(http_req *r, const char *ctype, bool no_cache, const http_stream_ops *ops,
                                 void *src);

/* ---- JSON bodies ---- */
/* Parses a JSON object with the HTTP_MAX_DEPTH bound; PP_ERR_ARG "missing request body",
 * "request body: JSON nested deeper than 64 levels", "request body: invalid JSON at line
 * L column C: ...", "request body: expected a JSON object, got string". */
pp_status http_json_parse(const char *body, size_t n, json_t **out, pp_err *err);
/* "object", "array", "string", "integer", "number", "boolean", "null". */
const char *http_json_type(const json_t *v);

#endif
