/* api_sched.c - loaded models ("runners"), their inference workers and the keep_alive
 * scheduler thread (ollama-compat.md §3.5 keep_alive, §3.11). Queueing and cancelling are
 * api_queue.c, job objects api_job.c (api_sched.h).
 *
 * Invariants:
 *   * One runner per model name; one worker thread per runner owns its engine_model and
 *     engine_session. Jobs run one at a time in arrival order (FIFO). No parallel slots
 *     (OLLAMA_NUM_PARALLEL is treated as 1, Ollama's default since v0.10).
 *   * srv->mu guards runner lists, queues and every job output field. The worker drops the
 *     lock while loading and generating; its text callback takes it per piece of text.
 *   * A runner leaves srv->runners only when idle (no queued or running job), or when its
 *     load failed; it then goes to srv->dead, and the scheduler thread joins and frees it.
 *   * After each job the runner's expiry is now + keep_alive (the request's, else the
 *     server default); negative = never; 0 = unload when the queue is empty.
 *   * Options that differ only in sampling never rebuild the context; num_ctx/num_batch/
 *     num_thread changes do (engine_session_set_options). The cached KV prefix persists
 *     across requests: a follow-up turn whose text re-tokenizes to the cached ids evaluates
 *     only new tokens; the prompt is always the messages' rendering, never the cached ids. */
#include "api_runner.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_json.h"

static void runner_free(api_runner *r) {
    engine_session_free(r->sess);
    engine_model_free(r->em);
    api_model_clear(&r->m);
    pthread_cond_destroy(&r->cv);
    free(r);
}

static void list_remove(api_runner **list, api_runner *r) {
    for (api_runner **p = list; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            r->next = NULL;
            return;
        }
}

void api_runner_retire_locked(api_server *srv, api_runner *r) {
    list_remove(&srv->runners, r);
    r->quit = true;
    pthread_cond_signal(&r->cv);
    r->next = srv->dead;
    srv->dead = r;
    pthread_cond_signal(&srv->cv_sched);
}
bool api_runner_idle(const api_runner *r) { return !r->head && !r->running && r->loaded; }

/* ---- the worker ---- */

typedef struct gen_ctx {
    api_server *srv;
    api_job *job;
} gen_ctx;

static bool buf_append(char **buf, size_t *n, size_t *cap, const char *t, size_t len) {
    if (*n + len + 1 > *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        while (nc < *n + len + 1) nc *= 2;
        char *nb = realloc(*buf, nc);
        if (!nb) return false;
        *buf = nb;
        *cap = nc;
    }
    memcpy(*buf + *n, t, len);
    *n += len;
    (*buf)[*n] = 0;
    return true;
}

static bool on_text(const char *text, size_t len, void *ud) {
    gen_ctx *g = ud;
    api_job *j = g->job;
    pthread_mutex_lock(&g->srv->mu);
    if (!buf_append(&j->text, &j->n_text, &j->cap_text, text, len)) j->text_oom = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&g->srv->mu);
    return !atomic_load(&j->cancel) && !j->text_oom;
}

static void mark_started(api_server *srv, api_job *j) {
    pthread_mutex_lock(&srv->mu);
    j->started = true;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&srv->mu);
}

