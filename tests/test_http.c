/* test_http.c - the transport (src/server/http.h) alone, without any model or API code:
 * it starts http_server on 127.0.0.1 (any free port) with a tiny route table of test
 * handlers and speaks HTTP/1.0 to it over a socket. Checks routing (exact, prefix, HEAD
 * via GET, first match), 404/405 (and a route that opts out of 405), the body limit (413,
 * before routing), JSON bodies (parse errors, the depth bound), a streamed-blob route
 * (no body limit, begin/write/end), the Host guard and CORS (403, preflight, echoed
 * origin), the error-body callback, a streamed response whose bytes come from the
 * stream's formatter callback, that a client that hangs up mid-stream is noticed
 * (cancel, then close) within a few polls, and the slow-client limits on a server of
 * their own with short deadlines: a head trickled a line at a time is cut at its deadline,
 * past max_pending waiting connections the oldest are closed while a complete request
 * still gets through, and a stalled body is cut after its grace time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/http.h"
#include "test.h"

#define TEST_MAX_BODY 1024

/* What the handlers and stream sources report back (the route table's app pointer). */
typedef struct test_app {
    atomic_int n_calls;          /* handler calls */
    atomic_int blob_begun, blob_ended;
    atomic_size_t blob_bytes;
    atomic_int stream_cancelled, stream_closed;
} test_app;

static test_app APP;

/* ---- handlers ---- */

static enum MHD_Result h_hello(http_req *r, json_t *body) {
    test_app *a = r->app;
    atomic_fetch_add(&a->n_calls, 1);
    return http_send_text(r, 200, "text/plain", body ? "body?" : "hi");
}

static enum MHD_Result h_echo(http_req *r, json_t *body) {
    json_incref(body);
    return http_send_json(r, 200, body);
}

static enum MHD_Result h_item(http_req *r, json_t *body) {
    (void)body;
    return http_send_text(r, 200, "text/plain", r->rest);
}

static enum MHD_Result h_fail(http_req *r, json_t *body) {
    (void)body;
    return http_send_error(r, http_status_of(PP_ERR_NOT_FOUND), "no %s here", r->rest);
}

/* blob route: counts the bytes, answers "<bytes> <rest>" */
static void *blob_begin(http_req *r, const char *rest) {
    (void)rest;
    test_app *a = r->app;
    atomic_fetch_add(&a->blob_begun, 1);
    return a;
}
static void blob_write(void *upload, const char *data, size_t n) {
    test_app *a = upload;
    (void)data;
    atomic_fetch_add(&a->blob_bytes, n);
}
static void blob_end(void *upload) {
    test_app *a = upload;
    atomic_fetch_add(&a->blob_ended, 1);
}
static const http_blob_ops BLOB = {blob_begin, blob_write, blob_end};

static enum MHD_Result h_blob(http_req *r, json_t *body) {
    (void)body;
    test_app *a = r->upload;
    char msg[64];
    snprintf(msg, sizeof msg, "%zu %s", (size_t)atomic_load(&a->blob_bytes), r->rest);
    return http_send_text(r, 201, "text/plain", msg);
}

/* A stream source that carries its formatter: count pieces 0..n-1 formatted by fmt, then
 * fmt's end line. forever: after the first piece it only waits (like a model thinking). */
typedef struct count_src {
    int i, n;
    bool forever;
    bool (*fmt)(http_buf *out, int i, bool end);
} count_src;

static bool sse_fmt(http_buf *out, int i, bool end) {
    char line[32];
    int k = end ? snprintf(line, sizeof line, "data: [END]\n\n") : snprintf(line, sizeof line, "data: %d\n\n", i);
    return http_buf_append(out, line, (size_t)k);
}

