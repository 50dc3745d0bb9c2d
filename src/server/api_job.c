/* api_job.c - job objects (one request's work and its output) and the waits of the
 * connection threads on them. Every timed wait uses CLOCK_MONOTONIC, so a wall-clock jump
 * neither stalls nor hurries a response. */
#include "api_runner.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

api_job *api_job_new(api_job_kind kind) {
    api_job *j = calloc(1, sizeof *j);
    if (!j) return NULL;
    j->kind = kind;
    j->refs = 1;
    j->t_start = pp_time_ns();
    j->state = API_JOB_QUEUED;
    api_cond_init(&j->cv);
    atomic_init(&j->cancel, false);
    return j;
}

static void job_free(api_job *j) {
    pthread_cond_destroy(&j->cv);
    free(j->prompt);
    free(j->system);
    free(j->ctx_in);
    for (size_t i = 0; i < j->n_msgs; i++) {
        free(j->msgs[i].role);
        free(j->msgs[i].content);
    }
    free(j->msgs);
    free(j->text);
    free(j->ctx_out);
    free(j);
}

void api_job_unref_locked(api_job *j) {
    if (--j->refs == 0) job_free(j);
}

void api_job_unref(api_server *srv, api_job *j) {
    if (!j) return;
    pthread_mutex_lock(&srv->mu);
    api_job_unref_locked(j);
    pthread_mutex_unlock(&srv->mu);
}

void api_job_fail_locked(api_job *j, pp_status st, const char *msg) {
    j->state = API_JOB_DONE;
    j->status = st;
    pp_err_set(&j->err, st, "%s", msg);
    pthread_cond_broadcast(&j->cv);
}

void api_cond_init(pthread_cond_t *cv) {
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
}

static void deadline_after(struct timespec *ts, int ms) {
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

bool api_job_wait(api_server *srv, api_job *j, int timeout_ms, char **text, size_t *n_text) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&srv->mu);
    while (j->state != API_JOB_DONE && j->n_text == 0) {
        if (pthread_cond_timedwait(&j->cv, &srv->mu, &dl) == ETIMEDOUT) break;
    }
    bool done = j->state == API_JOB_DONE;
    if (text) {
        *text = NULL;
        *n_text = 0;
        if (j->n_text) {
            *text = j->text;
            *n_text = j->n_text;
            j->text = NULL;
            j->n_text = j->cap_text = 0;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return done;
}

bool api_job_wait_started(api_server *srv, api_job *j, int timeout_ms) {
    struct timespec dl;
    deadline_after(&dl, timeout_ms);
    pthread_mutex_lock(&srv->mu);
    while (j->state != API_JOB_DONE && !j->started) {
        if (pthread_cond_timedwait(&j->cv, &srv->mu, &dl) == ETIMEDOUT) break;
    }
    bool ok = j->state == API_JOB_DONE || j->started;
    pthread_mutex_unlock(&srv->mu);
    return ok;
}
