/* api_runner.h - private to the scheduler files (api_job.c, api_queue.c, api_sched.c): the
 * runner object and the helpers that run under srv->mu ("_locked"). */
#ifndef PIPPA_API_RUNNER_H
#define PIPPA_API_RUNNER_H

#include "api_sched.h"

struct api_runner {
    api_server *srv;
    api_model m;                 /* resolved model (owned copy) */
    pthread_t thread;
    pthread_cond_t cv;           /* work arrived or quit */
    engine_model *em;            /* worker only */
    engine_session *sess;        /* written by the worker under mu; read under mu for cancel */
    bool loaded;                 /* [mu] */
    bool quit;                   /* [mu] */
    bool unload_asap;            /* [mu] */
    bool load_failed;            /* worker only, then read by the worker under mu */
    pp_err load_err;
    api_job *head, *tail;        /* [mu] */
    api_job *running;            /* [mu] */
    uint64_t expires;            /* [mu] monotonic ns; UINT64_MAX = never */
    int64_t expires_wall;        /* [mu] unix ns */
    uint32_t n_ctx;              /* [mu] */
    uint64_t kv_bytes;           /* [mu] KV cache size of the session */
    char *last_reply;            /* worker only: text of the last chat reply */
    int32_t *last_ids;           /* worker only: its token ids */
    size_t n_last_ids;
    api_runner *next;            /* [mu] */
};

/* api_job.c */
void api_job_unref_locked(api_job *j);
/* Ends a job that never ran. */
void api_job_fail_locked(api_job *j, pp_status st, const char *msg);

/* api_sched.c */
/* A runner for m with its worker thread started (not yet in srv->runners). */
pp_status api_runner_new(api_server *srv, const api_model *m, api_runner **out, pp_err *err);
/* Takes r out of service: it is joined and freed by the scheduler. */
void api_runner_retire_locked(api_server *srv, api_runner *r);
/* No queued or running job, and loaded. */
bool api_runner_idle(const api_runner *r);

#endif