static http_pull count_pull(void *src, http_buf *out, int timeout_ms) {
    count_src *s = src;
    if (s->forever && s->i > 0) {
        usleep((useconds_t)timeout_ms * 1000);
        return HTTP_PULL_MORE;
    }
    if (s->i < s->n) return s->fmt(out, s->i++, false) ? HTTP_PULL_MORE : HTTP_PULL_FAIL;
    return s->fmt(out, 0, true) ? HTTP_PULL_END : HTTP_PULL_FAIL;
}
static void count_cancel(void *src) {
    (void)src;
    atomic_fetch_add(&APP.stream_cancelled, 1);
}
static void count_close(void *src) {
    free(src);
    atomic_fetch_add(&APP.stream_closed, 1);
}
static const http_stream_ops COUNT_STREAM = {count_pull, count_cancel, count_close};

static enum MHD_Result h_stream(http_req *r, json_t *body) {
    (void)body;
    count_src *s = calloc(1, sizeof *s);
    if (!s) return MHD_NO;
    s->n = 5;
    s->forever = !strcmp(r->url, "/forever");
    s->fmt = sse_fmt;
    return http_send_stream(r, "text/event-stream", true, &COUNT_STREAM, s);
}

/* /v1/ errors get another shape, as the OpenAI routes do */
static json_t *error_body(const http_req *r, unsigned status, const char *msg) {
    json_t *o = json_object();
    if (strncmp(r->url, "/v1/", 4)) {
        json_object_set_new(o, "error", json_string(msg));
        return o;
    }
    json_t *e = json_object();
    json_object_set_new(e, "message", json_string(msg));
    json_object_set_new(e, "code", json_integer(status));
    json_object_set_new(o, "error", e);
    return o;
}

static const http_route ROUTES[] = {
    {"POST", "/up/", HTTP_PATH_PREFIX, HTTP_BODY_BLOB, h_blob, &BLOB, false},
    {"GET", "/hello", HTTP_PATH_EXACT, HTTP_BODY_NONE, h_hello, NULL, false},
    {"POST", "/echo", HTTP_PATH_EXACT, HTTP_BODY_JSON, h_echo, NULL, false},
    {"GET", "/items/special", HTTP_PATH_EXACT, HTTP_BODY_NONE, h_hello, NULL, false},
    {"GET", "/items/", HTTP_PATH_PREFIX_NONEMPTY, HTTP_BODY_NONE, h_item, NULL, false},
    {"GET", "/any/", HTTP_PATH_PREFIX, HTTP_BODY_NONE, h_item, NULL, false},
    {"GET", "/quiet", HTTP_PATH_EXACT, HTTP_BODY_NONE, h_hello, NULL, true},
    {"GET", "/stream", HTTP_PATH_EXACT, HTTP_BODY_NONE, h_stream, NULL, false},
    {"GET", "/forever", HTTP_PATH_EXACT, HTTP_BODY_NONE, h_stream, NULL, false},
    {"GET", "/v1/fail/", HTTP_PATH_PREFIX, HTTP_BODY_NONE, h_fail, NULL, false},
    {"POST", "/v1/thing", HTTP_PATH_EXACT, HTTP_BODY_JSON, h_echo, NULL, false},
};

/* ---- a minimal HTTP/1.0 client ---- */

typedef struct resp {
    int status;
    char head[4096];
    char *body;                  /* NUL-terminated, owned */
    size_t n_body;
} resp;

static int dial(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Sends method path with extra header lines ("" or "X: y\r\n...") and body; reads to EOF. */
static bool call(uint16_t port, const char *method, const char *path, const char *headers, const char *body,
                 size_t n_body, resp *out) {
    memset(out, 0, sizeof *out);
    int fd = dial(port);
    if (fd < 0) return false;
    char req[2048];
    int k = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\n%s%sContent-Length: %zu\r\n\r\n", method, path,
                     strstr(headers, "Host:") ? "" : "Host: 127.0.0.1\r\n", headers, n_body);
    bool ok = send_all(fd, req, (size_t)k) && (!n_body || send_all(fd, body, n_body));
    http_buf all = {0};
    char buf[8192];
    ssize_t got;
    while (ok && (got = recv(fd, buf, sizeof buf, 0)) > 0) ok = http_buf_append(&all, buf, (size_t)got);
    close(fd);
    char *sep = all.p ? strstr(all.p, "\r\n\r\n") : NULL;
    if (!ok || !sep || sscanf(all.p, "HTTP/1.%*d %d", &out->status) != 1) {
        free(all.p);
        return false;
    }
    size_t nh = (size_t)(sep - all.p);
    snprintf(out->head, sizeof out->head, "%.*s", (int)(nh < sizeof out->head ? nh : sizeof out->head - 1), all.p);
    out->n_body = all.n - nh - 4;
    out->body = malloc(out->n_body + 1);
    memcpy(out->body, sep + 4, out->n_body);
    out->body[out->n_body] = 0;
    free(all.p);
    return true;
}

