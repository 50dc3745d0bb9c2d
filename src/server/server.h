/* server.h - `pippa serve`: Ollama's REST API and the OpenAI-compatible /v1 API over HTTP
 * (shared/spec/ollama-compat.md §3), on libmicrohttpd, JSON via jansson.
 *
 * Usage:
 *     api_server_params p = api_server_default_params();   // 127.0.0.1:11434, keep_alive 5m
 *     api_server_params_from_env(&p, &err);                 // PIPPA_HOST/OLLAMA_HOST, ...
 *     api_server *srv;
 *     if (api_server_start(&p, &srv, &err)) die(err.msg);
 *     ... wait for SIGTERM ...
 *     api_server_stop(srv);                                 // cancels, joins, frees everything
 *
 * Design (threads):
 *   * libmicrohttpd runs one thread per connection (MHD_USE_THREAD_PER_CONNECTION). That
 *     thread only reads the request, parses and validates the JSON, and writes the response.
 *   * Each loaded model has one inference worker thread that owns its engine_session.
 *     Requests for a model are jobs in that worker's FIFO queue (bounded in total by
 *     max_queue -> 503). The worker loads the model on first use, renders the prompt,
 *     generates, and appends text to the job under the server mutex, signalling the job's
 *     condition variable.
 *   * A streaming response is an MHD callback response whose reader (http.c) pulls from
 *     a source (api_respond.c) that blocks on the job's condition variable (in the
 *     connection's own thread, so nothing else waits) and formats the text with the
 *     reply's api_format. Between pulls (at most HTTP_POLL_MS each) the reader checks the
 *     socket for a hang-up; a disconnected client
 *     cancels its job (engine_session_cancel: generation stops within one token) or drops
 *     it from the queue if it has not started.
 *   * A scheduler thread unloads models whose keep_alive expired.
 *   * Pull and create run on task threads that stream status lines the same way.
 *   * Model names resolve in one place (api_model_resolve): `--model NAME=PATH`
 *     registrations, then the model store (src/store), then PIPPA_GGUF_DIR.
 *   * No parallel slots: OLLAMA_NUM_PARALLEL is treated as 1 (Ollama's default).
 *
 * Layers (each includes only the ones below it):
 *   api_server.c                 route table, error shape per family, start/stop
 *   api_gen.c | api_openai.c     one API family each: handlers + wire format (api_format)
 *   api_models.c, api_store.c,   model read/write side, blobs, pull/create tasks
 *   api_blobs.c, api_task.c
 *   api_respond.c/.h             shared: start/collect/stream a job, messages[]
 *   api_job.c, api_queue.c,      scheduler (api_sched.h): jobs, queue, runners + workers;
 *   api_sched.c                  no HTTP here
 *   api_json.c/.h, api_models.h, api_state.h   helpers, model struct, server state
 *   http.c/.h                    the transport: knows no API code, no jobs
 *
 * Thread safety: api_server_start/stop are called from one thread (main). Everything else
 * is internal.
 */
#ifndef PIPPA_SERVER_H
#define PIPPA_SERVER_H

#include <stdint.h>

#include "../core/core.h"

#define API_DEFAULT_PORT 11434
#define API_HOST_MAX 256
#define API_MAX_REGISTERED 64

typedef struct api_server_params {
    char host[API_HOST_MAX];      /* bind address, "127.0.0.1" */
    uint16_t port;                /* 11434; 0 = any free port (see api_server_port) */
    int64_t keep_alive_ns;        /* default keep_alive: 5m; < 0 forever; 0 unload after use */
    uint32_t max_queue;           /* queued requests over all models before 503: 512 */
    uint32_t max_loaded;          /* models kept in memory at once: 3 */
    uint32_t num_ctx;             /* default num_ctx (OLLAMA_CONTEXT_LENGTH); 0 = engine default */
    bool no_repack, no_fuse;      /* engine_model_params of every model loaded (set by main from
                                     PIPPA_NO_REPACK, PIPPA_NO_FUSE) */
    bool no_prune;                /* DELETE /api/delete keeps the blobs it leaves unreferenced
                                     (PIPPA_NOPRUNE, like Ollama's OLLAMA_NOPRUNE) */
    char origins[4096];           /* extra CORS origins, comma separated (OLLAMA_ORIGINS) */
    char gguf_dir[4096];          /* directory of NAME[:TAG].gguf files served as models ("" = none) */
    /* models registered by the operator (`pippa serve --model NAME=PATH`): borrowed strings,
     * valid until api_server_stop */
    int n_registered;
    const char *reg_name[API_MAX_REGISTERED];
    const char *reg_path[API_MAX_REGISTERED];
} api_server_params;

api_server_params api_server_default_params(void);
/* Reads PIPPA_HOST or OLLAMA_HOST, PIPPA_KEEP_ALIVE or OLLAMA_KEEP_ALIVE, OLLAMA_MAX_QUEUE,
 * OLLAMA_MAX_LOADED_MODELS, OLLAMA_CONTEXT_LENGTH, PIPPA_ORIGINS or OLLAMA_ORIGINS,
 * PIPPA_GGUF_DIR, PIPPA_NOPRUNE. Errors name the variable: "OLLAMA_KEEP_ALIVE: bad duration 'x'".
 * The store's own variables (PIPPA_MODELS, OLLAMA_MODELS) are read by src/store. */
pp_status api_server_params_from_env(api_server_params *p, pp_err *err);

typedef struct api_server api_server;
pp_status api_server_start(const api_server_params *p, api_server **out, pp_err *err);
/* The port actually bound (useful with port 0). */
uint16_t api_server_port(const api_server *s);
/* Refuses new connections, cancels running and queued generations, waits for the
 * connection threads, unloads every model and frees the server. NULL-safe. */
void api_server_stop(api_server *s);

/* OLLAMA_HOST forms (ollama-compat.md §4.8): "host", "host:port", ":port",
 * "scheme://host[:port][/path]", "[v6]:port". Default host 127.0.0.1, default port 11434
 * (80/443 when only a scheme http/https is given). Writes the host without brackets. */
pp_status api_host_parse(const char *text, char *host, size_t cap, uint16_t *port, pp_err *err);
/* Go duration ("5m", "1h30m", "-1s", "250ms") or a bare number of seconds ("300", "-1"). */
pp_status api_duration_parse(const char *text, int64_t *ns, pp_err *err);

#endif
