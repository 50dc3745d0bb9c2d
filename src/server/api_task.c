/* api_task.c - management work that streams progress (pull, create): a task thread runs
 * fn, which reports NDJSON status lines through its job (api_task_emit); the response
 * streams them like generated text, in a format that passes them through. Task threads
 * are joined by the next api_task_start once finished, and all of them by
 * api_task_join_all at shutdown. */
#include "api_task.h"

#include <stdlib.h>
#include <string.h>

#include "api_respond.h"

struct api_task {
    pthread_t thread;
    api_server *srv;
    api_job *job;
    api_task_fn fn;
    void *ud;
    void (*ud_free)(void *);
    bool finished;              /* [mu] */
    struct api_task *next;      /* [mu] srv->tasks */
};

void api_task_emit(api_server *srv, api_job *j, json_t *line) {
    char *t = line ? json_dumps(line, JSON_COMPACT) : NULL;
    json_decref(line);
    if (!t) return;
    size_t n = strlen(t);
    pthread_mutex_lock(&srv->mu);
    if (j->n_text + n + 2 > j->cap_text) {
        size_t nc = j->cap_text ? j->cap_text * 2 : 512;
        while (nc < j->n_text + n + 2) nc *= 2;
        char *nb = realloc(j->text, nc);
        if (!nb) j->text_oom = true;
        else {
            j->text = nb;
            j->cap_text = nc;
        }
    }
    if (!j->text_oom) {
        memcpy(j->text + j->n_text, t, n);
        j->text[j->n_text + n] = '\n';
        j->n_text += n + 1;
        j->text[j->n_text] = 0;
        pthread_cond_broadcast(&j->cv);
    }
    pthread_mutex_unlock(&srv->mu);
    free(t);
}

void api_task_status(api_server *srv, api_job *j, const char *status) {
    json_t *o = json_object();
    json_object_set_new(o, "status", json_string(status));
    api_task_emit(srv, j, o);
}

static void *task_main(void *arg) {
    api_task *t = arg;
    pp_err err = {0};
    pp_status st = t->fn(t->srv, t->job, t->ud, &err);
    pthread_mutex_lock(&t->srv->mu);
    t->job->status = st;
    if (st) t->job->err = err;
    t->job->state = API_JOB_DONE;
    pthread_cond_broadcast(&t->job->cv);
    t->finished = true;
    pthread_mutex_unlock(&t->srv->mu);
    api_job_unref(t->srv, t->job);
    if (t->ud_free) t->ud_free(t->ud);
    t->job = NULL;
    t->ud = NULL;
    return NULL;
}

/* Joins finished tasks (all of them when all is set). */
static void reap(api_server *srv, bool all) {
    for (;;) {
        pthread_mutex_lock(&srv->mu);
        api_task *found = NULL;
        for (api_task **p = &srv->tasks; *p; p = &(*p)->next)
            if (all || (*p)->finished) {
                found = *p;
                *p = found->next;
                break;
            }
        pthread_mutex_unlock(&srv->mu);
        if (!found) return;
        pthread_join(found->thread, NULL);
        free(found);
    }
}

pp_status api_task_start(api_server *srv, api_job *j, api_task_fn fn, void *ud, void (*ud_free)(void *), pp_err *err) {
    reap(srv, false);
    api_task *t = calloc(1, sizeof *t);
    if (!t) {
        if (ud_free) ud_free(ud);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    t->srv = srv;
    t->job = j;
    t->fn = fn;
    t->ud = ud;
    t->ud_free = ud_free;
    pthread_mutex_lock(&srv->mu);
    if (srv->stopping) {
        pthread_mutex_unlock(&srv->mu);
        free(t);
        if (ud_free) ud_free(ud);
        return pp_err_set(err, PP_ERR_IO, "server is shutting down");
    }
    j->refs++; /* the task's */
    j->state = API_JOB_RUNNING;
    j->started = true;
    if (pthread_create(&t->thread, NULL, task_main, t) != 0) {
        j->refs--;
        pthread_mutex_unlock(&srv->mu);
        free(t);
        if (ud_free) ud_free(ud);
        return pp_err_set(err, PP_ERR_NOMEM, "cannot start a thread");
    }
    t->next = srv->tasks;
    srv->tasks = t;
    pthread_mutex_unlock(&srv->mu);
    return PP_OK;
}

void api_task_join_all(api_server *srv) { reap(srv, true); }

/* ---- the task's wire format: its status lines as they are, {"error"} at a failure ---- */

static bool task_chunk(const api_reply *s, http_buf *out, const char *text, size_t n) {
    (void)s;
    return http_buf_append(out, text, n);
}

static bool task_end(const api_reply *s, http_buf *out) {
    if (s->job->status == PP_OK) return true;
    json_t *o = json_object();
    json_object_set_new(o, "error", json_string(s->job->err.msg));
    return api_out_json(out, o, false);
}

static const api_format TASK_FORMAT = {.ctype = "application/x-ndjson", .chunk = task_chunk, .end = task_end};

enum MHD_Result api_task_respond(http_req *r, api_job *j, bool stream) {
    if (stream) return api_stream_start(r, NULL, j, &TASK_FORMAT, false);
    char *text = NULL;
    size_t n = 0;
    enum MHD_Result ret;
    if (!api_job_collect(r, j, &text, &n)) {
        api_job_unref(api_srv(r), j);
        return MHD_NO;
    }
    if (j->status) ret = http_send_error(r, http_status_of(j->status), "%s", j->err.msg);
    else {
        json_t *o = json_object();
        json_object_set_new(o, "status", json_string("success"));
        ret = http_send_json(r, 200, o);
    }
    free(text);
    api_job_unref(api_srv(r), j);
    return ret;
}