static bool has_header(const resp *r, const char *line) { return strstr(r->head, line) != NULL; }

static void resp_free(resp *r) { free(r->body); }

static void wait_for(atomic_int *v, int want, int ms) {
    for (int i = 0; i < ms && atomic_load(v) < want; i++) usleep(1000);
}

static http_server *SRV;
static uint16_t PORT;

/* One request without a body; checks the status and, when want is not NULL, the exact
 * body. Failures name the caller's line. */
static void expect_at(int line, const char *method, const char *path, const char *headers, int status,
                      const char *want) {
    resp r;
    if (!call(PORT, method, path, headers, NULL, 0, &r)) {
        t_fail(__FILE__, line, "call", "%s %s: no answer", method, path);
        return;
    }
    if (r.status != status || (want && strcmp(r.body, want)))
        t_fail(__FILE__, line, "expect", "%s %s: got %d '%s', want %d '%s'", method, path, r.status, r.body, status,
               want ? want : "*");
    resp_free(&r);
}
#define EXPECT(method, path, headers, status, want) expect_at(__LINE__, method, path, headers, status, want)

/* ---- cases ---- */

static void test_buf_status(void) {
    http_buf b = {0};
    T_CHECK(http_buf_append(&b, "ab", 2) && http_buf_append(&b, "", 0) && http_buf_append(&b, "c", 1));
    T_CHECK(b.n == 3 && !strcmp(b.p, "abc"));
    free(b.p);
    T_CHECK(http_status_of(PP_OK) == 200 && http_status_of(PP_ERR_NOT_FOUND) == 404);
    T_CHECK(http_status_of(PP_ERR_ARG) == 400 && http_status_of(PP_ERR_FORMAT) == 400);
    T_CHECK(http_status_of(PP_ERR_IO) == 503 && http_status_of(PP_ERR_CANCELLED) == 499);
    T_CHECK(http_status_of(PP_ERR_INTERNAL) == 500 && http_status_of(PP_ERR_NOMEM) == 500);
}

static void test_routing(void) {
    resp r;
    T_CHECK(PORT != 0);
    T_CHECK(call(PORT, "GET", "/hello", "", NULL, 0, &r));
    T_CHECK_MSG(r.status == 200 && !strcmp(r.body, "hi") && has_header(&r, "Content-Type: text/plain"), "%d %s",
                r.status, r.body);
    T_CHECK(atomic_load(&APP.n_calls) == 1); /* r->app is the app pointer */
    resp_free(&r);
    T_CHECK(call(PORT, "HEAD", "/hello", "", NULL, 0, &r));
    T_CHECK_MSG(r.status == 200 && r.n_body == 0, "%d %zu", r.status, r.n_body);
    resp_free(&r);
    EXPECT("GET", "/items/abc", "", 200, "abc");
    EXPECT("GET", "/items/special", "", 200, "hi");           /* first match wins */
    EXPECT("GET", "/items/", "", 404, "404 page not found");  /* PREFIX_NONEMPTY needs a rest */
    EXPECT("GET", "/any/", "", 200, "");                      /* PREFIX: an empty rest is fine */
    T_CHECK(call(PORT, "GET", "/nope", "", NULL, 0, &r));
    T_CHECK_MSG(r.status == 404 && !strcmp(r.body, "404 page not found") &&
                    has_header(&r, "Content-Type: text/plain; charset=utf-8"),
                "%d %s", r.status, r.body);
    resp_free(&r);
}

