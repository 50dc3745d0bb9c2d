/* api_queue.c - the request side of the scheduler: queueing a job on its model's runner
 * (creating the runner, evicting the idle model expiring first past max_loaded, 503 past
 * max_queue), cancelling, unloading and the /api/ps list. Runs in connection threads under
 * srv->mu; the runners' workers are api_sched.c. */
#include "api_runner.h"

#include <stdlib.h>
#include <string.h>

#include "api_json.h"

/* ---- submitting, cancelling ---- */

static api_runner *find_runner(api_server *srv, const char *name) {
    for (api_runner *r = srv->runners; r; r = r->next)
        if (!strcmp(r->m.name, name)) return r;
    return NULL;
}

static size_t count_runners(api_server *srv) {
    size_t n = 0;
    for (api_runner *r = srv->runners; r; r = r->next) n++;
    return n;
}

pp_status api_job_submit(api_server *srv, const api_model *m, api_job *j, pp_err *err) {
    pthread_mutex_lock(&srv->mu);
    pp_status st = PP_OK;
    if (srv->stopping) {
        st = pp_err_set(err, PP_ERR_IO, "server is shutting down");
        goto out;
    }
    if (srv->n_queued >= srv->p.max_queue) {
        st = pp_err_set(err, PP_ERR_IO, "server busy, please try again.  maximum pending requests exceeded");
        goto out;
    }
    api_runner *r = find_runner(srv, m->name);
    if (r && strcmp(r->m.digest, m->digest) != 0 && api_runner_idle(r)) { /* the model changed on disk */
        api_runner_retire_locked(srv, r);
        r = NULL;
    }
    if (!r) {
        if (count_runners(srv) >= srv->p.max_loaded) { /* evict the idle model expiring first */
            api_runner *victim = NULL;
            for (api_runner *q = srv->runners; q; q = q->next)
                if (api_runner_idle(q) && (!victim || q->expires < victim->expires)) victim = q;
            if (victim) {
                pp_log(PP_LOG_INFO, "unloading %s to make room for %s", victim->m.name, m->name);
                api_runner_retire_locked(srv, victim);
            }
        }
        if ((st = api_runner_new(srv, m, &r, err))) goto out;
        r->next = srv->runners;
        srv->runners = r;
    }
    r->unload_asap = false;
    j->runner = r;
    j->refs++;
    j->next = NULL;
    if (r->tail) r->tail->next = j;
    else r->head = j;
    r->tail = j;
    srv->n_queued++;
    pthread_cond_signal(&r->cv);
out:
    pthread_mutex_unlock(&srv->mu);
    return st;
}

void api_job_cancel(api_server *srv, api_job *j) {
    pthread_mutex_lock(&srv->mu);
    atomic_store(&j->cancel, true);
    api_runner *r = j->runner;
    if (j->state == API_JOB_QUEUED && r) {
        api_job *prev = NULL;
        for (api_job *q = r->head; q; prev = q, q = q->next)
            if (q == j) {
                if (prev) prev->next = q->next;
                else r->head = q->next;
                if (r->tail == q) r->tail = prev;
                q->next = NULL;
                srv->n_queued--;
                api_job_fail_locked(j, PP_ERR_CANCELLED, "request canceled");
                api_job_unref_locked(j); /* the queue's reference; the caller still holds one */
                break;
            }
    } else if (j->state == API_JOB_RUNNING && r && r->sess) {
        engine_session_cancel(r->sess);
    }
    pthread_mutex_unlock(&srv->mu);
}

/* ---- unload, ps ---- */

bool api_sched_unload(api_server *srv, const char *name) {
    pthread_mutex_lock(&srv->mu);
    api_runner *r = find_runner(srv, name);
    if (r) {
        if (api_runner_idle(r)) api_runner_retire_locked(srv, r);
        else {
            r->unload_asap = true;
            r->expires = 0;
        }
    }
    pthread_mutex_unlock(&srv->mu);
    return r != NULL;
}

typedef struct ps_row {
    api_model m;        /* name, path, digest, size (weights + KV cache) */
    uint32_t n_ctx;
    int64_t expires;    /* unix ns */
} ps_row;

json_t *api_sched_ps(api_server *srv) {
    json_t *arr = json_array();
    /* copy under the lock; the details (a GGUF header read) are built outside it */
    ps_row *rows = NULL;
    size_t n = 0, cap = 0;
    pthread_mutex_lock(&srv->mu);
    for (api_runner *r = srv->runners; r; r = r->next) {
        if (!r->loaded) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            ps_row *nr = realloc(rows, nc * sizeof *nr);
            if (!nr) break;
            rows = nr;
            cap = nc;
        }
        ps_row *row = &rows[n++];
        memset(row, 0, sizeof *row);
        snprintf(row->m.name, sizeof row->m.name, "%s", r->m.name);
        snprintf(row->m.path, sizeof row->m.path, "%s", r->m.path);
        snprintf(row->m.digest, sizeof row->m.digest, "%s", r->m.digest);
        row->m.size = r->m.size + r->kv_bytes;
        row->n_ctx = r->n_ctx;
        int64_t ka = srv->p.keep_alive_ns < 0 || srv->p.keep_alive_ns >= API_FOREVER_NS ? API_FOREVER_NS
                                                                                      : srv->p.keep_alive_ns;
        row->expires = r->expires_wall ? r->expires_wall : api_now_unix_ns() + ka; /* first request running */
    }
    pthread_mutex_unlock(&srv->mu);
    for (size_t i = 0; i < n; i++) {
        ps_row *row = &rows[i];
        json_t *o = json_object();
        char ts[64];
        api_time_rfc3339(row->expires, ts, sizeof ts);
        json_object_set_new(o, "name", json_string(row->m.name));
        json_object_set_new(o, "model", json_string(row->m.name));
        json_object_set_new(o, "size", json_integer((json_int_t)row->m.size));
        json_object_set_new(o, "digest", json_string(row->m.digest));
        json_object_set_new(o, "details", api_model_details(&row->m));
        json_object_set_new(o, "expires_at", json_string(ts));
        json_object_set_new(o, "size_vram", json_integer(0));
        json_object_set_new(o, "context_length", json_integer(row->n_ctx));
        json_array_append_new(arr, o);
    }
    free(rows);
    return arr;
}