/* Generate: [context] + (raw prompt | rendered system+prompt). */
static pp_status run_generate(api_runner *r, api_job *j, gen_ctx *g, pp_err *err) {
    const tok_vocab *v = engine_model_vocab(r->em);
    uint32_t n_vocab = tok_n_vocab(v);
    int32_t *ids = NULL, *tail = NULL;
    size_t n_ids = 0, n_tail = 0;
    pp_status st;
    const char *prompt = j->prompt ? j->prompt : "";
    if (j->raw) {
        st = tok_encode_alloc(v, prompt, strlen(prompt), true, true, &tail, &n_tail, err);
    } else {
        engine_msg msgs[2];
        size_t n = 0;
        const char *sys = j->system ? j->system : r->m.system;
        if (sys && *sys) msgs[n++] = (engine_msg){"system", sys, NULL, 0};
        msgs[n++] = (engine_msg){"user", prompt, NULL, 0};
        st = engine_render_chat(v, msgs, n, true, &tail, &n_tail, err);
    }
    if (st) goto done;
    size_t skip = (j->n_ctx_in && n_tail && tail[0] == tok_bos(v)) ? 1 : 0; /* one BOS at the start */
    for (size_t i = 0; i < j->n_ctx_in; i++)
        if (j->ctx_in[i] < 0 || (uint32_t)j->ctx_in[i] >= n_vocab) {
            st = pp_err_set(err, PP_ERR_ARG, "field 'context': token id %d at index %zu is outside [0, %u)",
                            j->ctx_in[i], i, n_vocab);
            goto done;
        }
    n_ids = j->n_ctx_in + n_tail - skip;
    ids = malloc((n_ids ? n_ids : 1) * sizeof *ids);
    if (!ids) {
        st = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (j->n_ctx_in) memcpy(ids, j->ctx_in, j->n_ctx_in * sizeof *ids);
    memcpy(ids + j->n_ctx_in, tail + skip, (n_tail - skip) * sizeof *ids);
    if ((st = engine_session_check_fit(r->sess, n_ids, err))) goto done; /* before the start: a 400 */
    mark_started(r->srv, j);
    engine_result res;
    st = engine_generate_ids(r->sess, ids, n_ids, on_text, g, &res, err);
    if (st) goto done;
    int32_t *out = malloc((n_ids + res.n_reply_ids) * sizeof *out);
    if (!out) {
        st = pp_err_set(err, PP_ERR_NOMEM, "out of memory");
        goto done;
    }
    memcpy(out, ids, n_ids * sizeof *out);
    if (res.n_reply_ids) memcpy(out + n_ids, res.reply_ids, res.n_reply_ids * sizeof *out);
    res.reply_ids = NULL;
    pthread_mutex_lock(&r->srv->mu);
    j->res = res;
    j->prompt_tokens = res.prompt_tokens;
    if (j->raw) { /* no context in raw mode (ollama-compat.md §3.3) */
        free(out);
        out = NULL;
    }
    j->ctx_out = out;
    j->n_ctx_out = out ? n_ids + res.n_reply_ids : 0;
    pthread_mutex_unlock(&r->srv->mu);
done:
    free(ids);
    free(tail);
    return st;
}

static pp_status run_chat(api_runner *r, api_job *j, gen_ctx *g, pp_err *err) {
    size_t n = j->n_msgs;
    const char *dsys = r->m.system;
    bool has_sys = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(j->msgs[i].role, "system")) has_sys = true;
    size_t extra = (!has_sys && dsys && *dsys) ? 1 : 0;
    engine_msg *msgs = malloc((n + extra) * sizeof *msgs);
    if (!msgs) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    if (extra) msgs[0] = (engine_msg){"system", dsys, NULL, 0};
    /* the engine fits the conversation to num_ctx and reuses the cached prefix */
    for (size_t i = 0; i < n; i++) msgs[extra + i] = (engine_msg){j->msgs[i].role, j->msgs[i].content, NULL, 0};
    mark_started(r->srv, j);
    engine_result res;
    pp_status st = engine_chat(r->sess, msgs, n + extra, on_text, g, &res, err);
    free(msgs);
    if (st) return st;
    res.reply_ids = NULL;
    pthread_mutex_lock(&r->srv->mu);
    j->res = res;
    /* as before: after dropped turns, the evaluated count (not the whole prompt) */
    j->prompt_tokens = res.dropped_turns ? res.stats.prompt_eval_count : res.prompt_tokens;
    pthread_mutex_unlock(&r->srv->mu);
    return PP_OK;
}

/* Loads the model on first use. */
static pp_status runner_load(api_runner *r, const api_job *j, pp_err *err) {
    if (r->em) return PP_OK;
    engine_model *em = NULL;
    engine_session *s = NULL;
    pp_log(PP_LOG_INFO, "loading model %s from %s", r->m.name, r->m.path);
    engine_model_params mp = engine_model_default_params();
    mp.no_repack = r->srv->p.no_repack;
    mp.no_fuse = r->srv->p.no_fuse;
    pp_status st = engine_model_load(r->m.path, mp, &em, err);
    if (st) return st;
    if ((st = engine_session_init(em, &j->opt, &s, err))) {
        engine_model_free(em);
        return st;
    }
    r->em = em;
    pthread_mutex_lock(&r->srv->mu);
    r->sess = s;
    r->loaded = true;
    r->n_ctx = engine_session_n_ctx(s);
    r->kv_bytes = engine_session_kv_bytes(s);
    pthread_mutex_unlock(&r->srv->mu);
    return PP_OK;
}