static void test_405(void) {
    resp r;
    T_CHECK(call(PORT, "POST", "/hello", "", NULL, 0, &r));
    T_CHECK_MSG(r.status == 405 && !strcmp(r.body, "{\"error\":\"method POST not allowed on /hello\"}") &&
                    has_header(&r, "Content-Type: application/json; charset=utf-8"),
                "%d %s", r.status, r.body);
    resp_free(&r);
    EXPECT("DELETE", "/echo", "", 405, "{\"error\":\"method DELETE not allowed on /echo\"}");
    EXPECT("POST", "/quiet", "", 404, "404 page not found"); /* no_405 */
    EXPECT("PUT", "/items/abc", "", 404, NULL);               /* prefix routes give no 405 */
    /* the error-body callback shapes every error on /v1/, routed or not */
    EXPECT("GET", "/v1/thing", "", 405,
           "{\"error\":{\"message\":\"method GET not allowed on /v1/thing\",\"code\":405}}");
    EXPECT("GET", "/v1/fail/x", "", 404, "{\"error\":{\"message\":\"no x here\",\"code\":404}}");
}

/* {"a":[[...]]} nested `levels` deep (the object counts); returns its length. */
static size_t nested(char *buf, int levels) {
    size_t n = 0;
    buf[n++] = '{';
    memcpy(buf + n, "\"a\":", 4);
    n += 4;
    for (int i = 1; i < levels; i++) buf[n++] = '[';
    for (int i = 1; i < levels; i++) buf[n++] = ']';
    buf[n++] = '}';
    return n;
}

static void test_json_bodies(void) {
    resp r;
    const char *ok = "{\"a\":[1,2],\"b\":\"x\"}";
    T_CHECK(call(PORT, "POST", "/echo", "", ok, strlen(ok), &r));
    T_CHECK_MSG(r.status == 200 && !strcmp(r.body, ok), "%d %s", r.status, r.body);
    resp_free(&r);
    T_CHECK(call(PORT, "POST", "/echo", "", NULL, 0, &r));
    T_CHECK_MSG(r.status == 400 && !strcmp(r.body, "{\"error\":\"missing request body\"}"), "%d %s", r.status, r.body);
    resp_free(&r);
    T_CHECK(call(PORT, "POST", "/echo", "", "{", 1, &r));
    T_CHECK_MSG(r.status == 400 && strstr(r.body, "request body: invalid JSON at line 1"), "%d %s", r.status, r.body);
    resp_free(&r);
    T_CHECK(call(PORT, "POST", "/echo", "", "[1]", 3, &r));
    T_CHECK_MSG(r.status == 400 && strstr(r.body, "request body: expected a JSON object, got array"), "%d %s",
                r.status, r.body);
    resp_free(&r);
    char deep[200];
    size_t n = nested(deep, HTTP_MAX_DEPTH + 1);
    T_CHECK(call(PORT, "POST", "/echo", "", deep, n, &r));
    T_CHECK_MSG(r.status == 400 && !strcmp(r.body, "{\"error\":\"request body: JSON nested deeper than 64 levels\"}"),
                "%d %s", r.status, r.body);
    resp_free(&r);
    n = nested(deep, HTTP_MAX_DEPTH);
    T_CHECK(call(PORT, "POST", "/echo", "", deep, n, &r));
    T_CHECK_MSG(r.status == 200, "%d %s", r.status, r.body);
    resp_free(&r);
}

