/* server_internal.h - shared internals of src/server: the request context, jobs, runners
 * (one loaded model + its worker thread), model resolution and the JSON helpers.
 * Locking: one server mutex (srv->mu) guards every runner and job field marked [mu]. */
#ifndef PIPPA_SERVER_INTERNAL_H
#define PIPPA_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../engine/engine.h"
#include "server.h"

#define HTTP_MAX_BODY (16u << 20)   /* request body bytes; larger -> 413 */
#define HTTP_MAX_DEPTH 64           /* JSON nesting; deeper -> 400 */
#define HTTP_MAX_CONNECTIONS 256
#define HTTP_DRAIN_MS 3000          /* shutdown: wait this long for responses in flight */
#define HTTP_POLL_MS 50             /* hang-up check while a response waits for tokens */
#define API_NAME_MAX 520
#define API_PATH_MAX 4096
#define API_MAX_MESSAGES 65536
#define API_MAX_CONTEXT_IDS (1u << 22)
#define API_FOREVER_NS (100LL * 365 * 86400 * 1000000000LL) /* keep_alive this long = forever */
#define API_COMPAT_VERSION "0.33.0"  /* Ollama API level reported by /api/version */

/* ---- model resolution (api_models.c) ---- */
typedef struct api_model {
    char name[API_NAME_MAX];      /* display name, always tagged: "fx:latest" */
    char path[API_PATH_MAX];      /* GGUF file */
    char digest[65];              /* sha256 hex identifying this model version */
    uint64_t size;                /* bytes */
    int64_t modified;             /* unix seconds */
    char *system;                 /* default system prompt or NULL (owned) */
    char *template_text;          /* model's template text or NULL (owned) */
    json_t *params;               /* model's options object or NULL (owned reference) */
    char *license;                /* NULL when none (owned) */
    json_t *details;              /* tags/show details from the store's config, or NULL */
    bool from_store, readonly;    /* found in the store; in Ollama's read-only store */
} api_model;

/* The one place a model name becomes a file. PP_ERR_NOT_FOUND: "model 'x' not found". */
pp_status api_model_resolve(api_server *srv, const char *name, api_model *out, pp_err *err);
void api_model_clear(api_model *m);
struct store;
/* Opens the model store ($PIPPA_MODELS, read-only $OLLAMA_MODELS). Caller store_close()s. */
pp_status api_store_open(struct store **out, pp_err *err);
/* All models (caller frees with api_model_list_free). */
pp_status api_model_list(api_server *srv, api_model **out, size_t *n, pp_err *err);
void api_model_list_free(api_model *v, size_t n);
/* "fx" -> "fx:latest", lower-cased; PP_ERR_ARG for names with characters outside
 * [a-z0-9._-] (one ':' for the tag) or leading '.'/'-'. */
pp_status api_name_normalize(const char *in, char *out, size_t cap, pp_err *err);

/* ---- jobs and runners (api_sched.c) ---- */
typedef enum api_job_kind { API_JOB_LOAD, API_JOB_GENERATE, API_JOB_CHAT, API_JOB_TASK } api_job_kind;
typedef enum api_job_state { API_JOB_QUEUED, API_JOB_RUNNING, API_JOB_DONE } api_job_state;

typedef struct api_chat_msg {
    char *role, *content;
} api_chat_msg;

typedef struct api_runner api_runner;

typedef struct api_job {
    /* request (immutable once queued) */
    api_job_kind kind;
    engine_options opt;
    bool keep_alive_set;
    int64_t keep_alive_ns;
    uint64_t t_start;             /* pp_time_ns when the request arrived */
    char *prompt, *system;        /* generate */
    bool raw;
    int32_t *ctx_in;              /* generate: context ids from the previous reply */
    size_t n_ctx_in;
    api_chat_msg *msgs;           /* chat */
    size_t n_msgs;
    /* output [mu] */
    pthread_cond_t cv;
    api_job_state state;
    bool started;                 /* prompt ready, generation about to begin */
    char *text;                   /* produced text not yet taken by the response */
    size_t n_text, cap_text;
    bool text_oom;
    pp_status status;
    pp_err err;
    engine_result res;            /* reply_ids not valid here (copied into ctx_out) */
    uint32_t prompt_tokens;       /* whole prompt, cached prefix included */
    int32_t *ctx_out;             /* generate: prompt + reply ids */
    size_t n_ctx_out;
    uint32_t n_ctx;               /* context length of the session */
    atomic_bool cancel;
    int refs;                     /* [mu] connection + queue */
    api_runner *runner;           /* [mu] */
    struct api_job *next;         /* [mu] queue link */
} api_job;

api_job *api_job_new(api_job_kind kind);
/* Drops one reference (takes srv->mu). */
void api_job_unref(api_server *srv, api_job *j);
/* Queues j for model m (loading it if needed). PP_ERR_IO with "server busy..." when the
 * queue is full (-> 503). The queue holds its own reference. */