static void run_job(api_runner *r, api_job *j) {
    pp_err err = {0};
    gen_ctx g = {.srv = r->srv, .job = j};
    pp_status st = PP_OK;
    if (atomic_load(&j->cancel)) {
        st = pp_err_set(&err, PP_ERR_CANCELLED, "request canceled");
        goto done;
    }
    bool first = !r->em;
    if ((st = runner_load(r, j, &err))) {
        st = PP_ERR_INTERNAL; /* a model that cannot load is a 500, as in Ollama */
        err.status = st;
        r->load_failed = true;
        r->load_err = err;
        pp_log(PP_LOG_ERROR, "%s", err.msg);
        goto done;
    }
    if (!first && (st = engine_session_set_options(r->sess, &j->opt, &err))) goto done;
    pthread_mutex_lock(&r->srv->mu);
    r->n_ctx = engine_session_n_ctx(r->sess);
    r->kv_bytes = engine_session_kv_bytes(r->sess);
    j->n_ctx = r->n_ctx;
    if (atomic_load(&j->cancel)) { /* cancelled while the model loaded */
        pthread_mutex_unlock(&r->srv->mu);
        st = pp_err_set(&err, PP_ERR_CANCELLED, "request canceled");
        goto done;
    }
    pthread_mutex_unlock(&r->srv->mu);
    if (j->kind == API_JOB_GENERATE) st = run_generate(r, j, &g, &err);
    else if (j->kind == API_JOB_CHAT) st = run_chat(r, j, &g, &err);
    if (st == PP_OK && j->kind != API_JOB_LOAD)
        pp_log(PP_LOG_INFO, "%s: prompt %u tokens (%u evaluated), %u generated, seed %llu", r->m.name, j->prompt_tokens,
               j->res.stats.prompt_eval_count, j->res.stats.eval_count,
               (unsigned long long)engine_session_seed(r->sess));
    if (st == PP_OK && j->res.done == ENGINE_DONE_CANCELLED) {
        st = PP_ERR_CANCELLED;
        pp_err_set(&err, st, "request canceled");
        pp_log(PP_LOG_INFO, "%s: generation cancelled after %u tokens", r->m.name, j->res.stats.eval_count);
    }
done:
    pthread_mutex_lock(&r->srv->mu);
    j->res.stats.total_duration = pp_time_ns() - j->t_start; /* request received -> done */
    if (st == PP_ERR_CANCELLED && r->srv->stopping) pp_err_set(&err, st, "server is shutting down");
    j->status = st;
    if (st) j->err = err;
    pthread_mutex_unlock(&r->srv->mu);
}