static void test_body_limit(void) {
    resp r;
    char big[TEST_MAX_BODY + 1];
    memset(big, ' ', sizeof big);
    big[0] = '{';
    big[sizeof big - 1] = '}';
    T_CHECK(call(PORT, "POST", "/echo", "", big, sizeof big, &r));
    T_CHECK_MSG(r.status == 413 && !strcmp(r.body, "{\"error\":\"request body too large (limit 1024 bytes)\"}"),
                "%d %s", r.status, r.body);
    resp_free(&r);
    T_CHECK(call(PORT, "POST", "/echo", "", big, sizeof big - 1, &r)); /* at the limit: parsed */
    T_CHECK_MSG(r.status == 400 && strstr(r.body, "invalid JSON"), "%d %s", r.status, r.body);
    resp_free(&r);
    T_CHECK(call(PORT, "POST", "/nowhere", "", big, sizeof big, &r)); /* 413 comes before routing */
    T_CHECK_MSG(r.status == 413, "%d %s", r.status, r.body);
    resp_free(&r);
    /* a blob route streams its body: no limit, every byte reaches write, end runs once */
    size_t n = 5 * TEST_MAX_BODY + 3;
    char *blob = calloc(1, n);
    T_CHECK(call(PORT, "POST", "/up/d1", "", blob, n, &r));
    char want[64];
    snprintf(want, sizeof want, "%zu d1", n);
    T_CHECK_MSG(r.status == 201 && !strcmp(r.body, want), "%d %s", r.status, r.body);
    resp_free(&r);
    free(blob);
    wait_for(&APP.blob_ended, 1, 2000);
    T_CHECK(atomic_load(&APP.blob_begun) == 1 && atomic_load(&APP.blob_ended) == 1);
    /* end runs also when the request was refused before the handler */
    T_CHECK(call(PORT, "POST", "/up/d2", "Host: evil.example\r\n", "x", 1, &r));
    T_CHECK_MSG(r.status == 403, "%d %s", r.status, r.body);
    resp_free(&r);
    wait_for(&APP.blob_ended, 2, 2000);
    T_CHECK(atomic_load(&APP.blob_begun) == 2 && atomic_load(&APP.blob_ended) == 2);
}

static void test_host_cors(void) {
    resp r;
    EXPECT("GET", "/hello", "Host: evil.example:11434\r\n", 403, "{\"error\":\"host not allowed\"}");
    EXPECT("GET", "/v1/thing", "Host: 8.8.8.8\r\n", 403, "{\"error\":{\"message\":\"host not allowed\",\"code\":403}}");
    EXPECT("GET", "/hello", "Host: localhost:11434\r\n", 200, "hi");
    EXPECT("GET", "/hello", "Host: [::1]:80\r\n", 200, "hi");
    EXPECT("GET", "/hello", "Host: 192.168.1.2\r\n", 200, "hi");
    EXPECT("GET", "/hello", "Host: evil.localhost.example\r\n", 403, NULL);
    EXPECT("GET", "/hello", "Origin: http://evil.example\r\n", 403,
           "{\"error\":\"origin 'http://evil.example' not allowed\"}");
    EXPECT("GET", "/hello", "Origin: http://other.example\r\n", 200, "hi"); /* the list's second entry */
    T_CHECK(call(PORT, "GET", "/hello", "Origin: http://localhost:5173\r\n", NULL, 0, &r));
    T_CHECK_MSG(r.status == 200 && has_header(&r, "Access-Control-Allow-Origin: http://localhost:5173") &&
                    has_header(&r, "Vary: Origin"),
                "%d %s", r.status, r.head);
    resp_free(&r);
    T_CHECK(call(PORT, "GET", "/hello", "Origin: http://ok.example\r\n", NULL, 0, &r)); /* params.origins */
    T_CHECK_MSG(r.status == 200 && has_header(&r, "Access-Control-Allow-Origin: http://ok.example"), "%d %s",
                r.status, r.head);
    resp_free(&r);
    T_CHECK(call(PORT, "GET", "/hello", "", NULL, 0, &r));
    T_CHECK(!has_header(&r, "Access-Control-Allow-Origin"));
    resp_free(&r);
    T_CHECK(call(PORT, "OPTIONS", "/anything", "Origin: app://x\r\n", NULL, 0, &r)); /* preflight, any path */
    T_CHECK_MSG(r.status == 204 && has_header(&r, "Access-Control-Allow-Origin: app://x") &&
                    has_header(&r, "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS") &&
                    has_header(&r, "Access-Control-Max-Age: 43200"),
                "%d %s", r.status, r.head);
    resp_free(&r);
}

