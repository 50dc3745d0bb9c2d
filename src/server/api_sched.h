/* api_sched.h - jobs and the models that run them: a job is one request's work (load,
 * generate, chat, or a management task) with its output; api_job_submit queues it on the
 * runner (loaded model + worker thread) of its model; a scheduler thread unloads models
 * whose keep_alive expired. Files: api_job.c (job objects, waiting), api_queue.c
 * (submit, cancel, unload, ps), api_sched.c (runners, workers, the scheduler thread).
 * No HTTP here: the API layer waits on jobs and formats their output.
 * Locking: srv->mu guards every field marked [mu]. */
#ifndef PIPPA_API_SCHED_H
#define PIPPA_API_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "../engine/engine.h"
#include "api_models.h"

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

/* ---- jobs (api_job.c) ---- */
api_job *api_job_new(api_job_kind kind);
/* Drops one reference (takes srv->mu). */
void api_job_unref(api_server *srv, api_job *j);
/* Waits until j has text or is done, or timeout_ms passed. Takes srv->mu. Moves the
 * pending text into *text (caller frees; NULL when none). Returns true when j is done. */
bool api_job_wait(api_server *srv, api_job *j, int timeout_ms, char **text, size_t *n_text);
/* Waits until j started generating (or is done), or timeout_ms passed; true if so. */
bool api_job_wait_started(api_server *srv, api_job *j, int timeout_ms);
/* pthread_cond_init with CLOCK_MONOTONIC (every timed wait here uses it). */
void api_cond_init(pthread_cond_t *cv);

/* ---- the queue (api_queue.c) ---- */
/* Queues j for model m (loading it if needed). PP_ERR_IO with "server busy..." when the
 * queue is full (-> 503). The queue holds its own reference. */
pp_status api_job_submit(api_server *srv, const api_model *m, api_job *j, pp_err *err);
/* Asks j to stop: drops it from its queue if still waiting, else cancels the generation. */
void api_job_cancel(api_server *srv, api_job *j);
/* Unloads model `name` now if it is idle, else after its queue drains. Returns true if it
 * was loaded. */
bool api_sched_unload(api_server *srv, const char *name);
/* /api/ps "models" array. */
json_t *api_sched_ps(api_server *srv);

/* ---- the scheduler (api_sched.c) ---- */
void api_sched_start(api_server *srv);
/* Marks the server stopping, fails queued jobs and cancels running ones. */
void api_sched_cancel_all(api_server *srv);
void api_sched_stop(api_server *srv);  /* cancels everything, joins and frees every runner */

#endif