static void *worker_main(void *arg) {
    api_runner *r = arg;
    api_server *srv = r->srv;
    pthread_mutex_lock(&srv->mu);
    for (;;) {
        while (!r->quit && !r->head) pthread_cond_wait(&r->cv, &srv->mu);
        if (r->quit) break;
        api_job *j = r->head;
        r->head = j->next;
        if (!r->head) r->tail = NULL;
        j->next = NULL;
        srv->n_queued--;
        r->running = j;
        j->state = API_JOB_RUNNING;
        pthread_mutex_unlock(&srv->mu);

        run_job(r, j);

        pthread_mutex_lock(&srv->mu);
        r->running = NULL;
        j->state = API_JOB_DONE;
        pthread_cond_broadcast(&j->cv);
        bool load_failed = r->load_failed;
        int64_t ka = j->keep_alive_set ? j->keep_alive_ns : srv->p.keep_alive_ns;
        api_job_unref_locked(j);
        if (load_failed) { /* fail the queue with the same error and retire */
            for (api_job *q = r->head; q;) {
                api_job *nx = q->next;
                q->next = NULL;
                srv->n_queued--;
                api_job_fail_locked(q, r->load_err.status ? r->load_err.status : PP_ERR_INTERNAL, r->load_err.msg);
                api_job_unref_locked(q);
                q = nx;
            }
            r->head = r->tail = NULL;
            if (!r->quit) api_runner_retire_locked(srv, r); /* else already retired (shutdown) */
            break;
        }
        uint64_t now = pp_time_ns();
        int64_t wall = api_now_unix_ns();
        if (r->unload_asap || ka == 0) {
            r->expires = now;
            r->expires_wall = wall;
        } else if (ka < 0 || ka >= API_FOREVER_NS) { /* negative or past a century: never */
            r->expires = UINT64_MAX;
            r->expires_wall = wall + API_FOREVER_NS; /* `pippa ps`: "Forever" */
        } else {
            r->expires = now + (uint64_t)ka;
            r->expires_wall = wall + ka;
        }
        pthread_cond_signal(&srv->cv_sched);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}
/* ---- runners ---- */

static pp_status model_copy(const api_model *src, api_model *dst, pp_err *err) {
    *dst = *src;
    dst->system = src->system ? strdup(src->system) : NULL;
    dst->template_text = src->template_text ? strdup(src->template_text) : NULL;
    dst->license = src->license ? strdup(src->license) : NULL;
    if (dst->params) json_incref(dst->params);
    if (dst->details) json_incref(dst->details);
    if ((src->system && !dst->system) || (src->template_text && !dst->template_text) ||
        (src->license && !dst->license)) {
        api_model_clear(dst);
        return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    }
    return PP_OK;
}

pp_status api_runner_new(api_server *srv, const api_model *m, api_runner **out, pp_err *err) {
    api_runner *r = calloc(1, sizeof *r);
    if (!r) return pp_err_set(err, PP_ERR_NOMEM, "out of memory");
    pp_status st = model_copy(m, &r->m, err);
    if (st) {
        free(r);
        return st;
    }
    r->srv = srv;
    r->expires = UINT64_MAX;
    api_cond_init(&r->cv);
    if (pthread_create(&r->thread, NULL, worker_main, r) != 0) {
        runner_free(r);
        return pp_err_set(err, PP_ERR_NOMEM, "cannot start a worker thread");
    }
    *out = r;
    return PP_OK;
}

/* ---- scheduler thread ---- */

static void join_dead_locked(api_server *srv) {
    while (srv->dead) {
        api_runner *d = srv->dead;
        srv->dead = NULL;
        pthread_mutex_unlock(&srv->mu);
        while (d) {
            api_runner *nx = d->next;
            pthread_join(d->thread, NULL);
            pp_log(PP_LOG_INFO, "unloaded model %s", d->m.name);
            runner_free(d);
            d = nx;
        }
        pthread_mutex_lock(&srv->mu);
    }
}

static void *sched_main(void *arg) {
    api_server *srv = arg;
    pthread_mutex_lock(&srv->mu);
    while (!srv->stopping) {
        uint64_t now = pp_time_ns(), next = now + 1000000000ULL;
        for (api_runner *r = srv->runners, *nx; r; r = nx) {
            nx = r->next;
            if (!api_runner_idle(r)) continue;
            if (r->expires <= now) api_runner_retire_locked(srv, r);
            else if (r->expires < next) next = r->expires;
        }
        join_dead_locked(srv);
        if (srv->stopping) break;
        uint64_t wait_ns = next > now ? next - now : 0;
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        uint64_t t = (uint64_t)dl.tv_nsec + wait_ns % 1000000000ULL;
        dl.tv_sec += (time_t)(wait_ns / 1000000000ULL + t / 1000000000ULL);
        dl.tv_nsec = (long)(t % 1000000000ULL);
        pthread_cond_timedwait(&srv->cv_sched, &srv->mu, &dl);
    }
    pthread_mutex_unlock(&srv->mu);
    return NULL;
}

void api_sched_start(api_server *srv) {
    if (pthread_create(&srv->sched_thread, NULL, sched_main, srv) == 0) srv->sched_started = true;
}

void api_sched_cancel_all(api_server *srv) {
    pthread_mutex_lock(&srv->mu);
    srv->stopping = true;
    for (api_runner *r = srv->runners; r; r = r->next) {
        for (api_job *q = r->head; q;) {
            api_job *nx = q->next;
            q->next = NULL;
            srv->n_queued--;
            atomic_store(&q->cancel, true);
            api_job_fail_locked(q, PP_ERR_CANCELLED, "server is shutting down");
            api_job_unref_locked(q);
            q = nx;
        }
        r->head = r->tail = NULL;
        if (r->running) {
            atomic_store(&r->running->cancel, true);
            if (r->sess) engine_session_cancel(r->sess);
        }
    }
    pthread_cond_broadcast(&srv->cv_sched);
    pthread_mutex_unlock(&srv->mu);
}

void api_sched_stop(api_server *srv) {
    api_sched_cancel_all(srv);
    if (srv->sched_started) pthread_join(srv->sched_thread, NULL);
    srv->sched_started = false;
    pthread_mutex_lock(&srv->mu);
    while (srv->runners) api_runner_retire_locked(srv, srv->runners);
    join_dead_locked(srv);
    pthread_mutex_unlock(&srv->mu);
}