static void test_stream(void) {
    resp r;
    int closed = atomic_load(&APP.stream_closed);
    T_CHECK(call(PORT, "GET", "/stream", "", NULL, 0, &r));
    const char *want = "data: 0\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: [END]\n\n";
    T_CHECK_MSG(r.status == 200 && !strcmp(r.body, want), "%d %s", r.status, r.body);
    T_CHECK_MSG(has_header(&r, "Content-Type: text/event-stream") && has_header(&r, "Cache-Control: no-cache"), "%s",
                r.head);
    resp_free(&r);
    wait_for(&APP.stream_closed, closed + 1, 2000);
    T_CHECK(atomic_load(&APP.stream_closed) == closed + 1);
    T_CHECK(atomic_load(&APP.stream_cancelled) == 0); /* a complete stream is not cancelled */
}

static void test_disconnect(void) {
    int closed = atomic_load(&APP.stream_closed);
    int fd = dial(PORT);
    T_CHECK(fd >= 0);
    if (fd < 0) return;
    const char *req = "GET /forever HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    T_CHECK(send_all(fd, req, strlen(req)));
    char buf[512] = "";
    size_t got = 0;
    while (!strstr(buf, "data: 0\n\n") && got < sizeof buf - 1) { /* the first piece arrives */
        ssize_t k = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (k <= 0) break;
        got += (size_t)k;
        buf[got] = 0;
    }
    T_CHECK_MSG(strstr(buf, "data: 0\n\n") != NULL, "%s", buf);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    close(fd); /* hang up while the source waits for more */
    wait_for(&APP.stream_cancelled, 1, 3000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    T_CHECK_MSG(atomic_load(&APP.stream_cancelled) == 1, "no cancel after %.0f ms", ms);
    T_CHECK_MSG(ms < 20 * HTTP_POLL_MS, "cancel after %.0f ms", ms);
    wait_for(&APP.stream_closed, closed + 1, 2000);
    T_CHECK(atomic_load(&APP.stream_closed) == closed + 1);
}

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* True when the server closed fd within ms (end of stream or reset), sending trickle (if
 * not NULL) every 50 ms meanwhile. */
static bool closed_within(int fd, int ms, const char *trickle) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (ms_since(&t0) < ms) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) > 0) {
            char buf[256];
            ssize_t k = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (k <= 0) return true;
        }
        if (trickle && send(fd, trickle, strlen(trickle), MSG_NOSIGNAL) < 0) return true;
    }
    return false;
}

#define SLOW_HEAD_MS 400
#define SLOW_PENDING 4

