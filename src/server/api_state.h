/* api_state.h - the server's shared state (struct api_server) and the API layer's limits.
 * Included by every api_*.c that touches the server object; it names no HTTP type (the
 * transport is a pointer here), so the scheduler and the workers stay free of HTTP.
 * Locking: one server mutex (mu) guards every field marked [mu], and every runner and job
 * field marked [mu] in api_sched.h / api_runner.h. */
#ifndef PIPPA_API_STATE_H
#define PIPPA_API_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "server.h"

#define API_NAME_MAX 520
#define API_PATH_MAX 4096
#define API_MAX_MESSAGES 4096      /* messages[] entries: twice what OpenAI accepts (2048) */
#define API_MAX_CONTEXT_IDS (1u << 22)
#define API_FOREVER_NS (100LL * 365 * 86400 * 1000000000LL) /* keep_alive this long = forever */
#define API_COMPAT_VERSION "0.33.0"  /* Ollama API level reported by /api/version */

struct http_server;
struct api_runner;
struct api_task;

struct api_server {
    api_server_params p;
    struct http_server *http;    /* the transport (http.h) */
    pthread_mutex_t mu;
    pthread_cond_t cv_sched;
    pthread_t sched_thread;
    bool sched_started;
    bool stopping;               /* [mu] */
    struct api_runner *runners;  /* [mu] loaded (or loading) models */
    struct api_runner *dead;     /* [mu] runners whose worker exited, waiting for a join */
    size_t n_queued;             /* [mu] queued jobs over all runners */
    atomic_uint_fast64_t next_id; /* chatcmpl-N / cmpl-N */
    struct api_task *tasks;      /* [mu] pull/create threads (api_task.c) */
};

#endif