pp_status api_job_submit(api_server *srv, const api_model *m, api_job *j, pp_err *err);
/* Asks j to stop: drops it from its queue if still waiting, else cancels the generation. */
void api_job_cancel(api_server *srv, api_job *j);
/* Waits until j has text or is done, or timeout_ms passed. Takes srv->mu. Moves the
 * pending text into *text (caller frees; NULL when none). Returns true when j is done. */
bool api_job_wait(api_server *srv, api_job *j, int timeout_ms, char **text, size_t *n_text);

/* Waits until j started generating (or is done), or timeout_ms passed; true if so. */
bool api_job_wait_started(api_server *srv, api_job *j, int timeout_ms);
/* pthread_cond_init with CLOCK_MONOTONIC (every timed wait here uses it). */
void api_cond_init(pthread_cond_t *cv);
/* Marks the server stopping, fails queued jobs and cancels running ones. */
void api_sched_cancel_all(api_server *srv);
/* Unloads model `name` now if it is idle, else after its queue drains. Returns true if it
 * was loaded. */
bool api_sched_unload(api_server *srv, const char *name);
/* /api/ps "models" array. */
json_t *api_sched_ps(api_server *srv);
void api_sched_start(api_server *srv);
void api_sched_stop(api_server *srv);  /* cancels everything, joins and frees every runner */

/* ---- background tasks with streamed status lines (api_task.c) ---- */
typedef struct api_task api_task;
typedef struct http_req http_req;
typedef pp_status (*api_task_fn)(api_server *srv, api_job *j, void *ud, pp_err *err);
/* Runs fn(srv, j, ud) on its own thread (j gets a reference; ud_free(ud) afterwards). */
pp_status api_task_start(api_server *srv, api_job *j, api_task_fn fn, void *ud, void (*ud_free)(void *), pp_err *err);
/* One NDJSON line into j's output (steals line); api_task_status: {"status": status}. */
void api_task_emit(api_server *srv, api_job *j, json_t *line);
void api_task_status(api_server *srv, api_job *j, const char *status);
/* Streams the task's lines (plus {"error"} on failure), or waits and answers
 * {"status":"success"} / the error. Consumes the caller's job reference. */
enum MHD_Result api_task_respond(http_req *r, api_job *j, bool stream);
void api_task_join_all(api_server *srv);

/* ---- server state ---- */
struct api_server {
    api_server_params p;
    struct MHD_Daemon *daemon;
    uint16_t port;
    pthread_mutex_t mu;
    pthread_cond_t cv_sched;
    pthread_t sched_thread;
    bool sched_started;
    bool stopping;               /* [mu] */
    api_runner *runners;         /* [mu] loaded (or loading) models */
    api_runner *dead;            /* [mu] runners whose worker exited, waiting for a join */
    size_t n_queued;             /* [mu] queued jobs over all runners */
    atomic_uint_fast64_t next_id; /* chatcmpl-N / cmpl-N */
    atomic_int n_active;
    struct api_task *tasks;      /* [mu] pull/create threads (api_task.c) */         /* requests between the first handler call and completion */
};

/* ---- HTTP helpers (http.c) ---- */
typedef struct http_req http_req;
/* What a handler sees. */
struct http_req {
    api_server *srv;
    struct MHD_Connection *conn;
    const char *method, *url;
    char *body;
    size_t n_body, cap_body;
    bool too_large;
    const char *origin;          /* Origin header or NULL */
    bool openai;                 /* /v1/ route: OpenAI error format */
    uint64_t t_start;
    bool responded;
    /* POST /api/blobs/<digest>: the body streams into a temporary file (api_blobs.c) */
    bool blob;
    int blob_fd;                 /* -1 when closed */
    char blob_tmp[API_PATH_MAX];
    unsigned blob_status;        /* != 0: an error found while receiving */
    char blob_err[PP_ERR_MSG_MAX];
};

/* Blob uploads (api_blobs.c): begin on the first handler call, write each body chunk,
 * answer at the end; abort cleans up after a dropped connection. */
void api_blob_begin(http_req *r, const char *digest);
void api_blob_write(http_req *r, const char *data, size_t n);
enum MHD_Result api_blob_finish(http_req *r, const char *digest);
enum MHD_Result api_blob_head(http_req *r, const char *digest);
void api_blob_abort(http_req *r);