static void test_slow_clients(void) {
    http_server_params p = http_server_default_params();
    p.routes = ROUTES;
    p.n_routes = sizeof ROUTES / sizeof ROUTES[0];
    p.app = &APP;
    p.head_ms = SLOW_HEAD_MS;
    p.body_grace_ms = SLOW_HEAD_MS;
    p.body_min_rate = 1u << 20;
    p.max_pending = SLOW_PENDING;
    p.max_pending_per_ip = SLOW_PENDING;
    http_server *h = NULL;
    pp_err e = {0};
    T_CHECK(http_server_start(&p, &h, &e) == PP_OK);
    if (!h) return;
    uint16_t port = http_server_port(h);
    /* a head trickled a header line at a time: cut at the deadline, not before */
    int fd = dial(port);
    const char *line1 = "GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    T_CHECK(fd >= 0 && send_all(fd, line1, strlen(line1)));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    T_CHECK(!closed_within(fd, SLOW_HEAD_MS / 2, "X-Slow: 1\r\n"));
    T_CHECK(closed_within(fd, 2 * SLOW_HEAD_MS + 4 * HTTP_WATCH_MS, "X-Slow: 1\r\n"));
    double ms = ms_since(&t0);
    T_CHECK_MSG(ms >= SLOW_HEAD_MS / 2 && ms < 3 * SLOW_HEAD_MS + 4 * HTTP_WATCH_MS, "cut after %.0f ms", ms);
    close(fd);
    /* SLOW_PENDING + 2 silent connections: the 2 oldest are closed at once */
    int fds[SLOW_PENDING + 2];
    for (int i = 0; i < SLOW_PENDING + 2; i++) {
        fds[i] = dial(port);
        usleep(20000); /* let the server see them in this order */
    }
    T_CHECK(closed_within(fds[0], SLOW_HEAD_MS / 4, NULL) && closed_within(fds[1], SLOW_HEAD_MS / 4, NULL));
    T_CHECK(!closed_within(fds[SLOW_PENDING + 1], SLOW_HEAD_MS / 8, NULL));
    /* and a complete request still gets in (closing the oldest waiting one) */
    resp r;
    T_CHECK(call(port, "GET", "/hello", "", NULL, 0, &r) && r.status == 200 && !strcmp(r.body, "hi"));
    resp_free(&r);
    T_CHECK(closed_within(fds[2], SLOW_HEAD_MS / 4, NULL));
    for (int i = 0; i < SLOW_PENDING + 2; i++)
        if (fds[i] >= 0) close(fds[i]);
    /* a body that stalls: cut after the grace time; a quick one is answered */
    fd = dial(port);
    const char *req = "POST /echo HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{\"a\":";
    T_CHECK(fd >= 0 && send_all(fd, req, strlen(req)));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    T_CHECK(closed_within(fd, 2 * SLOW_HEAD_MS + 4 * HTTP_WATCH_MS, NULL));
    ms = ms_since(&t0);
    T_CHECK_MSG(ms >= SLOW_HEAD_MS - HTTP_WATCH_MS, "body cut after %.0f ms", ms);
    close(fd);
    T_CHECK(call(port, "POST", "/echo", "", "{\"a\":1}", 7, &r) && r.status == 200 && !strcmp(r.body, "{\"a\":1}"));
    resp_free(&r);
    http_server_quiesce(h);
    http_server_stop(h, HTTP_DRAIN_MS);
}

static void test_bind_error(void) {
    http_server_params p = http_server_default_params();
    p.port = PORT; /* taken by SRV */
    p.routes = ROUTES;
    p.n_routes = 1;
    http_server *h = NULL;
    pp_err e = {0};
    T_CHECK(http_server_start(&p, &h, &e) == PP_ERR_IO && h == NULL);
    char want[128];
    snprintf(want, sizeof want, "listen 127.0.0.1:%u: cannot bind (address in use or not permitted)", PORT);
    T_CHECK_MSG(!strcmp(e.msg, want), "%s", e.msg);
    p.host = "no such host.invalid";
    T_CHECK(http_server_start(&p, &h, &e) == PP_ERR_ARG);
    T_CHECK_MSG(!strncmp(e.msg, "listen no such host.invalid:", 28), "%s", e.msg);
}

int main(void) {
    http_server_params p = http_server_default_params();
    p.port = 0;
    p.origins = " http://ok.example , http://other.example";
    p.max_body = TEST_MAX_BODY;
    p.routes = ROUTES;
    p.n_routes = sizeof ROUTES / sizeof ROUTES[0];
    p.app = &APP;
    p.error_body = error_body;
    pp_err e = {0};
    if (http_server_start(&p, &SRV, &e)) {
        fprintf(stderr, "http_server_start: %s\n", e.msg);
        return 1;
    }
    PORT = http_server_port(SRV);
    T_RUN(test_buf_status);
    T_RUN(test_routing);
    T_RUN(test_405);
    T_RUN(test_json_bodies);
    T_RUN(test_body_limit);
    T_RUN(test_host_cors);
    T_RUN(test_stream);
    T_RUN(test_disconnect);
    T_RUN(test_bind_error);
    T_RUN(test_slow_clients);
    http_server_quiesce(SRV);
    http_server_stop(SRV, HTTP_DRAIN_MS);
    return t_finish("http");
}