/* Queues a JSON response (steals obj). */
enum MHD_Result http_send_json(http_req *r, unsigned status, json_t *obj);
enum MHD_Result http_send_text(http_req *r, unsigned status, const char *ctype, const char *text);
/* {"error": msg}, or the OpenAI form on /v1 routes. */
enum MHD_Result http_send_error(http_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Status for a pp_status from the model/job layer: NOT_FOUND 404, ARG/FORMAT 400, IO 503
 * (busy), CANCELLED 499, else 500. */
unsigned http_status_of(pp_status st);

/* A streamed response: the job's text formatted per kind into out. */
typedef struct http_stream http_stream;
struct http_stream {
    api_server *srv;
    struct MHD_Connection *conn;
    api_job *job;
    int kind;                    /* API_STREAM_* */
    char model[API_NAME_MAX];
    char id[48];
    int64_t created;
    bool include_usage, sent_first;
    char *out;                   /* formatted bytes not yet handed to MHD */
    size_t n_out, off_out, cap_out;
    bool finished;
};
enum { API_STREAM_GENERATE, API_STREAM_CHAT, API_STREAM_OAI_CHAT, API_STREAM_OAI_COMPLETION, API_STREAM_RAW };
/* Starts a streamed 200 response for s (takes ownership of s; frees it and unrefs the job
 * when the response is done or the client goes away). */
enum MHD_Result http_send_stream(http_req *r, http_stream *s);
/* Appends formatted output for the stream kind: text chunk or the final chunk(s). */
bool api_stream_format(http_stream *s, const char *text, size_t n, bool final);
/* Waits for j without streaming (non-stream requests): returns false when the client went
 * away (the job is cancelled then). Collects all text into *text. */
bool http_wait_job(http_req *r, api_job *j, char **text, size_t *n_text);
/* True when the peer closed the connection. */
bool http_conn_gone(struct MHD_Connection *conn);

/* ---- JSON helpers (api_json.c) ---- */
const char *api_json_type(const json_t *v);
/* Optional field of the given type: absent/null -> *out untouched and PP_OK; wrong type ->
 * PP_ERR_ARG "field 'stream': expected boolean, got string". */
pp_status api_field_string(const json_t *obj, const char *key, const char **out, pp_err *err);
pp_status api_field_bool(const json_t *obj, const char *key, bool *out, pp_err *err);
pp_status api_field_number(const json_t *obj, const char *key, double *out, pp_err *err);
/* Applies an options object (Ollama's names and type rules; unknown names ignored with a
 * log line): 400 texts `option "top_k" must be of type integer`. */
pp_status api_options_apply(engine_options *o, const json_t *options, pp_err *err);
/* keep_alive field: number (seconds) or duration string. */
pp_status api_keep_alive_parse(const json_t *v, int64_t *ns, pp_err *err);
/* RFC 3339 UTC with microseconds: "2025-10-17T23:14:07.414671Z". */
void api_time_rfc3339(int64_t unix_ns, char *buf, size_t cap);
int64_t api_now_unix_ns(void);
/* Final-chunk fields (done_reason, timing) added to obj. */
void api_json_add_stats(json_t *obj, const api_job *j);
const char *api_done_reason(const api_job *j);
/* Parses a JSON body with the depth bound; PP_ERR_ARG with a message on failure. */
pp_status api_json_parse(const char *body, size_t n, json_t **out, pp_err *err);
/* Builds the job's options: defaults <- server num_ctx <- model params <- request options. */
pp_status api_job_options(api_server *srv, const api_model *m, const json_t *options, engine_options *o, pp_err *err);

/* ---- handlers ---- */
enum MHD_Result api_handle_generate(http_req *r, json_t *req);
enum MHD_Result api_handle_chat(http_req *r, json_t *req);
enum MHD_Result api_handle_ps(http_req *r);
enum MHD_Result api_handle_tags(http_req *r);
enum MHD_Result api_handle_show(http_req *r, json_t *req);
enum MHD_Result api_handle_copy(http_req *r, json_t *req);
enum MHD_Result api_handle_delete(http_req *r, json_t *req);
enum MHD_Result api_handle_pull(http_req *r, json_t *req);
enum MHD_Result api_handle_create(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_chat(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_completion(http_req *r, json_t *req);
enum MHD_Result api_handle_oai_models(http_req *r, const char *one);
/* Submits j and waits until it starts generating; on failure sends the error (*ret). */
bool api_job_start(http_req *r, const api_model *m, api_job *j, enum MHD_Result *ret);
/* Runs j and answers with a stream of `kind`, or with build(...) when !stream. Consumes
 * the caller's job reference. */
enum MHD_Result api_respond(http_req *r, const api_model *m, api_job *j, bool stream, int kind,
                            json_t *(*build)(http_req *, const char *, api_job *, const char *, size_t),
                            bool include_usage);
/* messages[] (native or OpenAI content parts) into j->msgs. */
pp_status api_parse_messages(const json_t *msgs, api_job *j, pp_err *err);
/* OpenAI pieces (api_openai.c): a chunk (text NULL: envelope only), usage, error body. */
json_t *api_oai_chunk(http_stream *s, const char *text, size_t n, const char *finish, bool chat);
json_t *api_oai_usage(const api_job *j);
json_t *api_oai_error(const char *msg, unsigned status);
/* The request's "model" (or deprecated "name") field; 400 "model is required". */
pp_status api_model_field(const json_t *req, const char **out, pp_err *err);
/* details object shared by tags/ps/show */
json_t *api_model_details(const api_model *m);

#endif
